"""The nightly purchases step: each customer's purchases over the last 12 months.

The network panel and page show, for every customer of a supplier's network, its
purchases over the 12 months up to the current run's date (recorded orders, not
cancelled ones) and their sum over the network. Reading the orders of a whole network
on each request costs seconds at a million customers, so the run writes the figure once
per customer (customers.snapshots.PurchaseFigure), from the run's shared pass over the
orders (customers.rollups), and the pages add up the stored figures of the customers the
viewer may see. Figures are the current run's: a new order shows after the next run.
"""

from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection
from django.utils.translation import gettext_lazy as _

from customers.bulk import Column, analyze, cents_sql, copy_binary, copy_rows, is_postgresql
from customers.models import Customer
from customers.network import purchases_since
from customers.pipeline import StepResult, amount_text, count_text
from customers.rollups import OrderFigure, order_figures, register_order_figures
from customers.snapshots import CrossRegionSupply, PurchaseFigure

KEEP_RUNS = 2
SNAPSHOT_COLUMNS = [
    Column("run_id", "int8"),
    Column("customer_id", "int8"),
    Column("purchases", "cents"),
]


def _window(run):
    return {"customers_purchases_from": purchases_since(run.as_of)}


register_order_figures(
    OrderFigure(
        "customers_purchases_cents",
        lambda: (
            f"COALESCE(SUM({cents_sql('amount')}) FILTER "
            "(WHERE order_date >= %(customers_purchases_from)s), 0)"
        ),
        params=_window,
    )
)


def snapshots_kept():
    return KEEP_RUNS


def figure_rows(figures: pd.DataFrame, run_id) -> pd.DataFrame:
    """The snapshot rows: customers with purchases in the window, in customer order, the
    amount in cents."""
    rows = figures.loc[figures["customers_purchases_cents"].to_numpy() != 0]
    rows = rows.iloc[np.argsort(rows["customer_id"].to_numpy(), kind="stable")]
    return pd.DataFrame(
        {
            "run_id": run_id,
            "customer_id": rows["customer_id"].to_numpy(),
            "purchases": rows["customers_purchases_cents"].to_numpy(),
        }
    )


def _write(rows):
    table = PurchaseFigure._meta.db_table
    if not is_postgresql():
        return copy_rows(table, rows.assign(purchases=rows["purchases"] / 100))
    written = copy_binary(table, rows, SNAPSHOT_COLUMNS)
    analyze(table)
    return written


def cross_region_write(run) -> int:
    """The run's customers supplied across a region's border (theirs and their supplier's
    region both filled in and different), in one statement; returns how many."""
    CrossRegionSupply.objects.filter(run=run).delete()
    table = connection.ops.quote_name(CrossRegionSupply._meta.db_table)
    customers = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (run_id, customer_id, region, supplier_region) "
            f"SELECT %s, c.id, c.region, p.region FROM {customers} c "
            f"JOIN {customers} p ON p.id = c.parent_id "
            "WHERE c.region <> '' AND p.region <> '' AND c.region <> p.region",
            [run.pk],
        )
        return cursor.rowcount


def purchases_step(run):
    """Pipeline step: every customer's purchases over the 12 months up to the run's date,
    and the customers supplied across a region's border."""
    PurchaseFigure.objects.filter(run=run).delete()
    rows = figure_rows(order_figures(run, ["customers_purchases_cents"]), run.pk)
    written = _write(rows)
    crossing = cross_region_write(run)
    return StepResult(
        rows=written + crossing,
        summary={
            "customers_with_purchases": written,
            "purchases_total": str(Decimal(int(rows["purchases"].sum())) / 100),
            "customers_cross_region": crossing,
        },
    )


SUMMARY_FIELDS = [
    ("customers_with_purchases", _("customers with purchases in the last 12 months"), count_text),
    ("purchases_total", _("their purchases"), amount_text),
    ("customers_cross_region", _("customers supplied across regions"), count_text),
]
