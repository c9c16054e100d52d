"""Reads of the RFM snapshots for pages and exports, always from the current run and
scoped to the customers the viewer may see."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils.translation import gettext_lazy as _

from customers.bulk import cents_sql, is_postgresql, read_binary, read_frame
from customers.models import Customer, PipelineRun, SectionSummary
from customers.summaries import live_figures
from segmentation import charts
from segmentation.models import RfmRunSummary, RfmScore, Segment, ValueTier
from segmentation.rfm import (
    SCORES,
    TOP_STEP,
    curve_positions,
    pareto_curve,
    segment_of,
    segment_sizes,
    top_share,
)

Scope_ = SectionSummary.Scope

# Rows of the dashboard's trend table (the sparklines span every run in the trend).
TREND_ROWS = 12
EXPORT_HEADER = [
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "value_tier",
]
# The columns and their coded values in words (export_scores --labels).
EXPORT_LABELS = {
    "recency_days": _("Days since last order"),
    "frequency": _("Orders"),
    "monetary": _("Spend"),
    "r_score": _("R score"),
    "f_score": _("F score"),
    "m_score": _("M score"),
    "rfm_segment": _("RFM segment"),
    "value_tier": _("Value tier"),
}
EXPORT_CHOICES = {"rfm_segment": Segment.choices, "value_tier": ValueTier.choices}


def current_scores(**lookups):
    """Scores of the current run (matching `lookups`), for correlated filters on customers."""
    return RfmScore.objects.current().filter(**lookups)


def customers_with_score(**lookups):
    """A filter for customers whose score in the current run matches `lookups`."""
    return Exists(current_scores(customer_id=OuterRef("pk"), **lookups))


@dataclass
class RunFigures:
    """One run's figures over a set of customers; absent parts were not asked for."""

    run: PipelineRun
    key_share: Decimal
    customers: int = 0
    total_cents: int = 0
    tiers: dict | None = None  # tier → {"customers": n, "cents": c}
    top20_share: float | None = None
    curve: list | None = None
    grid: list | None = None  # grid[r - 1][f - 1]


def published_snapshots(current=None):
    """The current run and the summaries of the kept published runs, newest first; the list
    is empty when the current run has no RFM snapshot. Two queries, one if `current` (the
    current run) is given."""
    current = current or PipelineRun.objects.current()
    if current is None:
        return None, []
    summaries = list(
        RfmRunSummary.objects.filter(
            run__status=PipelineRun.Status.SUCCEEDED,
            run__published_at__lte=current.published_at,
        )
        .select_related("run")
        .order_by("-run__published_at")
    )
    if not summaries or summaries[0].run_id != current.pk:
        return current, []
    return current, summaries[: summaries[0].snapshots_kept]


def _summary_figures(summary):
    return RunFigures(
        run=summary.run,
        key_share=summary.key_share,
        customers=summary.customers_scored,
        total_cents=_cents(summary.total_monetary),
        tiers=summary.tiers,
        top20_share=summary.top20_share,
        curve=summary.lorenz,
        grid=summary.grid,
    )


def _cents(amount):
    """Whole cents of an amount read back (a Decimal, or a float sum on SQLite)."""
    if amount is None:
        return 0
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1)))


# Live figures over a viewer's customers read at most this many runs, spread over the kept
# ones (the current and the previous run always among them): each run is another pass over
# the viewer's rows. Admins' trend comes from the summaries and shows every kept run.
VISIBLE_TREND_RUNS = 6


def trend_runs(summaries, most=None):
    """Up to `most` of the summaries (newest first), evenly spread from the newest to the
    oldest, always with the two newest."""
    most = VISIBLE_TREND_RUNS if most is None else most
    last = len(summaries) - 1
    if last < most:
        return list(summaries)
    picked = {0, 1} | {round(step * last / (most - 2)) for step in range(1, most - 1)}
    return [summaries[index] for index in sorted(picked)]


