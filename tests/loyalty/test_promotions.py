"""Member promotions: a bonus multiplier within their dates, for the members they target."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from customers import records
from customers.models import Order, PipelineRun
from loyalty import services
from loyalty.models import Membership, PointEntry, Promotion
from segmentation.models import RfmScore
from tests.factories import OrderFactory
from tests.loyalty.test_ledger import assert_consistent, member, record

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 10)


def promotion(**fields):
    defaults = {"name": "春季双倍", "starts_on": TODAY, "ends_on": TODAY, "multiplier": 2}
    return Promotion.objects.create(**{**defaults, **fields})


def earned(membership, order_date, amount=100):
    order = OrderFactory(customer=membership.customer, order_date=order_date, amount=amount)
    services.points_award(order_ids=[order.pk])
    return PointEntry.objects.get(order=order)


@pytest.fixture
def joined():
    membership = member()
    Membership.objects.filter(pk=membership.pk).update(joined_on=TODAY - dt.timedelta(days=30))
    membership.refresh_from_db()
    return membership


def test_a_promotion_applies_from_its_first_to_its_last_day(joined):
    spring = promotion(starts_on=TODAY, ends_on=TODAY + dt.timedelta(days=2))
    promotion(name="小活动", multiplier=Decimal("1.5"))
    inside = earned(joined, TODAY)
    assert (inside.points, inside.promotion) == (200, spring)  # the best one, not both
    assert earned(joined, TODAY + dt.timedelta(days=2)).points == 200
    before = earned(joined, TODAY - dt.timedelta(days=1))
    assert (before.points, before.promotion) == (100, None)
    assert earned(joined, TODAY + dt.timedelta(days=3)).points == 100


def test_a_promotion_for_one_tier_passes_the_others_by(joined):
    promotion(tier="gold")
    assert earned(joined, TODAY).points == 100
    Membership.objects.filter(pk=joined.pk).update(tier="gold")
    assert earned(joined, TODAY).points == 300  # 1.5 for gold, then 2


def test_a_promotion_for_a_value_tier_or_segment_reads_the_published_run(joined):
    promotion(value_tier="key", segment="champions")
    assert earned(joined, TODAY).points == 100  # no run yet: no segment
    run = PipelineRun.objects.create(
        as_of=TODAY, status="succeeded", published_at=timezone.now(), finished_at=timezone.now()
    )
    score = {
        "recency_days": 1,
        "frequency": 3,
        "monetary": 300,
        "r_score": 5,
        "f_score": 5,
        "m_score": 5,
    }
    RfmScore.objects.create(
        run=run, customer=joined.customer, segment="champions", value_tier="key", **score
    )
    assert earned(joined, TODAY).points == 200
    RfmScore.objects.filter(run=run).delete()
    RfmScore.objects.create(
        run=run, customer=joined.customer, segment="champions", value_tier="ordinary", **score
    )
    assert earned(joined, TODAY).points == 100


def test_a_promotion_cannot_end_before_it_starts(cast, client_for):
    with pytest.raises(ValidationError):
        Promotion(name="x", starts_on=TODAY, ends_on=TODAY - dt.timedelta(days=1)).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        promotion(ends_on=TODAY - dt.timedelta(days=1))
    response = client_for(cast.admin).post(
        reverse("admin:loyalty_promotion_add"),
        {
            "name": "倒置",
            "kind": "multiplier",
            "starts_on": "2026-03-10",
            "ends_on": "2026-03-09",
            "multiplier": "2",
        },
    )
    assert response.status_code == 200
    assert "cannot end before it starts" in response.content.decode()
    assert not Promotion.objects.exists()
    response = client_for(cast.admin).post(
        reverse("admin:loyalty_promotion_add"),
        {
            "name": "春季",
            "kind": "multiplier",
            "starts_on": "2026-03-10",
            "ends_on": "2026-03-10",
            "multiplier": "2",
        },
    )
    assert response.status_code == 302
    assert Promotion.objects.get().created_by == cast.admin


def test_bonus_points_once_for_reaching_a_spend_within_the_promotion(
    django_capture_on_commit_callbacks,
):
    today = timezone.localdate()
    membership = member()
    Membership.objects.filter(pk=membership.pk).update(joined_on=today - dt.timedelta(days=30))
    bonus = promotion(
        kind="threshold",
        starts_on=today - dt.timedelta(days=5),
        ends_on=today,
        spend_threshold=1000,
        bonus_points=500,
    )
    OrderFactory(customer=membership.customer, order_date=today - dt.timedelta(days=6), amount=900)
    with django_capture_on_commit_callbacks(execute=True):
        record(membership.customer, "600")  # 600 within the promotion: not yet
    assert not PointEntry.objects.filter(promotion=bonus).exists()
    with django_capture_on_commit_callbacks(execute=True):
        record(membership.customer, "400")  # 1,000 within it: the bonus
        record(membership.customer, "400")  # beyond it: no second bonus
    entry = PointEntry.objects.get(promotion=bonus)
    assert (entry.kind, entry.points, entry.order_id) == ("earn", 500, None)
    assert services.spend_bonuses_award() == 0
    with pytest.raises(IntegrityError), transaction.atomic():
        PointEntry.objects.create(membership=membership, kind="earn", points=5, promotion=bonus)
    assert_consistent(membership)


def test_bonus_points_for_a_spend_need_both_figures():
    with pytest.raises(ValidationError):
        Promotion(name="x", kind="threshold", starts_on=TODAY, ends_on=TODAY).full_clean()


@pytest.fixture
def spend_promotion():
    today = timezone.localdate()
    membership = member()
    Membership.objects.filter(pk=membership.pk).update(joined_on=today - dt.timedelta(days=30))
    bonus = promotion(
        kind="threshold",
        starts_on=today - dt.timedelta(days=5),
        ends_on=today,
        spend_threshold=1000,
        bonus_points=500,
    )
    return membership, bonus


def bonus_entries(bonus):
    return list(
        PointEntry.objects.filter(promotion=bonus, order__isnull=True)
        .order_by("pk")
        .values_list("kind", "points")
    )


def test_a_spend_bonus_is_taken_back_when_a_cancellation_drops_the_spend_below_it(
    spend_promotion, django_capture_on_commit_callbacks, cast
):
    membership, bonus = spend_promotion
    with django_capture_on_commit_callbacks(execute=True):
        record(membership.customer, "600")
        last = record(membership.customer, "500")
    assert bonus_entries(bonus) == [("earn", 500)]
    with django_capture_on_commit_callbacks(execute=True):
        records.order_cancel(order=last, reason="退货", by=cast.admin)
    assert bonus_entries(bonus) == [("earn", 500), ("reverse", -500)]
    reversal = PointEntry.objects.filter(promotion=bonus, kind="reverse").get()
    assert "春季双倍" in reversal.reason
    assert_consistent(membership)
    # Reached again within the promotion: given back once, as an adjustment.
    with django_capture_on_commit_callbacks(execute=True):
        record(membership.customer, "450")
        record(membership.customer, "100")
    assert bonus_entries(bonus) == [("earn", 500), ("reverse", -500), ("adjust", 500)]
    assert_consistent(membership)


def test_a_spend_bonus_stays_while_the_spend_still_reaches_the_threshold(
    spend_promotion, django_capture_on_commit_callbacks, cast
):
    membership, bonus = spend_promotion
    with django_capture_on_commit_callbacks(execute=True):
        record(membership.customer, "900")
        record(membership.customer, "200")
        small = record(membership.customer, "50")
    with django_capture_on_commit_callbacks(execute=True):
        records.order_cancel(order=small, reason="退货", by=cast.admin)
    assert bonus_entries(bonus) == [("earn", 500)]


def cancelled_unannounced(customer):
    """Cancel a customer's orders behind the signals' back (as if a receiver had failed)."""
    Order.objects.filter(customer=customer).update(
        status="cancelled", cancelled_at=timezone.now(), cancel_reason="退货"
    )


def test_taking_a_spend_bonus_back_stops_at_a_zero_balance(
    spend_promotion, django_capture_on_commit_callbacks, cast
):
    membership, bonus = spend_promotion
    with django_capture_on_commit_callbacks(execute=True):
        record(membership.customer, "1000")
    balance = Membership.objects.get(pk=membership.pk).balance
    services.points_redeem(membership=membership, points=balance - 300, by=cast.admin)
    cancelled_unannounced(membership.customer)
    assert services.spend_bonuses_review(customer_ids=[membership.customer_id]) == 1
    reversal = PointEntry.objects.get(promotion=bonus, kind="reverse")
    assert reversal.points == -300
    assert "200" in reversal.reason
    assert Membership.objects.get(pk=membership.pk).balance == 0
    assert_consistent(membership)


def test_the_nightly_review_takes_back_a_bonus_whose_signal_was_lost(
    spend_promotion, django_capture_on_commit_callbacks
):
    membership, bonus = spend_promotion
    with django_capture_on_commit_callbacks(execute=True):
        record(membership.customer, "1200")
    cancelled_unannounced(membership.customer)  # the night finds it
    assert services.spend_bonuses_review() == 1
    assert bonus_entries(bonus) == [("earn", 500), ("reverse", -500)]
    assert services.spend_bonuses_review() == 0
    assert_consistent(membership)
