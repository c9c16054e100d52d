"""Writes of orders, invoices and payments: the one path for goods and money.

Recording, changing, cancelling or deleting an order, invoice or payment, from
an import, the admin or a site form, goes through these services. Each runs in
one transaction, brings the balances of the customers it touched up to date
set-wise where money moved (invoices and payments; orders carry no balance),
and once the transaction has committed sends the signal of `customers.signals`
that says what happened, with the ids (see there for each signal's contract).
"""

import uuid
from functools import partial

from django.db import transaction
from django.utils import timezone

from customers import signals
from customers.imports import writers
from customers.models import Invoice, Order, Payment
from customers.receivables import receivables_refresh

# Past this many customers, one refresh of every balance is cheaper than a huge id list:
# the balances query aggregates all invoices once either way.
REFRESH_ALL_ABOVE = 100_000


def balances_refresh(*, customer_ids) -> None:
    """Bring the outstanding and overdue amounts of these customers up to date, as of today."""
    ids = sorted({int(pk) for pk in customer_ids})
    if ids:
        receivables_refresh(
            customer_ids=ids if len(ids) <= REFRESH_ALL_ABOVE else None,
            as_of=timezone.localdate(),
        )


def announce(signal, model, ids, customer_ids) -> None:
    """Send `signal` (sender `model`, with `<model>_ids` and `customer_ids`) once the current
    transaction commits; a failing receiver is logged and neither undoes the write nor stops
    the other receivers. Nothing is sent for no rows."""
    ids = sorted(int(pk) for pk in ids)
    if ids:
        kwargs = {f"{model._meta.model_name}_ids": ids, "customer_ids": _distinct(customer_ids)}
        transaction.on_commit(partial(signal.send, sender=model, **kwargs), robust=True)


def _distinct(ids):
    return sorted({int(pk) for pk in ids if pk is not None})


def _stored_customer_id(model, pk):
    return model.objects.filter(pk=pk).values_list("customer_id", flat=True).get()


# Orders ------------------------------------------------------------------------------------


@transaction.atomic
def order_record(*, order: Order) -> Order:
    """Save a new order (a reference is made up when it has none) and announce it with
    `orders_recorded`."""
    order.status = Order.Status.RECORDED
    if not order.external_ref:
        order.external_ref = f"O-{uuid.uuid4().hex[:12].upper()}"
    order.save()
    announce(signals.orders_recorded, Order, [order.pk], [order.customer_id])
    return order


@transaction.atomic
def order_change(*, order: Order) -> Order:
    """Save the edits of a recorded order and announce them with `orders_changed` (naming
    the customer it had before too, when that changed). A cancelled order is not changed."""
    stored = Order.objects.select_for_update().values("customer_id", "status").get(pk=order.pk)
    if stored["status"] == Order.Status.CANCELLED:
        raise ValueError("A cancelled order cannot be changed.")
    order.save()
    announce(signals.orders_changed, Order, [order.pk], [stored["customer_id"], order.customer_id])
    return order


@transaction.atomic
def orders_cancel(*, orders, reason: str, by) -> list[int]:
    """Cancel the recorded ones among `orders` (a queryset), saying who and why; they then
    count nowhere. Announced with `orders_cancelled`; returns the ids cancelled."""
    rows = _locked_rows(Order, orders, status=Order.Status.RECORDED)
    ids = [pk for pk, _customer in rows]
    Order.objects.filter(pk__in=ids).update(
        status=Order.Status.CANCELLED,
        cancelled_at=timezone.now(),
        cancelled_by=by,
        cancel_reason=reason,
    )
    announce(signals.orders_cancelled, Order, ids, [customer for _pk, customer in rows])
    return ids


def order_cancel(*, order: Order, reason: str, by) -> Order:
    """Cancel one order (see `orders_cancel`)."""
    orders_cancel(orders=Order.objects.filter(pk=order.pk), reason=reason, by=by)
    order.refresh_from_db()
    return order


@transaction.atomic
def orders_delete(*, orders) -> int:
    """Delete `orders` (a queryset) and announce it with `orders_deleted`; returns how many."""
    rows = _locked_rows(Order, orders)
    Order.objects.filter(pk__in=[pk for pk, _customer in rows]).delete()
    announce(signals.orders_deleted, Order, *_columns(rows))
    return len(rows)


def order_delete(*, order: Order) -> None:
    orders_delete(orders=Order.objects.filter(pk=order.pk))


def orders_record_bulk(*, rows, staging: str):
    """Record the order `rows` (a DataFrame of Order columns) whose reference is new, through
    the staging table `staging` (see `imports.writers`), and announce them with
    `orders_recorded`. Returns the new orders' id and customer_id."""
    return _record_bulk(Order, signals.orders_recorded, rows, staging, date_column="order_date")


# Invoices ----------------------------------------------------------------------------------


@transaction.atomic
def invoice_record(*, invoice: Invoice) -> Invoice:
    """Save a new invoice, refresh its customer's balances, announce `invoices_recorded`."""
    invoice.save()
    balances_refresh(customer_ids=[invoice.customer_id])
    announce(signals.invoices_recorded, Invoice, [invoice.pk], [invoice.customer_id])
    return invoice


