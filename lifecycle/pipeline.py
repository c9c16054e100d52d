"""The nightly lifecycle step: its figures of the run's shared pass over the orders
(customers.rollups) and three plain reads, the rule (lifecycle.rules), one COPY of the run's
stages; the live stages and their trail move when the run publishes.

A run dated before the published one (kept aside) writes its snapshot only: the frame
never calls its publish, so live stages never move backwards.
"""

import datetime as dt

import numpy as np
import pandas as pd
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy

from customers.bulk import (
    analyze,
    cents_sql,
    copy_binary,
    copy_rows,
    is_postgresql,
    read_binary,
    read_frame,
    update_unchanged_rows,
)
from customers.models import Customer
from customers.pgbinary import Column
from customers.pipeline import StepResult, count_text, counts_text
from customers.rollups import OrderFigure, order_figures, register_order_figures
from lifecycle import rules
from lifecycle.models import CustomerStage, LifecycleSettings, Stage, StageChange, StageSnapshot
from segmentation.models import RfmScore

SNAPSHOT_MODELS = (StageSnapshot,)
SNAPSHOT_COLUMNS = [
    Column("run_id", "int8"),
    Column("customer_id", "int8"),
    Column("stage", "text"),
    Column("rule_stage", "text"),
    Column("won_back", "bool"),
]


def snapshots_kept():
    return LifecycleSettings.current().snapshots_kept


def _days_before(date_sql):
    """SQL for whole days from `date_sql` to the as_of parameter, on PostgreSQL and SQLite."""
    if connection.vendor == "postgresql":
        return f"(%(as_of)s::date - {date_sql})"
    return f"CAST(julianday(%(as_of)s) - julianday({date_sql}) AS INTEGER)"


def _code_sql(column, values):
    """SQL giving `column`'s value as its 1-based position in `values`, 0 for none."""
    cases = " ".join(f"WHEN '{value}' THEN {code}" for code, value in enumerate(values, 1))
    return f"CASE {column} {cases} ELSE 0 END"


TIERS = ("key", "ordinary", "small")
# Dates and codes come as numbers so that PostgreSQL sends the rows in binary: days
# before the run's date (NONE where there is none), stages and tiers by position.
NONE = -(10**6)


def _quarters_sql():
    """SQL of the quarters with an order, without COUNT(DISTINCT …) (which sorts each
    customer's orders). On PostgreSQL one aggregate: a bit per quarter with an order (the
    quarter a date is in is its days before the run's date divided by QUARTER_DAYS), counted
    after the read (_quarter_count); elsewhere a flag per quarter, summed."""
    if connection.vendor == "postgresql":
        return (
            f"BIT_OR(CASE WHEN order_date > %(lifecycle_quarter_{rules.QUARTERS_SEEN})s "
            f"THEN 1 << ({_days_before('order_date')} / {rules.QUARTER_DAYS}) ELSE 0 END)"
        )
    return " + ".join(
        f"CASE WHEN COUNT(*) FILTER (WHERE order_date > %(lifecycle_quarter_{quarter + 1})s "
        f"AND order_date <= %(lifecycle_quarter_{quarter})s) > 0 THEN 1 ELSE 0 END"
        for quarter in range(rules.QUARTERS_SEEN)
    )


def _quarter_count(bits):
    """The number of quarters set in each value of _quarters_sql's bits (PostgreSQL)."""
    bits = bits.to_numpy(dtype="int64").astype(np.uint8)
    return np.unpackbits(bits[:, None], axis=1).sum(axis=1).astype("int64")


def _history_params(run):
    as_of = run.as_of
    return {
        # Quarter k holds the orders from after quarter_{k+1} up to quarter_k.
        **{
            f"lifecycle_quarter_{quarter}": as_of - dt.timedelta(days=quarter * rules.QUARTER_DAYS)
            for quarter in range(rules.QUARTERS_SEEN + 1)
        },
        "lifecycle_year_from": as_of - dt.timedelta(days=365),
        "lifecycle_previous_from": as_of - dt.timedelta(days=730),
    }


