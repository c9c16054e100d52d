"""The nightly credit-grade step: read the payment history, suggest a grade per
customer (customers.credit.rule), and publish the grades that follow with their trail."""

from django.utils import timezone
from django.utils.translation import gettext_lazy

from customers.bulk import copy_rows, update_unchanged_rows
from customers.credit.rule import (
    judged_from_history,
    plan_grade_changes,
    read_payment_history,
    suggest_grades,
)
from customers.models import CreditRules, Customer, Grade, GradeChange
from customers.pipeline import StepResult, count_text, counts_text


def credit_grades_step(run):
    """Pipeline step: suggest a grade for every customer; unlocked grades follow."""
    rules = CreditRules.current()
    frame = read_payment_history(run.as_of, rules)
    suggested = suggest_grades(frame, rules)
    rows, changes = plan_grade_changes(frame, suggested)
    final = frame["credit_grade"].where(frame["grade_locked"], suggested)
    history = judged_from_history(frame)
    # Shown as no credit history: unlocked, without invoices; the letters count the rest.
    without = ~frame["grade_locked"] & ~history
    ranks = Grade.ranks()
    # No grade before (NaN) is never "better"; no credit history is not a worse grade.
    worsened = changes[
        (changes["new_grade"].map(ranks) > changes["old_grade"].map(ranks))
        & ~changes["new_no_history"]
    ]
    summary = {
        "customers_graded": len(frame),
        "grades": {grade: int(((final == grade) & ~without).sum()) for grade in Grade.values},
        "without_credit_history": int(without.sum()),
        "suggested": {grade: int(((suggested == grade) & history).sum()) for grade in Grade.values},
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
    ("without_credit_history", gettext_lazy("customers without credit history"), count_text),
]


def _change_rows(changes, run):
    rows = changes.copy()
    rows["source"] = GradeChange.Source.RULE.value
    rows["changed_at"] = timezone.now().isoformat(sep=" ")
    rows["reason"] = ""
    rows["locked"] = False
    rows["run_id"] = run.pk
    rows["changed_by_id"] = None
    return rows