@transaction.atomic
def invoice_change(*, invoice: Invoice) -> Invoice:
    """Save the edits of an invoice; its payments follow it to another customer. Refreshes
    the balances of the customers before and after, announces `invoices_changed`."""
    before = _stored_customer_id(Invoice, invoice.pk)
    invoice.save()
    if before != invoice.customer_id:
        Payment.objects.filter(invoice=invoice).update(customer_id=invoice.customer_id)
    balances_refresh(customer_ids=[before, invoice.customer_id])
    announce(signals.invoices_changed, Invoice, [invoice.pk], [before, invoice.customer_id])
    return invoice


@transaction.atomic
def invoices_delete(*, invoices) -> int:
    """Delete `invoices` (a queryset) with their payments, refresh the customers' balances and
    announce `payments_deleted`, then `invoices_deleted`; returns how many invoices."""
    rows = _locked_rows(Invoice, invoices)
    invoice_ids, customer_ids = _columns(rows)
    payments = list(
        Payment.objects.filter(invoice_id__in=invoice_ids).values_list("pk", "customer_id")
    )
    Payment.objects.filter(pk__in=[pk for pk, _customer in payments]).delete()
    Invoice.objects.filter(pk__in=invoice_ids).delete()
    balances_refresh(customer_ids=customer_ids)
    announce(signals.payments_deleted, Payment, *_columns(payments))
    announce(signals.invoices_deleted, Invoice, invoice_ids, customer_ids)
    return len(rows)


def invoice_delete(*, invoice: Invoice) -> None:
    invoices_delete(invoices=Invoice.objects.filter(pk=invoice.pk))


def invoices_record_bulk(*, rows, staging: str):
    """Record the invoice `rows` whose reference is new (see `orders_record_bulk`) and
    announce them with `invoices_recorded`. Balances are the caller's to refresh, once for
    all its batches, with `balances_refresh`."""
    return _record_bulk(Invoice, signals.invoices_recorded, rows, staging, date_column="due_date")


# Payments ----------------------------------------------------------------------------------


@transaction.atomic
def payment_record(*, payment: Payment) -> Payment:
    """Save a money receipt (回款) against its invoice, for the invoice's customer; refresh
    that customer's balances and announce `payments_recorded`."""
    payment.customer_id = payment.invoice.customer_id
    if not payment.external_ref:
        payment.external_ref = f"P-{uuid.uuid4().hex[:12].upper()}"
    payment.save()
    balances_refresh(customer_ids=[payment.customer_id])
    announce(signals.payments_recorded, Payment, [payment.pk], [payment.customer_id])
    return payment


@transaction.atomic
def payment_change(*, payment: Payment) -> Payment:
    """Save the edits of a payment (it stays with its invoice's customer), refresh the
    balances of the customers before and after, announce `payments_changed`."""
    before = _stored_customer_id(Payment, payment.pk)
    payment.customer_id = payment.invoice.customer_id
    payment.save()
    balances_refresh(customer_ids=[before, payment.customer_id])
    announce(signals.payments_changed, Payment, [payment.pk], [before, payment.customer_id])
    return payment


@transaction.atomic
def payments_delete(*, payments) -> int:
    """Delete `payments` (a queryset), refresh the customers' balances and announce
    `payments_deleted`; returns how many."""
    rows = _locked_rows(Payment, payments)
    payment_ids, customer_ids = _columns(rows)
    Payment.objects.filter(pk__in=payment_ids).delete()
    balances_refresh(customer_ids=customer_ids)
    announce(signals.payments_deleted, Payment, payment_ids, customer_ids)
    return len(rows)


def payment_delete(*, payment: Payment) -> None:
    payments_delete(payments=Payment.objects.filter(pk=payment.pk))


def payments_record_bulk(*, rows, staging: str):
    """Record the payment `rows` whose reference is new (see `invoices_record_bulk`) and
    announce them with `payments_recorded`."""
    return _record_bulk(Payment, signals.payments_recorded, rows, staging, date_column="paid_date")


# Shared --------------------------------------------------------------------------------


def _record_bulk(model, signal, rows, staging, *, date_column):
    """Stage `rows` and insert those with a new reference, in (customer, date) order as the
    table's main index; announce them with `signal`. Returns their id and customer_id."""
    writers.stage(staging, rows)
    new = writers.insert_staged(
        model._meta.db_table,
        staging,
        list(rows.columns),
        returning=("id", "customer_id"),
        order_by=("customer_id", date_column),
    )
    announce(signal, model, new["id"], new["customer_id"])
    return new


def _locked_rows(model, queryset, **filters):
    """(id, customer_id) of the rows of `queryset` (and `filters`), locked until commit. Read
    afresh: a queryset from the admin may be joined or distinct, which cannot be locked."""
    locked = model.objects.filter(pk__in=queryset.values("pk"), **filters).select_for_update()
    return list(locked.order_by("pk").values_list("pk", "customer_id"))


def _columns(rows):
    """(ids, customer ids) of (id, customer_id) pairs."""
    return [pk for pk, _customer in rows], [customer for _pk, customer in rows]
