"""Credit grades A/B/C/D (信用等级) from payment history.

The rule, over invoices due in the look-back window (and any still unpaid):
- D: marked as refusing to pay, or an invoice overdue more than `d_overdue_days`
  while less than `d_min_paid_percent` % of the overdue amount was paid in the
  last `d_silence_days` days (the payment period);
- C: an invoice overdue beyond the grace period now, or at least `c_late_count`
  invoices paid later than due date + grace;
- B: anything paid late or overdue at all, within the limits above;
- A: every invoice paid by its due date and nothing overdue;
- customers without invoices in the window get `default_grade`: they have no
  credit history (无往来记录) and are shown as such, treated as that grade.
Paid on the due date is on time. An invoice counts as paid on the date of the
payment that completed it.

The share of the overdue amount paid in the payment period is
    paid / (paid + still overdue)
where `paid` is what the customer paid in the period, on or after its first day
(the run's date less `d_silence_days`), against invoices already past their due
date, and `still overdue` is what remains unpaid on invoices past due at the
run's date: of the money that was overdue in the period, the part that came in.
With the defaults (90 days, 60 days, 10 %) a year-old debt of ¥12,000 serviced
with ¥10 a month is D (¥20 of ¥12,000 in 60 days), while a customer who pays a
tenth or more of what is overdue every 60 days stays C; paying a new invoice on
time does not count. Amounts are compared in whole cents: exactly at the
percentage is not "less than".
"""

import datetime as dt

import numpy as np
import pandas as pd
from django.db import connection

from customers.bulk import cents_sql, is_postgresql, read_binary, read_frame

_WHOLE_NUMBERS = [
    "invoices",
    "late_within_grace",
    "late_beyond_grace",
    "max_overdue_days",
    "overdue_cents",
    "overdue_paid_cents",
]


def _days_between(later, earlier):
    """SQL for whole days from `earlier` to `later`, on PostgreSQL and SQLite."""
    if connection.vendor == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _grading_sql():
    overdue_days = _days_between("%(as_of)s", "inv.due_date")
    paid_late_days = _days_between("inv.last_paid", "inv.due_date")
    return f"""
SELECT c.id, c.credit_grade, c.suggested_grade, c.grade_locked, c.refuses_to_pay,
       c.has_credit_history,
       COALESCE(agg.invoices, 0) AS invoices,
       COALESCE(agg.late_within_grace, 0) AS late_within_grace,
       COALESCE(agg.late_beyond_grace, 0) AS late_beyond_grace,
       COALESCE(agg.max_overdue_days, 0) AS max_overdue_days,
       COALESCE(agg.overdue_cents, 0) AS overdue_cents,
       COALESCE(op.overdue_paid_cents, 0) AS overdue_paid_cents
FROM customers_customer c
LEFT JOIN (
    SELECT inv.customer_id,
           COUNT(*) AS invoices,
           SUM(CASE WHEN inv.paid_cents >= inv.amount_cents AND inv.last_paid > inv.due_date
                     AND {paid_late_days} <= %(grace)s THEN 1 ELSE 0 END) AS late_within_grace,
           SUM(CASE WHEN inv.paid_cents >= inv.amount_cents
                     AND {paid_late_days} > %(grace)s THEN 1 ELSE 0 END) AS late_beyond_grace,
           MAX(CASE WHEN inv.paid_cents < inv.amount_cents AND inv.due_date < %(as_of)s
                    THEN {overdue_days} ELSE 0 END) AS max_overdue_days,
           SUM(CASE WHEN inv.paid_cents < inv.amount_cents AND inv.due_date < %(as_of)s
                    THEN inv.amount_cents - inv.paid_cents ELSE 0 END) AS overdue_cents
    FROM (
        SELECT i.customer_id, i.due_date, {cents_sql("i.amount")} AS amount_cents,
               COALESCE(p.paid_cents, 0) AS paid_cents, p.last_paid
        FROM customers_invoice i
        LEFT JOIN (
            SELECT invoice_id, {cents_sql("SUM(amount)")} AS paid_cents,
                   MAX(paid_date) AS last_paid
            FROM customers_payment WHERE paid_date <= %(as_of)s GROUP BY invoice_id
        ) p ON p.invoice_id = i.id
        WHERE i.issue_date <= %(as_of)s
          AND (i.due_date > %(window_start)s
               OR COALESCE(p.paid_cents, 0) < {cents_sql("i.amount")})
    ) inv
    GROUP BY inv.customer_id
) agg ON agg.customer_id = c.id
LEFT JOIN (
    SELECT p.customer_id, {cents_sql("SUM(p.amount)")} AS overdue_paid_cents
    FROM customers_payment p JOIN customers_invoice i ON i.id = p.invoice_id
    WHERE p.paid_date <= %(as_of)s AND p.paid_date >= %(period_start)s
      AND p.paid_date > i.due_date
    GROUP BY p.customer_id
) op ON op.customer_id = c.id
"""


