"""The nightly churn step: one aggregation over the orders, pure scoring, one bulk write.

Each run writes a snapshot of churn scores keyed by the run; pages read the
snapshot of the current run, so a run is visible only once the frame has
published it. The frame deletes the snapshots older than the last
`snapshots_kept` published runs before the step (which also clears what an
interrupted execution of this run wrote; see customers.pipeline.snapshots_prune). The churn episodes (retained / won back) are live
data: the step works out their changes and the frame publishes them with the run.
"""

import numpy as np
import pandas as pd
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy

from customers.bulk import analyze, copy_rows, copy_text, is_postgresql, read_rows, update_rows
from customers.models import Order
from customers.pipeline import (
    StepResult,
    amount_text,
    count_text,
    counts_text,
    executing_apart,
)
from lifecycle.models import LifecycleSettings, Stage, StageSnapshot
from retention import accuracy, churn, scoring, winback
from retention.formatting import fixed_text, int_text
from retention.models import (
    Band,
    ChurnEpisode,
    ChurnRunSummary,
    ChurnScore,
    FollowUpPlan,
    RetentionSettings,
)
from retention.reading import read_grades, read_open_complaints, signals_for
from segmentation.models import RfmScore

# Connections writing the snapshot at once when the step executes beside others.
COPY_PARTS = 2

SCORE_COLUMNS = [
    "run_id",
    "customer_id",
    "risk",
    "band",
    "value",
    "expected_value",
    "value_at_risk",
    "value_tier",
    "reasons",
]


def snapshots_kept():
    """How many published runs keep their churn scores (the frame prunes the rest)."""
    return RetentionSettings.current().snapshots_kept


def read_values(run, stats):
    """Each scored customer's value and value tier: segmentation's spend in its window
    from the same run; without it, the spend of the last 365 days."""
    segments = read_rows(
        f"SELECT customer_id, monetary, value_tier FROM {RfmScore._meta.db_table} "
        "WHERE run_id = %(run)s",
        {"run": run.pk},
        ["customer_id", "monetary", "value_tier"],
    )
    frame = stats[["customer_id", "spend_year"]].merge(segments, on="customer_id", how="left")
    value = frame["monetary"].astype(float).where(frame["monetary"].notna(), frame["spend_year"])
    return value.clip(lower=0).to_numpy(), frame["value_tier"].fillna("").to_numpy(dtype=object)


def score_rows(run, stats, scored, reasons, value, value_tier, settings, expected=None):
    """The snapshot rows to COPY, largest value at risk first: the two indexes that start
    with (run, band?, value at risk) then grow at their ends, as the unique (run,
    customer) index does anyway for a new run."""
    risk = np.round(scored.risk, 4)
    expected = np.zeros(len(risk)) if expected is None else np.round(expected, 2)
    at_risk = np.round(risk * expected, 2)
    rows = pd.DataFrame(
        {
            "run_id": run.pk,
            "customer_id": stats["customer_id"].to_numpy(),
            "risk": risk,
            "band": churn.risk_bands(risk, churn.Bands(settings.high_risk, settings.medium_risk)),
            "value": np.round(value, 2),
            "expected_value": expected,
            "value_at_risk": at_risk,
            "value_tier": value_tier,
            "reasons": reasons,
        },
        columns=SCORE_COLUMNS,
    )
    return rows


def write_order(rows):
    """The row positions in the order of the value-at-risk indexes (see score_rows)."""
    return np.lexsort((rows["customer_id"].to_numpy(), -rows["value_at_risk"].to_numpy()))


def snapshot_write(rows):
    """Append the snapshot rows. On PostgreSQL as text formatted column-wise (pandas' CSV
    writer takes several seconds for a million rows of floats and JSON), in the order of
    the value-at-risk indexes; the reasons go in as text, not parsed by the server."""
    table = ChurnScore._meta.db_table
    if not is_postgresql() or rows.empty:
        return copy_rows(table, rows)
    # Beside other steps, two connections write at once: the COPY's index upkeep is the
    # step's largest part, and the last steps of a night leave a core free.
    parts = COPY_PARTS if executing_apart() else 1
    written = copy_text(table, snapshot_text(rows.iloc[write_order(rows)]), parts=parts)
    # Before the run is published: the churn list's count is planned from them (at 1M,
    # the manager's list 678 ms with stale statistics, 273 ms after).
    analyze(table)
    return written


