"""The points ledger: earning by the order signals, reversal, catch-up, redemption that never
overdraws, and rows that are never changed or deleted."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from customers import records
from customers.models import Order
from customers.pipeline import pipeline_run
from loyalty import services
from loyalty.models import LedgerImmutable, LoyaltySettings, Membership, PointEntry, Tier
from tests.factories import CustomerFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def ledger_sum(membership):
    return PointEntry.objects.filter(membership=membership).aggregate(s=Sum("points"))["s"] or 0


def member(customer=None, **fields):
    membership = services.membership_enrol(customer=customer or CustomerFactory(), by=None)
    if fields:
        Membership.objects.filter(pk=membership.pk).update(**fields)
        membership.refresh_from_db()
    return membership


def record(customer, amount, **fields):
    order = Order(
        customer=customer,
        order_date=fields.pop("order_date", timezone.localdate()),
        amount=Decimal(amount),
        **fields,
    )
    with transaction.atomic():  # the signal goes once this commits
        records.order_record(order=order)
    return order


def assert_consistent(membership):
    membership.refresh_from_db()
    assert membership.balance == ledger_sum(membership)
    assert membership.balance >= 0


def test_recording_an_order_earns_points_by_rate_and_tier(django_capture_on_commit_callbacks):
    membership = member(tier=Tier.GOLD)
    LoyaltySettings.objects.create(points_per_unit=Decimal("2"), gold_multiplier=Decimal("1.5"))
    with django_capture_on_commit_callbacks(execute=True):
        order = record(membership.customer, "100.99")
    entry = PointEntry.objects.get(membership=membership)
    assert (entry.kind, entry.points, entry.order_id) == ("earn", 302, order.pk)  # floor 302.97
    assert_consistent(membership)


def test_a_non_member_earns_nothing_and_an_order_before_joining_earns_nothing(
    django_capture_on_commit_callbacks,
):
    membership = member()
    with django_capture_on_commit_callbacks(execute=True):
        record(CustomerFactory(), "500")
        record(membership.customer, "500", order_date=membership.joined_on - dt.timedelta(days=1))
    assert not PointEntry.objects.exists()


def test_earning_twice_for_one_order_is_impossible(django_capture_on_commit_callbacks):
    membership = member()
    with django_capture_on_commit_callbacks(execute=True):
        order = record(membership.customer, "100")
    # A redelivered signal earns nothing more ...
    assert services.points_award(order_ids=[order.pk]) == (0, 0)
    # ... and the database refuses a second earn entry for the order.
    with pytest.raises(IntegrityError), transaction.atomic():
        PointEntry.objects.create(membership=membership, kind="earn", points=5, order=order)
    assert PointEntry.objects.filter(order=order).count() == 1
    assert_consistent(membership)


def test_cancelling_an_order_reverses_exactly_what_it_earned(django_capture_on_commit_callbacks):
    membership = member()
    with django_capture_on_commit_callbacks(execute=True):
        kept = record(membership.customer, "40")
        cancelled = record(membership.customer, "100")
    with django_capture_on_commit_callbacks(execute=True):
        records.order_cancel(order=cancelled, reason="退货", by=UserFactory())
    # Told twice, it reverses once.
    services.points_reverse(order_ids=[cancelled.pk])
    reversal = PointEntry.objects.get(kind="reverse")
    assert (reversal.points, reversal.order_id) == (-100, cancelled.pk)
    membership.refresh_from_db()
    assert membership.balance == 40
    assert_consistent(membership)
    assert PointEntry.objects.get(kind="earn", order=kept).points == 40


def test_reversing_points_already_spent_stops_at_zero_and_says_so(
    django_capture_on_commit_callbacks,
):
    membership = member()
    with django_capture_on_commit_callbacks(execute=True):
        order = record(membership.customer, "100")
    services.points_redeem(membership=membership, points=70, by=None)
    with django_capture_on_commit_callbacks(execute=True):
        records.order_cancel(order=order, reason="退货", by=None)
    reversal = PointEntry.objects.get(kind="reverse")
    assert reversal.points == -30
    assert "70" in reversal.reason
    assert_consistent(membership)


def test_deleting_an_order_reverses_it_and_keeps_the_ledger(django_capture_on_commit_callbacks):
    membership = member()
    with django_capture_on_commit_callbacks(execute=True):
        order = record(membership.customer, "100")
    with django_capture_on_commit_callbacks(execute=True):
        records.order_delete(order=order)
    assert list(PointEntry.objects.order_by("pk").values_list("kind", "points")) == [
        ("earn", 100),
        ("reverse", -100),
    ]
    assert_consistent(membership)


def test_the_nightly_step_earns_for_an_order_whose_signal_was_lost():
    membership = member()
    # Written without the core's signal, as if the receiver had failed.
    order = OrderFactory(customer=membership.customer, order_date=timezone.localdate(), amount=80)
    run = pipeline_run(as_of=timezone.localdate())
    assert run.status == "succeeded", run.error
    (step,) = [step for step in run.steps if step["name"] == "loyalty"]
    assert step["summary"]["points_caught_up"] == 80
    entry = PointEntry.objects.get(order=order)
    assert (entry.kind, entry.points) == ("earn", 80)
    assert_consistent(membership)
    # The next night finds nothing owed.
    assert services.pending_awards() == []


def test_redemption_and_adjustment_refuse_bad_input_and_write_nothing():
    membership = member()
    services.points_adjust(membership=membership, points=50, by=None, reason="开户礼")
    for points in (0, -5, 51):
        with pytest.raises(services.LoyaltyError):
            services.points_redeem(membership=membership, points=points, by=None)
    with pytest.raises(services.LoyaltyError):
        services.points_adjust(membership=membership, points=10, by=None, reason="  ")
    with pytest.raises(services.LoyaltyError):
        services.points_adjust(membership=membership, points=-51, by=None, reason="更正")
    Membership.objects.filter(pk=membership.pk).update(status=Membership.Status.SUSPENDED)
    with pytest.raises(services.LoyaltyError):
        services.points_redeem(membership=membership, points=1, by=None)
    assert PointEntry.objects.count() == 1
    assert_consistent(membership)


def test_enrolling_twice_is_refused():
    membership = member()
    with pytest.raises(services.LoyaltyError):
        services.membership_enrol(customer=membership.customer, by=None)
    assert Membership.objects.count() == 1


def test_the_balance_cannot_go_negative_in_the_database():
    membership = member()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(balance=-1)


def test_ledger_entries_are_never_changed_or_deleted_through_the_orm():
    membership = member()
    entry = services.points_adjust(membership=membership, points=5, by=None, reason="礼")
    entry.points = 500
    with pytest.raises(LedgerImmutable):
        entry.save()
    with pytest.raises(LedgerImmutable):
        entry.delete()
    with pytest.raises(LedgerImmutable):
        PointEntry.objects.filter(pk=entry.pk).update(points=500)
    with pytest.raises(LedgerImmutable):
        PointEntry.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_update_and_delete_of_ledger_rows():
    membership = member()
    entry = services.points_adjust(membership=membership, points=5, by=None, reason="礼")
    table = PointEntry._meta.db_table
    for sql in (
        f"UPDATE {table} SET points = 500 WHERE id = %s",
        f"DELETE FROM {table} WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="never changed or deleted"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    assert PointEntry.objects.get(pk=entry.pk).points == 5


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_never_overdraw():
    membership = member()
    services.points_adjust(membership=membership, points=100, by=None, reason="开户礼")
    clients, each = 12, 30  # 100 covers three redemptions of 30
    barrier = threading.Barrier(clients)
    outcomes = []

    def client():
        try:
            barrier.wait()
            services.points_redeem(membership=membership, points=each, by=None)
            outcomes.append("ok")
        except services.LoyaltyError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 3
    assert outcomes.count("refused") == clients - 3
    membership.refresh_from_db()
    assert membership.balance == 10 == ledger_sum(membership)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_concurrent_awards_of_one_order_earn_once():
    membership = member()
    order = OrderFactory(customer=membership.customer, order_date=timezone.localdate(), amount=60)
    barrier = threading.Barrier(4)
    errors = []

    def client():
        try:
            barrier.wait()
            services.points_award(order_ids=[order.pk])
        except Exception as error:  # noqa: BLE001 - any failure is reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert PointEntry.objects.filter(order=order).count() == 1
    assert_consistent(membership)


def test_a_changed_order_moves_its_points_with_it(django_capture_on_commit_callbacks):
    first, second = member(), member()
    with django_capture_on_commit_callbacks(execute=True):
        order = record(first.customer, "100")
    order.amount = Decimal("150")
    with django_capture_on_commit_callbacks(execute=True):
        records.order_change(order=order)
    first.refresh_from_db()
    assert first.balance == 150
    # Told twice, it changes nothing more.
    assert services.points_rebalance(order_ids=[order.pk]) == 0
    order.customer = second.customer
    with django_capture_on_commit_callbacks(execute=True):
        records.order_change(order=order)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.balance, second.balance) == (0, 150)
    adjustments = PointEntry.objects.filter(kind="adjust", order=order).order_by("pk")
    assert [(e.membership_id, e.points) for e in adjustments] == [
        (first.pk, 50),
        (first.pk, -150),
        (second.pk, 150),
    ]
    assert adjustments[0].reason == "Order changed"
    # Cancelled: what the order holds now is taken back, all of it.
    with django_capture_on_commit_callbacks(execute=True):
        records.order_cancel(order=order, reason="退货", by=None)
    second.refresh_from_db()
    assert second.balance == 0
    assert_consistent(first)
    assert_consistent(second)


def test_an_order_moved_to_a_member_earns(django_capture_on_commit_callbacks):
    membership = member()
    with django_capture_on_commit_callbacks(execute=True):
        order = record(CustomerFactory(), "80")
    assert not PointEntry.objects.exists()
    order.customer = membership.customer
    with django_capture_on_commit_callbacks(execute=True):
        records.order_change(order=order)
    entry = PointEntry.objects.get()
    assert (entry.kind, entry.points, entry.membership_id) == ("earn", 80, membership.pk)
    assert_consistent(membership)


def test_the_admin_refuses_to_delete_a_member_customer_and_says_why(client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    membership = member()
    other = CustomerFactory()
    client.force_login(admin_user)
    url = f"/admin/customers/customer/{membership.customer.pk}/delete/"

    page = client.get(url)
    assert page.status_code == 200
    assert "Cannot delete customer" in page.content.decode()
    refused = client.post(url, {"post": "yes"})

    assert refused.status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()
    # A customer who is not a member is deleted as before.
    deleted = client.post(f"/admin/customers/customer/{other.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not type(other).objects.filter(pk=other.pk).exists()


def test_the_admin_s_bulk_delete_leaves_member_customers_alone(client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    membership = member()
    client.force_login(admin_user)

    page = client.post(
        "/admin/customers/customer/",
        {"action": "delete_selected", "_selected_action": [membership.customer.pk], "post": "yes"},
    )

    # Refused as a whole (the site's 403 page), not a database error half-way.
    assert page.status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()
