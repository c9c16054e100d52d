"""Tiers from the rolling 12-month spend: up at once on an order, down only at night."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers import records
from customers.pipeline import pipeline_run
from loyalty import services
from loyalty.models import LoyaltySettings, Membership, PointEntry, Tier, TierChange
from tests.factories import OrderFactory
from tests.loyalty.test_ledger import member, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules():
    return LoyaltySettings.objects.create(
        silver_from=Decimal("1000"),
        gold_from=Decimal("5000"),
        platinum_from=Decimal("20000"),
        silver_multiplier=Decimal("2"),
    )


def test_an_order_crossing_the_threshold_upgrades_at_once_and_earns_at_the_new_tier(
    rules, django_capture_on_commit_callbacks
):
    membership = member()
    with django_capture_on_commit_callbacks(execute=True):
        record(membership.customer, "600")
    membership.refresh_from_db()
    assert membership.tier == Tier.STANDARD
    with django_capture_on_commit_callbacks(execute=True):
        second = record(membership.customer, "500")
    membership.refresh_from_db()
    assert membership.tier == Tier.SILVER
    change = TierChange.objects.get()
    assert (change.from_tier, change.to_tier, change.spend, change.cause) == (
        "standard",
        "silver",
        Decimal("1100.00"),
        "order",
    )
    assert PointEntry.objects.get(order=second).points == 1000


def test_a_cancellation_lowers_no_tier_until_the_nightly_evaluation(
    rules, django_capture_on_commit_callbacks
):
    membership = member()
    with django_capture_on_commit_callbacks(execute=True):
        order = record(membership.customer, "1200")
    with django_capture_on_commit_callbacks(execute=True):
        records.order_cancel(order=order, reason="退货", by=None)
    membership.refresh_from_db()
    assert membership.tier == Tier.SILVER
    run = pipeline_run(as_of=timezone.localdate())
    assert run.status == "succeeded", run.error
    membership.refresh_from_db()
    assert membership.tier == Tier.STANDARD
    (step,) = [step for step in run.steps if step["name"] == "loyalty"]
    assert (step["summary"]["tiers_down"], step["summary"]["tiers_up"]) == (1, 0)
    assert list(TierChange.objects.order_by("pk").values_list("to_tier", "cause")) == [
        ("silver", "order"),
        ("standard", "nightly"),
    ]


def test_the_spend_counts_twelve_months_back(rules):
    membership = member()
    today = timezone.localdate()
    year_ago = services.year_before(today)
    OrderFactory(customer=membership.customer, order_date=year_ago, amount=5000)
    OrderFactory(
        customer=membership.customer, order_date=year_ago + dt.timedelta(days=1), amount=1000
    )
    assert services.rolling_spend(as_of=today) == {membership.customer_id: Decimal("1000.00")}
    assert services.year_before(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)


def test_the_nightly_move_yields_to_an_order_that_lifted_the_member_meanwhile(rules):
    membership = member()
    Membership.objects.filter(pk=membership.pk).update(tier=Tier.SILVER)
    changes = services.tier_changes(as_of=timezone.localdate())
    assert changes[0]["to"] == Tier.STANDARD
    # An order lifts the member to gold before the run publishes.
    Membership.objects.filter(pk=membership.pk).update(tier=Tier.GOLD)
    assert services.tier_changes_apply(changes, cause="nightly") == 0
    membership.refresh_from_db()
    assert membership.tier == Tier.GOLD


def test_thresholds_must_rise():
    with pytest.raises(ValidationError):
        LoyaltySettings(silver_from=5000, gold_from=1000).full_clean()


def test_the_nightly_moves_of_every_member_match_the_rule_member_by_member(rules):
    """The nightly path works the tiers out in the database; the order path in Python: both
    must reach the same tier at every threshold's boundary, closed members aside."""
    today = timezone.localdate()
    spends = ["0", "999.99", "1000", "4999.99", "5000", "20000", "19999.99"]
    tiers = [Tier.GOLD, Tier.STANDARD, Tier.PLATINUM, Tier.SILVER, Tier.SILVER, Tier.GOLD, "x"]
    members = []
    for spend, tier in zip(spends, tiers, strict=True):
        membership = member()
        if spend != "0":
            OrderFactory(customer=membership.customer, order_date=today, amount=spend)
        Membership.objects.filter(pk=membership.pk).update(
            tier=Tier.STANDARD if tier == "x" else tier,
            status=Membership.Status.CLOSED if tier == "x" else Membership.Status.ACTIVE,
        )
        members.append(membership)
    nightly = services.tier_changes(as_of=today)
    one_by_one = services.tier_changes(
        as_of=today, customer_ids=[membership.customer_id for membership in members]
    )
    assert nightly == one_by_one
    assert [(change["membership_id"], change["to"], change["spend"]) for change in nightly] == [
        (members[0].pk, Tier.STANDARD, Decimal("0")),
        (members[2].pk, Tier.SILVER, Decimal("1000")),
        (members[4].pk, Tier.GOLD, Decimal("5000")),
        (members[5].pk, Tier.PLATINUM, Decimal("20000")),
    ]