def _spend_sql(condition):
    return f"COALESCE(SUM({cents_sql('amount')}) FILTER (WHERE {condition}), 0)"


# Per customer with an order by the run's date: orders, days since the first and the last,
# quarters with an order, spend over the last year and the year before (cents). Read through
# the run's shared pass over the orders (customers.rollups).
HISTORY_FIGURES = {
    "lifecycle_orders": ("orders", lambda: "COUNT(*)"),
    "lifecycle_tenure": ("tenure", lambda: _days_before("MIN(order_date)")),
    "lifecycle_recency": ("recency", lambda: _days_before("MAX(order_date)")),
    "lifecycle_quarters": ("quarters", _quarters_sql),
    "lifecycle_spend_year": (
        "spend_year",
        lambda: _spend_sql("order_date > %(lifecycle_year_from)s"),
    ),
    "lifecycle_spend_previous_year": (
        "spend_previous_year",
        lambda: _spend_sql(
            "order_date > %(lifecycle_previous_from)s AND order_date <= %(lifecycle_year_from)s"
        ),
    ),
}
register_order_figures(
    *(
        OrderFigure(name, sql, params=_history_params)
        for name, (_column, sql) in HISTORY_FIGURES.items()
    )
)


def read_orders(run):
    frame = order_figures(run, list(HISTORY_FIGURES))
    frame.columns = ["customer_id", *(column for column, _sql in HISTORY_FIGURES.values())]
    return frame


# The three other reads, each with its fields; every value a BIGINT (the binary read has one fixed
# layout): dates as days before the run's date (NONE where there is none), stages and tiers
# by position. Joined by customer id after the read: cheaper than in the query.
def _reads():
    return {
        "known": (
            f"SELECT CAST(id AS BIGINT) FROM {Customer._meta.db_table} "
            "WHERE created_at < %(known_before)s",
            [("customer_id", "int8")],
        ),
        "tiers": (
            f"SELECT CAST(customer_id AS BIGINT), "
            f"CAST({_code_sql('value_tier', TIERS)} AS BIGINT) "
            f"FROM {RfmScore._meta.db_table} WHERE run_id = %(run)s",
            [("customer_id", "int8"), ("value_tier", "int8")],
        ),
        "live": (
            f"SELECT CAST(customer_id AS BIGINT), CAST({_code_sql('stage', rules.STAGES)} AS BIGINT), "
            + ", ".join(
                f"CAST(COALESCE({_days_before(column)}, {NONE}) AS BIGINT)"
                for column in ("since", "locked_until", "restarted")
            )
            + f" FROM {CustomerStage._meta.db_table}",
            [
                ("customer_id", "int8"),
                ("stage", "int8"),
                ("since", "int8"),
                ("locked_until", "int8"),
                ("restarted", "int8"),
            ],
        ),
    }


def _read(sql, params, fields):
    if is_postgresql():
        return read_binary(sql, params, fields)
    names = [name for name, _kind in fields]
    return read_frame(sql, params, columns=names).astype("int64")


def _joined(reads):
    """One row per customer known by the run's date (created by then, or with an order by
    then), in customer order, with the columns of the four reads (READ_FIELDS)."""
    orders, known, tiers, live = (reads[key] for key in ("orders", "known", "tiers", "live"))
    ids = np.union1d(known["customer_id"].to_numpy(), orders["customer_id"].to_numpy())
    frame = pd.DataFrame({"customer_id": ids})
    defaults = {
        "orders": 0,
        "tenure": NONE,
        "recency": NONE,
        "quarters": 0,
        "spend_year": 0,
        "spend_previous_year": 0,
        "value_tier": 0,
        "stage": 0,
        "since": NONE,
        "locked_until": NONE,
        "restarted": NONE,
    }
    for read in (orders, tiers, live):
        keys = read["customer_id"].to_numpy()
        at = np.searchsorted(ids, keys)
        found = (at < len(ids)) & (ids[np.minimum(at, len(ids) - 1)] == keys)
        for name in read.columns[1:]:
            column = np.full(len(ids), defaults[name], dtype="int64")
            column[at[found]] = read[name].to_numpy(dtype="int64")[found]
            frame[name] = column
    return frame