def _visible_cells(scope, summaries):
    """Customers and spend per run, tier and R×F cell among the customers of `scope`, for
    the trend runs: one query, kept in the scope's memo (for a viewer: for the rest of the
    request) so that both dashboard sections share it."""
    runs = tuple(summary.run_id for summary in summaries)
    cached = scope.memo.get("rfm_cells")
    if cached is not None and cached[0] == runs:
        return cached[1]
    cells = list(
        scope.of(RfmScore.objects.filter(run_id__in=runs))
        .values_list("run_id", "value_tier", "r_score", "f_score")
        .annotate(customers=Count("pk"), monetary=Sum("monetary"))
        .order_by()
    )
    scope.memo["rfm_cells"] = (runs, cells)
    return cells


def _visible_figures(scope, summaries):
    """Tier totals and R×F grids per trend run over the customers of `scope`."""
    return _cell_figures(_visible_cells(scope, summaries), summaries)


def _cell_figures(cells, summaries):
    """Tier totals and R×F grids per trend run from `cells`: (run id, tier, r score,
    f score, customers, spend) rows."""
    figures = {
        summary.run_id: RunFigures(
            run=summary.run,
            key_share=summary.key_share,
            tiers=_empty_tiers(),
            grid=_empty_grid(),
        )
        for summary in summaries
    }
    for run_id, tier, r_score, f_score, customers, monetary in cells:
        run_figures = figures[run_id]
        cents = _cents(monetary)
        run_figures.tiers[tier]["customers"] += customers
        run_figures.tiers[tier]["cents"] += cents
        run_figures.grid[r_score - 1][f_score - 1] += customers
        run_figures.customers += customers
        run_figures.total_cents += cents
    return list(figures.values())


def _visible_value_figures(scope, summaries):
    """The figures above, and the current run's Pareto curve over the same customers (its
    concentration is not additive, so older runs' would cost a sort each): two queries."""
    figures = _visible_figures(scope, summaries)
    now = figures[0]
    positions, cumulative = _ranked_samples(scope, now)
    now.curve = pareto_curve(positions, cumulative, now.customers, now.total_cents)
    now.top20_share = top_share(now.curve)
    return figures


def _ranked_samples(scope, figures):
    """Cumulative spend, in value order, at the ranks that fix the curve, among the
    customers of `scope` in the run of `figures`."""
    if not figures.customers:
        return [], []
    rows = (
        scope.of(RfmScore.objects.filter(run_id=figures.run.pk))
        .annotate(
            position=Window(RowNumber(), order_by=VALUE_ORDER),
            running=Window(Sum("monetary"), order_by=VALUE_ORDER),
        )
        .filter(position__in=curve_positions(figures.customers).tolist())
        .values_list("position", "running")
    )
    samples = sorted(rows)
    return [position for position, _ in samples], [_cents(running) for _, running in samples]


# The run's value rank orders by spend, ties by customer id: the order of the curve.
# Customers without spend have no rank and come last, adding nothing.
VALUE_ORDER = [F("value_rank").asc(nulls_last=True), F("customer_id").asc()]


def _all_ranked_samples(scopes, run_id):
    """_ranked_samples of every team and owner in the run `run_id`: {scope key: (ranks,
    cumulative spend)}. One read of the run's rows with their customers' team and owner;
    each kind of scope is then one sort here (the windows this replaces took a sort each
    in the database and twice the time at a million rows)."""
    rows = _value_rows(run_id)
    team, owner = rows["team_id"].to_numpy(), rows["owner_id"].to_numpy()
    managed = np.array(
        [
            (user_id << 32) | team_id
            for user_id, teams in scopes.managed.items()
            for team_id in teams
        ],
        dtype=np.int64,
    )
    in_managed = np.isin((owner << 32) | np.maximum(team, 0), managed) & (team >= 0)
    samples = {}
    for kind, scope_ids, keep in (
        (Scope_.TEAM, team, team >= 0),
        (Scope_.OWNER, owner, (owner >= 0) & ~in_managed),
    ):
        _add_samples(
            samples,
            kind,
            scope_ids[keep],
            rows["value_key"].to_numpy()[keep],
            rows["customer_id"].to_numpy()[keep],
            rows["cents"].to_numpy()[keep],
        )
    return samples


