"""The customer's stored last contact (Customer.last_contact_at / last_contact_channel)
follows its contact log through the log's one write path: added on the site, edited or
deleted in the admin, carried out follow-up plans, merges."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import contact_log
from customers.models import Customer, Interaction
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def stored(customer):
    row = Customer.objects.values_list("last_contact_at", "last_contact_channel").get(
        pk=customer.pk
    )
    return row


NOW = timezone.now().replace(microsecond=0)


def ago(days):
    return NOW - dt.timedelta(days=days)


def test_an_interaction_logged_on_the_site_becomes_the_last_contact(cast, client_for):
    customer = CustomerFactory(owner=cast.rep, team=cast.east)
    InteractionFactory(customer=customer, channel="phone", occurred_at=ago(20))
    when = ago(1).replace(second=0)
    response = client_for(cast.rep).post(
        reverse("interaction-create", args=[customer.pk]),
        {
            "channel": "visit",
            "occurred_at": timezone.localtime(when).strftime("%Y-%m-%dT%H:%M"),
            "summary": "上门拜访",
        },
    )
    assert response.status_code == 302
    assert stored(customer) == (when, "visit")


def test_an_older_entry_added_later_does_not_replace_the_last_contact(cast):
    customer = CustomerFactory(owner=cast.rep, team=cast.east)
    InteractionFactory(customer=customer, channel="wechat", occurred_at=ago(2))
    InteractionFactory(customer=customer, channel="phone", occurred_at=ago(30))
    assert stored(customer) == (ago(2), "wechat")


def test_editing_the_latest_entry_moves_the_last_contact(cast):
    customer = CustomerFactory(owner=cast.rep, team=cast.east)
    older = InteractionFactory(customer=customer, channel="phone", occurred_at=ago(10))
    latest = InteractionFactory(customer=customer, channel="visit", occurred_at=ago(3))
    latest.occurred_at = ago(40)
    contact_log.interaction_save(latest)
    assert stored(customer) == (older.occurred_at, "phone")


def test_an_entry_moved_to_another_customer_refreshes_both(cast):
    first, second = CustomerFactory(owner=cast.rep), CustomerFactory(owner=cast.rep)
    entry = InteractionFactory(customer=first, channel="sms", occurred_at=ago(5))
    entry.customer = second
    contact_log.interaction_save(entry)
    assert stored(first) == (None, "")
    assert stored(second) == (ago(5), "sms")


def test_deleting_in_the_admin_goes_back_to_the_latest_entry_left(cast, client_for):
    customer = CustomerFactory(owner=cast.rep, team=cast.east)
    InteractionFactory(customer=customer, channel="email", occurred_at=ago(9))
    latest = InteractionFactory(customer=customer, channel="visit", occurred_at=ago(1))
    url = reverse("admin:customers_interaction_delete", args=[latest.pk])
    response = client_for(cast.admin).post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Interaction.objects.filter(pk=latest.pk).exists()
    assert stored(customer) == (ago(9), "email")


def test_deleting_every_entry_leaves_no_last_contact(cast):
    customer = CustomerFactory(owner=cast.rep)
    InteractionFactory(customer=customer, occurred_at=ago(4))
    contact_log.interaction_delete(Interaction.objects.filter(customer=customer))
    assert stored(customer) == (None, "")


def test_editing_in_the_admin_keeps_the_last_contact_right(cast, client_for):
    customer = CustomerFactory(owner=cast.rep, team=cast.east)
    entry = InteractionFactory(customer=customer, channel="phone", occurred_at=ago(6))
    when = timezone.localtime(ago(2))
    response = client_for(cast.admin).post(
        reverse("admin:customers_interaction_change", args=[entry.pk]),
        {
            "customer": customer.pk,
            "channel": "wechat",
            "staff": cast.rep.pk,
            "occurred_at_0": when.strftime("%Y-%m-%d"),
            "occurred_at_1": when.strftime("%H:%M:%S"),
            "summary": "微信沟通",
            "outcome": "",
            "next_follow_up": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert stored(customer) == (ago(2), "wechat")


def test_the_bulk_refresh_sets_every_customer_from_the_log(cast):
    customer, silent = CustomerFactory(owner=cast.rep), CustomerFactory(owner=cast.rep)
    InteractionFactory(customer=customer, channel="fax", occurred_at=ago(8))
    Customer.objects.filter(pk=customer.pk).update(last_contact_at=None, last_contact_channel="")
    contact_log.refresh_all_last_contacts()
    assert stored(customer) == (ago(8), "fax")
    assert stored(silent) == (None, "")


def test_a_merge_gives_the_survivor_the_latest_contact_of_both(cast):
    from customers.merging import customer_merge

    survivor = CustomerFactory(owner=cast.rep, team=cast.east)
    merged = CustomerFactory(owner=cast.rep, team=cast.east)
    InteractionFactory(customer=survivor, channel="phone", occurred_at=ago(20))
    InteractionFactory(customer=merged, channel="visit", occurred_at=ago(3))
    customer_merge(survivor=survivor, merged=merged, by=cast.admin)
    assert stored(survivor) == (ago(3), "visit")


def test_a_follow_up_plan_carried_out_is_the_last_contact(cast):
    from retention.services import follow_up_plan_complete
    from tests.retention.factories import FollowUpPlanFactory

    customer = CustomerFactory(owner=cast.rep, team=cast.east)
    InteractionFactory(customer=customer, channel="phone", occurred_at=ago(40))
    plan = FollowUpPlanFactory(customer=customer, created_by=cast.manager)
    follow_up_plan_complete(
        plan=plan, status="done", outcome_code="", outcome="见到老板", by=cast.rep
    )
    plan.refresh_from_db()
    assert stored(customer) == (plan.completed_at, "visit")
