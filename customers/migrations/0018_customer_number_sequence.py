from django.db import migrations

from customers import numbering


class Migration(migrations.Migration):
    """The sequence that numbers new customers KH000001, KH000002, … on PostgreSQL
    (customers.numbering)."""

    dependencies = [
        ("customers", "0017_section_summaries"),
    ]

    operations = [
        migrations.RunPython(numbering.create_sequence, numbering.drop_sequence),
    ]
