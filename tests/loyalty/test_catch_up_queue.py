"""The catch-up's queue: every way an order reaches the database puts it there (triggers),
the nightly step reads the queue instead of every order, and its publish keeps only the
orders still owed."""

import datetime as dt
import importlib

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Order
from customers.pipeline import pipeline_run
from loyalty import services
from loyalty.models import Membership, OrderToEarn, PointEntry
from tests.factories import CustomerFactory, OrderFactory
from tests.loyalty.test_ledger import assert_consistent, member

pytestmark = pytest.mark.django_db


def queued():
    return set(OrderToEarn.objects.values_list("order_id", flat=True))


def insert_by_sql(customer, amount, day):
    """An order written below the ORM, as a bulk COPY or a hand-written INSERT would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers_order (customer_id, external_ref, order_date, amount, quantity,"
            " category, status) VALUES (%s, %s, %s, %s, 1, '', 'recorded')",
            [customer.pk, f"SQL-{customer.pk}-{amount}", day, amount],
        )
    return Order.objects.get(external_ref=f"SQL-{customer.pk}-{amount}")


def test_an_order_written_below_the_orm_is_queued_and_earned_by_the_night():
    membership = member()
    order = insert_by_sql(membership.customer, 120, timezone.localdate())
    assert order.pk in queued()
    run = pipeline_run(as_of=timezone.localdate())
    assert run.status == "succeeded", run.error
    assert PointEntry.objects.get(order=order).points == 120
    assert_consistent(membership)
    # Earned: the publish took it off the queue.
    assert order.pk not in queued()


def test_the_night_reads_the_queue_not_every_order():
    membership = member()
    order = OrderFactory(customer=membership.customer, order_date=timezone.localdate(), amount=50)
    OrderToEarn.objects.filter(order_id=order.pk).delete()
    # Owed, but not queued: the night does not scan every order for it.
    assert services.pending_awards() == []
    assert [entry.order_id for entry in services.pending_awards([order.pk])] == [order.pk]


def test_the_publish_keeps_only_what_is_still_owed():
    membership = member()
    owed = OrderFactory(customer=membership.customer, order_date=timezone.localdate(), amount=30)
    stranger = OrderFactory(customer=CustomerFactory(), order_date=timezone.localdate(), amount=70)
    assert {owed.pk, stranger.pk} <= queued()
    # Not a member's order: nothing owed, drained; the member's order is still owed: kept.
    assert services.queue_drain() == 1
    assert queued() == {owed.pk}
    services.points_award(order_ids=[owed.pk])
    services.queue_drain()
    assert queued() == set()


def test_an_order_moved_to_a_member_is_queued():
    membership = member()
    order = OrderFactory(customer=CustomerFactory(), order_date=timezone.localdate(), amount=40)
    OrderToEarn.objects.all().delete()
    Order.objects.filter(pk=order.pk).update(customer=membership.customer)
    assert queued() == {order.pk}
    # Any other change of an order does not queue it.
    OrderToEarn.objects.all().delete()
    Order.objects.filter(pk=order.pk).update(amount=45)
    assert queued() == set()


def test_a_member_who_joins_is_active_again_or_is_dated_back_has_their_orders_queued():
    customer = CustomerFactory()
    today = timezone.localdate()
    old = OrderFactory(customer=customer, order_date=today - dt.timedelta(days=30), amount=10)
    new = OrderFactory(customer=customer, order_date=today, amount=20)
    OrderToEarn.objects.all().delete()
    membership = services.membership_enrol(customer=customer, by=None)
    # Joined today: today's order earns, last month's does not.
    assert queued() == {new.pk}
    OrderToEarn.objects.all().delete()
    Membership.objects.filter(pk=membership.pk).update(joined_on=today - dt.timedelta(days=60))
    assert queued() == {old.pk, new.pk}
    OrderToEarn.objects.all().delete()
    Membership.objects.filter(pk=membership.pk).update(status=Membership.Status.SUSPENDED)
    assert queued() == set()
    Membership.objects.filter(pk=membership.pk).update(status=Membership.Status.ACTIVE)
    assert queued() == {old.pk, new.pk}


def test_the_upgrade_queues_every_order_owed_before_the_queue_existed():
    membership = member()
    owed = OrderFactory(customer=membership.customer, order_date=timezone.localdate(), amount=60)
    earned = OrderFactory(customer=membership.customer, order_date=timezone.localdate(), amount=5)
    services.points_award(order_ids=[earned.pk])
    OrderToEarn.objects.all().delete()
    migration = importlib.import_module("loyalty.migrations.0010_orders_to_earn")
    with connection.cursor() as cursor:
        cursor.execute(migration.OWED)
    assert queued() == {owed.pk}
