"""Receivables (回款): each customer's outstanding and overdue amounts.

An invoice is outstanding by its amount less the payments received up to the
date; it is overdue when its due date is before that date and something is
still outstanding. Paid on the due date is on time.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from customers.bulk import read_frame, update_rows, update_unchanged_rows
from customers.models import ZERO, Customer
from customers.pipeline import StepResult, amount_text, count_text

BALANCE_COLUMNS = ["id", "outstanding_amount", "overdue_amount"]

_BALANCES_SQL = """
SELECT c.id,
       COALESCE(b.outstanding, 0) AS outstanding_amount,
       COALESCE(b.overdue, 0) AS overdue_amount,
       c.outstanding_amount AS previous_outstanding_amount,
       c.overdue_amount AS previous_overdue_amount
FROM customers_customer c
LEFT JOIN (
    SELECT i.customer_id,
           ROUND(SUM(i.amount - COALESCE(p.paid, 0)), 2) AS outstanding,
           ROUND(SUM(CASE WHEN i.due_date < %(as_of)s
                          THEN i.amount - COALESCE(p.paid, 0) ELSE 0 END), 2) AS overdue
    FROM customers_invoice i
    LEFT JOIN (
        SELECT invoice_id, SUM(amount) AS paid
        FROM customers_payment
        WHERE paid_date <= %(as_of)s
        GROUP BY invoice_id
    ) p ON p.invoice_id = i.id
    WHERE i.issue_date <= %(as_of)s AND i.amount > COALESCE(p.paid, 0)
    GROUP BY i.customer_id
) b ON b.customer_id = c.id
WHERE (ROUND(c.outstanding_amount, 2) <> ROUND(COALESCE(b.outstanding, 0), 2)
       OR ROUND(c.overdue_amount, 2) <> ROUND(COALESCE(b.overdue, 0), 2))
"""


def changed_balances(as_of, customer_ids=None):
    """Customers whose stored balances differ from those as of `as_of`: their
    new balances (BALANCE_COLUMNS) and the stored ones (`previous_<column>`)."""
    sql, params = _BALANCES_SQL, {"as_of": as_of}
    if customer_ids is not None:
        ids = [int(pk) for pk in customer_ids] or [0]
        sql += f" AND c.id IN ({', '.join(str(pk) for pk in ids)})"
    frame = read_frame(sql, params)
    for column in frame.columns[1:]:
        frame[column] = frame[column].astype(float).round(2)
    return frame


def _write_balances(frame):
    return update_rows(Customer._meta.db_table, frame[BALANCE_COLUMNS])


def receivables_refresh(*, customer_ids, as_of):
    """Bring the stored balances of these customers up to date; returns how many changed."""
    # On PostgreSQL the write stages rows in a temporary table that lives until commit.
    with transaction.atomic():
        return _write_balances(changed_balances(as_of, customer_ids))


def balances_summary(changed, stored):
    """What the balances add up to once `changed` is written over `stored`, the
    totals of the balances stored now (see `stored_balance_totals`)."""
    now_overdue = changed["overdue_amount"] > 0
    was_overdue = changed["previous_overdue_amount"] > 0

    def total_after(column):
        delta = (changed[column] - changed[f"previous_{column}"]).sum()
        return str((stored[column] + Decimal(f"{delta:.2f}")).quantize(ZERO))

    return {
        "customers_changed": len(changed),
        "customers_newly_overdue": int((now_overdue & ~was_overdue).sum()),
        "customers_overdue": stored["customers_overdue"]
        + int(now_overdue.sum())
        - int(was_overdue.sum()),
        "total_outstanding": total_after("outstanding_amount"),
        "total_overdue": total_after("overdue_amount"),
    }


def stored_balance_totals():
    """Every customer's balances as stored now, added up in one query."""
    return Customer.objects.aggregate(
        customers_overdue=Count("pk", filter=Q(overdue_amount__gt=0)),
        outstanding_amount=Sum("outstanding_amount", default=ZERO),
        overdue_amount=Sum("overdue_amount", default=ZERO),
    )


def balances_publish(frame):
    """Write the balances of `frame` (as changed_balances returns) over those stored, except
    where a payment or invoice recorded since the frame was read changed them already: the
    newer balance stays. Returns how many customers were written."""
    read = {column: f"previous_{column}" for column in BALANCE_COLUMNS[1:]}
    written = update_unchanged_rows(
        Customer._meta.db_table, frame[[*BALANCE_COLUMNS, *read.values()]], read=read
    )
    return len(written)


def receivables_step(run):
    """Pipeline step: recompute every customer's balances as of the run's date."""
    frame = changed_balances(run.as_of)
    return StepResult(
        rows=len(frame),
        summary=balances_summary(frame, stored_balance_totals()),
        publish=lambda: balances_publish(frame),
    )


# How the step's summary reads on the run pages: (key, label, format) per figure.
SUMMARY_FIELDS = [
    ("customers_changed", _("customers whose balances changed"), count_text),
    ("customers_newly_overdue", _("newly overdue"), count_text),
    ("customers_overdue", _("customers overdue"), count_text),
    ("total_outstanding", _("outstanding in total"), amount_text),
    ("total_overdue", _("overdue in total"), amount_text),
]
