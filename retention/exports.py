"""The churn columns of `export_scores`: risk, value at risk and the reasons in English."""

from customers.models import PipelineRun
from retention.models import ChurnScore
from retention.reasons import reasons_in_english

EXPORT_HEADER = ["churn_risk", "value_at_risk", "churn_reasons"]


def export_columns(ids):
    """{customer_id: (risk, value at risk, reasons)} for the current run: one query per batch."""
    run = PipelineRun.objects.current()
    if run is None:
        return {}
    rows = ChurnScore.objects.filter(run=run, customer_id__in=ids).values_list(
        "customer_id", "risk", "value_at_risk", "reasons"
    )
    return {
        customer: (risk, value_at_risk, reasons_in_english(reasons))
        for customer, risk, value_at_risk, reasons in rows
    }
