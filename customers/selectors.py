"""Reads shared by pages and exports, always scoped to what the viewer may see."""

import datetime as dt

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from customers import history
from customers.access import can_see_all_customers
from customers.filters import CustomerFilter
from customers.models import (
    Complaint,
    Customer,
    Interaction,
    Invoice,
    OpenIssue,
    Order,
    Payment,
    visible_q,
)

RECENT_ROWS = 20
RECENT_CHANGES = 10

MONEY = DecimalField(max_digits=14, decimal_places=2)


def visible_customers(user):
    return Customer.objects.visible_to(user)


def of_visible_customers(queryset, user):
    """The rows of `queryset` (a model with a `customer` key: snapshot rows, plans,
    episodes) about the customers `user` may see, by Customer.objects.visible_to."""
    if can_see_all_customers(user):
        # The same rule, without a million-id subquery for those who see everyone.
        return queryset
    return queryset.filter(customer__in=visible_customers(user))


def customer_for(user, pk, *, for_update=False):
    """The customer `pk` if `user` may see it, else 404."""
    queryset = visible_customers(user).select_related("owner", "team", "parent")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    return get_object_or_404(queryset, pk=pk)


SUPPLIER_SUGGESTIONS = 20


def supplier_suggestions(user, text, *, exclude=None):
    """Up to 20 customers `user` may see that could supply others (distributors,
    wholesalers, terminals), whose name contains `text` or whose reference starts with it;
    never `exclude` nor the customers below it (they cannot be its supplier)."""
    from customers import network

    text = text.strip()
    if not text:
        return []
    # Everyone but an end consumer, said so: an IN list of three roles tempts the planner to
    # read the role index (most of the table) beside the name index.
    candidates = visible_customers(user).exclude(channel_role=Customer.ChannelRole.CONSUMER)
    candidates = candidates.name_or_ref(text)
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude).filter(~network.under_q(exclude))
    # The first matches found, in no order: a common word matches a hundred thousand names,
    # and sorting them all for 20 costs seconds. Those starting with the text come first.
    found = list(
        candidates.order_by().values("id", "external_ref", "name", "channel_role", "region")[
            :SUPPLIER_SUGGESTIONS
        ]
    )
    upper = text.upper()

    def rank(row):
        starts = row["external_ref"].upper().startswith(upper) or row["name"].startswith(text)
        return (not starts, row["name"], row["id"])

    return sorted(found, key=rank)


def supplier_by_ref_or_name(user, text):
    """The visible customer with reference `text`, else the only one named exactly `text`."""
    visible = visible_customers(user)
    found = visible.filter(external_ref=text).first()
    if found is None:
        named = list(visible.filter(name=text)[:2])
        found = named[0] if len(named) == 1 else None
    return found


def supplier_visible(user, customer):
    """Whether `user` may open the file of `customer`'s supplier (else only its name shows)."""
    if customer.parent_id is None:
        return False
    if can_see_all_customers(user):
        return True
    return visible_customers(user).filter(pk=customer.parent_id).exists()


def list_supplier(user, customer_filter):
    """The supplier the list is filtered by, if the user may see it."""
    form = customer_filter.form
    supplier = form.cleaned_data.get("supplier") if form.is_valid() else None
    if supplier is None:
        return None
    return visible_customers(user).filter(pk=supplier).only("pk", "name").first()


def customer_list(user, params):
    """The filtered list the user may see, as a bound FilterSet."""
    queryset = visible_customers(user).select_related("owner", "team")
    return CustomerFilter(params, queryset=queryset, user=user)


# Loaders of the customer file's core panels: each runs a fixed number of queries.


