"""Factories for every model the tests need; build only what a test uses."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from customers import contact_log
from customers.models import (
    Complaint,
    Contact,
    Customer,
    Interaction,
    Invoice,
    OpenIssue,
    Order,
    Payment,
    PipelineRun,
    Tag,
    Team,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="zh_CN")
    last_name = factory.Faker("last_name", locale="zh_CN")
    password = factory.django.Password("secret-pass-123")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"华东{n}组")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"标签{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_ref = factory.Sequence(lambda n: f"C{n:06d}")
    name = factory.Sequence(lambda n: f"客户{n}商贸有限公司")
    kind = Customer.Kind.COMPANY
    channel_role = Customer.ChannelRole.TERMINAL
    region = "上海"
    phone = factory.Sequence(lambda n: f"1380000{n:04d}")
    owner = factory.SubFactory(UserFactory)
    team = None


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Faker("name", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"1390000{n:04d}")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    external_ref = factory.Sequence(lambda n: f"O{n:08d}")
    order_date = dt.date(2026, 1, 15)
    amount = Decimal("1000.00")
    quantity = 10


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    customer = factory.SubFactory(CustomerFactory)
    external_ref = factory.Sequence(lambda n: f"INV{n:08d}")
    issue_date = dt.date(2026, 1, 1)
    due_date = dt.date(2026, 1, 31)
    amount = Decimal("1000.00")


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    invoice = factory.SubFactory(InvoiceFactory)
    customer = factory.SelfAttribute("invoice.customer")
    external_ref = factory.Sequence(lambda n: f"PAY{n:08d}")
    paid_date = dt.date(2026, 1, 20)
    amount = Decimal("1000.00")


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    channel = Interaction.Channel.PHONE
    staff = factory.SelfAttribute("customer.owner")
    summary = "电话回访，客户对上批货满意"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Through the contact log's write path, as every entry is written.
        return contact_log.interaction_save(model_class(*args, **kwargs))


class ComplaintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Complaint

    customer = factory.SubFactory(CustomerFactory)
    subject = "送货延迟"
    received_by = factory.SelfAttribute("customer.owner")


class OpenIssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpenIssue

    customer = factory.SubFactory(CustomerFactory)
    title = "对账单金额不一致"
    opened_by = factory.SelfAttribute("customer.owner")


def publish_purchase_figures(as_of=None):
    """A published run whose nightly purchases step has run (customers.purchases): what the
    network panel and page read."""
    from customers.purchases import purchases_step

    now = timezone.now()
    run = PipelineRun.objects.create(
        as_of=as_of or timezone.localdate(),
        status=PipelineRun.Status.SUCCEEDED,
        finished_at=now,
        published_at=now,
    )
    purchases_step(run)
    return run
