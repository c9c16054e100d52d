"""Receivables (回款): each customer's outstanding and overdue amounts.

An invoice is outstanding by its amount less the payments received up to the
date; it is overdue when its due date is before that date and something is
still outstanding. Paid on the due date is on time.
"""

from customers.bulk import read_frame, update_rows
from customers.models import Customer
from customers.pipeline import StepResult

_BALANCES_SQL = """
SELECT c.id,
       COALESCE(b.outstanding, 0) AS outstanding_amount,
       COALESCE(b.overdue, 0) AS overdue_amount
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
    """Customers whose stored balances differ from those as of `as_of`, with the new values."""
    sql, params = _BALANCES_SQL, {"as_of": as_of}
    if customer_ids is not None:
        ids = [int(pk) for pk in customer_ids] or [0]
        sql += f" AND c.id IN ({', '.join(str(pk) for pk in ids)})"
    frame = read_frame(sql, params)
    if not frame.empty:
        frame["outstanding_amount"] = frame["outstanding_amount"].astype(float).round(2)
        frame["overdue_amount"] = frame["overdue_amount"].astype(float).round(2)
    return frame


def receivables_refresh(*, customer_ids, as_of):
    """Bring the stored balances of these customers up to date; returns how many changed."""
    return update_rows(Customer._meta.db_table, changed_balances(as_of, customer_ids))


def receivables_step(run):
    """Pipeline step: recompute every customer's balances as of the run's date."""
    frame = changed_balances(run.as_of)
    overdue = int((frame["overdue_amount"] > 0).sum()) if not frame.empty else 0
    return StepResult(
        rows=len(frame),
        summary={"customers_changed": len(frame), "changed_to_overdue": overdue},
        publish=lambda: update_rows(Customer._meta.db_table, frame),
    )
