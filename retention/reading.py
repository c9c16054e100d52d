"""Set-wise reads of what the churn score needs, as of a date: one read of the
orders (cancelled ones count nowhere) whose figures are worked out here, and the
small tables of complaints and grade changes."""

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from customers.bulk import cents_sql, is_postgresql, read_binary, read_frame
from customers.credit.rule import judged_from_history, read_payment_history, suggest_grades
from customers.models import (
    Complaint,
    CreditRules,
    Customer,
    Grade,
    GradeChange,
    Order,
    no_credit_history_q,
)
from retention import calendar
from retention.churn import GRADE_WINDOW_DAYS, HORIZON_DAYS, TREND_DAYS

STATS_COLUMNS = [
    "customer_id",
    "orders",
    "recency",
    "tenure",
    "spend_recent",
    "spend_previous",
    "spend_year",
    "orders_recent",
    "orders_previous",
    "orders_year",
    "spend_total",
    "spend_squares",
    "orders_festive",
    "orders_ahead",
    "orders_this_window",
    "orders_last_window",
    "last_window_recency",
]


def _stats_params(as_of, season):
    """The dates the figures are cut at, as of `as_of`: {name: date}."""
    season = season or calendar.season([], as_of, HORIZON_DAYS)
    params = {
        "as_of": as_of,
        "recent_from": as_of - dt.timedelta(days=TREND_DAYS),
        "previous_from": as_of - dt.timedelta(days=2 * TREND_DAYS),
        "year_from": as_of - dt.timedelta(days=365),
    }
    ranges = {"ahead": season.ahead, "this": season.this_window, "last": season.last_window}
    ranges.update({f"festive{i}": days for i, days in enumerate(season.festive)})
    if not season.has_festival:
        # No festival passed: empty windows (after the run's date, before the first one).
        empty = (as_of + dt.timedelta(days=1), as_of)
        ranges.update({"this": empty, "last": empty})
    for name, (first, last) in ranges.items():
        params[f"{name}_from"], params[f"{name}_to"] = first, last
    params["festive_count"] = len(season.festive)
    return params


@dataclass(frozen=True)
class _Orders:
    """The recorded orders up to a date, column-wise: `codes` index `customers` (ascending
    ids), `days` count from 1970-01-01 (both int32), `cents` are whole cents (exact integers held as
    floats, so that sums of them are exact up to 2**53)."""

    customers: np.ndarray
    codes: np.ndarray
    days: np.ndarray
    cents: np.ndarray


def _read_orders(as_of) -> _Orders:
    """One pass over the order table: every recorded order up to `as_of`, three numbers
    each. On PostgreSQL by binary COPY; the figures are worked out here, where a dozen
    masked sums over ten million rows cost less than the database's per-row aggregates
    (two sets of sixteen when the backtest is read too)."""
    sql = (
        f"SELECT CAST(customer_id AS BIGINT), order_date, {cents_sql('amount')} "
        f"FROM {Order._meta.db_table} "
        "WHERE order_date <= %(as_of)s AND status = 'recorded'"
    )
    if is_postgresql():
        fields = [("customer_id", "int8"), ("order_date", "days"), ("cents", "int8")]
        frame = read_binary(sql, {"as_of": as_of}, fields, work_mem=None)
        days = frame["order_date"].to_numpy()
    else:
        fields = [("customer_id", "int8"), ("order_date", "date"), ("cents", "int8")]
        frame = read_frame(sql, {"as_of": as_of}, columns=[name for name, _kind in fields])
        days = _day_numbers(pd.to_datetime(frame["order_date"], format="ISO8601"))
    codes, customers = pd.factorize(frame["customer_id"].to_numpy(dtype=np.int64), sort=True)
    # Codes and days fit 32 bits: ten million orders held in 160 MB rather than 240.
    return _Orders(
        customers=np.asarray(customers, dtype=np.int64),
        codes=codes.astype(np.int32),
        days=np.asarray(days).astype(np.int32),
        cents=frame["cents"].to_numpy(dtype=np.float64),
    )


def _day_numbers(values):
    return np.asarray(values, dtype="datetime64[D]").astype(np.int64)


def _day(value):
    return int(np.datetime64(value, "D").astype(np.int64))