def _add_samples(samples, kind, scope_ids, value_key, customer_ids, cents):
    """Each scope's curve_positions (ranks in VALUE_ORDER) and cumulative spend at them."""
    if not len(scope_ids):
        return
    order = np.lexsort((customer_ids, value_key, scope_ids))
    scope_ids, running = scope_ids[order], np.cumsum(cents[order])
    starts = np.flatnonzero(np.r_[True, scope_ids[1:] != scope_ids[:-1]])
    ends = np.r_[starts[1:], len(scope_ids)]
    for start, end in zip(starts, ends, strict=True):
        positions = curve_positions(end - start)
        before = running[start - 1] if start else 0
        samples[kind, int(scope_ids[start])] = (
            positions.tolist(),
            (running[start + positions - 1] - before).tolist(),
        )


# A spend without a value rank sorts last (VALUE_ORDER's nulls last).
_UNRANKED = 2**31 - 1


def _value_rows(run_id):
    """team_id, owner_id (−1 for none), value_key (the value rank, _UNRANKED for none),
    customer_id and cents of every row of the run."""
    sql = (
        f"SELECT CAST(COALESCE(c.team_id, -1) AS BIGINT), CAST(COALESCE(c.owner_id, -1) AS "
        f"BIGINT), CAST(COALESCE(r.value_rank, {_UNRANKED}) AS BIGINT), "
        f"CAST(r.customer_id AS BIGINT), CAST({cents_sql('r.monetary')} AS BIGINT) "
        f"FROM {RfmScore._meta.db_table} r JOIN {Customer._meta.db_table} c "
        "ON c.id = r.customer_id WHERE r.run_id = %(run)s"
    )
    names = ["team_id", "owner_id", "value_key", "customer_id", "cents"]
    if is_postgresql():
        return read_binary(sql, {"run": run_id}, [(name, "int8") for name in names])
    return read_frame(sql, {"run": run_id}, columns=names).astype("int64")


def _empty_tiers():
    return {tier: {"customers": 0, "cents": 0} for tier in ValueTier.values}


def _empty_grid():
    return [[0] * SCORES for _ in range(SCORES)]


def _figures_for(scope, run, loader):
    """The figures of the trend runs over the customers of `scope`, newest first."""
    if run is None:
        return []
    current, summaries = published_snapshots(run)
    if not summaries:
        return []
    if scope.everyone:
        # Everyone's figures were computed by the run itself.
        return [_summary_figures(summary) for summary in summaries]
    return loader(scope, trend_runs(summaries))


