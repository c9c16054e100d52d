"""The lifecycle column of `export_scores`: the live stage, as its English code."""

from django.utils.translation import gettext_lazy as _

from lifecycle.models import CustomerStage, Stage

EXPORT_HEADER = ["lifecycle_stage"]
EXPORT_LABELS = {"lifecycle_stage": _("Lifecycle stage")}
EXPORT_CHOICES = {"lifecycle_stage": Stage.choices}


def export_columns(ids):
    """{customer_id: (stage,)}: one query per batch; customers without a stage yet have none."""
    rows = CustomerStage.objects.filter(customer_id__in=ids).values_list("customer_id", "stage")
    return {customer: (stage,) for customer, stage in rows}
