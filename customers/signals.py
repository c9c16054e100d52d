"""Signals the core sends so that other apps can react without the core naming them.

Every write of an order, invoice or payment goes through `customers.records`,
which sends one of these once the transaction that made the change has
committed (`transaction.on_commit(..., robust=True)`), never for a change that
was rolled back. Each is sent with `sender` the model (Order, Invoice,
Payment) and two keyword arguments, lists of ints in ascending order:

- the ids of the rows concerned: `order_ids`, `invoice_ids` or `payment_ids`;
- `customer_ids`: every customer those rows belonged to before or after the
  change (both, when an order or invoice moved to another customer).

Receivers must cope with several sends for one operation (bulk imports send
one per chunk of up to 500,000 rows) and with long lists, and should be
idempotent: a redelivered id must not count twice. A failing receiver is
logged and stops neither the others nor the write. To reverse exactly what
was done for an order (points earned, say), a receiver keeps what it did by
order id and undoes that for the ids it is told about.
"""

from django.dispatch import Signal

# New orders, from a site form, the admin or an import (also the ones of
# --create-missing-customers). Each order counts from now on.
orders_recorded = Signal()
# Recorded orders whose customer, date, amount, quantity or category changed:
# reverse what was done for them and do it again from the order as it now is.
orders_changed = Signal()
# Orders cancelled (status "cancelled", with who, when and why): they count
# nowhere any more; reverse what was done for them. A cancelled order is never
# recorded again.
orders_cancelled = Signal()
# Orders deleted: the rows are gone; reverse whatever is still held for them
# (nothing, if they had been cancelled before).
orders_deleted = Signal()

# Invoices (receivables) recorded, changed or deleted; balances are already
# refreshed. Deleting an invoice deletes its payments: `payments_deleted` is
# sent for them first.
invoices_recorded = Signal()
invoices_changed = Signal()
invoices_deleted = Signal()

# Payments received (回款) recorded, changed or deleted; balances are already
# refreshed.
payments_recorded = Signal()
payments_changed = Signal()
payments_deleted = Signal()
