"""Credit grades A/B/C/D (信用等级) from payment history.

The rule, over invoices due in the look-back window (and any still unpaid):
- D: marked as refusing to pay, or an invoice overdue more than `d_overdue_days`
  while no payment at all arrived for more than `d_silence_days`;
- C: an invoice overdue beyond the grace period now, or at least `c_late_count`
  invoices paid later than due date + grace;
- B: anything paid late or overdue at all, within the limits above;
- A: every invoice paid by its due date and nothing overdue;
- customers without invoices in the window get `default_grade`.
Paid on the due date is on time. An invoice counts as paid on the date of the
payment that completed it.
"""

import datetime as dt

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from customers.bulk import copy_rows, read_frame, update_unchanged_rows
from customers.models import CreditRules, Customer, Grade, GradeChange
from customers.pipeline import StepResult, count_text, counts_text

GRADES = ["A", "B", "C", "D"]


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
       COALESCE(agg.invoices, 0) AS invoices,
       COALESCE(agg.late_within_grace, 0) AS late_within_grace,
       COALESCE(agg.late_beyond_grace, 0) AS late_beyond_grace,
       COALESCE(agg.max_overdue_days, 0) AS max_overdue_days,
       lp.last_payment
FROM customers_customer c
LEFT JOIN (
    SELECT inv.customer_id,
           COUNT(*) AS invoices,
           SUM(CASE WHEN inv.paid >= inv.amount AND inv.last_paid > inv.due_date
                     AND {paid_late_days} <= %(grace)s THEN 1 ELSE 0 END) AS late_within_grace,
           SUM(CASE WHEN inv.paid >= inv.amount
                     AND {paid_late_days} > %(grace)s THEN 1 ELSE 0 END) AS late_beyond_grace,
           MAX(CASE WHEN inv.paid < inv.amount AND inv.due_date < %(as_of)s
                    THEN {overdue_days} ELSE 0 END) AS max_overdue_days
    FROM (
        SELECT i.customer_id, i.due_date, i.amount,
               COALESCE(p.paid, 0) AS paid, p.last_paid
        FROM customers_invoice i
        LEFT JOIN (
            SELECT invoice_id, SUM(amount) AS paid, MAX(paid_date) AS last_paid
            FROM customers_payment WHERE paid_date <= %(as_of)s GROUP BY invoice_id
        ) p ON p.invoice_id = i.id
        WHERE i.issue_date <= %(as_of)s
          AND (i.due_date > %(window_start)s OR COALESCE(p.paid, 0) < i.amount)
    ) inv
    GROUP BY inv.customer_id
) agg ON agg.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, MAX(paid_date) AS last_payment
    FROM customers_payment WHERE paid_date <= %(as_of)s GROUP BY customer_id
) lp ON lp.customer_id = c.id
"""


def read_payment_history(as_of, rules):
    """One row per customer with the invoice aggregates the rule needs."""
    frame = read_frame(
        _grading_sql(),
        {
            "as_of": as_of,
            "window_start": as_of - dt.timedelta(days=rules.window_days),
            "grace": rules.grace_days,
        },
    )
    for column in ("invoices", "late_within_grace", "late_beyond_grace", "max_overdue_days"):
        frame[column] = frame[column].astype("int64")
    frame["grade_locked"] = frame["grade_locked"].astype(bool)
    frame["refuses_to_pay"] = frame["refuses_to_pay"].astype(bool)
    return frame


def suggest_grades(frame, rules, as_of):
    """The rule's grade for each row of `frame` (columns as read_payment_history returns)."""
    last_payment = pd.to_datetime(frame["last_payment"])
    silent_days = (pd.Timestamp(as_of) - last_payment).dt.days.fillna(np.inf)
    overdue = frame["max_overdue_days"]
    late = frame["late_within_grace"] + frame["late_beyond_grace"]
    conditions = [
        frame["refuses_to_pay"]
        | ((overdue > rules.d_overdue_days) & (silent_days > rules.d_silence_days)),
        (overdue > rules.grace_days) | (frame["late_beyond_grace"] >= rules.c_late_count),
        (late > 0) | (overdue > 0),
        frame["invoices"] == 0,
    ]
    choices = ["D", "C", "B", rules.default_grade]
    return pd.Series(np.select(conditions, choices, default="A"), index=frame.index)


def plan_grade_changes(frame, suggested):
    """The customer rows to rewrite (id, suggested_grade, credit_grade: each row written
    once, whichever changed) and the grade moves of unlocked customers to record."""
    moves = (~frame["grade_locked"]) & (frame["credit_grade"] != suggested)
    rewrite = moves | (frame["suggested_grade"] != suggested)
    rows = pd.DataFrame(
        {
            "id": frame.loc[rewrite, "id"],
            "suggested_grade": suggested[rewrite],
            "credit_grade": frame.loc[rewrite, "credit_grade"].where(
                ~moves[rewrite], suggested[rewrite]
            ),
        }
    )
    changes = pd.DataFrame(
        {
            "customer_id": frame.loc[moves, "id"],
            "old_grade": frame.loc[moves, "credit_grade"],
            "new_grade": suggested[moves],
        }
    )
    return rows, changes


