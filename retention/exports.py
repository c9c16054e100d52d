"""The churn columns of `export_scores`: risk, value at risk and the reasons in English."""

from django.utils.translation import gettext_lazy as _

from customers.models import PipelineRun
from retention.models import ChurnScore
from retention.reasons import reason_texts, reasons_in_english

EXPORT_HEADER = ["churn_risk", "value_at_risk", "churn_reasons"]
EXPORT_LABELS = {
    "churn_risk": _("Churn risk"),
    "value_at_risk": _("Value at risk"),
    "churn_reasons": _("Reasons"),
}


def export_columns(ids, *, reasons=reasons_in_english):
    """{customer_id: (risk, value at risk, reasons)} for the current run: one query per batch."""
    run = PipelineRun.objects.current()
    if run is None:
        return {}
    rows = ChurnScore.objects.filter(run=run, customer_id__in=ids).values_list(
        "customer_id", "risk", "value_at_risk", "reasons"
    )
    return {
        customer: (risk, value_at_risk, reasons(stored))
        for customer, risk, value_at_risk, stored in rows
    }


def export_columns_in_words(ids):
    """`export_columns` with the reasons in the active language (export_scores --labels)."""
    return export_columns(ids, reasons=lambda stored: "；".join(reason_texts(stored)))