def _all_figures(scopes, run, curves):
    """_figures_for of every scope of the run (customers.summaries.RunScopes), with the
    current run's Pareto curve if `curves`: {scope key: figures}. The company's from the
    runs' summaries; the teams' and owners' earlier trend runs from the previous build
    (`scopes.earlier`) as it counted them, the others from one pass over those runs' cells
    (kept in the scopes' memo for the other section) and, for the curves, two more."""
    keys = scopes.scope_keys()
    if run is None:
        return {key: [] for key in keys}
    current, summaries = published_snapshots(run)
    if not summaries:
        return {key: [] for key in keys}
    runs = trend_runs(summaries)
    settled = _settled_runs(scopes.earlier, runs, run)
    missing = [summary for summary in runs if summary.run_id not in settled]

    def read_cells():
        rows = scopes.pairs(
            RfmScore.objects.filter(run_id__in=[summary.run_id for summary in missing]),
            "run_id",
            "value_tier",
            "r_score",
            "f_score",
            customers=Count("pk"),
            monetary=Sum("monetary"),
        )
        return scopes.add_up(rows, list, _add_cell)

    cells = scopes.shared(("rfm_cells", tuple(s.run_id for s in missing)), read_cells)
    samples = _all_ranked_samples(scopes, run.pk) if curves else {}
    figures = {}
    for key in keys:
        if key == keys[0]:
            # Everyone's figures were computed by the run itself.
            figures[key] = [_summary_figures(summary) for summary in summaries]
            continue
        fresh = {f.run.pk: f for f in _cell_figures(cells[key], missing)}
        reported = {f["run"]: f for f in scopes.earlier.of(key) or []}
        figures[key] = [
            fresh[summary.run_id]
            if summary.run_id in fresh
            else _reported_figures(summary, reported.get(summary.run_id))
            for summary in runs
        ]
        if curves:
            now = figures[key][0]
            positions, cumulative = samples.get(key, ([], [])) if now.customers else ([], [])
            now.curve = pareto_curve(positions, cumulative, now.customers, now.total_cents)
            now.top20_share = top_share(now.curve)
    return figures


def _settled_runs(earlier, runs, run):
    """The ids of the trend runs before `run` that the earlier build counted."""
    counted = {f["run"] for f in earlier.of_company() or []}
    return {summary.run_id for summary in runs if summary.run_id != run.pk} & counted


def _reported_figures(summary, stored):
    """A trend run's figures of a scope as the earlier build stored them; without, the
    scope had no customers then."""
    if stored is None:
        return _cell_figures([], [summary])[0]
    return RunFigures(
        run=summary.run,
        key_share=summary.key_share,
        customers=stored["customers"],
        total_cents=stored["total_cents"],
        tiers=stored["tiers"],
        grid=stored["grid"],
    )


def _add_cell(cells, *cell):
    cells.append(cell)
    return cells


def _stored(figures):
    """RunFigures as JSON can hold them."""
    return [
        {
            "run": f.run.pk,
            "as_of": f.run.as_of,
            "key_share": f.key_share,
            "customers": f.customers,
            "total_cents": f.total_cents,
            "tiers": f.tiers,
            "top20_share": f.top20_share,
            "curve": f.curve,
            "grid": f.grid,
        }
        for f in figures
    ]


def _read(stored, run):
    """RunFigures back from `_stored`, the first with the current run `run`."""
    return [
        RunFigures(
            run=run if f["run"] == run.pk else PipelineRun(pk=f["run"], as_of=_date(f["as_of"])),
            key_share=Decimal(str(f["key_share"])),
            customers=f["customers"],
            total_cents=f["total_cents"],
            tiers=f["tiers"],
            top20_share=f["top20_share"],
            curve=f["curve"],
            grid=f["grid"],
        )
        for f in stored
    ]


def _date(value):
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _pct(part, whole):
    return round(100 * part / whole, 1) if whole else 0.0


def _pct_or_none(share):
    return None if share is None else round(100 * share, 1)


# Dashboard sections.


def value_tiers_section(user):
    """The value-tier section computed now over the customers `user` may see.
    Admins: 2 queries (current run, summaries); others: 2 more (per-run totals over their
    customers, the current curve's samples)."""
    run = PipelineRun.objects.current()
    return show_value_tiers(live_figures(build_value_tiers, user, run), user, run)


def build_value_tiers(scope, run):
    """The trend runs' figures over the customers of `scope`, with the current run's
    Pareto curve. Company: 1 query (the runs' summaries); others: 2 more."""
    return _stored(_figures_for(scope, run, _visible_value_figures))


def build_all_value_tiers(scopes, run):
    """build_value_tiers of every scope of the run: see _all_figures."""
    return {key: _stored(f) for key, f in _all_figures(scopes, run, curves=True).items()}


