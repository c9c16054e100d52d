"""Churn reasons in words, translated when shown.

The step stores each reason as a code with parameters (retention.churn); this
module is the only place that puts them into sentences, in the language of
whoever reads them.
"""

import datetime as dt

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from retention.churn import parse_reasons


def _days_ago(days):
    return ngettext("last order %(days)s day ago", "last order %(days)s days ago", days) % {
        "days": days
    }


def _since(iso_date):
    try:
        day = dt.date.fromisoformat(iso_date)
    except (TypeError, ValueError):
        return iso_date
    same_year = day.year == timezone.localdate().year
    return formats.date_format(day, "MONTH_DAY_FORMAT" if same_year else "DATE_FORMAT")


def _late(params):
    interval = params["interval"]
    usually = ngettext("usually every %(days)s day", "usually every %(days)s days", interval) % {
        "days": interval
    }
    return f"{_days_ago(params['days'])}; {usually}"


def _single_order(params):
    days = params["days"]
    return ngettext(
        "bought only once, %(days)s day ago", "bought only once, %(days)s days ago", days
    ) % {"days": days}


def _spend_down(params):
    if params.get("days") == 90:
        return _("spend down %(percent)s %% on the previous quarter") % params
    return _("spend down %(percent)s %% on the previous %(days)s days") % params


def _orders_down(params):
    previous = params["previous"]
    return (
        ngettext(
            "%(recent)s orders in the last %(days)s days against %(previous)s order before",
            "%(recent)s orders in the last %(days)s days against %(previous)s orders before",
            previous,
        )
        % params
    )


def _complaint(params):
    count = params["count"]
    return ngettext(
        "open complaint since %(since)s",
        "%(count)s open complaints, the oldest since %(since)s",
        count,
    ) % {"count": count, "since": _since(params["since"])}


def _grade_fell(params):
    return _("credit grade fell from %(old)s to %(new)s") % params


FESTIVALS = {
    "new_year": lambda: _("New Year's Day"),
    "spring": lambda: _("the Spring Festival"),
    "dragon_boat": lambda: _("the Dragon Boat Festival"),
    "mid_autumn": lambda: _("the Mid-Autumn Festival"),
    "national_day": lambda: _("National Day"),
}


def _festival_missed(params):
    name = FESTIVALS[params["festival"]]()
    return _("usually orders before %(festival)s; last year on %(date)s, not this year") % {
        "festival": name,
        "date": dt.date.fromisoformat(params["last_year"]).isoformat(),
    }


def _grade_poor(params):
    return _("credit grade %(grade)s") % params


SENTENCES = {
    "late": _late,
    "single_order": _single_order,
    "spend_down": _spend_down,
    "orders_down": _orders_down,
    "complaint": _complaint,
    "grade_fell": _grade_fell,
    "grade_poor": _grade_poor,
    "festival_missed": _festival_missed,
}


def reason_texts(reasons):
    """The reasons as sentences in the active language; unknown or broken ones are skipped."""
    texts = []
    for reason in parse_reasons(reasons):
        sentence = SENTENCES.get(reason.get("code")) if isinstance(reason, dict) else None
        if sentence is None:
            continue
        try:
            texts.append(sentence(reason.get("params") or {}))
        except (KeyError, TypeError, ValueError):
            continue
    return texts


def reasons_in_english(reasons):
    """The reasons as one line of English, joined with "; ", for exports read by programs."""
    with translation.override("en"):
        return "; ".join(reason_texts(reasons))
