"""Reads of memberships and points, always through the customers the user may see."""

from django.db.models import Q

from customers.access import is_manager
from loyalty.forms import AdjustForm, RedeemForm
from loyalty.models import LoyaltySettings, Membership, PointEntry, Tier, TierChange
from loyalty.services import next_expiry

PANEL_ENTRIES = 5
PANEL_TIER_CHANGES = 3


def membership_panel(customer, user):
    """The membership panel of a customer the user may see: five queries (the membership,
    its last entries, its last tier changes, the settings, its earned points for the next
    expiry), one when the customer is not a member."""
    membership = Membership.objects.filter(customer=customer).first()
    if membership is None:
        return {"membership": None}
    entries = list(
        PointEntry.objects.filter(membership=membership)
        .select_related("created_by")
        .order_by("-created_at", "-id")[:PANEL_ENTRIES]
    )
    tier_changes = list(
        TierChange.objects.filter(membership=membership).order_by("-changed_at", "-id")[
            :PANEL_TIER_CHANGES
        ]
    )
    months = LoyaltySettings.current().expiry_months
    lots = PointEntry.objects.filter(membership=membership, points__gt=0).order_by(
        "created_at", "id"
    )
    expiry = next_expiry(membership, list(lots.values_list("created_at", "points")), months)
    can_adjust = is_manager(user)
    return {
        "membership": membership,
        "entries": entries,
        "tier_changes": tier_changes,
        "next_expiry": expiry,
        "can_redeem": membership.status == Membership.Status.ACTIVE,
        "redeem_form": RedeemForm(prefix="redeem"),
        "can_adjust": can_adjust,
        "adjust_form": AdjustForm(prefix="adjust") if can_adjust else None,
    }


# export_scores.

EXPORT_HEADER = ["member_tier", "points_balance"]


def export_columns(customer_ids):
    """{customer id: (tier, balance)} of the members among them: one query per batch;
    non-members are left out (their cells stay empty)."""
    rows = Membership.objects.filter(customer_id__in=customer_ids).values_list(
        "customer_id", "tier", "balance"
    )
    return {customer: (tier, balance) for customer, tier, balance in rows}


# Pages.


def members(user, params):
    """Members of the customers `user` may see, filtered by tier, status and a search of the
    member number or the customer's name; (queryset, filters in force)."""
    queryset = Membership.objects.visible_to(user).select_related("customer")
    tier = params.get("tier", "")
    status = params.get("status", "")
    text = params.get("q", "").strip()
    if tier in Tier.values:
        queryset = queryset.filter(tier=tier)
    else:
        tier = ""
    if status in Membership.Status.values:
        queryset = queryset.filter(status=status)
    else:
        status = ""
    if text:
        queryset = queryset.filter(Q(number=text) | Q(customer__name__contains=text))
    return queryset.order_by("number"), {"tier": tier, "status": status, "q": text}


def ledger(membership, params):
    """A member's entries, newest first, of one kind when asked; (queryset, kind)."""
    queryset = (
        PointEntry.objects.filter(membership=membership)
        .select_related("created_by", "order", "promotion")
        .order_by("-created_at", "-id")
    )
    kind = params.get("kind", "")
    if kind in PointEntry.Kind.values:
        queryset = queryset.filter(kind=kind)
    else:
        kind = ""
    return queryset, kind