def show_value_tiers(stored, user, run):
    """The Pareto curve, the concentration in words, the tier split and its trend: no
    query."""
    figures = _read(stored, run) if stored else []
    if not figures:
        return {"run": run, "has_snapshot": False}
    now = figures[0]
    customers, total = now.customers, now.total_cents
    # One definition: the key customers are those who make the key share of revenue (see
    # segmentation.rfm); the sentence and the marker count them, as the table does.
    key = now.tiers[ValueTier.KEY.value]
    tiers = [
        {
            "tier": tier,
            "label": label,
            "customers": now.tiers[tier]["customers"],
            "customer_pct": _pct(now.tiers[tier]["customers"], customers),
            "revenue": Decimal(now.tiers[tier]["cents"]).scaleb(-2),
            "revenue_pct": _pct(now.tiers[tier]["cents"], total),
        }
        for tier, label in ValueTier.choices
    ]
    oldest_first = list(reversed(figures))
    # Only the run's own summaries hold older runs' concentration (admins' view).
    top20_history = [f.top20_share for f in oldest_first if f.top20_share is not None]
    return {
        "run": now.run,
        "has_snapshot": True,
        "customers": customers,
        "revenue": Decimal(total).scaleb(-2),
        "tiers": tiers,
        "top20_pct": round(100 * now.top20_share, 1),
        "pareto_customers": key["customers"],
        "pareto_customer_pct": _pct(key["customers"], customers),
        "pareto_revenue_pct": _pct(key["cents"], total),
        "key_pct": round(100 * now.key_share, 1),
        "curve_path": charts.pareto_path(now.curve) if total else "",
        "chart_size": charts.PARETO_SIZE,
        "chart_mid": charts.PARETO_SIZE // 2,
        "top20_marker": charts.pareto_marker(TOP_STEP / 100, now.top20_share),
        "pareto_marker": charts.pareto_marker(
            key["customers"] / customers if customers else 0, key["cents"] / total if total else 0
        ),
        "trend": [
            {
                "as_of": run_figures.run.as_of,
                "customers": run_figures.customers,
                "key": run_figures.tiers[ValueTier.KEY.value]["customers"],
                "ordinary": run_figures.tiers[ValueTier.ORDINARY.value]["customers"],
                "small": run_figures.tiers[ValueTier.SMALL.value]["customers"],
                "top20_pct": _pct_or_none(run_figures.top20_share),
            }
            for run_figures in reversed(oldest_first[-TREND_ROWS:])
        ],
        # On the whole 0–100 % scale: a shift of a tenth of a point should not look like a cliff.
        "top20_sparkline": charts.sparkline(top20_history, bounds=(0, 1)),
        "top20_trend": len(top20_history) > 1,
        "key_sparkline": charts.sparkline(
            [f.tiers[ValueTier.KEY.value]["customers"] for f in oldest_first]
        ),
        "spark_width": charts.SPARK_WIDTH,
        "spark_height": charts.SPARK_HEIGHT,
        "runs_in_trend": len(figures),
        "first_as_of": figures[-1].run.as_of,
    }


def rfm_grid_section(user):
    """The R×F section computed now over the customers `user` may see.
    Admins: 2 queries (current run, summaries); others: 1 more (per-run totals over their
    customers), none if the value-tier section read them in the same request."""
    run = PipelineRun.objects.current()
    return show_rfm_grid(live_figures(build_rfm_grid, user, run), user, run)


def build_rfm_grid(scope, run):
    """The trend runs' tier totals and R×F grids over the customers of `scope`. Company:
    1 query (the runs' summaries); others: 1 more, none if the value tiers read it."""
    return _stored(_figures_for(scope, run, _visible_figures))


def build_all_rfm_grids(scopes, run):
    """build_rfm_grid of every scope of the run: see _all_figures."""
    return {key: _stored(f) for key, f in _all_figures(scopes, run, curves=False).items()}


