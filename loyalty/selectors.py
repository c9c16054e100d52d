"""Reads of memberships and points, always through the customers the user may see."""

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.access import is_manager
from customers.models import PipelineRun
from customers.summaries import live_figures
from loyalty.forms import AdjustForm, RedeemForm
from loyalty.models import LoyaltySettings, Membership, PointEntry, Tier, TierChange
from loyalty.services import months_before, next_expiry

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
EXPORT_LABELS = {"member_tier": _("Member tier"), "points_balance": _("Points balance")}
EXPORT_CHOICES = {"member_tier": Tier.choices}


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


# Dashboard: figures built per scope when a run is published (customers.summaries).

DASHBOARD_MONTHS = 12


def _month_starts(as_of):
    first = as_of.replace(day=1)
    return [months_before(first, back) for back in range(DASHBOARD_MONTHS - 1, -1, -1)]


def build_points(scope, run):
    """Active members and their tiers, outstanding points, and points issued, redeemed and
    expired per month over the 12 months up to the run's date: 3 queries."""
    months, moved = _moved(run)
    members = scope.of(Membership.objects.all()).order_by()
    tiers = dict(
        members.filter(status=Membership.Status.ACTIVE)
        .values("tier")
        .annotate(n=Count("pk"))
        .values_list("tier", "n")
    )
    outstanding = members.exclude(status=Membership.Status.CLOSED).aggregate(
        points=Coalesce(Sum("balance"), 0)
    )["points"]
    moved = (
        scope.of(moved, field="membership__customer")
        .values("month", "kind")
        .annotate(points=Sum("points"))
        .values_list("month", "kind", "points")
    )
    return _points_figures(months, tiers, outstanding, moved)


def build_all_points(scopes, run):
    """build_points of every scope of the run (customers.summaries.RunScopes): three
    queries grouped by the customers' team and owner, whatever the number of scopes. The
    months before the one of the previous build's run (`scopes.earlier`) are taken from
    it as it counted them: the ledger is only appended to, each entry dated when written."""
    months, moved = _moved(run)
    settled = _settled_months(scopes.earlier, months)
    if settled:
        moved = moved.filter(created_at__gte=_day_start(months[len(settled)]))
    members = Membership.objects.order_by()
    tiers = scopes.add_up(
        scopes.pairs(members.filter(status=Membership.Status.ACTIVE), "tier", count=Count("pk")),
        dict,
        lambda counts, tier, n: {**counts, tier: counts.get(tier, 0) + n},
    )
    outstanding = scopes.add_up(
        scopes.pairs(
            members.exclude(status=Membership.Status.CLOSED), points=Coalesce(Sum("balance"), 0)
        ),
        int,
        lambda total, points: total + points,
    )
    monthly = scopes.add_up(
        scopes.pairs(moved, "month", "kind", field="membership__customer", points=Sum("points")),
        list,
        lambda rows, month, kind, points: [*rows, (month, kind, points)],
    )
    return {
        key: _points_figures(
            months,
            tiers[key],
            outstanding[key],
            [*_reported_months(scopes.earlier.of(key), settled), *monthly[key]],
        )
        for key in scopes.scope_keys()
    }


def _settled_months(earlier, months):
    """The first of `months` that the earlier build counted whole: those before the month
    of its run's date."""
    if earlier.run is None:
        return []
    counted = {row[0] for row in (earlier.of_company() or {}).get("months", [])}
    until = earlier.run.as_of.replace(day=1)
    settled = []
    for month in months:
        if month >= until or month.isoformat() not in counted:
            break
        settled.append(month)
    return settled


def _reported_months(stored, settled):
    """(month, kind, points) rows of the `settled` months as the earlier build stored them
    for a scope; none if it had no row (no customers then)."""
    wanted = {month.isoformat() for month in settled}
    return [
        (dt.date.fromisoformat(month), kind, points)
        for month, *points_by_kind in (stored or {}).get("months", [])
        if month in wanted
        for kind, points in zip(MONTHLY_KINDS, points_by_kind, strict=True)
    ]


def _day_start(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _moved(run):
    """The month starts of the dashboard's 12 months up to the run's date, and the ledger
    entries of those months that the dashboard counts, each with its month."""
    as_of = run.as_of if run is not None else timezone.localdate()
    months = _month_starts(as_of)
    start = timezone.make_aware(dt.datetime.combine(months[0], dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min))
    moved = (
        PointEntry.objects.order_by()
        .filter(created_at__gte=start, created_at__lt=end, kind__in=MONTHLY_KINDS)
        .annotate(month=TruncMonth("created_at"))
    )
    return months, moved


def _points_figures(months, tiers, outstanding, moved):
    """The section's stored figures from tier counts, the outstanding points and (month,
    kind, points) rows, several rows of one month and kind adding up."""
    by_month = {month.isoformat(): dict.fromkeys(MONTHLY_KINDS, 0) for month in months}
    for month, kind, points in moved:
        key = (month.date() if isinstance(month, dt.datetime) else month).isoformat()
        if key in by_month:
            by_month[key][kind] += abs(points)
    return {
        "active": sum(tiers.values()),
        "tiers": {tier: tiers.get(tier, 0) for tier in Tier.values},
        "outstanding": outstanding,
        "months": [
            [month, *(row[kind] for kind in MONTHLY_KINDS)] for month, row in by_month.items()
        ],
    }


MONTHLY_KINDS = (PointEntry.Kind.EARN, PointEntry.Kind.REDEEM, PointEntry.Kind.EXPIRE)


def show_points(figures, user, run):
    """The section's context: one query (the value of a point)."""
    point_value = LoyaltySettings.current().point_value
    members_url = reverse("loyalty-members")
    return {
        "active": figures["active"],
        "active_url": f"{members_url}?status=active",
        "tiers": [
            {
                "label": label,
                "count": figures["tiers"].get(tier, 0),
                "url": f"{members_url}?status=active&tier={tier}",
            }
            for tier, label in Tier.choices
        ],
        "outstanding": figures["outstanding"],
        "outstanding_value": (Decimal(figures["outstanding"]) * point_value).quantize(
            Decimal("0.01")
        ),
        "outstanding_url": members_url,
        "months": [
            {
                "month": dt.date.fromisoformat(month),
                "issued": issued,
                "redeemed": redeemed,
                "expired": expired,
            }
            for month, issued, redeemed, expired in figures["months"]
        ],
    }


def points_section(user):
    """The section computed now over the customers `user` may see."""
    run = PipelineRun.objects.current()
    return show_points(live_figures(build_points, user, run), user, run)
