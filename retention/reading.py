"""Set-wise reads of what the churn score needs, as of a date: one aggregation
over the orders (cancelled ones count nowhere), and the small tables of
complaints and grade changes."""

import datetime as dt

import pandas as pd
from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from customers.bulk import read_rows
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


def _days_before(date_sql, at=""):
    """SQL for whole days from `date_sql` to the `at`as_of parameter, on PostgreSQL and
    SQLite."""
    if connection.vendor == "postgresql":
        return f"(%({at}as_of)s::date - {date_sql})"
    return f"CAST(julianday(%({at}as_of)s) - julianday({date_sql}) AS INTEGER)"


def _stats_columns(season, at=""):
    """(SQL, name) of STATS_COLUMNS but the customer, as of the `at`as_of parameter: the
    orders up to it only, when `at` names the backtest's parameters."""
    money = "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"
    upto = f"o.order_date <= %({at}as_of)s" if at else ""

    def where(condition=""):
        both = " AND ".join(f"({part})" for part in (upto, condition) if part)
        return f" FILTER (WHERE {both})" if both else ""

    def spend(condition, value="o.amount"):
        # FILTER adds only the matching rows: a third of the numeric additions of a CASE.
        return f"CAST(COALESCE(SUM({value}){where(condition)}, 0) AS {money})"

    def count(condition):
        return f"COUNT(*){where(condition)}"

    def between(name):
        return f"o.order_date >= %({at}{name}_from)s AND o.order_date <= %({at}{name}_to)s"

    recent = f"o.order_date > %({at}recent_from)s"
    previous = f"o.order_date > %({at}previous_from)s AND o.order_date <= %({at}recent_from)s"
    year = f"o.order_date > %({at}year_from)s"
    festive = " OR ".join(f"({between(f'festive{i}')})" for i in range(len(season.festive)))
    # Without orders up to the backtest's date a customer has no recency then: -1.
    last, first = f"MAX(o.order_date){where()}", f"MIN(o.order_date){where()}"
    last_in_window = "MAX(o.order_date)" + where(between("last"))
    return [
        (count(""), "orders"),
        (f"COALESCE({_days_before(last, at)}, -1)", "recency"),
        (f"COALESCE({_days_before(first, at)}, -1)", "tenure"),
        (spend(recent), "spend_recent"),
        (spend(previous), "spend_previous"),
        (spend(year), "spend_year"),
        (count(recent), "orders_recent"),
        (count(previous), "orders_previous"),
        (count(year), "orders_year"),
        (spend(""), "spend_total"),
        (spend("", "o.amount * o.amount"), "spend_squares"),
        (count(festive) if festive else "0", "orders_festive"),
        (count(between("ahead")), "orders_ahead"),
        (count(between("this")), "orders_this_window"),
        (count(between("last")), "orders_last_window"),
        (f"COALESCE({_days_before(last_in_window, at)}, -1)", "last_window_recency"),
    ]


BACKTEST = "bt_"


def _order_stats_sql(season, backtest_season=None):
    columns = _stats_columns(season)
    if backtest_season is not None:
        columns += [
            (sql, f"{BACKTEST}{name}") for sql, name in _stats_columns(backtest_season, BACKTEST)
        ]
    selected = ",\n       ".join(f"{sql} AS {name}" for sql, name in columns)
    return f"""
SELECT o.customer_id,
       {selected}
FROM {Order._meta.db_table} o
WHERE o.order_date <= %(as_of)s AND o.status = 'recorded'
GROUP BY o.customer_id
ORDER BY o.customer_id
"""


def _stats_params(as_of, season, at=""):
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
    return {f"{at}{name}": value for name, value in params.items()}


def _typed(frame):
    for column in STATS_COLUMNS:
        kind = "float64" if column.startswith("spend") else "int64"
        frame[column] = frame[column].astype(kind)
    return frame


def read_order_stats(as_of: dt.date, season=None) -> pd.DataFrame:
    """One row per customer with an order up to `as_of` (STATS_COLUMNS). With `season`
    (retention.calendar.Season as of `as_of`), the orders in its pre-festival days, in the
    season ahead a year ago and in the windows before the last festival and the same one a
    year earlier (last_window_recency: days from the last of those to `as_of`, −1 without)."""
    season = season or calendar.season([], as_of, HORIZON_DAYS)
    frame = read_rows(_order_stats_sql(season), _stats_params(as_of, season), STATS_COLUMNS)
    return _typed(frame)


def read_order_stats_with_backtest(as_of, season, backtest_on, backtest_season):
    """(`read_order_stats(as_of, season)`, `read_order_stats(backtest_on, backtest_season)`)
    from one pass over the orders; `backtest_on` must not be after `as_of`."""
    names = STATS_COLUMNS + [f"{BACKTEST}{name}" for name in STATS_COLUMNS[1:]]
    params = {
        **_stats_params(as_of, season),
        **_stats_params(backtest_on, backtest_season, BACKTEST),
    }
    frame = read_rows(_order_stats_sql(season, backtest_season), params, names)
    stats = _typed(frame[STATS_COLUMNS].copy())
    then = frame[frame[f"{BACKTEST}orders"] > 0]
    backtest = then[["customer_id", *(f"{BACKTEST}{name}" for name in STATS_COLUMNS[1:])]]
    backtest = backtest.rename(columns=lambda name: name.removeprefix(BACKTEST))
    return stats, _typed(backtest.reset_index(drop=True))


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
