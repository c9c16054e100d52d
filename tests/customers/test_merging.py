"""Merging two customers: every row of every table keyed to a customer moves (or is
dropped by a stated rule), counted table by table before and after; refusals write nothing."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers import merging
from customers.models import Customer, CustomerMerge, Invoice, Order, PipelineRun
from loyalty.models import Membership
from loyalty.services import membership_enrol, points_adjust
from tests.factories import (
    CustomerFactory,
    InvoiceFactory,
    OrderFactory,
    PaymentFactory,
    TagFactory,
)


def _value(field, customer, run, user):
    """A plausible value for a required field of a row about `customer`."""
    if field.is_relation:
        target = field.related_model
        if target is Customer:
            return customer
        if target is PipelineRun:
            return run
        if target is type(user):
            return user
        return make_row(target, customer, run, user)
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.FileField):
        return ContentFile(b"%PDF-1.4 x", name="licence.pdf")
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return dt.date(2026, 1, 15)
    if isinstance(field, models.DecimalField):
        return Decimal("10.00")
    if isinstance(field, models.FloatField):
        return 0.5
    if isinstance(field, models.IntegerField):
        return 1
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.CharField | models.TextField):
        text = uuid.uuid4().hex
        return text[: field.max_length] if field.max_length else text
    raise AssertionError(f"No value for {field.model.__name__}.{field.name}")


def make_row(model, customer, run, user, /, **given):
    """A row of any model: its required fields filled, its keys to a customer `customer`."""
    values = dict(given)
    for field in model._meta.concrete_fields:
        if field.name in values or (field.primary_key and not field.is_relation):
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        if field.has_default() or field.has_db_default() or field.null:
            continue
        values[field.name] = _value(field, customer, run, user)
    return model._default_manager.create(**values)


def relation_counts(customer):
    return {
        key: model._default_manager.filter(**{name: customer}).count()
        for key, model, name in merging.relations()
    }


@pytest.fixture
def pair(cast, private_media):
    """Two files of one customer, each with a row in every table keyed to a customer; only
    the merged one is a points member."""
    survivor = cast.rep_customer
    merged = CustomerFactory(owner=cast.rep, team=cast.east, name="上海锦江酒店有限公司")
    run = PipelineRun.objects.create(as_of=dt.date(2026, 1, 31), status="published")
    tag_both, tag_merged = TagFactory(), TagFactory()
    survivor.tags.add(tag_both)
    merged.tags.add(tag_both, tag_merged)
    membership = membership_enrol(customer=merged, by=cast.admin)
    points_adjust(membership=membership, points=50, by=cast.admin, reason="开卡赠送")
    for customer in (survivor, merged):
        invoice = InvoiceFactory(customer=customer)
        PaymentFactory(invoice=invoice)
        OrderFactory(customer=customer)
        CustomerFactory(owner=cast.rep, parent=customer, channel_role="terminal")
        for key, model, name in merging.relations():
            if model is Membership or model._meta.auto_created:
                continue
            if model is Customer or model in (Order,) or key.startswith("customers.Invoice"):
                continue
            if key.startswith("customers.Payment"):
                continue
            make_row(model, customer, run, cast.admin, **{name: customer})
    return survivor, merged


def test_every_table_keyed_to_a_customer_moves_to_the_survivor(pair, cast):
    survivor, merged = pair
    before_survivor, before_merged = relation_counts(survivor), relation_counts(merged)
    # Every table has a row of the merged customer: a table added later without rows here
    # fails this line until the test covers it.
    assert [key for key, count in before_merged.items() if not count] == []
    plan = merging.merge_plan(survivor=survivor, merged=merged)

    record = merging.customer_merge(survivor=survivor, merged=merged, by=cast.admin)

    after = relation_counts(survivor)
    for key, _model, _name in merging.relations():
        dropped = plan.dropped.get(key, 0)
        added = 1 if key == "customers.CustomerMerge.survivor" else 0  # this merge's record
        assert after[key] == before_survivor[key] + before_merged[key] - dropped + added, key
    assert not Customer.objects.filter(pk=merged.pk).exists()
    assert record.moved == plan.moved and record.dropped == plan.dropped
    assert record.merged_ref == merged.external_ref and record.merged_by == cast.admin
    # Dropped only by the stated rules: snapshots of runs, the live stage and the open
    # churn episode the survivor already has, the tag both had.
    assert set(plan.dropped) == {
        "lifecycle.StageSnapshot.customer",
        "customers.PurchaseFigure.customer",
        "customers.CrossRegionSupply.customer",
        "segmentation.RfmScore.customer",
        "retention.ChurnScore.customer",
        "lifecycle.CustomerStage.customer",
        "retention.ChurnEpisode.customer",
        "customers.Customer_tags.customer",
    }


def test_the_membership_and_its_ledger_follow_the_merged_customer(pair, cast):
    survivor, merged = pair
    membership = merged.membership
    merging.customer_merge(survivor=survivor, merged=merged, by=cast.admin)
    membership.refresh_from_db()
    assert membership.customer_id == survivor.pk
    assert membership.entries.count() == 1 and membership.balance == 50


def test_downstream_customers_and_balances_follow_and_the_history_names_the_merge(pair, cast):
    survivor, merged = pair
    merging.customer_merge(survivor=survivor, merged=merged, by=cast.admin)
    assert Customer.objects.filter(parent=survivor).count() == 2
    survivor.refresh_from_db()
    assert survivor.outstanding_amount == Decimal("0.00")
    last = survivor.history.first()
    assert merged.external_ref in last.history_change_reason
    assert survivor.merges.get(merged_ref=merged.external_ref).merged_name == merged.name


def test_two_members_are_refused_and_nothing_is_written(cast):
    survivor, merged = cast.rep_customer, cast.teammate_customer
    membership_enrol(customer=survivor, by=cast.admin)
    membership_enrol(customer=merged, by=cast.admin)
    OrderFactory(customer=merged)
    with pytest.raises(merging.MergeRefused, match="both points members"):
        merging.customer_merge(survivor=survivor, merged=merged, by=cast.admin)
    assert Customer.objects.filter(pk=merged.pk).exists()
    assert merged.orders.count() == 1 and not CustomerMerge.objects.exists()


def test_a_customer_is_not_merged_into_itself(cast):
    customer = cast.rep_customer
    with pytest.raises(merging.MergeRefused, match="into itself"):
        merging.customer_merge(survivor=customer, merged=customer, by=cast.admin)


def test_a_manager_cannot_merge_a_customer_of_another_team(cast):
    with pytest.raises(merging.MergeRefused, match="you can see"):
        merging.customer_merge(
            survivor=cast.rep_customer, merged=cast.outsider_customer, by=cast.manager
        )
    assert Customer.objects.filter(pk=cast.outsider_customer.pk).exists()


def test_a_survivor_supplied_by_the_merged_customer_takes_its_place(cast):
    top = CustomerFactory(channel_role="general_distributor")
    merged = CustomerFactory(channel_role="wholesaler", parent=top)
    middle = CustomerFactory(channel_role="wholesaler", parent=merged)
    survivor = CustomerFactory(channel_role="wholesaler", parent=middle)
    merging.customer_merge(survivor=survivor, merged=merged, by=cast.admin)
    survivor.refresh_from_db()
    middle.refresh_from_db()
    assert survivor.parent == top and middle.parent == survivor


def test_blank_fields_of_the_survivor_are_filled_from_the_merged_customer(cast):
    survivor = CustomerFactory(address="", email="")
    merged = CustomerFactory(address="南京路1号", email="a@example.com")
    merging.customer_merge(survivor=survivor, merged=merged, by=cast.admin)
    survivor.refresh_from_db()
    assert (survivor.address, survivor.email) == ("南京路1号", "a@example.com")


def test_only_the_tables_holding_rows_of_the_merged_customer_are_written(cast):
    survivor, merged = CustomerFactory(), CustomerFactory()
    InvoiceFactory(customer=survivor)
    OrderFactory.create_batch(3, customer=merged)
    with CaptureQueriesContext(connection) as queries:
        merging.customer_merge(survivor=survivor, merged=merged, by=cast.admin)
    written = " ".join(
        query["sql"] for query in queries if query["sql"].startswith(("UPDATE", "DELETE"))
    )
    assert f'"{Order._meta.db_table}"' in written
    assert f'"{Invoice._meta.db_table}"' not in written
    assert Order.objects.filter(customer=survivor).count() == 3


# The admin pages ------------------------------------------------------------------------


def merge_url(*ids, keep=None):
    url = f"{reverse('admin:customers_customer_merge')}?ids={','.join(map(str, ids))}"
    return f"{url}&keep={keep}" if keep else url


def test_admin_action_opens_the_merge_page_with_a_preview(cast, client_for):
    client = client_for(cast.admin)
    a, b = cast.rep_customer, cast.teammate_customer
    OrderFactory(customer=b)
    response = client.post(
        reverse("admin:customers_customer_changelist"),
        {"action": "merge_customers", "_selected_action": [a.pk, b.pk]},
    )
    assert response.status_code == 302 and response.url == merge_url(*sorted([a.pk, b.pk]))
    page = client.get(merge_url(a.pk, b.pk, keep=a.pk))
    assert page.status_code == 200
    plan = page.context["plan"]
    assert plan.survivor == a and plan.merged == b
    assert {t.key: t.moved for t in plan.tables}["customers.Order.customer"] == 1
    assert Customer.objects.filter(pk=b.pk).exists()


def test_admin_merge_page_query_count_is_fixed(cast, client_for, django_assert_max_num_queries):
    client = client_for(cast.admin)
    a, b = cast.rep_customer, cast.teammate_customer
    OrderFactory.create_batch(5, customer=b)
    # Session and user (2), the two customers (1), per table two counts and at most one
    # conflict count (3 × tables), the admin's own context.
    tables = len(merging.relations())
    with django_assert_max_num_queries(3 + 3 * tables + 2):
        assert client.get(merge_url(a.pk, b.pk)).status_code == 200


def test_admin_confirm_merges_and_records(cast, client_for):
    client = client_for(cast.admin)
    a, b = cast.rep_customer, cast.teammate_customer
    OrderFactory(customer=b)
    response = client.post(reverse("admin:customers_customer_merge"), {"ids": f"{a.pk},{b.pk}"})
    assert response.status_code == 302
    assert a.orders.count() == 1 and not Customer.objects.filter(pk=b.pk).exists()
    assert CustomerMerge.objects.get().survivor == a


@pytest.mark.parametrize("ids", ["1", "1,2,3", "x,y", ""])
def test_admin_merge_needs_two_customers(cast, client_for, ids):
    client = client_for(cast.admin)
    response = client.post(reverse("admin:customers_customer_merge"), {"ids": ids})
    assert response.status_code == 302
    assert Customer.objects.count() == 3


def test_admin_merge_into_itself_is_refused(cast, client_for):
    client = client_for(cast.admin)
    pk = cast.rep_customer.pk
    response = client.post(
        reverse("admin:customers_customer_merge"), {"ids": f"{pk},{pk}"}, follow=True
    )
    assert "cannot be merged into itself" in response.content.decode()
    assert Customer.objects.count() == 3


def test_staff_cannot_merge_a_customer_they_may_not_see(cast, client_for):
    from django.contrib.auth.models import Permission

    manager = cast.manager
    manager.is_staff = True
    manager.save()
    manager.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_customer", "change_customer", "delete_customer"]
        )
    )
    client = client_for(manager)
    a, outside = cast.rep_customer, cast.outsider_customer
    response = client.post(
        reverse("admin:customers_customer_merge"), {"ids": f"{a.pk},{outside.pk}"}, follow=True
    )
    assert "You may only merge customers you can see." in response.content.decode()
    assert Customer.objects.filter(pk=outside.pk).exists()
    assert client.get(merge_url(a.pk, outside.pk)).status_code == 302


def test_admin_merge_of_two_members_shows_the_refusal(cast, client_for):
    client = client_for(cast.admin)
    a, b = cast.rep_customer, cast.teammate_customer
    membership_enrol(customer=a, by=cast.admin)
    membership_enrol(customer=b, by=cast.admin)
    page = client.get(merge_url(a.pk, b.pk))
    assert "both points members" in page.content.decode()
    response = client.post(reverse("admin:customers_customer_merge"), {"ids": f"{a.pk},{b.pk}"})
    assert response.status_code == 200 and "both points members" in response.content.decode()
    assert Customer.objects.filter(pk=b.pk).exists()
