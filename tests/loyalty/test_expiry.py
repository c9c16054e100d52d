"""Expiry: unspent points expire a set number of months after they were earned, oldest
first, nightly; only what is still unspent when the run publishes."""

import datetime as dt
import threading
from contextlib import contextmanager

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers.pipeline import pipeline_run
from loyalty import services
from loyalty.models import LoyaltySettings, PointEntry
from tests.loyalty.test_ledger import assert_consistent, member

pytestmark = pytest.mark.django_db


@contextmanager
def on(day, monkeypatch):
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        yield


@pytest.fixture
def history(monkeypatch):
    """100 earned 2025-01-10, 30 redeemed 2025-03-01, 50 earned 2025-06-01; 12 months."""
    LoyaltySettings.objects.create(expiry_months=12)
    membership = member()
    with on(dt.date(2025, 1, 10), monkeypatch):
        services.points_adjust(membership=membership, points=100, by=None, reason="开户礼")
    with on(dt.date(2025, 3, 1), monkeypatch):
        services.points_redeem(membership=membership, points=30, by=None)
    with on(dt.date(2025, 6, 1), monkeypatch):
        services.points_adjust(membership=membership, points=50, by=None, reason="活动")
    return membership


def test_points_expire_oldest_first_on_the_day_they_fall_due(history):
    assert services.expiry_due(as_of=dt.date(2026, 1, 9)) == {}
    assert services.expiry_due(as_of=dt.date(2026, 1, 10)) == {history.pk: 70}
    assert services.points_expire(membership_ids=[history.pk], as_of=dt.date(2026, 1, 10)) == (
        1,
        70,
    )
    # Expired once: the next night finds nothing more until the next points fall due.
    assert services.expiry_due(as_of=dt.date(2026, 5, 31)) == {}
    assert services.expiry_due(as_of=dt.date(2026, 6, 1)) == {history.pk: 50}
    entry = PointEntry.objects.get(kind="expire")
    assert (entry.points, entry.reason) == (-70, "Earned on or before 2025-01-10")
    assert_consistent(history)


def test_a_redemption_while_the_run_computes_leaves_only_the_unspent_points_to_expire(history):
    due = services.expiry_due(as_of=dt.date(2026, 1, 10))
    assert due == {history.pk: 70}
    # Spent before the run publishes: the oldest points went first.
    services.points_redeem(membership=history, points=100, by=None)
    assert services.points_expire(membership_ids=list(due), as_of=dt.date(2026, 1, 10)) == (0, 0)
    history.refresh_from_db()
    assert history.balance == 20
    assert_consistent(history)


def test_the_nightly_run_writes_the_expiry_and_reports_it(history):
    run = pipeline_run(as_of=dt.date(2026, 1, 10))
    assert run.status == "succeeded", run.error
    (step,) = [step for step in run.steps if step["name"] == "loyalty"]
    assert (step["summary"]["members_expired"], step["summary"]["points_expired"]) == (1, 70)
    history.refresh_from_db()
    assert history.balance == 50
    assert_consistent(history)


def test_the_file_shows_the_next_expiry(history, cast, client_for):
    history.customer.owner, history.customer.team = cast.rep, cast.east
    history.customer.save()
    history.refresh_from_db()
    assert services.next_expiry(
        history,
        list(
            history.entries.filter(points__gt=0)
            .order_by("created_at")
            .values_list("created_at", "points")
        ),
        12,
    ) == (70, dt.date(2026, 1, 10))
    page = client_for(cast.rep).get(reverse("customer-detail", args=[history.customer_id]))
    assert "70 points on 2026-01-10" in page.content.decode()


