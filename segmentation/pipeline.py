"""The nightly RFM and value-tier step: one aggregation query, pure scoring, one COPY.

Each run writes a snapshot (a score row per customer who ever ordered, and a
summary row) keyed by the run; pages read the snapshot of the current run, so a
run is visible only once the frame has published it. The frame deletes the
snapshots older than the last `snapshots_kept` published runs before the step,
inside the step's transaction, to keep the frame's publishing transaction short
(see customers.pipeline.snapshots_prune).
"""

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
from django.utils.translation import gettext, gettext_lazy

from customers.bulk import (
    Column,
    analyze,
    cents_sql,
    copy_binary,
    copy_rows,
    is_postgresql,
)
from customers.models import Order
from customers.pipeline import (
    StepResult,
    amount_text,
    count_text,
    counts_text,
    share_text,
)
from customers.rollups import OrderFigure, order_figures, register_order_figures
from segmentation.models import (
    RfmRunSummary,
    RfmScore,
    Segment,
    SegmentationSettings,
    ValueTier,
)
from segmentation.rfm import rfm_scores, run_figures, value_tiers

TOTALS_FIELDS = [
    ("customer_id", "int8"),
    ("last_order", "date"),
    ("frequency", "int8"),
    ("monetary_cents", "int8"),
]
TOTALS_COLUMNS = [name for name, _kind in TOTALS_FIELDS]
SNAPSHOT_COLUMNS = [
    Column("run_id", "int8"),
    Column("customer_id", "int8"),
    Column("recency_days", "int4"),
    Column("frequency", "int4"),
    Column("monetary", "cents"),
    Column("r_score", "int2"),
    Column("f_score", "int2"),
    Column("m_score", "int2"),
    Column("segment", "text"),
    Column("value_tier", "text"),
    Column("value_rank", "int4", nullable=True),
]

# One pass over the orders serves both the last order ever and the window's totals;
# FILTER and whole cents summed as integers are the fastest form measured on PostgreSQL.
# Cancelled orders count nowhere.
_ORDER_TOTALS_SQL = """
SELECT customer_id,
       MAX(order_date) AS last_order,
       COUNT(*) FILTER (WHERE order_date > %(window_start)s) AS frequency,
       CAST(COALESCE(SUM({cents}) FILTER (WHERE order_date > %(window_start)s), 0) AS BIGINT)
           AS monetary_cents
FROM {table}
WHERE order_date <= %(as_of)s AND status = 'recorded'
GROUP BY customer_id
"""


def order_totals_sql():
    """The aggregation, with whole cents of each amount as the database computes them
    exactly."""
    return _ORDER_TOTALS_SQL.format(cents=cents_sql("amount"), table=Order._meta.db_table)


def _window(run):
    days = SegmentationSettings.current().window_days
    return {"rfm_window_start": run.as_of - dt.timedelta(days=days)}


# The same figures as _ORDER_TOTALS_SQL, read through the run's shared pass over the orders.
register_order_figures(
    OrderFigure("rfm_last_order", lambda: "MAX(order_date)", kind="date"),
    OrderFigure(
        "rfm_frequency",
        lambda: "COUNT(*) FILTER (WHERE order_date > %(rfm_window_start)s)",
        params=_window,
    ),
    OrderFigure(
        "rfm_monetary_cents",
        lambda: (
            f"COALESCE(SUM({cents_sql('amount')}) FILTER "
            "(WHERE order_date > %(rfm_window_start)s), 0)"
        ),
        params=_window,
    ),
)


def read_order_totals(run):
    """Per customer with an order up to the run's date: last order, orders and spend (cents)
    in the window of `window_days` days ending on it, in customer order."""
    frame = order_figures(run, ["rfm_last_order", "rfm_frequency", "rfm_monetary_cents"])
    frame.columns = TOTALS_COLUMNS
    # Credit notes larger than the purchases leave no spend, not a negative one.
    frame["monetary_cents"] = frame["monetary_cents"].clip(lower=0)
    return frame


# The rows the step writes per run: the frame prunes them (see segmentation.apps). The
# summary first: the frame finds the runs that hold a snapshot in it (one row per run).
SNAPSHOT_MODELS = (RfmRunSummary, RfmScore)


def snapshots_kept():
    return SegmentationSettings.current().snapshots_kept


def snapshot_clear(run):
    """Remove what an earlier, interrupted execution of this run wrote."""
    for model in SNAPSHOT_MODELS:
        model.objects.filter(run=run).delete()


