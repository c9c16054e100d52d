"""The admin's customer form warns of likely duplicates as the site's does: matches named with
links to their admin pages (those the user may see), a "save anyway" box, nothing saved until
it is ticked."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/customers/customer/add/"
NEW = {
    "name": "苏州好又多超市",
    "kind": "company",
    "channel_role": "terminal",
    "terminal_type": "supermarket",
    "region": "苏州",
}


def form_data(page, **values):
    """What the page's form would post as it stands, with `values` typed in."""
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value in (None, False):
            continue
        data[name] = value
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    return {**data, **values}


def change_url(customer):
    return reverse("admin:customers_customer_change", args=[customer.pk])


def test_adding_a_customer_with_a_known_phone_warns_with_a_link_and_saves_nothing(client_for, cast):
    existing = CustomerFactory(name="苏州超市", region="无锡", phone="0512-6688 1234")
    client = client_for(cast.admin)
    page = client.get(ADD)

    response = client.post(ADD, form_data(page, **NEW, phone="051266881234"))

    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="duplicates"' in text and 'name="save_anyway"' in text
    assert f'href="{change_url(existing)}"' in text and "same phone" in text
    assert not Customer.objects.filter(name=NEW["name"]).exists()

    saved = client.post(ADD, form_data(page, **NEW, phone="051266881234", save_anyway="1"))

    assert saved.status_code == 302
    assert Customer.objects.filter(name=NEW["name"]).count() == 1


def test_the_same_normalised_name_in_the_region_warns(client_for, cast):
    existing = CustomerFactory(name="苏州好又多超市有限公司", region="苏州")
    client = client_for(cast.admin)

    response = client.post(ADD, form_data(client.get(ADD), **NEW))

    assert f'href="{change_url(existing)}"' in response.content.decode()
    assert "same name in the region" in response.content.decode()
    assert Customer.objects.count() == 4  # the cast's three and the existing one


def test_the_same_name_in_another_region_saves_at_once(client_for, cast):
    CustomerFactory(name="苏州好又多超市", region="上海")
    client = client_for(cast.admin)

    response = client.post(ADD, form_data(client.get(ADD), **NEW))

    assert response.status_code == 302


def test_editing_other_fields_of_a_customer_with_a_twin_does_not_warn(client_for, cast):
    twin = CustomerFactory(name="杭州联华超市", region=cast.teammate_customer.region)
    customer = cast.teammate_customer
    client = client_for(cast.admin)
    page = client.get(change_url(customer))

    unchanged = client.post(change_url(customer), form_data(page, notes="周五送货"))

    assert unchanged.status_code == 302
    customer.refresh_from_db()
    assert customer.notes == "周五送货"

    renamed = client.post(change_url(customer), form_data(page, name="杭州联华超市 "))
    assert renamed.status_code == 302  # stripped, the name is as it was: no change

    customer.name = "杭州联华"
    customer.save()
    page = client.get(change_url(customer))
    response = client.post(change_url(customer), form_data(page, name="杭州联华超市"))
    assert response.status_code == 200
    assert f'href="{change_url(twin)}"' in response.content.decode()
    customer.refresh_from_db()
    assert customer.name == "杭州联华"


def test_staff_who_see_their_teams_only_get_others_counted_not_named(client_for, cast):
    manager = cast.manager
    manager.is_staff = True
    manager.save()
    manager.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["add_customer", "change_customer", "view_customer"]
        )
    )
    cast.outsider_customer.phone = "028 8555 0000"
    cast.outsider_customer.save()
    client = client_for(manager)

    response = client.post(ADD, form_data(client.get(ADD), **NEW, phone="02885550000"))

    text = response.content.decode()
    assert "1 matching customer is handled by others" in text
    assert change_url(cast.outsider_customer) not in text
    assert not Customer.objects.filter(name=NEW["name"]).exists()