def _invoices_with_paid(customer):
    """The customer's invoices, each annotated with `paid`: what was received against it."""
    paid = (
        Payment.objects.filter(invoice=OuterRef("pk"))
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Invoice.objects.filter(customer=customer).annotate(
        paid=Coalesce(Subquery(paid), Value(0), output_field=MONEY)
    )


def contacts_panel(customer, user):
    return {"contacts": list(customer.contacts.all())}


def orders_panel(customer, user):
    """The recent orders, cancelled ones among them (shown struck through); the totals count
    the recorded ones only."""
    recorded = Q(status=Order.Status.RECORDED)
    totals = Order.objects.filter(customer=customer).aggregate(
        count=Count("id", filter=recorded),
        total=Sum("amount", filter=recorded),
        last=Max("order_date", filter=recorded),
        cancelled=Count("id", filter=~recorded),
    )
    orders = list(
        Order.objects.filter(customer=customer).order_by("-order_date", "-id")[:RECENT_ROWS]
    )
    return {"orders": orders, "order_totals": totals}


def receivables_panel(customer, user):
    invoices = list(_invoices_with_paid(customer).order_by("-due_date", "-id")[:RECENT_ROWS])
    today = timezone.localdate()
    for invoice in invoices:
        invoice.outstanding = max(invoice.amount - invoice.paid, 0)
        invoice.overdue = invoice.outstanding > 0 and invoice.due_date < today
    payments = list(
        Payment.objects.filter(customer=customer)
        .select_related("invoice")
        .order_by("-paid_date", "-id")[:RECENT_ROWS]
    )
    return {"invoices": invoices, "payments": payments}


def interactions_panel(customer, user):
    interactions = (
        Interaction.objects.filter(customer=customer)
        .select_related("staff")
        .order_by("-occurred_at", "-id")[:RECENT_ROWS]
    )
    return {"interactions": list(interactions)}


def complaints_panel(customer, user):
    complaints = (
        Complaint.objects.filter(customer=customer)
        .select_related("received_by", "resolved_by")
        .order_by("status", "-received_at")[:RECENT_ROWS]
    )
    return {"complaints": list(complaints)}


def documents_panel(customer, user):
    documents = customer.documents.select_related("uploaded_by")[:RECENT_ROWS]
    return {"documents": list(documents), "today": timezone.localdate()}


def issues_panel(customer, user):
    issues = (
        OpenIssue.objects.filter(customer=customer)
        .select_related("opened_by", "closed_by")
        .order_by("status", "-opened_at")[:RECENT_ROWS]
    )
    return {"issues": list(issues)}


def history_panel(customer, user):
    """The last changes of the file, newest first, each with what changed, old → new."""
    records = list(customer.history.select_related("history_user")[: RECENT_CHANGES + 1])
    older = records[RECENT_CHANGES] if len(records) > RECENT_CHANGES else None
    return {"changes": history.entries(records[:RECENT_CHANGES], older=older)}


# The start page.

# How many days ahead the start page looks for follow-ups and plans falling due.
DUE_SOON_DAYS = 14
# A follow-up overdue for longer than this is taken as dropped rather than due.
FOLLOW_UP_STALE_DAYS = 60
START_PAGE_ROWS = 8


def open_follow_ups(user, *, due="", today=None):
    """The follow-ups the user set on their contacts and has not had yet (no contact
    with the customer since), overdue by at most FOLLOW_UP_STALE_DAYS or due within
    DUE_SOON_DAYS, on customers they may see; soonest first. `due` "overdue" or
    "soon" keeps one of the two."""
    today = today or timezone.localdate()
    earliest = today - dt.timedelta(days=FOLLOW_UP_STALE_DAYS)
    latest = today + dt.timedelta(days=DUE_SOON_DAYS)
    if due == "overdue":
        latest = today - dt.timedelta(days=1)
    elif due == "soon":
        earliest = today
    contacted_since = Interaction.objects.filter(
        customer=OuterRef("customer"), occurred_at__gt=OuterRef("occurred_at")
    )
    follow_ups = Interaction.objects.filter(
        staff=user, next_follow_up__gte=earliest, next_follow_up__lte=latest
    )
    if not can_see_all_customers(user):
        # The same rule, without a semi-join over every customer for those who see all.
        follow_ups = follow_ups.filter(customer__in=visible_customers(user))
    return (
        follow_ups.exclude(Exists(contacted_since))
        .select_related("customer")
        .order_by("next_follow_up", "id")
    )


def follow_ups_due(user, *, today=None, limit=START_PAGE_ROWS):
    """The start page's "my follow-ups due": how many are overdue and how many due
    soon, and the first few. Two queries."""
    today = today or timezone.localdate()
    follow_ups = open_follow_ups(user, today=today)
    counts = follow_ups.aggregate(
        overdue=Count("pk", filter=Q(next_follow_up__lt=today)),
        soon=Count("pk", filter=Q(next_follow_up__gte=today)),
    )
    return {**counts, "rows": list(follow_ups[:limit]), "days": DUE_SOON_DAYS}


def start_page(user):
    visible = visible_customers(user)
    open_complaints = Complaint.objects.open()
    rule = visible_q(user, prefix="customer__")
    if rule is not None:
        open_complaints = open_complaints.filter(rule)
    return {
        # Counted without ORDER BY, so that any index fitting the filter can count.
        "customer_count": visible.order_by()[: settings.LIST_COUNT_CAP + 1].count(),
        "count_cap": settings.LIST_COUNT_CAP,
        "follow_ups": follow_ups_due(user),
        "overdue_customers": list(
            visible.with_overdue().select_related("owner").order_by("-overdue_amount", "id")[:10]
        ),
        "open_complaints": list(
            open_complaints.select_related("customer").order_by("received_at")[:10]
        ),
        "today": timezone.localdate(),
    }
