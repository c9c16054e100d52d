"""Writes of memberships and points: enrolment, earning, redemption, adjustment, reversal.

Every change of points adds a ledger entry and moves the membership's balance by
the same amount in one transaction. The balance moves by a conditional UPDATE
(`... SET balance = balance + n WHERE id = m AND balance + n >= 0`): the row lock it
takes serialises concurrent writers of one member, and a redemption the balance no
longer covers updates nothing and is refused, so concurrent redemptions never
overdraw. The CHECK constraint on the balance stands behind it.
"""

import datetime as dt
from decimal import ROUND_FLOOR, Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Order
from loyalty.models import (
    TIER_RANK,
    LoyaltySettings,
    Membership,
    OrderToEarn,
    PointEntry,
    Promotion,
    Tier,
    TierChange,
)
from segmentation.models import RfmScore


class LoyaltyError(Exception):
    """Refused input, with a message for the user; nothing was written."""


def membership_enrol(*, customer, by) -> Membership:
    """Make the customer a member (active, standard tier, joined today)."""
    if Membership.objects.filter(customer=customer).exists():
        raise LoyaltyError(_("%(name)s is already a member.") % {"name": customer.name})
    try:
        with transaction.atomic():
            return Membership.objects.create(
                customer=customer,
                number=f"M{customer.pk:08d}",
                joined_on=timezone.localdate(),
                enrolled_by=by,
            )
    except IntegrityError:
        raise LoyaltyError(_("%(name)s is already a member.") % {"name": customer.name}) from None


@transaction.atomic
def memberships_enrol(*, customers, by) -> tuple[int, int]:
    """Enrol every customer of `customers` (a queryset) who is not a member yet; returns
    (enrolled, already members)."""
    ids = list(customers.order_by("pk").values_list("pk", flat=True))
    members = set(
        Membership.objects.filter(customer_id__in=ids).values_list("customer_id", flat=True)
    )
    today = timezone.localdate()
    new = [
        Membership(customer_id=pk, number=f"M{pk:08d}", joined_on=today, enrolled_by=by)
        for pk in ids
        if pk not in members
    ]
    Membership.objects.bulk_create(new, batch_size=5000)
    return len(new), len(members)


def _post(membership_id, points):
    """Move the balance by `points`; False when it would go below zero (nothing changed)."""
    updated = Membership.objects.filter(pk=membership_id, balance__gte=-points).update(
        balance=F("balance") + points
    )
    return bool(updated)