def _stats(orders: _Orders, params) -> pd.DataFrame:
    """STATS_COLUMNS for the customers with an order up to the as_of date, from their
    orders up to it (windows inclusive of both ends, as _stats_params cuts them)."""

    def day(name):
        return _day(params[name])

    as_of = day("as_of")
    upto = orders.days <= as_of
    if upto.all():
        # The run's own date: every order read, and no copy of them.
        codes, days, cents = orders.codes, orders.days, orders.cents
    else:
        codes, days, cents = orders.codes[upto], orders.days[upto], orders.cents[upto]
    size = len(orders.customers)

    def count(mask=None):
        return np.bincount(codes if mask is None else codes[mask], minlength=size)

    def spend(mask=None, values=None):
        values = cents if values is None else values
        if mask is not None:
            return np.bincount(codes[mask], weights=values[mask], minlength=size) / 100
        return np.bincount(codes, weights=values, minlength=size) / 100

    def between(name):
        return (days >= day(f"{name}_from")) & (days <= day(f"{name}_to"))

    def days_since_last(mask=None):
        last = np.full(size, np.iinfo(np.int64).min)
        np.maximum.at(
            last, codes if mask is None else codes[mask], days if mask is None else days[mask]
        )
        return np.where(last == np.iinfo(np.int64).min, -1, as_of - last)

    first = np.full(size, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, days)
    recent = days > day("recent_from")
    previous = (days > day("previous_from")) & ~recent
    year = days > day("year_from")
    festive = np.zeros(len(days), dtype=bool)
    for i in range(params["festive_count"]):
        festive |= between(f"festive{i}")
    last_window = between("last")
    orders_count = count()
    stats = pd.DataFrame(
        {
            "customer_id": orders.customers,
            "orders": orders_count,
            "recency": days_since_last(),
            "tenure": np.where(orders_count > 0, as_of - first, -1),
            "spend_recent": spend(recent),
            "spend_previous": spend(previous),
            "spend_year": spend(year),
            "orders_recent": count(recent),
            "orders_previous": count(previous),
            "orders_year": count(year),
            "spend_total": spend(),
            "spend_squares": spend(values=cents * cents / 100),
            "orders_festive": count(festive),
            "orders_ahead": count(between("ahead")),
            "orders_this_window": count(between("this")),
            "orders_last_window": count(last_window),
            "last_window_recency": days_since_last(last_window),
        }
    )
    return _typed(stats[orders_count > 0].reset_index(drop=True))


def _typed(frame):
    for column in STATS_COLUMNS:
        kind = "float64" if column.startswith("spend") else "int64"
        frame[column] = frame[column].astype(kind)
    return frame


def read_order_stats(as_of: dt.date, season=None) -> pd.DataFrame:
    """One row per customer with an order up to `as_of` (STATS_COLUMNS), in customer order.
    With `season` (retention.calendar.Season as of `as_of`), the orders in its pre-festival
    days, in the season ahead a year ago and in the windows before the last festival and
    the same one a year earlier (last_window_recency: days from the last of those to
    `as_of`, −1 without)."""
    return _stats(_read_orders(as_of), _stats_params(as_of, season))


def read_order_stats_with_backtest(as_of, season, backtest_on, backtest_season):
    """(`read_order_stats(as_of, season)`, `read_order_stats(backtest_on, backtest_season)`)
    from one pass over the orders; `backtest_on` must not be after `as_of`."""
    orders = _read_orders(as_of)
    then = _stats_params(backtest_on, backtest_season)
    return _stats(orders, _stats_params(as_of, season)), _stats(orders, then)


def day_end(as_of: dt.date):
    """The first moment after `as_of` in the site's time zone."""
    return timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))


def read_open_complaints(as_of: dt.date) -> pd.DataFrame:
    """customer_id, open_complaints and complaint_since (local date of the oldest)
    for complaints received by the end of `as_of` and not resolved by then."""
    until = day_end(as_of)
    rows = (
        Complaint.objects.filter(received_at__lt=until)
        .filter(~Q(status=Complaint.Status.RESOLVED) | Q(resolved_at__gte=until))
        .values("customer_id")
        .annotate(open_complaints=Count("id"), oldest=Min("received_at"))
        .order_by()
    )
    return pd.DataFrame(
        [
            {
                "customer_id": row["customer_id"],
                "open_complaints": row["open_complaints"],
                "complaint_since": timezone.localdate(row["oldest"]).isoformat(),
            }
            for row in rows
        ],
        columns=["customer_id", "open_complaints", "complaint_since"],
    )