def snapshot_text(rows):
    """The rows' columns as text for COPY. The reasons are built by retention.churn from
    codes, numbers, dates and grade letters: no tab, newline or backslash that the text
    format would need escaped."""
    return {
        "run_id": int_text(rows["run_id"]),
        "customer_id": int_text(rows["customer_id"]),
        "risk": fixed_text(rows["risk"], 4),
        "band": rows["band"].to_numpy(dtype=object),
        "value": fixed_text(rows["value"], 2),
        "expected_value": fixed_text(rows["expected_value"], 2),
        "value_at_risk": fixed_text(rows["value_at_risk"], 2),
        "value_tier": rows["value_tier"].to_numpy(dtype=object),
        "reasons": rows["reasons"].to_numpy(dtype=object),
    }


def _open_episodes():
    return read_rows(
        f"SELECT id, customer_id, last_order_on, lost_from FROM {ChurnEpisode._meta.db_table} "
        "WHERE outcome = 'open'",
        {},
        ["id", "customer_id", "last_order_on", "lost_from"],
    )


def _next_orders(as_of):
    """The first recorded order after each open episode's last order, up to `as_of`."""
    return read_rows(
        f"""SELECT e.id, MIN(o.order_date)
        FROM {ChurnEpisode._meta.db_table} e
        JOIN {Order._meta.db_table} o
          ON o.customer_id = e.customer_id AND o.order_date > e.last_order_on
         AND o.order_date <= %(as_of)s AND o.status = 'recorded'
        WHERE e.outcome = 'open'
        GROUP BY e.id""",
        {"as_of": as_of},
        ["episode_id", "next_order"],
    )


def _plans():
    rows = FollowUpPlan.objects.exclude(status=FollowUpPlan.Status.CANCELLED).values_list(
        "pk", "customer_id", "created_at"
    )
    return pd.DataFrame(
        [(pk, customer, timezone.localdate(created)) for pk, customer, created in rows],
        columns=["id", "customer_id", "created_on"],
    )


def _lifecycle_of(run):
    """From the lifecycle step of the same run: the customers in termination, and those it
    took from termination back to development (won back)."""
    rows = read_rows(
        f"SELECT customer_id, stage, won_back FROM {StageSnapshot._meta.db_table} "
        "WHERE run_id = %(run)s AND (stage = %(termination)s OR won_back)",
        {"run": run.pk, "termination": Stage.TERMINATION.value},
        ["customer_id", "stage", "won_back"],
    )
    terminated = set(rows.loc[rows["stage"] == Stage.TERMINATION, "customer_id"])
    won_back = set(rows.loc[rows["won_back"].astype(bool), "customer_id"])
    return terminated, won_back


def plan_episodes(run, stats, scored, bands):
    """The episodes this run ends (ordered again) and opens (flagged or lost)."""
    terminated, won_back = _lifecycle_of(run)
    open_episodes = _open_episodes()
    ended = winback.episodes_ended(open_episodes, _next_orders(run.as_of), _plans(), won_back)
    still_open = set(open_episodes["customer_id"]) - set(ended["customer_id"])
    customers = pd.DataFrame(
        {
            "customer_id": stats["customer_id"].to_numpy(),
            "band": bands,
            "risk": np.round(scored.risk, 4),
            "recency": scored.purchases["recency"].to_numpy(),
            "interval": scored.purchases["interval"].to_numpy(),
            "terminated": stats["customer_id"].isin(list(terminated)).to_numpy(),
        }
    )
    rules = LifecycleSettings.current().rules()
    opened = winback.episodes_opened(customers, still_open, run.as_of, rules)
    return ended, opened


def _dates(values):
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d")


def episodes_write(run, ended, opened):
    """Record the endings, then the new episodes (a customer may end one and open another)."""
    table = ChurnEpisode._meta.db_table
    update_rows(
        table,
        pd.DataFrame(
            {
                "id": ended["id"],
                "ended_on": _dates(ended["ended_on"]),
                "outcome": ended["outcome"],
                "plan_id": ended["plan_id"],
            }
        ),
    )
    copy_rows(
        table,
        pd.DataFrame(
            {
                "customer_id": opened["customer_id"],
                "flagged_on": _dates(opened["flagged_on"]),
                "flagged_run_id": run.pk,
                "flagged_risk": opened["flagged_risk"],
                "last_order_on": _dates(opened["last_order_on"]),
                "lost_from": _dates(opened["lost_from"]),
                "outcome": ChurnEpisode.Outcome.OPEN.value,
            }
        ),
    )


