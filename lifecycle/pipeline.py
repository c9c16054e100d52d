"""The nightly lifecycle step: one aggregation over the orders, the rule (lifecycle.rules),
one COPY of the run's stages; the live stages and their trail move when the run publishes.

A run dated before the published one (kept aside) writes its snapshot only: the frame
never calls its publish, so live stages never move backwards.
"""

import datetime as dt

import pandas as pd
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy

from customers.bulk import copy_rows, read_frame, update_unchanged_rows
from customers.models import Customer, Order
from customers.pipeline import StepResult, count_text, counts_text
from lifecycle import rules
from lifecycle.models import CustomerStage, LifecycleSettings, Stage, StageChange, StageSnapshot
from segmentation.models import RfmScore

SNAPSHOT_MODELS = (StageSnapshot,)


def snapshots_kept():
    return LifecycleSettings.current().snapshots_kept


def _days_before(date_sql):
    """SQL for whole days from `date_sql` to the as_of parameter, on PostgreSQL and SQLite."""
    if connection.vendor == "postgresql":
        return f"(%(as_of)s::date - {date_sql})"
    return f"CAST(julianday(%(as_of)s) - julianday({date_sql}) AS INTEGER)"


def _history_sql():
    money = "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"
    days = _days_before("order_date")
    return f"""
SELECT c.id, COALESCE(o.orders, 0), o.tenure, o.recency, COALESCE(o.quarters, 0),
       COALESCE(o.spend_year, 0), COALESCE(o.spend_previous_year, 0),
       COALESCE(r.value_tier, '')
FROM {Customer._meta.db_table} c
LEFT JOIN (
    SELECT customer_id,
           COUNT(*) AS orders,
           {_days_before("MIN(order_date)")} AS tenure,
           {_days_before("MAX(order_date)")} AS recency,
           COUNT(DISTINCT CASE WHEN order_date > %(quarters_from)s THEN {days} / {rules.QUARTER_DAYS}
                          END) AS quarters,
           CAST(COALESCE(SUM(CASE WHEN order_date > %(year_from)s THEN amount END), 0)
                AS {money}) AS spend_year,
           CAST(COALESCE(SUM(CASE WHEN order_date > %(previous_from)s
                                   AND order_date <= %(year_from)s THEN amount END), 0)
                AS {money}) AS spend_previous_year
    FROM {Order._meta.db_table}
    WHERE order_date <= %(as_of)s AND status = 'recorded'
    GROUP BY customer_id
) o ON o.customer_id = c.id
LEFT JOIN {RfmScore._meta.db_table} r ON r.run_id = %(run)s AND r.customer_id = c.id
WHERE c.created_at < %(known_before)s OR o.orders IS NOT NULL
ORDER BY c.id
"""


def read_history(run):
    """One row per customer known by the run's date (created by then, or with an order by
    then): rules.HISTORY_COLUMNS, the value tier from the RFM step of the same run."""
    as_of = run.as_of
    params = {
        "as_of": as_of,
        "run": run.pk,
        "quarters_from": as_of - dt.timedelta(days=rules.QUARTERS_SEEN * rules.QUARTER_DAYS),
        "year_from": as_of - dt.timedelta(days=365),
        "previous_from": as_of - dt.timedelta(days=730),
        "known_before": connection.ops.adapt_datetimefield_value(
            timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))
        ),
    }
    frame = read_frame(_history_sql(), params, columns=rules.HISTORY_COLUMNS)
    for column in ("tenure", "recency", "spend_year", "spend_previous_year"):
        frame[column] = frame[column].astype(float)
    for column in ("customer_id", "orders", "quarters"):
        frame[column] = frame[column].astype("int64")
    return frame


def read_live():
    """The stages customers are in now (rules.LIVE_COLUMNS)."""
    rows = CustomerStage.objects.values_list(
        "customer_id", "stage", "since", "locked_until", "restarted"
    )
    frame = pd.DataFrame.from_records(list(rows), columns=rules.LIVE_COLUMNS)
    for column in ("since", "locked_until", "restarted"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


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
    history = read_history(run)
    live = read_live()
    plan = rules.plan_stages(history, live, run.as_of, settings.rules())
    copy_rows(
        StageSnapshot._meta.db_table,
        pd.DataFrame(
            {
                "run_id": run.pk,
                "customer_id": plan["customer_id"].to_numpy(),
                "stage": plan["stage"].to_numpy(),
                "rule_stage": plan["rule_stage"].to_numpy(),
                "won_back": plan["won_back"].to_numpy(),
            }
        ),
    )
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
