"""The nightly purchases step: each customer's recorded orders over the 12 months up to
the run's date, stored per run for the network panel and page."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Order, PipelineRun
from customers.purchases import purchases_step
from customers.snapshots import PurchaseFigure
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 6, 30)


def figures(run):
    return dict(PurchaseFigure.objects.filter(run=run).values_list("customer_id", "purchases"))


def test_the_window_is_the_365_days_up_to_the_runs_date():
    inside, edge, outside, later = CustomerFactory.create_batch(4)
    OrderFactory(customer=inside, order_date=AS_OF, amount=Decimal("10.50"))
    OrderFactory(customer=inside, order_date=AS_OF - dt.timedelta(days=30), amount=Decimal("1"))
    OrderFactory(customer=edge, order_date=AS_OF - dt.timedelta(days=364), amount=Decimal("2"))
    OrderFactory(customer=outside, order_date=AS_OF - dt.timedelta(days=365), amount=Decimal("3"))
    OrderFactory(customer=later, order_date=AS_OF + dt.timedelta(days=1), amount=Decimal("4"))
    cancelled = OrderFactory(customer=inside, order_date=AS_OF, amount=Decimal("100"))
    Order.objects.filter(pk=cancelled.pk).update(
        status=Order.Status.CANCELLED, cancelled_at=timezone.now(), cancel_reason="退货"
    )
    run = PipelineRun.objects.create(as_of=AS_OF)

    result = purchases_step(run)

    assert figures(run) == {inside.pk: Decimal("11.50"), edge.pk: Decimal("2.00")}
    assert result.rows == 2
    assert Decimal(result.summary["purchases_total"]) == Decimal("13.50")


def test_a_run_executed_again_writes_its_figures_once():
    OrderFactory(customer=CustomerFactory(), order_date=AS_OF, amount=Decimal("5"))
    run = PipelineRun.objects.create(as_of=AS_OF)
    purchases_step(run)
    purchases_step(run)
    assert PurchaseFigure.objects.filter(run=run).count() == 1