def _decoded(values, names):
    """Codes back to names ("" for 0)."""
    return np.array(("", *names), dtype=object)[values.to_numpy(dtype="int64")]


def _date(as_of, days):
    """Days before `as_of` back to dates (NaT for NONE)."""
    days = days.to_numpy(dtype="int64")
    dates = np.datetime64(as_of, "D") - days.astype("timedelta64[D]")
    return pd.Series(np.where(days == NONE, np.datetime64("NaT"), dates), dtype="datetime64[ns]")


def read_history(run):
    """Every customer known by the run's date (created by then, or with an order by then),
    in customer order, from four reads (the order figures, customers.rollups) joined by id:
    their order history (rules.HISTORY_COLUMNS, the value
    tier from the RFM step of the same run) and the stage they are in now
    (rules.LIVE_COLUMNS, among those who have one)."""
    as_of = run.as_of
    params = {
        "as_of": as_of,
        "run": run.pk,
        "known_before": connection.ops.adapt_datetimefield_value(
            timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))
        ),
    }
    reads = {"orders": read_orders(run)}
    reads.update({key: _read(sql, params, fields) for key, (sql, fields) in _reads().items()})
    if is_postgresql():
        reads["orders"]["quarters"] = _quarter_count(reads["orders"]["quarters"])
    frame = _joined(reads)
    history = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(),
            "orders": frame["orders"].to_numpy(),
            "tenure": frame["tenure"].where(frame["tenure"] != NONE).astype(float),
            "recency": frame["recency"].where(frame["recency"] != NONE).astype(float),
            "quarters": frame["quarters"].to_numpy(),
            "spend_year": frame["spend_year"].to_numpy() / 100,
            "spend_previous_year": frame["spend_previous_year"].to_numpy() / 100,
            "value_tier": _decoded(frame["value_tier"], TIERS),
        },
        columns=rules.HISTORY_COLUMNS,
    )
    staged = (frame["stage"] > 0).to_numpy()
    live = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy()[staged],
            "stage": _decoded(frame["stage"], rules.STAGES)[staged],
            "since": _date(as_of, frame["since"]).to_numpy()[staged],
            # Days before the run's date: negative for a lock that ends later.
            "locked_until": _date(as_of, frame["locked_until"]).to_numpy()[staged],
            "restarted": _date(as_of, frame["restarted"]).to_numpy()[staged],
        },
        columns=rules.LIVE_COLUMNS,
    )
    return history, live


def _dates(values):
    return (
        pd.to_datetime(pd.Series(values))
        .dt.strftime("%Y-%m-%d")
        .where(pd.Series(values).notna(), None)
    )


