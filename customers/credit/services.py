"""An admin's changes of credit grades and their locks, with the grade trail."""

from django.db import transaction
from django.utils import timezone

from customers.models import Customer, Grade, GradeChange


@transaction.atomic
def grades_set(*, customers, grade, locked, lock_reason="", reason, by) -> int:
    """An admin's change of grade or lock for every customer of the queryset, set-wise;
    each customer whose grade or lock changes gets a record of who, when and why.
    Returns how many customers were set.

    For a customer without credit history a locked grade is the admin's assessment and
    is shown as that grade; an unlocked one is what they are treated as until the next
    run gives them the rule's grade again."""
    if grade not in Grade.values:
        raise ValueError(f"Unknown credit grade {grade!r}")
    if locked and not lock_reason.strip():
        raise ValueError("A locked grade needs a reason")
    current = list(
        customers.select_for_update().values_list(
            "pk", "credit_grade", "grade_locked", "has_credit_history"
        )
    )
    GradeChange.objects.bulk_create(
        GradeChange(
            customer_id=pk,
            old_grade=old_grade,
            new_grade=grade,
            old_no_history=bool(old_grade) and not was_locked and not history,
            new_no_history=not locked and not history,
            source=GradeChange.Source.MANUAL,
            changed_by=by,
            reason=(reason or lock_reason).strip(),
            locked=locked,
        )
        for pk, old_grade, was_locked, history in current
        if old_grade != grade or was_locked != locked
    )
    return Customer.objects.filter(pk__in=[row[0] for row in current]).update(
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