_FLAGS = ("grade_locked", "refuses_to_pay", "has_credit_history")
_LETTERS = ("credit_grade", "suggested_grade")


def read_payment_history(as_of, rules):
    """One row per customer with the invoice aggregates the rule needs."""
    params = {
        "as_of": as_of,
        "window_start": as_of - dt.timedelta(days=rules.window_days),
        "period_start": as_of - dt.timedelta(days=rules.d_silence_days),
        "grace": rules.grace_days,
    }
    frame = _read_binary(params) if is_postgresql() else read_frame(_grading_sql(), params)
    for column in _WHOLE_NUMBERS:
        frame[column] = frame[column].astype("int64")
    for column in _FLAGS:
        frame[column] = frame[column].astype(bool)
    return frame


def _read_binary(params):
    """The grading query's rows by binary COPY, as numbers (a grade as its letter's code,
    0 for none; a flag as 0 or 1), turned back into letters here: a third of the time of
    fetching a million rows of text. The work memory stays the server's: a larger one
    made this query slower."""
    letters = ", ".join(f"ascii(COALESCE(g.{name}, '')) AS {name}" for name in _LETTERS)
    flags = ", ".join(f"CAST(g.{name} AS INTEGER) AS {name}" for name in _FLAGS)
    numbers = ", ".join(f"CAST(g.{name} AS BIGINT) AS {name}" for name in _WHOLE_NUMBERS)
    sql = (
        f"SELECT CAST(g.id AS BIGINT) AS id, {letters}, {flags}, {numbers} "
        f"FROM ({_grading_sql()}) g"
    )
    fields = [
        ("id", "int8"),
        *((name, "int4") for name in _LETTERS),
        *((name, "int4") for name in _FLAGS),
        *((name, "int8") for name in _WHOLE_NUMBERS),
    ]
    frame = read_binary(sql, params, fields, work_mem=None)
    codes = np.array(["", *(chr(code) for code in range(1, 128))], dtype=object)
    for name in _LETTERS:
        frame[name] = codes[frame[name].to_numpy()]
    return frame


def suggest_grades(frame, rules):
    """The rule's grade for each row of `frame` (columns as read_payment_history returns)."""
    overdue = frame["max_overdue_days"]
    late = frame["late_within_grace"] + frame["late_beyond_grace"]
    paid, still_overdue = frame["overdue_paid_cents"], frame["overdue_cents"]
    # paid / (paid + still overdue) < percent / 100, in whole numbers.
    paid_too_little = paid * 100 < rules.d_min_paid_percent * (paid + still_overdue)
    conditions = [
        frame["refuses_to_pay"] | ((overdue > rules.d_overdue_days) & paid_too_little),
        (overdue > rules.grace_days) | (frame["late_beyond_grace"] >= rules.c_late_count),
        (late > 0) | (overdue > 0),
        frame["invoices"] == 0,
    ]
    choices = ["D", "C", "B", rules.default_grade]
    return pd.Series(np.select(conditions, choices, default="A"), index=frame.index)


def judged_from_history(frame):
    """Whether the rule judged each customer from a credit history: invoices in the window,
    or the mark of refusing to pay; the others get `default_grade` for want of one."""
    return (frame["invoices"] > 0) | frame["refuses_to_pay"]


def plan_grade_changes(frame, suggested):
    """The customer rows to rewrite (id, suggested_grade, credit_grade, has_credit_history:
    each row written once, whichever changed) and the moves of unlocked customers to
    record: to another grade, or into or out of "no credit history" (no invoice in the
    window; see customers.models.no_credit_history_q)."""
    unlocked = ~frame["grade_locked"]
    history = judged_from_history(frame)
    was_without = unlocked & ~frame["has_credit_history"] & (frame["credit_grade"] != "")
    now_without = unlocked & ~history
    moves = unlocked & ((frame["credit_grade"] != suggested) | (was_without != now_without))
    rewrite = (
        moves | (frame["suggested_grade"] != suggested) | (frame["has_credit_history"] != history)
    )
    rows = pd.DataFrame(
        {
            "id": frame.loc[rewrite, "id"],
            "suggested_grade": suggested[rewrite],
            "credit_grade": frame.loc[rewrite, "credit_grade"].where(
                ~moves[rewrite], suggested[rewrite]
            ),
            "has_credit_history": history[rewrite],
        }
    )
    changes = pd.DataFrame(
        {
            "customer_id": frame.loc[moves, "id"],
            "old_grade": frame.loc[moves, "credit_grade"],
            "new_grade": suggested[moves],
            "old_no_history": was_without[moves],
            "new_no_history": now_without[moves],
        }
    )
    return rows, changes
