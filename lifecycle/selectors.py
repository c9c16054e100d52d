"""Reads of the lifecycle that pages, lists and other apps share."""

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from lifecycle.models import CustomerStage, Stage, StageChange, StageSnapshot


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


def _windows(run):
    """(until, the first day of the widest flow window, the first day of the win-back
    months) of `run`'s figures."""
    until = run.as_of
    months_back = until.year * 12 + until.month - 1 - (WIN_BACK_MONTHS - 1)
    return (
        until,
        until - dt.timedelta(days=max(FLOW_WINDOWS)),
        dt.date(months_back // 12, months_back % 12 + 1, 1),
    )


def _section_reads(run):
    """The four reads of the lifecycle section, over every customer (scopes narrow them):
    the live stages as the run published them, the moves within the widest window up to
    the run's date (first stages are no move), the win-backs per month, and the stages of
    every kept snapshot up to the run."""
    from customers.models import PipelineRun

    until, widest, since = _windows(run)
    moves = StageChange.objects.exclude(old_stage="").filter(on__gt=widest, on__lte=until)
    within = {
        f"within_{days}": Count("pk", filter=Q(on__gt=until - dt.timedelta(days=days)))
        for days in FLOW_WINDOWS
    }
    months = win_backs().filter(on__gte=since, on__lte=until).annotate(month=TruncMonth("on"))
    kept = StageSnapshot.objects.filter(
        run__status=PipelineRun.Status.SUCCEEDED, run__as_of__lte=until
    )
    return CustomerStage.objects.all(), moves, within, months, kept


def _empty_stages(run):
    return {
        "until": run.as_of if run is not None else None,
        "funnel": {},
        "flows": {},
        "win_backs": {},
        "trend": {},
    }


def build_stages(scope, run):
    """The lifecycle section's figures over the customers of `scope`: customers per stage
    (the funnel), moves between stages over the last 30 and 90 days up to the run's date,
    win-backs per month, and customers per stage in each kept snapshot. Four queries."""
    if run is None:
        return _empty_stages(run)
    live, moves, within, months, kept = _section_reads(run)
    figures = _empty_stages(run)
    for stage, count in (
        scope.of(live)
        .values_list("stage")
        .annotate(n=Count("pk"))
        .values_list("stage", "n")
        .order_by()
    ):
        _add_funnel(figures, stage, count)
    for old, new, *counts in (
        scope.of(moves)
        .values_list("old_stage", "new_stage")
        .annotate(**within)
        .values_list("old_stage", "new_stage", *within)
        .order_by()
    ):
        _add_flow(figures, old, new, *counts)
    for month, count in (
        scope.of(months)
        .values_list("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
        .order_by()
    ):
        _add_win_backs(figures, month, count)
    for run_id, as_of, stage, count in (
        scope.of(kept)
        .values_list("run_id", "run__as_of", "stage")
        .annotate(n=Count("pk"))
        .values_list("run_id", "run__as_of", "stage", "n")
        .order_by()
    ):
        _add_trend(figures, run_id, as_of, stage, count)
    return figures


def build_all_stages(scopes, run):
    """build_stages of every scope of the run (customers.summaries.RunScopes): four
    queries and one for the kept runs. The trend's earlier snapshots are taken from the
    previous build (`scopes.earlier`) as it counted them; only the others are read."""
    if run is None:
        return {key: _empty_stages(run) for key in scopes.scope_keys()}
    live, moves, within, months, kept = _section_reads(run)
    figures = {key: _empty_stages(run) for key in scopes.scope_keys()}
    kept_runs = _kept_runs(kept)
    settled = _settled_snapshots(scopes.earlier, kept_runs)
    unsettled = kept.filter(run_id__in=[run_id for run_id in kept_runs if run_id not in settled])
    reads = [
        (scopes.pairs(live, "stage", n=Count("pk")), _add_funnel),
        (scopes.pairs(moves, "old_stage", "new_stage", **within), _add_flow),
        (scopes.pairs(months, "month", n=Count("pk")), _add_win_backs),
        (scopes.pairs(unsettled, "run_id", "run__as_of", "stage", n=Count("pk")), _add_trend),
    ]
    for rows, add in reads:
        for team_id, owner_id, *values in rows:
            for key in scopes.of(team_id, owner_id):
                if key in figures:
                    add(figures[key], *values)
    for key, scope_figures in figures.items():
        reported = (scopes.earlier.of(key) or {}).get("trend", {})
        for run_id in settled:
            if str(run_id) in reported:
                scope_figures["trend"][str(run_id)] = reported[str(run_id)]
    return figures


def _kept_runs(kept):
    """The ids of the runs whose snapshots `kept` holds: one query over the runs, each
    looked up by the snapshots' index that starts with the run."""
    from customers.models import PipelineRun

    return list(
        PipelineRun.objects.filter(Exists(kept.filter(run_id=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _settled_snapshots(earlier, kept_runs):
    """The ids of the kept runs that the earlier build counted (its company trend has
    them): their counts are taken from it."""
    if earlier.run is None:
        return []
    counted = {int(run_id) for run_id in (earlier.of_company() or {}).get("trend", {})}
    return [run_id for run_id in kept_runs if run_id in counted]


def _add_funnel(figures, stage, count):
    figures["funnel"][stage] = figures["funnel"].get(stage, 0) + count
    return figures


def _add_flow(figures, old, new, *counts):
    key = f"{old}>{new}"
    totals = figures["flows"].setdefault(key, [0] * len(FLOW_WINDOWS))
    for index, count in enumerate(counts):
        totals[index] += count
    return figures


def _add_win_backs(figures, month, count):
    month = _month(month).replace(day=1).isoformat()
    figures["win_backs"][month] = figures["win_backs"].get(month, 0) + count
    return figures


def _add_trend(figures, run_id, as_of, stage, count):
    as_of = as_of.isoformat() if isinstance(as_of, dt.date) else as_of
    snapshot = figures["trend"].setdefault(str(run_id), {"as_of": as_of, "stages": {}})
    snapshot["stages"][stage] = snapshot["stages"].get(stage, 0) + count
    return figures


def combine_stages(parts):
    """The figures of disjoint scopes added up."""
    figures = {**_empty_stages(None), "until": parts[0]["until"]}
    for part in parts:
        for stage, count in part["funnel"].items():
            _add_funnel(figures, stage, count)
        for key, counts in part["flows"].items():
            old, new = key.split(">")
            _add_flow(figures, old, new, *counts)
        for month, count in part["win_backs"].items():
            _add_win_backs(figures, dt.date.fromisoformat(month), count)
        for run_id, snapshot in part["trend"].items():
            for stage, count in snapshot["stages"].items():
                _add_trend(figures, run_id, snapshot["as_of"], stage, count)
    return figures


def show_stages(figures, user, run):
    """The section's context from its figures: no query."""
    funnel = [
        {"stage": stage, "label": label, "customers": figures["funnel"].get(stage, 0)}
        for stage, label in Stage.choices
    ]
    until = figures["until"]
    until = dt.date.fromisoformat(until) if until else timezone.localdate()
    flows = {
        tuple(key.split(">")): dict(zip(FLOW_WINDOWS, counts, strict=True))
        for key, counts in figures["flows"].items()
    }
    trend = sorted(
        (
            {
                "as_of": dt.date.fromisoformat(snapshot["as_of"]),
                "current": run is not None and int(run_id) == run.pk,
                "counts": [
                    {"stage": stage, "customers": snapshot["stages"].get(stage, 0)}
                    for stage, _label in Stage.choices
                ],
            }
            for run_id, snapshot in figures["trend"].items()
        ),
        key=lambda row: (row["as_of"], row["current"]),
        reverse=True,
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
                            {"to": new, "count": flows.get((old, new), {}).get(days, 0)}
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
            {"month": dt.date.fromisoformat(month), "count": count}
            for month, count in sorted(figures["win_backs"].items(), reverse=True)
            if count
        ],
        "trend": trend,
    }


def stage_section(user):
    """The lifecycle section computed now over the customers `user` may see."""
    from customers import summaries
    from customers.models import PipelineRun

    run = PipelineRun.objects.current()
    return show_stages(summaries.live_figures(build_stages, user, run), user, run)


def _month(value):
    return value.date() if isinstance(value, dt.datetime) else value


def flow_window(days):
    """The dates (after, up to) of moves within the last `days` days of the current run."""
    from customers.models import PipelineRun

    run = PipelineRun.objects.current()
    until = run.as_of if run is not None else timezone.localdate()
    return until - dt.timedelta(days=days), until