def credit_grades_step(run):
    """Pipeline step: suggest a grade for every customer; unlocked grades follow."""
    rules = CreditRules.current()
    frame = read_payment_history(run.as_of, rules)
    suggested = suggest_grades(frame, rules, run.as_of)
    rows, changes = plan_grade_changes(frame, suggested)
    final = frame["credit_grade"].where(frame["grade_locked"], suggested)
    worsened = changes[
        (changes["old_grade"] != "")
        & (changes["new_grade"].map(GRADES.index) > changes["old_grade"].map(_rank_or_minus))
    ]
    summary = {
        "customers_graded": len(frame),
        "grades": {grade: int((final == grade).sum()) for grade in GRADES},
        "suggested": {grade: int((suggested == grade).sum()) for grade in GRADES},
        "grades_changed": len(changes),
        "grades_worsened": len(worsened),
        "locked_differing_from_rule": int(
            (frame["grade_locked"] & (frame["credit_grade"] != suggested)).sum()
        ),
    }

    # Written only where the grade and lock are still those read: an admin's change made
    # while the run computed wins, and no rule change is recorded over it.
    guarded = rows.assign(
        read_credit_grade=frame.loc[rows.index, "credit_grade"],
        read_grade_locked=frame.loc[rows.index, "grade_locked"],
    )

    def publish():
        written = update_unchanged_rows(
            Customer._meta.db_table,
            guarded,
            read={"credit_grade": "read_credit_grade", "grade_locked": "read_grade_locked"},
        )
        recorded = changes[changes["customer_id"].isin(written)]
        copy_rows(GradeChange._meta.db_table, _change_rows(recorded, run))

    return StepResult(rows=len(frame), summary=summary, publish=publish)


# How the step's summary reads on the run pages: (key, label, format) per figure.
SUMMARY_FIELDS = [
    ("customers_graded", gettext_lazy("customers graded"), count_text),
    ("grades", gettext_lazy("grades after the run"), counts_text),
    ("suggested", gettext_lazy("grades the rule suggests"), counts_text),
    ("grades_changed", gettext_lazy("grades changed"), count_text),
    ("grades_worsened", gettext_lazy("of which worse"), count_text),
    (
        "locked_differing_from_rule",
        gettext_lazy("locked grades the rule disagrees with"),
        count_text,
    ),
]


def _rank_or_minus(grade):
    return GRADES.index(grade) if grade in GRADES else -1


def _change_rows(changes, run):
    rows = changes.copy()
    rows["source"] = GradeChange.Source.RULE.value
    rows["changed_at"] = timezone.now().isoformat(sep=" ")
    rows["reason"] = ""
    rows["locked"] = False
    rows["run_id"] = run.pk
    rows["changed_by_id"] = None
    return rows


@transaction.atomic
def grades_set(*, customers, grade, locked, lock_reason="", reason, by) -> int:
    """An admin's change of grade or lock for every customer of the queryset, set-wise;
    each customer whose grade or lock changes gets a record of who, when and why.
    Returns how many customers were set."""
    if grade not in Grade.values:
        raise ValueError(f"Unknown credit grade {grade!r}")
    if locked and not lock_reason.strip():
        raise ValueError("A locked grade needs a reason")
    current = list(customers.select_for_update().values_list("pk", "credit_grade", "grade_locked"))
    GradeChange.objects.bulk_create(
        GradeChange(
            customer_id=pk,
            old_grade=old_grade,
            new_grade=grade,
            source=GradeChange.Source.MANUAL,
            changed_by=by,
            reason=(reason or lock_reason).strip(),
            locked=locked,
        )
        for pk, old_grade, was_locked in current
        if old_grade != grade or was_locked != locked
    )
    return Customer.objects.filter(pk__in=[pk for pk, _grade, _locked in current]).update(
        credit_grade=grade,
        grade_locked=locked,
        grade_lock_reason=lock_reason.strip() if locked else "",
        updated_at=timezone.now(),
    )


def grade_set(*, customer, grade, locked, lock_reason="", reason, by) -> Customer:
    """An admin's change of one customer's grade or lock (see grades_set)."""
    grades_set(
        customers=Customer.objects.filter(pk=customer.pk),
        grade=grade,
        locked=locked,
        lock_reason=lock_reason,
        reason=reason,
        by=by,
    )
    customer.refresh_from_db()
    return customer