def read_grades(as_of: dt.date) -> pd.DataFrame:
    """customer_id, grade_now, grade_before for customers graded C or D now or whose
    grade changed in the GRADE_WINDOW_DAYS up to `as_of` (from the grade history).
    A grade given for want of credit history says nothing of how the customer pays:
    such customers are left out, and such a grade before counts as unknown."""
    until = day_end(as_of)
    poor = pd.DataFrame(
        list(
            Customer.objects.filter(credit_grade__in=Grade.or_worse(Grade.C))
            .exclude(no_credit_history_q())
            .values_list("pk", "credit_grade")
        ),
        columns=["customer_id", "grade_now"],
    )
    changes = pd.DataFrame(
        list(
            GradeChange.objects.filter(
                changed_at__gte=until - dt.timedelta(days=GRADE_WINDOW_DAYS),
                changed_at__lt=until,
            )
            .exclude(old_grade="")
            .exclude(no_credit_history_q("customer__"))
            .order_by("customer_id", "changed_at", "id")
            .values_list("customer_id", "old_grade", "old_no_history", "customer__credit_grade")
        ),
        columns=["customer_id", "grade_before", "old_no_history", "grade_now"],
    ).drop_duplicates("customer_id", keep="first")
    changes["grade_before"] = changes["grade_before"].where(
        ~changes["old_no_history"].astype(bool), ""
    )
    poor["grade_before"] = poor["grade_now"]
    merged = pd.concat([changes, poor[~poor["customer_id"].isin(changes["customer_id"])]])
    return merged[["customer_id", "grade_now", "grade_before"]].reset_index(drop=True)


def replay_grades(as_of: dt.date) -> pd.DataFrame:
    """Like `read_grades`, but the grades the credit rule gives from the payments
    known at `as_of` and GRADE_WINDOW_DAYS earlier: for scoring a past date
    without reading today's grades into it."""
    rules = CreditRules.current()
    before_date = as_of - dt.timedelta(days=GRADE_WINDOW_DAYS)
    now = read_payment_history(as_of, rules)
    before = read_payment_history(before_date, rules)
    frame = pd.DataFrame(
        {"customer_id": now["id"].to_numpy(), "grade_now": _judged_grades(now, rules)}
    ).merge(
        pd.DataFrame(
            {"customer_id": before["id"].to_numpy(), "grade_before": _judged_grades(before, rules)}
        ),
        on="customer_id",
    )
    interesting = frame["grade_now"].isin(Grade.or_worse(Grade.C)) | (
        frame["grade_now"] != frame["grade_before"]
    )
    return frame[interesting].reset_index(drop=True)


def _judged_grades(history, rules):
    """The rule's grades, empty (unknown) where there is no credit history to judge."""
    return suggest_grades(history, rules).where(judged_from_history(history), "").to_numpy()


def signals_for(stats: pd.DataFrame, complaints: pd.DataFrame, grades: pd.DataFrame):
    """Complaints and grades lined up with the rows of `stats` (absent: none, unknown)."""
    frame = stats[["customer_id"]].merge(complaints, on="customer_id", how="left")
    frame = frame.merge(grades, on="customer_id", how="left")
    frame["open_complaints"] = frame["open_complaints"].fillna(0).astype("int64")
    frame["complaint_since"] = frame["complaint_since"].fillna("")
    frame["grade_now"] = frame["grade_now"].fillna("")
    frame["grade_before"] = frame["grade_before"].fillna("")
    frame.index = stats.index
    return frame


def order_date_range():
    """The first and the last order date, or (None, None) without orders."""
    dates = Order.objects.recorded().aggregate(first=Min("order_date"), last=Max("order_date"))
    return dates["first"], dates["last"]


def buyers_between(start: dt.date, end: dt.date) -> set:
    """Ids of the customers with an order from `start` up to, not including, `end`."""
    return set(
        Order.objects.recorded()
        .filter(order_date__gte=start, order_date__lt=end)
        .values_list("customer_id", flat=True)
        .distinct()
        .order_by()
    )
