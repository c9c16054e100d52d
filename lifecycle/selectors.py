"""Reads of the lifecycle that pages, lists and other apps share."""

import datetime as dt

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from lifecycle.models import CustomerStage, Stage, StageChange


def win_backs():
    """The win-backs (客户再生): the nightly rule taking a customer who ordered again from
    termination back to development, one row each time."""
    return StageChange.objects.filter(
        source=StageChange.Source.RULE,
        old_stage=Stage.TERMINATION,
        new_stage=Stage.DEVELOPMENT,
    )


# Changes shown on the customer file, newest first.
PANEL_CHANGES = 10


def stage_panel(customer, user):
    """The customer's stage, its lock, the stage's playbook and the latest changes. Three
    queries, and one for a manager's teams (read once per request)."""
    from lifecycle.playbooks import playbook_for
    from lifecycle.services import can_change_stage

    live = CustomerStage.objects.filter(customer=customer).first()
    changes = list(
        StageChange.objects.filter(customer=customer).select_related("changed_by")[:PANEL_CHANGES]
    )
    return {
        "live": live,
        "playbook": playbook_for(live.stage) if live is not None else [],
        "changes": changes,
        "can_change": can_change_stage(user, customer),
    }


FLOW_WINDOWS = (30, 90)
WIN_BACK_MONTHS = 12


def stage_section(user, *, today=None):
    """The lifecycle dashboard over the customers `user` may see: customers per stage now
    (the funnel), moves between stages over the last 30 and 90 days up to the current run's
    date (first stages are no move), and win-backs per month. Four queries."""
    from customers.models import PipelineRun
    from customers.selectors import of_visible_customers

    run = PipelineRun.objects.current()
    until = run.as_of if run is not None else (today or timezone.localdate())
    counts = dict(
        of_visible_customers(CustomerStage.objects.all(), user)
        .values_list("stage")
        .annotate(count=Count("pk"))
        .values_list("stage", "count")
        .order_by()
    )
    funnel = [
        {"stage": stage, "label": label, "customers": counts.get(stage, 0)}
        for stage, label in Stage.choices
    ]
    widest = max(FLOW_WINDOWS)
    moves = (
        of_visible_customers(StageChange.objects.exclude(old_stage=""), user)
        .filter(on__gt=until - dt.timedelta(days=widest), on__lte=until)
        .values_list("old_stage", "new_stage")
        .annotate(
            **{
                f"within_{days}": Count("pk", filter=Q(on__gt=until - dt.timedelta(days=days)))
                for days in FLOW_WINDOWS
            }
        )
        .order_by()
    )
    flows = {days: {} for days in FLOW_WINDOWS}
    for old, new, *within in moves:
        for days, count in zip(FLOW_WINDOWS, within, strict=True):
            flows[days][(old, new)] = count
    months_back = until.year * 12 + until.month - 1 - (WIN_BACK_MONTHS - 1)
    since = dt.date(months_back // 12, months_back % 12 + 1, 1)
    months = dict(
        of_visible_customers(win_backs(), user)
        .filter(on__gte=since, on__lte=until)
        .annotate(month=TruncMonth("on"))
        .values_list("month")
        .annotate(count=Count("pk"))
        .values_list("month", "count")
        .order_by()
    )
    return {
        "run": run,
        "until": until,
        "funnel": funnel,
        "widest": max(row["customers"] for row in funnel) or 1,
        "matrices": [
            {
                "days": days,
                "rows": [
                    {
                        "stage": old,
                        "label": label,
                        "cells": [
                            {"to": new, "count": flows[days].get((old, new), 0)}
                            for new, _label in Stage.choices
                        ],
                    }
                    for old, label in Stage.choices
                ],
            }
            for days in FLOW_WINDOWS
        ],
        "stages": Stage.choices,
        "win_backs": [
            {"month": month, "count": count}
            for month, count in sorted(
                ((_month(month), count) for month, count in months.items()), reverse=True
            )
        ],
    }


def _month(value):
    return value.date() if isinstance(value, dt.datetime) else value


def flow_window(days):
    """The dates (after, up to) of moves within the last `days` days of the current run."""
    from customers.models import PipelineRun

    run = PipelineRun.objects.current()
    until = run.as_of if run is not None else timezone.localdate()
    return until - dt.timedelta(days=days), until
