"""A customer's whole history of orders, invoices or payments, a page at a time.

The file's panels show the latest 20 rows; these pages show all of them, newest first,
filtered by a date range (and, for orders, by status). Paging is by keyset: each page
starts after the (date, id) of the last row shown, carried in the query string as a
cursor such as `2026-11-21.4512`, so any page costs the same as the first one, read
along the (customer, date, id) index of its table. Invoices go by their due date,
as on the file; orders by order date, payments by the day they were paid.
"""

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.forms import DATE_INPUT
from customers.models import Order, Payment
from customers.selectors import RECENT_ROWS, _invoices_with_paid

PAGE_ROWS = RECENT_ROWS
# The largest id a database key holds (bigint): a larger one is no row's.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    date_field: str
    template: str


KINDS = {
    "orders": Kind("orders", _("Orders"), "order_date", "customers/_records_orders.html"),
    "invoices": Kind("invoices", _("Invoices"), "due_date", "customers/_records_invoices.html"),
    "payments": Kind("payments", _("Payments"), "paid_date", "customers/_records_payments.html"),
}


class RecordFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=DATE_INPUT)
    end = forms.DateField(label=_("To"), required=False, widget=DATE_INPUT)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *Order.Status.choices],
    )

    def __init__(self, *args, kind, **kwargs):
        super().__init__(*args, **kwargs)
        if kind.key != "orders":
            del self.fields["status"]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned


class BadCursor(ValueError):
    pass


def parse_cursor(text):
    """`2026-11-21.4512` → (date, id); anything else raises BadCursor."""
    day, _sep, pk = (text or "").partition(".")
    try:
        parsed = dt.date.fromisoformat(day), int(pk)
    except ValueError as error:
        raise BadCursor(text) from error
    if not 1 <= parsed[1] <= MAX_ID or len(day) != 10:
        raise BadCursor(text)
    return parsed


def make_cursor(row, kind):
    return f"{getattr(row, kind.date_field):%Y-%m-%d}.{row.pk}"


def base_queryset(customer, kind):
    if kind.key == "orders":
        return Order.objects.filter(customer=customer)
    if kind.key == "invoices":
        return _invoices_with_paid(customer)
    return Payment.objects.filter(customer=customer).select_related("invoice")


def filtered(queryset, kind, filters):
    field = kind.date_field
    if filters.get("start"):
        queryset = queryset.filter(**{f"{field}__gte": filters["start"]})
    if filters.get("end"):
        queryset = queryset.filter(**{f"{field}__lte": filters["end"]})
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    return queryset


@dataclass
class Page:
    rows: list
    older: str | None  # cursor of the next page back in time, None on the oldest page
    newer: str | None  # cursor of the page before, None on the newest page


def page_of(queryset, kind, *, older_than=None, newer_than=None):
    """One page of `queryset` in (date, id) descending order, in one query: the rows
    before the cursor `older_than`, or those just after `newer_than`, or the newest."""
    field = kind.date_field
    if newer_than is not None:
        day, pk = newer_than
        after = Q(**{f"{field}__gt": day}) | Q(**{field: day, "pk__gt": pk})
        rows = list(
            queryset.filter(**{f"{field}__gte": day})
            .filter(after)
            .order_by(field, "id")[: PAGE_ROWS + 1]
        )
        has_newer = len(rows) > PAGE_ROWS
        rows = rows[:PAGE_ROWS][::-1]
        # Coming back from an older page: the row of the cursor is older than these.
        has_older = bool(rows)
    else:
        if older_than is not None:
            day, pk = older_than
            before = Q(**{f"{field}__lt": day}) | Q(**{field: day, "pk__lt": pk})
            queryset = queryset.filter(**{f"{field}__lte": day}).filter(before)
        rows = list(queryset.order_by(f"-{field}", "-id")[: PAGE_ROWS + 1])
        has_older = len(rows) > PAGE_ROWS
        rows = rows[:PAGE_ROWS]
        has_newer = older_than is not None and bool(rows)
    return Page(
        rows=rows,
        older=make_cursor(rows[-1], kind) if has_older else None,
        newer=make_cursor(rows[0], kind) if has_newer else None,
    )


def decorate(rows, kind, today):
    if kind.key == "invoices":
        for invoice in rows:
            invoice.outstanding = max(invoice.amount - invoice.paid, 0)
            invoice.overdue = invoice.outstanding > 0 and invoice.due_date < today
    return rows