def _post_many(moves) -> set:
    """Move many balances at once, {membership id: points}, each as `_post` moves one (not
    below zero); one statement per few thousand members instead of one each. Returns the ids
    whose balance moved."""
    table = connection.ops.quote_name(Membership._meta.db_table)
    moved, items = set(), sorted(moves.items())
    for start in range(0, len(items), 5000):
        batch = items[start : start + 5000]
        values = ", ".join(["(%s, %s)"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH moves (id, points) AS (VALUES {values}) "
                f"UPDATE {table} SET balance = {table}.balance + moves.points FROM moves "
                f"WHERE {table}.id = moves.id AND {table}.balance + moves.points >= 0 "
                f"RETURNING {table}.id",
                [number for pair in batch for number in pair],
            )
            moved.update(row[0] for row in cursor.fetchall())
    return moved


def _check_amount(points):
    if not isinstance(points, int) or isinstance(points, bool):
        raise LoyaltyError(_("Enter a whole number of points."))


@transaction.atomic
def points_redeem(*, membership, points, by, reason="") -> PointEntry:
    """Spend `points` (> 0) of an active member's balance."""
    _check_amount(points)
    if points <= 0:
        raise LoyaltyError(_("Redeem a positive number of points."))
    status = Membership.objects.filter(pk=membership.pk).values_list("status", flat=True).get()
    if status != Membership.Status.ACTIVE:
        raise LoyaltyError(_("Only an active member can redeem points."))
    if not _post(membership.pk, -points):
        raise LoyaltyError(
            _("Not enough points: %(points)s asked, fewer in the balance.") % {"points": points}
        )
    return PointEntry.objects.create(
        membership_id=membership.pk,
        kind=PointEntry.Kind.REDEEM,
        points=-points,
        created_by=by,
        reason=reason,
    )


@transaction.atomic
def points_adjust(*, membership, points, by, reason) -> PointEntry:
    """Add (or, negative, take away) points with a reason; never below a zero balance."""
    _check_amount(points)
    if points == 0:
        raise LoyaltyError(_("An adjustment must add or take away points."))
    if not (reason or "").strip():
        raise LoyaltyError(_("An adjustment needs a reason."))
    if not _post(membership.pk, points):
        raise LoyaltyError(_("The adjustment would take the balance below zero."))
    return PointEntry.objects.create(
        membership_id=membership.pk,
        kind=PointEntry.Kind.ADJUST,
        points=points,
        created_by=by,
        reason=reason.strip(),
    )


def points_for(amount, multiplier, per_unit) -> int:
    """Points for an order amount: whole points, rounded down."""
    return int((Decimal(amount) * per_unit * multiplier).to_integral_value(ROUND_FLOOR))


def earning_orders(order_ids=None):
    """Recorded orders of active members, dated from the join date on: those that earn."""
    orders = Order.objects.filter(
        status=Order.Status.RECORDED,
        customer__membership__status=Membership.Status.ACTIVE,
        order_date__gte=F("customer__membership__joined_on"),
    )
    if order_ids is not None:
        orders = orders.filter(pk__in=order_ids)
    return orders


def unearned_orders(order_ids=None):
    """Earning orders with no earning yet, among the given ones; when None, among the orders
    the catch-up's queue holds (OrderToEarn: every order inserted or moved, and a joining
    member's, since the last night drained it), not the whole order table."""
    if order_ids is None:
        order_ids = OrderToEarn.objects.values("order_id")
    return earning_orders(order_ids).exclude(
        Exists(PointEntry.objects.filter(order_id=OuterRef("pk"), kind=PointEntry.Kind.EARN))
    )


def queue_drain() -> int:
    """Remove from the catch-up's queue the orders that owe nothing now (earned, cancelled,
    not a member's, dated before the join); those still owed stay for the next night."""
    owed = unearned_orders().values("pk")
    deleted, _by_model = OrderToEarn.objects.exclude(order_id__in=owed).delete()
    return deleted


def _scores(customer_ids):
    """{customer id: (value tier, RFM segment)} in the published run."""
    rows = RfmScore.objects.current().filter(customer_id__in=customer_ids)
    return {
        customer: (value_tier, segment)
        for customer, value_tier, segment in rows.values_list(
            "customer_id", "value_tier", "segment"
        )
    }


def pending_awards(order_ids=None, *, tiers=None) -> list[PointEntry]:
    """The earn entries the given orders (every missed one when None) are owed, unsaved: the
    amount by the points per unit, the tier's multiplier and the best promotion that applies
    to the order's date and the member (promotions do not add up). `tiers` ({membership id:
    tier}) stands for tiers about to change."""
    return _owed(unearned_orders(order_ids), tiers or {})


def _owed(orders, tiers):
    rules = LoyaltySettings.current()
    rows = list(
        orders.order_by("pk").values_list(
            "pk",
            "customer_id",
            "order_date",
            "amount",
            "customer__membership__pk",
            "customer__membership__tier",
        )
    )
    if not rows:
        return []
    first, last = min(row[2] for row in rows), max(row[2] for row in rows)
    promotions = list(
        Promotion.objects.filter(starts_on__lte=last, ends_on__gte=first).order_by(
            "-multiplier", "pk"
        )
    )
    targeted = any(promotion.value_tier or promotion.segment for promotion in promotions)
    scores = _scores({row[1] for row in rows}) if targeted else {}
    entries = []
    for order_id, customer_id, order_date, amount, membership_id, tier in rows:
        tier = tiers.get(membership_id, tier)
        promotion = next(
            (p for p in promotions if p.applies_to(order_date, tier, scores.get(customer_id))),
            None,
        )
        multiplier = rules.multiplier(tier) * (promotion.multiplier if promotion else 1)
        points = points_for(amount, multiplier, rules.points_per_unit)
        if points > 0:
            entries.append(
                PointEntry(
                    membership_id=membership_id,
                    kind=PointEntry.Kind.EARN,
                    points=points,
                    order_id=order_id,
                    promotion=promotion,
                )
            )
    return entries


@transaction.atomic
def points_award(*, order_ids=None) -> tuple[int, int]:
    """Earn the points of the given orders (every missed one when None) that have none yet;
    returns (entries, points). The members concerned are locked first, so two awards for one
    order never both pass the check; the unique constraint stands behind it."""
    locked = list(
        Membership.objects.select_for_update()
        .filter(customer_id__in=unearned_orders(order_ids).values("customer_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not locked:
        return 0, 0
    entries = pending_awards(order_ids)
    PointEntry.objects.bulk_create(entries, batch_size=5000)
    totals = _totals(entries)
    _post_many(totals)
    return len(entries), sum(totals.values())


@transaction.atomic
def points_reverse(*, order_ids) -> tuple[int, int]:
    """Take back what the given orders earned (with any adjustment since they changed) and has
    not been reversed yet. When part of it was spent already, the balance goes to zero and
    the entry says how much could not be taken back. Returns (entries, points taken back)."""
    held = (
        PointEntry.objects.filter(order_id__in=order_ids)
        .exclude(
            Exists(
                PointEntry.objects.filter(
                    order_id=OuterRef("order_id"), kind=PointEntry.Kind.REVERSE
                )
            )
        )
        .order_by()
        .values("membership_id", "order_id")
        .annotate(net=Sum("points"))
        .filter(net__gt=0)
        .values_list("membership_id", "order_id", "net")
    )
    held = sorted(held, key=lambda row: (row[1], row[0]))
    balances = dict(
        Membership.objects.select_for_update()
        .filter(pk__in={row[0] for row in held})
        .order_by("pk")
        .values_list("pk", "balance")
    )
    entries, taken = [], 0
    for membership_id, order_id, points in held:
        back = min(points, balances[membership_id])
        reason = ""
        if back < points:
            reason = _("%(points)s points already spent could not be taken back.") % {
                "points": points - back
            }
        if back <= 0:
            continue
        balances[membership_id] -= back
        taken += back
        entries.append(
            PointEntry(
                membership_id=membership_id,
                kind=PointEntry.Kind.REVERSE,
                points=-back,
                order_id=order_id,
                reason=reason,
            )
        )
        _post(membership_id, -back)
    PointEntry.objects.bulk_create(entries)
    return len(entries), taken


# Expiry. Points are spent oldest first: whatever left the balance (redeemed, expired,
# reversed, taken away) used up the oldest points first. So of the points earned up to a
# day, what is still unspent is what they add up to less everything that ever left.


def months_before(day, months):
    """The same day `months` months earlier (the month's last day where it is shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for last in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def months_after(day, months):
    return months_before(day, -months)


def expiry_cutoff(as_of, months):
    """Points earned before this moment have expired by the end of `as_of`: those earned on
    or before the day `months` months earlier."""
    return _day_start(months_before(as_of, months) + dt.timedelta(days=1))


def _day_start(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _expiring(memberships, cutoff):
    """(membership id, points) of unspent points earned before `cutoff`, one query."""
    rows = (
        PointEntry.objects.filter(membership__in=memberships)
        .order_by()
        .values("membership_id")
        .annotate(
            old=Coalesce(Sum("points", filter=Q(points__gt=0, created_at__lt=cutoff)), 0),
            spent=Coalesce(Sum("points", filter=Q(points__lt=0)), 0),
        )
        .filter(old__gt=-F("spent"))
        .values_list("membership_id", "old", "spent")
    )
    return {membership_id: old + spent for membership_id, old, spent in rows}


def expiry_due(*, as_of, expired_through=None) -> dict:
    """{membership id: points} that expire by the end of `as_of`.

    `expired_through` is the last day whose earnings a published night already expired
    (`expired_through_day`): every point earned up to it has been spent or expired since,
    and spending only lowers what is left, so the only members who can have points due now
    are those who earned some after that day and before this cutoff. Without it every
    member's ledger is read."""
    cutoff = expiry_cutoff(as_of, LoyaltySettings.current().expiry_months)
    if expired_through is None:
        return _expiring(Membership.objects.all(), cutoff)
    since = _day_start(expired_through + dt.timedelta(days=1))
    if since >= cutoff:
        return {}
    earned = PointEntry.objects.filter(points__gt=0, created_at__gte=since, created_at__lt=cutoff)
    return _expiring(Membership.objects.filter(pk__in=earned.values("membership_id")), cutoff)


def expiry_day(as_of) -> dt.date:
    """The last day whose earnings have expired by the end of `as_of`."""
    return months_before(as_of, LoyaltySettings.current().expiry_months)


def expired_through_day(run) -> dt.date | None:
    """The last earning day whose points `run` (a published run) saw expired, from its loyalty
    step's summary; None for a run from before the summary said it."""
    for step in (run.steps if run is not None else None) or ():
        if step.get("name") == "loyalty":
            day = (step.get("summary") or {}).get("expired_through")
            try:
                return dt.date.fromisoformat(day) if day else None
            except (TypeError, ValueError):
                return None
    return None


@transaction.atomic
def points_expire(*, membership_ids, as_of) -> tuple[int, int]:
    """Write the expiry entries of these members, computed again under their locks from the
    ledger as it is now: a redemption made since they were first counted spent the oldest
    points, so only what is still unspent expires, never more than the balance. Returns
    (members, points)."""
    months = LoyaltySettings.current().expiry_months
    cutoff = expiry_cutoff(as_of, months)
    locked = Membership.objects.select_for_update().filter(pk__in=membership_ids).order_by("pk")
    balances = dict(locked.values_list("pk", "balance"))
    due = _expiring(list(balances), cutoff)
    reason = _("Earned on or before %(date)s") % {"date": months_before(as_of, months)}
    expiring = {
        membership_id: min(points, balances[membership_id])
        for membership_id, points in due.items()
        if min(points, balances[membership_id]) > 0
    }
    moved = _post_many({membership_id: -points for membership_id, points in expiring.items()})
    entries = [
        PointEntry(
            membership_id=membership_id,
            kind=PointEntry.Kind.EXPIRE,
            points=-points,
            reason=reason,
        )
        for membership_id, points in sorted(expiring.items())
        if membership_id in moved
    ]
    PointEntry.objects.bulk_create(entries, batch_size=5000)
    return len(entries), -sum(entry.points for entry in entries)


def next_expiry(membership, lots, months):
    """(points, date) of the next unspent points to expire, or None; `lots` are the member's
    (earned at, points) additions, oldest first."""
    spent = sum(points for _at, points in lots) - membership.balance
    by_day = {}
    for earned_at, points in lots:
        left = points - spent
        spent = max(0, spent - points)
        if left > 0:
            day = months_after(timezone.localtime(earned_at).date(), months)
            by_day[day] = by_day.get(day, 0) + min(left, points)
    if not by_day:
        return None
    day = min(by_day)
    return by_day[day], day


# Tiers.


def year_before(day):
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def rolling_spend(*, as_of, customer_ids=None) -> dict:
    """{customer id: spend of the 12 months up to `as_of`} over recorded orders (cancelled
    ones count nowhere), for members' customers (the given ones, or all)."""
    orders = Order.objects.filter(
        status=Order.Status.RECORDED,
        order_date__gt=year_before(as_of),
        order_date__lte=as_of,
        customer__membership__isnull=False,
    )
    if customer_ids is not None:
        orders = orders.filter(customer_id__in=customer_ids)
    return dict(
        orders.order_by()
        .values("customer_id")
        .annotate(spend=Sum("amount"))
        .values_list("customer_id", "spend")
    )


def tier_changes(*, as_of, customer_ids=None, upgrades_only=False) -> list[dict]:
    """The tier moves the 12-month spend calls for among open memberships: (membership, from,
    to, spend) as dicts; upgrades only when asked."""
    rules = LoyaltySettings.current()
    if customer_ids is None and not upgrades_only:
        return _all_tier_changes(as_of, rules)
    spend = rolling_spend(as_of=as_of, customer_ids=customer_ids)
    members = Membership.objects.exclude(status=Membership.Status.CLOSED)
    if customer_ids is not None:
        members = members.filter(customer_id__in=customer_ids)
    changes = []
    for membership_id, customer_id, tier in members.order_by("pk").values_list(
        "pk", "customer_id", "tier"
    ):
        amount = spend.get(customer_id) or Decimal("0")
        reached = rules.tier_for(amount)
        if reached == tier or (upgrades_only and TIER_RANK[reached] < TIER_RANK[tier]):
            continue
        changes.append(
            {"membership_id": membership_id, "from": tier, "to": reached, "spend": amount}
        )
    return changes


def _cents(amount):
    return Decimal(str(amount)).quantize(Decimal("0.01"))


def _all_tier_changes(as_of, rules) -> list[dict]:
    """tier_changes for every open membership, the tier reached worked out by the database:
    only the members whose tier moves come back (a handful a night of a million)."""
    # As LoyaltySettings.tier_for: the highest tier whose threshold the spend reaches.
    thresholds = [
        (tier, getattr(rules, f"{tier}_from")) for tier in (Tier.PLATINUM, Tier.GOLD, Tier.SILVER)
    ]
    reached = (
        "CASE "
        + " ".join(
            f"WHEN COALESCE(s.spend, 0) >= CAST(%s AS NUMERIC) THEN '{tier}'"
            for tier, _ in thresholds
        )
        + f" ELSE '{Tier.STANDARD}' END"
    )
    sql = f"""
        SELECT m.id, m.tier, {reached}, COALESCE(s.spend, 0)
        FROM {Membership._meta.db_table} m
        LEFT JOIN (
            SELECT customer_id, SUM(amount) AS spend FROM {Order._meta.db_table}
            WHERE status = %s AND order_date > %s AND order_date <= %s
            GROUP BY customer_id
        ) s ON s.customer_id = m.customer_id
        WHERE m.status <> %s AND m.tier <> {reached}
        ORDER BY m.id
    """
    limits = [threshold for _tier, threshold in thresholds]
    params = [
        *limits,
        Order.Status.RECORDED,
        year_before(as_of),
        as_of,
        Membership.Status.CLOSED,
        *limits,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        {"membership_id": pk, "from": tier, "to": to, "spend": _cents(spend)}
        for pk, tier, to, spend in rows
    ]


def tier_changes_apply(changes, *, cause) -> int:
    """Move each member whose tier is still the one the change started from (an order may have
    lifted it meanwhile) and keep the move in the tier history; returns how many moved."""
    moved = []
    for change in changes:
        if Membership.objects.filter(pk=change["membership_id"], tier=change["from"]).update(
            tier=change["to"]
        ):
            moved.append(
                TierChange(
                    membership_id=change["membership_id"],
                    from_tier=change["from"],
                    to_tier=change["to"],
                    spend=change["spend"],
                    cause=cause,
                )
            )
    TierChange.objects.bulk_create(moved, batch_size=5000)
    return len(moved)


@transaction.atomic
def tiers_upgrade(*, customer_ids) -> int:
    """Lift the members among these customers whose 12-month spend now reaches a higher tier
    (at once, on an order); never lowers one (that waits for the night)."""
    list(
        Membership.objects.select_for_update()
        .filter(customer_id__in=customer_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    changes = tier_changes(
        as_of=timezone.localdate(), customer_ids=customer_ids, upgrades_only=True
    )
    return tier_changes_apply(changes, cause=TierChange.Cause.ORDER)


@transaction.atomic
def spend_bonuses_award(*, customer_ids=None) -> int:
    """Award the bonus points of spend promotions to the members (of these customers, or all)
    whose spend on earning orders dated within a promotion has reached its threshold, once
    per member and promotion; returns the bonuses written."""
    today = timezone.localdate()
    promotions = list(
        Promotion.objects.filter(kind=Promotion.Kind.THRESHOLD, starts_on__lte=today).order_by("pk")
    )
    if not promotions:
        return 0
    members = Membership.objects.filter(status=Membership.Status.ACTIVE)
    if customer_ids is not None:
        members = members.filter(customer_id__in=customer_ids)
    locked = {
        customer_id: (pk, tier)
        for pk, customer_id, tier in members.select_for_update()
        .order_by("pk")
        .values_list("pk", "customer_id", "tier")
    }
    if not locked:
        return 0
    targeted = any(promotion.value_tier or promotion.segment for promotion in promotions)
    scores = _scores(list(locked)) if targeted else {}
    membership_ids = [pk for pk, _tier in locked.values()]
    held = _bonuses_held(membership_ids, promotions)
    awarded_before = set(
        PointEntry.objects.filter(
            kind=PointEntry.Kind.EARN,
            order__isnull=True,
            promotion__in=promotions,
            membership_id__in=membership_ids,
        ).values_list("membership_id", "promotion_id")
    )
    entries = []
    for promotion in promotions:
        spend = _spend_within(promotion, list(locked))
        for customer_id in sorted(spend):
            if spend[customer_id] < promotion.spend_threshold:
                continue
            membership_id, tier = locked[customer_id]
            if held.get((membership_id, promotion.pk), 0) > 0:
                continue
            if not promotion.targets(tier, scores.get(customer_id)):
                continue
            # A bonus taken back (the spend fell below the threshold) and reached again is
            # given back as an adjustment: a member earns each promotion's bonus once.
            again = (membership_id, promotion.pk) in awarded_before
            entries.append(
                PointEntry(
                    membership_id=membership_id,
                    kind=PointEntry.Kind.ADJUST if again else PointEntry.Kind.EARN,
                    points=promotion.bonus_points,
                    promotion=promotion,
                    reason=_("%(promotion)s: threshold reached again")
                    % {"promotion": promotion.name}
                    if again
                    else promotion.name,
                )
            )
    _post_many(_totals(entries))
    PointEntry.objects.bulk_create(entries)
    return len(entries)


def _totals(entries):
    """{membership id: the points of these entries added up}."""
    totals = {}
    for entry in entries:
        totals[entry.membership_id] = totals.get(entry.membership_id, 0) + entry.points
    return totals


def _spend_within(promotion, customer_ids):
    """{customer id: spend on earning orders dated within the promotion}, for those of these
    customers with any: one query."""
    return dict(
        earning_orders()
        .filter(
            customer_id__in=customer_ids,
            order_date__gte=promotion.starts_on,
            order_date__lte=promotion.ends_on,
        )
        .order_by()
        .values("customer_id")
        .annotate(spend=Sum("amount"))
        .values_list("customer_id", "spend")
    )


def _bonuses_held(membership_ids, promotions):
    """The spend bonuses' points each member holds now, by (membership, promotion): what was
    awarded less what was taken back."""
    return {
        (membership_id, promotion_id): net
        for membership_id, promotion_id, net in PointEntry.objects.filter(
            order__isnull=True, promotion__in=promotions, membership_id__in=membership_ids
        )
        .order_by()
        .values("membership_id", "promotion_id")
        .annotate(net=Sum("points"))
        .values_list("membership_id", "promotion_id", "net")
    }


@transaction.atomic
def spend_bonuses_review(*, customer_ids=None) -> int:
    """Take back the spend bonuses of these customers' members whose spend on earning orders
    within the promotion is now below its threshold (an order cancelled, deleted, made
    smaller, moved to another date or customer). A take-back stops at a zero balance and
    says so. Returns the entries written."""
    promotions = {
        promotion.pk: promotion
        for promotion in Promotion.objects.filter(kind=Promotion.Kind.THRESHOLD)
    }
    bonuses = PointEntry.objects.filter(order__isnull=True, promotion__in=list(promotions))
    if customer_ids is not None:
        bonuses = bonuses.filter(membership__customer_id__in=customer_ids)
    held, members = {}, {}
    for membership_id, customer_id, promotion_id, net in (
        bonuses.order_by()
        .values("membership_id", "membership__customer_id", "promotion_id")
        .annotate(net=Sum("points"))
        .filter(net__gt=0)
        .values_list("membership_id", "membership__customer_id", "promotion_id", "net")
    ):
        held[membership_id, promotion_id] = net
        members[membership_id] = customer_id
    if not held:
        return 0
    balances = dict(
        Membership.objects.select_for_update()
        .filter(pk__in={membership_id for membership_id, _pk in held})
        .order_by("pk")
        .values_list("pk", "balance")
    )
    # Each promotion's spend of the members holding its bonus: one query a promotion.
    spend = {}
    for promotion_id in {promotion_id for _membership_id, promotion_id in held}:
        customers = [members[m] for m, p in held if p == promotion_id]
        for customer_id, amount in _spend_within(promotions[promotion_id], customers).items():
            spend[customer_id, promotion_id] = amount
    entries = []
    for (membership_id, promotion_id), net in sorted(held.items()):
        promotion = promotions[promotion_id]
        if spend.get((members[membership_id], promotion_id), 0) >= promotion.spend_threshold:
            continue
        back = min(net, balances[membership_id])
        if back <= 0:
            continue
        reason = _("%(promotion)s: spend fell below the threshold") % {"promotion": promotion.name}
        if back < net:
            reason += " " + _("%(points)s points already spent could not be taken back.") % {
                "points": net - back
            }
        balances[membership_id] -= back
        entries.append(
            PointEntry(
                membership_id=membership_id,
                kind=PointEntry.Kind.REVERSE,
                points=-back,
                promotion=promotion,
                reason=reason,
            )
        )
    _post_many(_totals(entries))
    PointEntry.objects.bulk_create(entries)
    return len(entries)


@transaction.atomic
def points_rebalance(*, order_ids) -> int:
    """Bring the points held for changed orders in line with the orders as they now are (a
    new amount or date, another customer): each member holding points for one of them gets
    the difference as an adjustment naming the order (a take-back stops at a zero balance);
    an order now owed points and never earned earns. Returns the entries written."""
    held = {}
    for membership_id, order_id, net in (
        PointEntry.objects.filter(order_id__in=order_ids)
        .order_by()
        .values("membership_id", "order_id")
        .annotate(net=Sum("points"))
        .values_list("membership_id", "order_id", "net")
    ):
        held.setdefault(order_id, {})[membership_id] = net
    owners = dict(
        Membership.objects.filter(
            customer_id__in=Order.objects.filter(pk__in=order_ids).values("customer_id")
        ).values_list("customer_id", "pk")
    )
    locked = {m for holders in held.values() for m in holders} | set(owners.values())
    balances = dict(
        Membership.objects.select_for_update()
        .filter(pk__in=locked)
        .order_by("pk")
        .values_list("pk", "balance")
    )
    owed = {entry.order_id: entry for entry in _owed(earning_orders(order_ids), {})}
    earned = set(
        PointEntry.objects.filter(order_id__in=order_ids, kind=PointEntry.Kind.EARN).values_list(
            "order_id", flat=True
        )
    )
    reason = _("Order changed")
    entries = []
    for order_id in sorted(set(order_ids)):
        due = owed.get(order_id)
        holders = dict(held.get(order_id, {}))
        if due is not None:
            holders.setdefault(due.membership_id, 0)
        for membership_id, net in sorted(holders.items()):
            target = due.points if due is not None and due.membership_id == membership_id else 0
            diff = target - net
            if diff < 0:
                diff = -min(-diff, balances[membership_id])
            if diff == 0:
                continue
            if order_id not in earned and diff > 0:
                entry, kind = due, PointEntry.Kind.EARN
                entry.points = diff
                earned.add(order_id)
            else:
                kind = PointEntry.Kind.ADJUST
                entry = PointEntry(
                    membership_id=membership_id,
                    kind=kind,
                    points=diff,
                    order_id=order_id,
                    reason=reason,
                )
            balances[membership_id] += diff
            _post(membership_id, diff)
            entries.append(entry)
    PointEntry.objects.bulk_create(entries)
    return len(entries)


# Receivers of the core's order signals (connected in LoyaltyConfig.ready).


def award_for_orders(sender, order_ids, customer_ids, **kwargs):
    """Upgrade first: the order that lifts a member over a threshold earns at the new tier."""
    tiers_upgrade(customer_ids=customer_ids)
    points_award(order_ids=order_ids)
    spend_bonuses_award(customer_ids=customer_ids)


def reverse_for_orders(sender, order_ids, customer_ids, **kwargs):
    points_reverse(order_ids=order_ids)
    spend_bonuses_review(customer_ids=customer_ids)


def rebalance_for_orders(sender, order_ids, customer_ids, **kwargs):
    tiers_upgrade(customer_ids=customer_ids)
    points_rebalance(order_ids=order_ids)
    spend_bonuses_review(customer_ids=customer_ids)
    spend_bonuses_award(customer_ids=customer_ids)