def stages_publish(run, plan, live):
    """Move the live stages the run changed, where nobody changed them meanwhile, and record
    each move dated by the run's as-of date."""
    as_of = run.as_of.isoformat()
    changed = plan[plan["changed"].to_numpy(dtype=bool)]
    existing = changed[changed["old_stage"] != ""]
    guarded = pd.DataFrame(
        {
            "customer_id": existing["customer_id"].to_numpy(),
            "stage": existing["stage"].to_numpy(),
            "since": as_of,
            "restarted": _dates(existing["restarted"].to_numpy()).to_numpy(),
            "read_stage": existing["old_stage"].to_numpy(),
            "read_locked_until": _dates(
                existing["customer_id"].map(live.set_index("customer_id")["locked_until"])
                if not live.empty
                else pd.Series(pd.NaT, index=existing.index)
            ).to_numpy(),
        }
    )
    written = update_unchanged_rows(
        CustomerStage._meta.db_table,
        guarded,
        key="customer_id",
        read={"stage": "read_stage", "locked_until": "read_locked_until"},
    )
    first = changed[changed["old_stage"] == ""]
    copy_rows(
        CustomerStage._meta.db_table,
        pd.DataFrame(
            {
                "customer_id": first["customer_id"].to_numpy(),
                "stage": first["stage"].to_numpy(),
                "since": as_of,
                "locked_until": None,
                "restarted": None,
            }
        ),
    )
    if written or not first.empty:
        # The pages that leave out lost customers probe the few listed customers' stages
        # only while the planner knows how many are lost.
        analyze(CustomerStage._meta.db_table)
    recorded = pd.concat([existing[existing["customer_id"].isin(written)], first])
    copy_rows(
        StageChange._meta.db_table,
        pd.DataFrame(
            {
                "customer_id": recorded["customer_id"].to_numpy(),
                "run_id": run.pk,
                "on": as_of,
                "old_stage": recorded["old_stage"].to_numpy(),
                "new_stage": recorded["stage"].to_numpy(),
                "source": StageChange.Source.RULE.value,
                "changed_by_id": None,
                "reason": "",
                "locked_until": None,
                "value_tier": recorded["value_tier"].to_numpy(),
                "recorded_at": timezone.now().isoformat(sep=" "),
            }
        ),
    )


def lifecycle_step(run):
    """Pipeline step: every known customer's stage as of the run's date."""
    settings = LifecycleSettings.current()
    # What an interrupted execution of this run wrote (the frame prunes other runs').
    StageSnapshot.objects.filter(run=run).delete()
    history, live = read_history(run)
    plan = rules.plan_stages(history, live, run.as_of, settings.rules())
    snapshot = pd.DataFrame(
        {
            "run_id": run.pk,
            "customer_id": plan["customer_id"].to_numpy(),
            "stage": plan["stage"].to_numpy(),
            "rule_stage": plan["rule_stage"].to_numpy(),
            "won_back": plan["won_back"].to_numpy(),
        }
    )
    if is_postgresql():
        copy_binary(StageSnapshot._meta.db_table, snapshot, SNAPSHOT_COLUMNS)
    else:
        copy_rows(StageSnapshot._meta.db_table, snapshot)
    return StepResult(
        rows=len(plan),
        summary=step_summary(plan),
        publish=lambda: stages_publish(run, plan, live),
    )


def step_summary(plan):
    """What `run_pipeline --json` reports: customers per stage, and the moves between
    stages (first stages are no move)."""
    stages = plan["stage"].value_counts()
    moves = plan[plan["changed"].to_numpy(dtype=bool) & (plan["old_stage"] != "")]
    transitions = moves.groupby(["old_stage", "stage"]).size()
    return {
        "customers": len(plan),
        "stages": {stage: int(stages.get(stage, 0)) for stage in rules.STAGES},
        "first_stages": int(
            (plan["changed"].to_numpy(dtype=bool) & (plan["old_stage"] == "")).sum()
        ),
        "transitions": {
            f"{old}→{new}": int(count) for (old, new), count in sorted(transitions.items())
        },
        "won_back": int(plan["won_back"].sum()),
        "locked_against_rule": int((plan["stage"] != plan["rule_stage"]).sum())
        - int(plan["won_back"].sum()),
    }


def _transitions_text(transitions):
    labels = dict(Stage.choices)
    return ", ".join(
        f"{labels.get(old, old)} → {labels.get(new, new)} {count_text(count)}"
        for old, new, count in ((*key.split("→"), value) for key, value in transitions.items())
    ) or count_text(0)


# How the step's summary reads on the run pages: (key, label, format) per figure.
SUMMARY_FIELDS = [
    ("customers", gettext_lazy("customers staged"), count_text),
    ("stages", gettext_lazy("customers per stage"), lambda c: counts_text(c, Stage.choices)),
    ("first_stages", gettext_lazy("customers staged for the first time"), count_text),
    ("transitions", gettext_lazy("moves between stages"), _transitions_text),
    ("won_back", gettext_lazy("won back"), count_text),
    ("locked_against_rule", gettext_lazy("locked stages the rule disagrees with"), count_text),
]
