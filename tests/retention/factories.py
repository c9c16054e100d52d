"""Rows the retention tests need beyond tests/factories.py."""

import datetime as dt
from decimal import Decimal

import factory

from customers.models import Interaction, PipelineRun
from retention.models import ChurnScore, FollowUpPlan
from tests.factories import CustomerFactory, OrderFactory, UserFactory


def orders_every(customer, *, first, last, days, amount="1000.00"):
    """Orders from `first` to `last` (inclusive) every `days` days."""
    day = first
    while day <= last:
        OrderFactory(customer=customer, order_date=day, amount=Decimal(amount))
        day += dt.timedelta(days=days)


class PublishedRunFactory(factory.django.DjangoModelFactory):
    """A pipeline run as the frame leaves it after publishing."""

    class Meta:
        model = PipelineRun

    as_of = dt.date(2026, 6, 30)
    status = PipelineRun.Status.SUCCEEDED
    finished_at = factory.LazyFunction(lambda: dt.datetime.now(dt.UTC))
    published_at = factory.SelfAttribute("finished_at")


class ChurnScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChurnScore

    run = factory.SubFactory(PublishedRunFactory)
    customer = factory.SubFactory(CustomerFactory)
    risk = 0.8
    band = "high"
    value = Decimal("10000.00")
    value_at_risk = factory.LazyAttribute(
        lambda score: (score.value * Decimal(str(score.risk))).quantize(Decimal("0.01"))
    )
    value_tier = "key"
    reasons = factory.LazyFunction(
        lambda: [{"code": "late", "params": {"days": 95, "interval": 30}}]
    )


class FollowUpPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUpPlan

    customer = factory.SubFactory(CustomerFactory)
    assignee = factory.SelfAttribute("customer.owner")
    created_by = factory.SubFactory(UserFactory)
    due_date = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=7))
    channel = Interaction.Channel.VISIT
    note = "拜访老板，了解停止进货的原因"
