from decimal import Decimal

from django.db import migrations

# Defaults admins tune later: credit limit (CNY) and payment terms per grade.
POLICIES = [
    ("A", Decimal("500000.00"), 60),
    ("B", Decimal("200000.00"), 30),
    ("C", Decimal("50000.00"), 7),
    ("D", Decimal("0.00"), 0),
]


def create_defaults(apps, schema_editor):
    GradePolicy = apps.get_model("customers", "GradePolicy")
    CreditRules = apps.get_model("customers", "CreditRules")
    for grade, limit, terms in POLICIES:
        GradePolicy.objects.get_or_create(
            grade=grade, defaults={"credit_limit": limit, "payment_terms_days": terms}
        )
    if not CreditRules.objects.exists():
        CreditRules.objects.create()


def remove_defaults(apps, schema_editor):
    apps.get_model("customers", "GradePolicy").objects.all().delete()
    apps.get_model("customers", "CreditRules").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_credit_grades")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