def test_month_arithmetic_keeps_to_the_end_of_shorter_months():
    assert services.months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert services.months_after(dt.date(2025, 1, 31), 13) == dt.date(2026, 2, 28)
    assert services.months_before(dt.date(2026, 1, 10), 12) == dt.date(2025, 1, 10)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_redemptions_racing_the_expiry_never_overdraw_nor_fail_it(history):
    """70 old points are due, 50 newer ones are not; a client spends 100 at the moment the
    run publishes. Whichever goes first, the oldest points go first and nothing overdraws."""
    due = services.expiry_due(as_of=dt.date(2026, 1, 10))
    assert due == {history.pk: 70}
    barrier = threading.Barrier(2)
    outcome = {}

    def expire():
        try:
            barrier.wait()
            outcome["expired"] = services.points_expire(
                membership_ids=list(due), as_of=dt.date(2026, 1, 10)
            )[1]
        finally:
            connection.close()

    def redeem():
        try:
            barrier.wait()
            services.points_redeem(membership=history, points=100, by=None)
            outcome["redeemed"] = 100
        except services.LoyaltyError:
            outcome["redeemed"] = 0
        finally:
            connection.close()

    threads = [threading.Thread(target=expire), threading.Thread(target=redeem)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Expiry first: 70 expire, 50 left, the redemption of 100 is refused. Redemption first:
    # it spends the 70 old points and 30 newer ones, 20 are left and nothing expires.
    assert (outcome["expired"], outcome["redeemed"]) in {(70, 0), (0, 100)}
    assert_consistent(history)


def test_after_a_published_night_only_members_who_earned_since_its_day_are_read(
    history, monkeypatch
):
    """The night of 2026-01-10 expired everything earned up to 2025-01-10; on 2026-06-01 only
    a member who earned after that day can have points due. A member planted with old points
    the mark says are gone is not read: the mark, not a scan of every ledger, decides."""
    with on(dt.date(2024, 12, 1), monkeypatch):
        planted = member()
        services.points_adjust(membership=planted, points=30, by=None, reason="旧积分")
    everything = services.expiry_due(as_of=dt.date(2026, 6, 1))
    assert everything == {history.pk: 120, planted.pk: 30}
    services.points_expire(membership_ids=[history.pk], as_of=dt.date(2026, 1, 10))
    assert services.expiry_due(as_of=dt.date(2026, 6, 1), expired_through=dt.date(2025, 1, 10)) == {
        history.pk: 50
    }
    # The same night again, or a night whose cutoff the mark has passed: nothing.
    assert (
        services.expiry_due(as_of=dt.date(2026, 1, 10), expired_through=dt.date(2025, 1, 10)) == {}
    )
    assert services.expiry_due(as_of=dt.date(2026, 5, 1), expired_through=dt.date(2025, 6, 1)) == {}


def test_each_night_expires_from_where_the_published_night_before_stopped(history):
    first = pipeline_run(as_of=dt.date(2026, 1, 10))
    assert first.status == "succeeded", first.error
    (step,) = [step for step in first.steps if step["name"] == "loyalty"]
    assert step["summary"]["expired_through"] == "2025-01-10"
    second = pipeline_run(as_of=dt.date(2026, 6, 1))
    (step,) = [step for step in second.steps if step["name"] == "loyalty"]
    assert (step["summary"]["points_expired"], step["summary"]["expired_through"]) == (
        50,
        "2025-06-01",
    )
    history.refresh_from_db()
    assert history.balance == 0
    assert_consistent(history)


def test_a_longer_expiry_never_moves_the_mark_back(history):
    pipeline_run(as_of=dt.date(2026, 1, 10))
    LoyaltySettings.objects.update(expiry_months=24)
    run = pipeline_run(as_of=dt.date(2026, 6, 1))
    (step,) = [step for step in run.steps if step["name"] == "loyalty"]
    # Under 24 months nothing earned after 2025-01-10 is due yet; what expired stays expired.
    assert (step["summary"]["points_expired"], step["summary"]["expired_through"]) == (
        0,
        "2025-01-10",
    )
    history.refresh_from_db()
    assert history.balance == 50


def test_the_run_page_says_through_which_day_points_expired(history, cast, client_for):
    run = pipeline_run(as_of=dt.date(2026, 1, 10))
    page = client_for(cast.admin).get(reverse("pipeline-run-detail", args=[run.pk]))
    assert "points earned up to this day expired" in page.content.decode()
    assert "2025-01-10" in page.content.decode()
