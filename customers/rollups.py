"""Per-customer order figures that the nightly steps of one run share.

Several steps aggregate the same orders (recorded, dated up to the run's as-of date) per
customer: the RFM step its window's frequency and spend, the lifecycle step the whole
history's first and last order, quarters and yearly spend. Each app declares the figures
it needs once, with `register_order_figures`; a step asks for them with `order_figures`.

Inside a pipeline execution (`shared_order_figures`, which the frame opens around its
steps) the first step to ask reads every registered figure in one GROUP BY pass over the
orders, and the steps after it take their columns from that read: one pass over the order
table a night instead of one per step, and every step sees the same orders. Outside one (a
step run on its own, a test) a call reads just the figures it asks for.

    register_order_figures(
        OrderFigure("myapp_orders", lambda: "COUNT(*)"),
        OrderFigure("myapp_last", lambda: "MAX(order_date)", kind="date"),
        OrderFigure(
            "myapp_recent",
            lambda: "COUNT(*) FILTER (WHERE order_date > %(myapp_from)s)",
            params=lambda run: {"myapp_from": run.as_of - dt.timedelta(days=30)},
        ),
    )
    frame = order_figures(run, ["myapp_orders", "myapp_last"])  # customer_id first

Names and parameter names are global: prefix them with the app's name. `%(as_of)s` is the
run's date. A figure is never NULL (COALESCE where a FILTER may leave none) and reads as
int64, or as datetime64 for `kind="date"`.
"""

import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
from django.db import connection

from customers.bulk import is_postgresql, read_binary, read_frame


@dataclass(frozen=True)
class OrderFigure:
    name: str
    sql: Callable[[], str]  # an aggregate over the orders, for the connection's database
    kind: str = "int8"  # "int8" or "date"
    params: Callable = field(default=lambda run: {})  # its parameters for a run


_figures: dict[str, OrderFigure] = {}
# The shared read this thread's steps use, if any (see shared_order_figures).
_local = threading.local()


class SharedRead:
    """The read that the steps of one execution share; steps executed in several threads
    share it through `sharing` and take turns at it, so that it is read once."""

    def __init__(self):
        self.key, self.frame, self.reads = None, None, 0
        self.lock = threading.Lock()


def register_order_figures(*figures):
    for figure in figures:
        if figure.kind not in ("int8", "date"):
            raise ValueError(f"{figure.name}: kind must be int8 or date")
        _figures[figure.name] = figure


def _column(figure):
    if figure.kind == "int8":
        return f"CAST({figure.sql()} AS BIGINT)"
    # SQLite has no date type: a CAST would turn the ISO text into a number.
    return f"CAST({figure.sql()} AS DATE)" if is_postgresql() else figure.sql()


def _query(figures):
    from customers.models import Order

    columns = ",\n       ".join(_column(figure) for figure in figures)
    return (
        f"SELECT CAST(customer_id AS BIGINT),\n       {columns}\n"
        f"FROM {Order._meta.db_table}\n"
        "WHERE order_date <= %(as_of)s AND status = 'recorded'\n"
        "GROUP BY customer_id"
    )


def _read(run, figures):
    params = {"as_of": run.as_of}
    for figure in figures:
        params.update(figure.params(run))
    fields = [("customer_id", "int8")] + [(figure.name, figure.kind) for figure in figures]
    if is_postgresql():
        if connection.in_atomic_block:
            with connection.cursor() as cursor:
                # Compiling the aggregates' expressions costs more than it saves.
                cursor.execute("SET LOCAL jit = off")
        # Binary: several times faster than fetching tuples, and no text to parse.
        frame = read_binary(_query(figures), params, fields)
    else:
        frame = read_frame(_query(figures), params, columns=[name for name, _kind in fields])
        for name, kind in fields:
            frame[name] = (
                pd.to_datetime(frame[name], format="ISO8601")
                if kind == "date"
                else frame[name].astype("int64")
            )
    # In customer order: the steps join by id and write their snapshots in that order.
    return frame.sort_values("customer_id", ignore_index=True), params


def order_figures(run, names) -> pd.DataFrame:
    """customer_id and the named figures, one row per customer with a recorded order by the
    run's date, in customer order."""
    missing = [name for name in names if name not in _figures]
    if missing:
        raise KeyError(f"order figures not registered: {', '.join(missing)}")
    shared = getattr(_local, "shared", None)
    if shared is None:
        frame, _params = _read(run, [_figures[name] for name in names])
        return frame
    # Read once for the run, with every registered figure; again if the run or any
    # figure's parameters (a setting changed mid-run) differ from the last read.
    figures = [_figures[name] for name in sorted(_figures)]
    params = {"as_of": run.as_of}
    for figure in figures:
        params.update(figure.params(run))
    key = (run.pk, tuple(figure.name for figure in figures), repr(sorted(params.items())))
    with shared.lock:
        if shared.key != key:
            shared.key, shared.frame = None, None
            shared.frame, _params = _read(run, figures)
            shared.key = key
            shared.reads += 1
        return shared.frame[["customer_id", *names]].copy()


@contextmanager
def shared_order_figures():
    """Within: one read of every registered figure per run, shared by the steps."""
    shared = SharedRead()
    try:
        with sharing(shared):
            yield shared
    finally:
        shared.key, shared.frame = None, None


@contextmanager
def sharing(shared):
    """Within, in this thread: the steps use `shared` (the SharedRead of another thread's
    shared_order_figures, or None for none)."""
    before = getattr(_local, "shared", None)
    _local.shared = shared
    try:
        yield shared
    finally:
        _local.shared = before


def current_shared():
    """The SharedRead this thread's steps use, or None: to hand to `sharing` in another."""
    return getattr(_local, "shared", None)
