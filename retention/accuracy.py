"""How well a run's churn score separated churners in its backtest, in words.

One dict describes it (`figures`: what the step records in its summary and keeps in
ChurnRunSummary); `accuracy_texts` puts it into sentences in the reader's language
for the churn list and the run page.
"""

import datetime as dt

from django.utils import formats
from django.utils.translation import gettext as _

FALLBACKS = {
    "short_history": lambda: _("the order history is too short for a backtest"),
    "few_customers": lambda: _("too few customers ordered before the backtest date"),
    "few_churners": lambda: _("too few customers stopped ordering in the backtest"),
    "few_stayers": lambda: _("too few customers went on ordering in the backtest"),
    "default_better": lambda: _(
        "the default weights ranked the backtest better than the ones learned"
    ),
}


def figures(summary, as_of):
    """The accuracy dict from a ChurnRunSummary (or anything with its fields)."""
    return {
        "as_of": as_of.isoformat(),
        "horizon_days": summary.horizon_days,
        "backtest_on": summary.backtest_on.isoformat() if summary.backtest_on else None,
        "customers": summary.customers,
        "churned": summary.churned,
        "held_out": summary.held_out,
        "fallback": summary.fallback,
        "auc": summary.auc,
        "lift": summary.lift,
        "recency_auc": summary.recency_auc,
        "recency_lift": summary.recency_lift,
    }


def _percent(value):
    return formats.number_format(round(100 * value), 0)


def _times(value):
    return formats.number_format(value, 1)


def _period(figures):
    days = figures["horizon_days"]
    start = dt.date.fromisoformat(figures["backtest_on"])
    if start == dt.date.fromisoformat(figures["as_of"]) - dt.timedelta(days=days):
        return _("In a backtest over the last %(days)s days") % {"days": days}
    return _("In a backtest over the same season last year (%(days)s days from %(date)s)") % {
        "days": days,
        "date": start.isoformat(),
    }


def accuracy_texts(figures):
    """[(sentence, is_warning)] for the accuracy dict; [] for an empty one."""
    if not figures:
        return []
    texts = []
    fallback = figures.get("fallback") or ""
    if fallback:
        reason = FALLBACKS.get(fallback, lambda: fallback)()
        texts.append(
            (_("The score uses its default weights: %(reason)s.") % {"reason": reason}, False)
        )
    else:
        texts.append(
            (_("The score's weights were learned from this customer base's own history."), False)
        )
    if (
        figures.get("auc") is None
        or figures.get("recency_auc") is None
        or not figures.get("backtest_on")
    ):
        return texts
    customers, churned = figures["customers"], figures["churned"]
    texts.append(
        (
            _(
                "%(period)s (%(customers)s customers, %(rate)s %% of them stopped ordering), "
                "the score ranked a customer who stopped above one who went on ordering "
                "%(auc)s %% of the time, and its riskiest tenth stopped %(lift)s times as "
                "often as the average; plain days since the last order: %(recency_auc)s %% "
                "and %(recency_lift)s times."
            )
            % {
                "period": _period(figures),
                "customers": formats.number_format(customers, force_grouping=True),
                "rate": _percent(churned / customers) if customers else "0",
                "auc": _percent(figures["auc"]),
                "lift": _times(figures["lift"] or 0),
                "recency_auc": _percent(figures["recency_auc"]),
                "recency_lift": _times(figures["recency_lift"] or 0),
            },
            False,
        )
    )
    if figures["auc"] <= figures["recency_auc"]:
        texts.append(
            (
                _(
                    "Warning: the score did not separate churners better than plain days "
                    "since the last order; sort by recency as well."
                ),
                True,
            )
        )
    return texts


def accuracy_line(figures):
    """The texts as one line, for the run page."""
    return " ".join(text for text, _warning in accuracy_texts(figures))