def churn_prepare(run):
    """The churn step's part that reads only the orders and the calendar (the order
    statistics, the backtest and the learned weights): the frame may execute it beside
    the steps the churn step waits for."""
    return scoring.learn_as_of(run.as_of, RetentionSettings.current().horizon_days)


def churn_step(run, prepared):
    """Pipeline step: a churn risk with reasons for every customer who ever ordered."""
    settings = RetentionSettings.current()
    # What an interrupted execution of this run wrote (pruned by the frame unless published).
    ChurnScore.objects.filter(run=run).delete()
    ChurnRunSummary.objects.filter(run=run).delete()
    as_of = run.as_of

    def read_signals(stats):
        return signals_for(stats, read_open_complaints(as_of), read_grades(as_of))

    scores = scoring.score_prepared(prepared, read_signals)
    stats, scored = scores.stats, scores.scored
    reasons = scores.reasons()
    value, value_tier = read_values(run, stats)
    expected = churn.expected_value(scored)
    rows = score_rows(run, stats, scored, reasons, value, value_tier, settings, expected)
    snapshot_write(rows)
    summary = run_summary_create(run, scores)
    ended, opened = plan_episodes(run, stats, scored, rows["band"].to_numpy())
    return StepResult(
        rows=len(rows),
        summary=step_summary(rows, scored.params, ended, opened, accuracy.figures(summary, as_of)),
        publish=lambda: episodes_write(run, ended, opened),
    )


def _figure(value):
    return None if value is None else round(float(value), 4)


def run_summary_create(run, scores):
    learned = scores.learned
    return ChurnRunSummary.objects.create(
        run=run,
        horizon_days=scores.horizon_days,
        backtest_on=scores.backtest_on,
        customers=learned.customers,
        churned=learned.churned,
        held_out=learned.held_out,
        fallback=learned.fallback,
        weights=learned.weights,
        auc=_figure(learned.auc),
        lift=_figure(learned.lift),
        recency_auc=_figure(learned.recency_auc),
        recency_lift=_figure(learned.recency_lift),
    )


def step_summary(rows, params, ended, opened, figures=None):
    """What `run_pipeline --json` reports for the step."""
    by_band = rows.groupby("band")["value_at_risk"].agg(["size", "sum"])
    summary = {
        "customers_scored": len(rows),
        "bands": {band: int(by_band["size"].get(band, 0)) for band in ("high", "medium", "low")},
        "value_at_risk": f"{rows['value_at_risk'].sum():.2f}",
        "value_at_risk_by_band": {
            band: f"{by_band['sum'].get(band, 0.0):.2f}" for band in ("high", "medium", "low")
        },
        "expected_value": f"{rows['expected_value'].sum():.2f}",
        "bgnbd": params.as_dict(),
        "episodes_opened": len(opened),
        "retained": int((ended["outcome"] == "retained").sum()),
        "won_back": int((ended["outcome"] == "won_back").sum()),
    }
    if figures is not None:
        summary["accuracy"] = figures
    return summary


def _amounts_by_band_text(amounts):
    labels = dict(Band.choices)
    return ", ".join(
        f"{labels.get(band, band)} {amount_text(value)}" for band, value in amounts.items()
    )


def _fit_text(params):
    names = {"alpha": "α"}
    return ", ".join(
        f"{names.get(name, name)} {formats.number_format(value, 3)}"
        for name, value in params.items()
    )


# How the step's summary reads on the run pages: (key, label, format) per figure.
SUMMARY_FIELDS = [
    ("customers_scored", gettext_lazy("customers scored"), count_text),
    ("bands", gettext_lazy("risk bands"), lambda counts: counts_text(counts, Band.choices)),
    ("value_at_risk", gettext_lazy("value at risk"), amount_text),
    ("value_at_risk_by_band", gettext_lazy("value at risk by band"), _amounts_by_band_text),
    ("expected_value", gettext_lazy("expected value, next 12 months"), amount_text),
    ("accuracy", gettext_lazy("how well the score separated churners"), accuracy.accuracy_line),
    ("bgnbd", gettext_lazy("purchase model fitted (BG/NBD)"), _fit_text),
    ("episodes_opened", gettext_lazy("customers newly flagged or lost"), count_text),
    ("retained", gettext_lazy("retained"), count_text),
    ("won_back", gettext_lazy("won back"), count_text),
]
