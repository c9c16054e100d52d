"""The lifecycle column of `export_scores`: the live stage, as its English code."""

from lifecycle.models import CustomerStage

EXPORT_HEADER = ["lifecycle_stage"]


def export_columns(ids):
    """{customer_id: (stage,)}: one query per batch; customers without a stage yet have none."""
    rows = CustomerStage.objects.filter(customer_id__in=ids).values_list("customer_id", "stage")
    return {customer: (stage,) for customer, stage in rows}
