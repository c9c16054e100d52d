"""Points membership: members, their append-only points ledger and the rules for earning.

The balance kept on the membership always equals the sum of its ledger entries and
never goes below zero (a database constraint). Ledger rows are never changed or
deleted: on PostgreSQL a trigger refuses UPDATE and DELETE on the table; the model
refuses them too, wherever the database does not.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.access import can_see_all_customers
from customers.models import Customer, Order
from customers.selectors import of_visible_customers, visible_customers
from customers.singletons import SingletonSettings
from segmentation.models import Segment, ValueTier


class Tier(models.TextChoices):
    STANDARD = "standard", _("Standard (普通)")
    SILVER = "silver", _("Silver (银卡)")
    GOLD = "gold", _("Gold (金卡)")
    PLATINUM = "platinum", _("Platinum (白金)")


TIER_RANK = {tier: rank for rank, tier in enumerate(Tier.values)}


class LoyaltySettings(SingletonSettings):
    """How points are earned; one row, edited in admin."""

    points_per_unit = models.DecimalField(
        _("points per currency unit"),
        max_digits=8,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Points earned for each ¥1 of an order, before the tier's multiplier."),
    )
    standard_multiplier = models.DecimalField(
        _("standard multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    silver_multiplier = models.DecimalField(
        _("silver multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.20"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    gold_multiplier = models.DecimalField(
        _("gold multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.50"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    platinum_multiplier = models.DecimalField(
        _("platinum multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("2.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )

    expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"),
        default=24,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Points not spent this many months after they were earned expire, oldest first."
        ),
    )
    point_value = models.DecimalField(
        _("value of a point"),
        max_digits=8,
        decimal_places=4,
        default=Decimal("0.0100"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("What one point is worth in ¥, for the value of the outstanding points."),
    )
    silver_from = models.DecimalField(
        _("silver from"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("50000.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "Spend over the last 12 months (net of cancellations) that makes a member silver."
        ),
    )
    gold_from = models.DecimalField(
        _("gold from"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("200000.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    platinum_from = models.DecimalField(
        _("platinum from"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("1000000.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        verbose_name = _("loyalty settings")
        verbose_name_plural = _("loyalty settings")

    def multiplier(self, tier):
        return getattr(self, f"{tier}_multiplier")

    def tier_for(self, spend):
        """The tier that a rolling 12-month spend reaches."""
        for tier in (Tier.PLATINUM, Tier.GOLD, Tier.SILVER):
            if spend >= getattr(self, f"{tier}_from"):
                return tier
        return Tier.STANDARD

    def clean(self):
        if not self.silver_from <= self.gold_from <= self.platinum_from:
            raise ValidationError(_("The thresholds must rise from silver to gold to platinum."))


class MembershipQuerySet(models.QuerySet):
    def visible_to(self, user):
        return of_visible_customers(self, user)


class Membership(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    # Deleting a member customer would delete the ledger, which PostgreSQL refuses; only
    # emptying the tables wholesale (the demo reset's TRUNCATE) takes members with it.
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="membership", verbose_name=_("customer")
    )
    number = models.CharField(_("member number"), max_length=20, unique=True)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier, default=Tier.STANDARD)
    joined_on = models.DateField(_("joined on"))
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.ACTIVE)
    balance = models.BigIntegerField(_("points balance"), default=0, editable=False)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("enrolled by"),
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="membership_balance_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.customer}"


class LedgerImmutable(Exception):
    """A ledger entry was asked to change or go: entries are only ever added."""


class PointEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerImmutable("Points ledger entries are never changed.")

    def delete(self):
        raise LedgerImmutable("Points ledger entries are never deleted.")

    def visible_to(self, user):
        """Entries of the members whose customer `user` may see."""
        if can_see_all_customers(user):
            return self
        return self.filter(membership__customer__in=visible_customers(user))


class PointEntry(models.Model):
    """One line of a member's points ledger (a positive or negative number of points)."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        ADJUST = "adjust", _("Adjusted")
        REVERSE = "reverse", _("Reversed")

    membership = models.ForeignKey(
        Membership,
        on_delete=models.CASCADE,
        related_name="entries",
        verbose_name=_("membership"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    points = models.BigIntegerField(_("points"))
    created_at = models.DateTimeField(_("when"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        db_index=False,
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True, default="")
    # The order earned for (or reversed); kept when the order is deleted, as the ledger is.
    order = models.ForeignKey(
        Order,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("order"),
    )

    promotion = models.ForeignKey(
        "Promotion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("promotion"),
        db_index=False,
    )

    objects = PointEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        indexes = [
            models.Index(fields=["membership", "-created_at", "-id"], name="pointentry_member_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(kind="earn"),
                name="pointentry_one_earn_per_order",
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(kind="reverse"),
                name="pointentry_one_reversal_per_order",
            ),
            models.CheckConstraint(
                condition=~models.Q(points=0), name="pointentry_points_not_zero"
            ),
            # A spend bonus is earned once per member and promotion.
            models.UniqueConstraint(
                fields=["membership", "promotion"],
                condition=models.Q(kind="earn", order__isnull=True),
                name="pointentry_one_bonus_per_promotion",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.points}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise LedgerImmutable("Points ledger entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutable("Points ledger entries are never deleted.")


class TierChange(models.Model):
    """A member's move from one tier to another: at once when an order lifts the spend over a
    threshold, at the nightly evaluation when the spend has fallen."""

    class Cause(models.TextChoices):
        ORDER = "order", _("Order")
        NIGHTLY = "nightly", _("Nightly evaluation")

    membership = models.ForeignKey(
        Membership,
        on_delete=models.CASCADE,
        related_name="tier_changes",
        verbose_name=_("membership"),
        db_index=False,
    )
    from_tier = models.CharField(_("from tier"), max_length=10, choices=Tier)
    to_tier = models.CharField(_("to tier"), max_length=10, choices=Tier)
    spend = models.DecimalField(_("12-month spend"), max_digits=16, decimal_places=2)
    cause = models.CharField(_("cause"), max_length=10, choices=Cause)
    changed_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        indexes = [
            models.Index(fields=["membership", "-changed_at", "-id"], name="tierchange_member_idx"),
        ]

    def __str__(self):
        return f"{self.get_from_tier_display()} → {self.get_to_tier_display()}"


class Promotion(models.Model):
    """A date-bounded bonus for all members or those of one tier, one value tier or one RFM
    segment (of the published run): a multiplier on the points of orders dated within it,
    or bonus points, once, for reaching a spend within it."""

    class Kind(models.TextChoices):
        MULTIPLIER = "multiplier", _("Bonus multiplier")
        THRESHOLD = "threshold", _("Bonus points for a spend")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind, default=Kind.MULTIPLIER)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), help_text=_("The last day it applies."))
    multiplier = models.DecimalField(
        _("bonus multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("2.00"),
        validators=[MinValueValidator(Decimal("1"))],
        help_text=_("The order's points (after the tier's multiplier) are multiplied by this."),
    )
    spend_threshold = models.DecimalField(
        _("spend to reach"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("For bonus points: the spend on orders dated within the promotion."),
    )
    bonus_points = models.PositiveIntegerField(_("bonus points"), null=True, blank=True)
    tier = models.CharField(_("only tier"), max_length=10, choices=Tier, blank=True, default="")
    value_tier = models.CharField(
        _("only value tier"), max_length=10, choices=ValueTier, blank=True, default=""
    )
    segment = models.CharField(
        _("only RFM segment"), max_length=20, choices=Segment, blank=True, default=""
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )

    class Meta:
        ordering = ["-starts_on", "name"]
        verbose_name = _("member promotion")
        verbose_name_plural = _("member promotions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="promotion_ends_after_it_starts",
                violation_error_message=_("A promotion cannot end before it starts."),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("A promotion cannot end before it starts.")})
        if self.kind == self.Kind.THRESHOLD and not (self.spend_threshold and self.bonus_points):
            raise ValidationError(
                _("Bonus points for a spend need the spend to reach and the bonus points.")
            )

    def targets(self, tier, scores):
        """Whether a member of that tier, with these (value tier, segment) in the published run
        (or None), is among those the promotion is for."""
        value_tier, segment = scores or ("", "")
        return (
            (not self.tier or self.tier == tier)
            and (not self.value_tier or self.value_tier == value_tier)
            and (not self.segment or self.segment == segment)
        )

    def applies_to(self, order_date, tier, scores):
        """Whether an order of that date by a member of that tier, with these (value tier,
        segment) in the published run (or None), earns the bonus."""
        if self.kind != self.Kind.MULTIPLIER:
            return False
        if not self.starts_on <= order_date <= self.ends_on:
            return False
        return self.targets(tier, scores)


class OrderToEarn(models.Model):
    """An order the nightly catch-up has still to look at. Database triggers (loyalty
    migration 0010) add one whenever an order is inserted, by any path (a COPY too), or
    moves to another customer, and every order of a member who joins, becomes active again
    or is dated back; the catch-up reads these instead of every order, and its publish removes those
    that no longer owe anything (earned, or not earning)."""

    order = models.OneToOneField(
        Order,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_constraint=False,
        related_name="+",
        verbose_name=_("order"),
    )

    class Meta:
        verbose_name = _("order to earn for")
        verbose_name_plural = _("orders to earn for")

    def __str__(self):
        return str(self.order_id)