def combine_rfm_grid(parts):
    """The grids of disjoint scopes added up, run by run (the same trend runs in each)."""
    runs = [[f["run"] for f in part] for part in parts]
    if any(part_runs != runs[0] for part_runs in runs):
        return None
    combined = []
    for index, first in enumerate(parts[0]):
        grid = [[0] * SCORES for _ in range(SCORES)]
        customers = 0
        for part in parts:
            figures = part[index]
            customers += figures["customers"]
            for r in range(SCORES):
                for f in range(SCORES):
                    grid[r][f] += figures["grid"][r][f]
        combined.append(
            {
                **first,
                "customers": customers,
                "grid": grid,
                # Not what the grid shows; not added up.
                "tiers": None,
                "total_cents": 0,
                "top20_share": None,
                "curve": None,
            }
        )
    return combined


def show_rfm_grid(stored, user, run):
    """The R×F heat map, segment sizes and their trend: no query."""
    figures = _read(stored, run) if stored else []
    if not figures:
        return {"run": run, "has_snapshot": False}
    now = figures[0]
    highest = max(max(row) for row in now.grid)
    rows = [
        {
            "r": r,
            "cells": [
                {
                    "r": r,
                    "f": f,
                    "customers": now.grid[r - 1][f - 1],
                    "heat": charts.heat(now.grid[r - 1][f - 1], highest),
                    "segment": Segment(segment_of(r, f)).label,
                }
                for f in range(1, SCORES + 1)
            ],
        }
        for r in range(SCORES, 0, -1)
    ]
    oldest_first = [segment_sizes(f.grid) for f in reversed(figures)]
    sizes = oldest_first[-1]
    previous = oldest_first[-2] if len(oldest_first) > 1 else None
    segments = [
        {
            "segment": segment,
            "label": label,
            "customers": sizes[segment],
            "pct": _pct(sizes[segment], now.customers),
            "change": sizes[segment] - previous[segment] if previous else None,
            "sparkline": charts.sparkline([run_sizes[segment] for run_sizes in oldest_first]),
        }
        for segment, label in Segment.choices
    ]
    return {
        "run": now.run,
        "has_snapshot": True,
        "customers": now.customers,
        "grid_rows": rows,
        "f_scores": list(range(1, SCORES + 1)),
        "segments": segments,
        "first_as_of": figures[-1].run.as_of,
        "previous_as_of": figures[1].run.as_of if len(figures) > 1 else None,
        "spark_width": charts.SPARK_WIDTH,
        "spark_height": charts.SPARK_HEIGHT,
        "runs_in_trend": len(figures),
    }


# The customer file.


def rfm_panel(customer, user):
    """The customer's score in the current run: two queries (the run with its summary, the
    score)."""
    run = PipelineRun.objects.select_related("rfm_summary").current()
    summary = getattr(run, "rfm_summary", None) if run is not None else None
    if summary is None:
        return {"run": run, "summary": None, "score": None}
    score = RfmScore.objects.filter(run=run, customer=customer).first()
    return {
        "run": run,
        "summary": summary,
        "score": score,
        "last_order": run.as_of - dt.timedelta(days=score.recency_days) if score else None,
    }


# export_scores.


def export_columns(customer_ids):
    """{customer id: EXPORT_HEADER values} from the current run: one query per batch."""
    rows = current_scores(customer_id__in=customer_ids).values_list(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "segment",
        "value_tier",
    )
    return {row[0]: row[1:] for row in rows}


TIER_BADGES = {
    ValueTier.KEY: "text-bg-primary",
    ValueTier.ORDINARY: "text-bg-secondary",
    ValueTier.SMALL: "text-bg-light",
}


def network_column(customer_ids):
    """{customer id: (value tier in words, badge class)} from the current run: one query."""
    rows = current_scores(customer_id__in=customer_ids).values_list("customer_id", "value_tier")
    return {pk: (ValueTier(tier).label, TIER_BADGES[tier]) for pk, tier in rows}
