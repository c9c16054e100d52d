"""Reads shared by pages and exports, always scoped to what the viewer may see."""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
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
    Team,
)

RECENT_ROWS = 20
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
    """Recent changes of the file (owner, team, identity), newest first, with what changed."""
    records = list(customer.history.select_related("history_user")[:11])
    if not records:
        # Customers written by bulk imports have no history until their first edit.
        return {"changes": []}
    diffs = [
        newer.diff_against(older).changes if older is not None else []
        for newer, older in zip(records, [*records[1:], None], strict=True)
    ]
    names = _related_names(change for diff in diffs for change in diff)
    changes = []
    for record, diff in list(zip(records, diffs, strict=True))[:10]:
        fields = [
            {
                "label": Customer._meta.get_field(change.field).verbose_name,
                "old": names.get((change.field, change.old), change.old),
                "new": names.get((change.field, change.new), change.new),
            }
            for change in diff
        ]
        changes.append({"record": record, "changes": fields})
    return {"changes": changes}


def _related_names(changes):
    """Display names for the owner, team and parent ids in history changes: one query each."""
    wanted = {"owner": set(), "team": set(), "parent": set()}
    for change in changes:
        if change.field in wanted:
            wanted[change.field].update(pk for pk in (change.old, change.new) if pk)
    models = {"owner": get_user_model(), "team": Team, "parent": Customer}
    names = {}
    for field, ids in wanted.items():
        for obj in models[field].objects.filter(pk__in=ids) if ids else []:
            label = obj.get_full_name() or obj.username if field == "owner" else str(obj)
            names[(field, obj.pk)] = label
    return names


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
    if not can_see_all_customers(user):
        open_complaints = open_complaints.filter(customer__in=visible)
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