def score_rows(scored, run_id):
    """The snapshot rows, spend in cents, in customer order so that the unique index grows
    at its right end."""
    rows = scored.iloc[np.argsort(scored["customer_id"].to_numpy(), kind="stable")]
    return pd.DataFrame(
        {
            "run_id": run_id,
            "customer_id": rows["customer_id"].to_numpy(),
            "recency_days": rows["recency_days"].to_numpy(),
            "frequency": rows["frequency"].to_numpy(),
            "monetary": rows["monetary_cents"].to_numpy(),
            "r_score": rows["r_score"].to_numpy(),
            "f_score": rows["f_score"].to_numpy(),
            "m_score": rows["m_score"].to_numpy(),
            "segment": rows["segment"].to_numpy(),
            "value_tier": rows["value_tier"].to_numpy(),
            "value_rank": rows["value_rank"].array,
        }
    )


def write_snapshot(rows):
    """COPY the rows into the snapshot table: binary on PostgreSQL (half the time of text
    COPY at a million rows), batched INSERTs elsewhere."""
    table = RfmScore._meta.db_table
    if not is_postgresql():
        return copy_rows(table, rows.assign(monetary=rows["monetary"] / 100))
    written = copy_binary(table, rows, SNAPSHOT_COLUMNS)
    # Before the run is published: without statistics the customer list filtered by a
    # segment scans the whole snapshot instead of probing (run, customer) per customer.
    analyze(table)
    return written


def rfm_step(run):
    """Pipeline step: score every customer who ever ordered, as of the run's date."""
    settings = SegmentationSettings.current()
    snapshot_clear(run)
    totals = read_order_totals(run)
    scored = value_tiers(
        rfm_scores(totals, run.as_of),
        key_share=settings.key_share,
        ordinary_share=settings.ordinary_share,
    )
    write_snapshot(score_rows(scored, run.pk))
    figures = run_figures(scored)
    RfmRunSummary.objects.create(
        run=run,
        window_days=settings.window_days,
        key_share=settings.key_share,
        ordinary_share=settings.ordinary_share,
        snapshots_kept=settings.snapshots_kept,
        customers_scored=figures["customers"],
        total_monetary=Decimal(figures["total_cents"]).scaleb(-2),
        tiers=figures["tiers"],
        top20_share=figures["top20_share"],
        pareto_customers=figures["pareto_customers"],
        segments=figures["segments"],
        grid=figures["grid"],
        lorenz=figures["curve"],
    )
    return StepResult(rows=len(scored), summary=step_summary(figures))


def step_summary(figures):
    """What `run_pipeline --json` reports for the step."""
    customers, total = figures["customers"], figures["total_cents"]
    return {
        "customers_scored": customers,
        "revenue_in_window": f"{Decimal(total).scaleb(-2):.2f}",
        "tiers": {
            tier: {
                "customers": values["customers"],
                "customer_share": round(values["customers"] / customers, 4) if customers else 0,
                "revenue_share": round(values["cents"] / total, 4) if total else 0,
            }
            for tier, values in figures["tiers"].items()
        },
        "top_20_percent_revenue_share": figures["top20_share"],
        "customers_making_key_share": figures["pareto_customers"],
        "segments": figures["segments"],
    }


def _tiers_text(tiers):
    labels = dict(ValueTier.choices)
    return "; ".join(
        gettext(
            "%(tier)s %(customers)s (%(customer_share)s of customers, %(revenue_share)s of revenue)"
        )
        % {
            "tier": labels.get(tier, tier),
            "customers": count_text(values["customers"]),
            "customer_share": share_text(values["customer_share"]),
            "revenue_share": share_text(values["revenue_share"]),
        }
        for tier, values in tiers.items()
    )


# How the step's summary reads on the run pages: (key, label, format) per figure.
SUMMARY_FIELDS = [
    ("customers_scored", gettext_lazy("customers scored"), count_text),
    ("revenue_in_window", gettext_lazy("revenue in the window"), amount_text),
    ("tiers", gettext_lazy("value tiers"), _tiers_text),
    ("top_20_percent_revenue_share", gettext_lazy("revenue of the top 20 %"), share_text),
    ("customers_making_key_share", gettext_lazy("key customers"), count_text),
    ("segments", gettext_lazy("segments"), lambda counts: counts_text(counts, Segment.choices)),
]
