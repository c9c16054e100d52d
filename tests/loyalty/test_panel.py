"""The membership panel on the customer file: enrol, redeem, adjust, each by whom may."""

import pytest
from django.urls import reverse

from customers.access import is_manager
from loyalty import selectors, services
from loyalty.models import Membership, PointEntry

pytestmark = pytest.mark.django_db


def detail(client, customer):
    return client.get(reverse("customer-detail", args=[customer.pk]), follow=True)


def test_a_rep_enrols_their_customer_from_the_file(cast, client_for):
    client = client_for(cast.rep)
    page = detail(client, cast.rep_customer).content.decode()
    assert 'id="enrol-button"' in page
    response = client.post(reverse("loyalty-enrol", args=[cast.rep_customer.pk]), follow=True)
    membership = Membership.objects.get(customer=cast.rep_customer)
    page = response.content.decode()
    assert membership.number in page
    assert 'id="member-balance">0<' in page
    assert membership.enrolled_by == cast.rep
    # Twice: a clear message and still one membership.
    response = client.post(reverse("loyalty-enrol", args=[cast.rep_customer.pk]), follow=True)
    assert "already a member" in response.content.decode()
    assert Membership.objects.count() == 1


def test_nobody_enrols_or_redeems_for_a_customer_they_cannot_see(cast, client_for):
    services.membership_enrol(customer=cast.outsider_customer, by=None)
    client = client_for(cast.rep)
    for name in ("loyalty-enrol", "loyalty-redeem", "loyalty-adjust"):
        response = client.post(
            reverse(name, args=[cast.outsider_customer.pk]),
            {"redeem-points": 1, "adjust-points": 1, "adjust-reason": "x"},
        )
        assert response.status_code in (403, 404)
    assert Membership.objects.count() == 1
    assert not PointEntry.objects.exists()


def test_a_rep_redeems_within_the_balance_and_is_told_when_not(cast, client_for):
    membership = services.membership_enrol(customer=cast.rep_customer, by=None)
    services.points_adjust(membership=membership, points=100, by=cast.admin, reason="开户礼")
    client = client_for(cast.rep)
    url = reverse("loyalty-redeem", args=[cast.rep_customer.pk])
    response = client.post(url, {"redeem-points": 30, "redeem-reason": "礼品"}, follow=True)
    assert "30 points redeemed" in response.content.decode()
    for points, message in ((500, "Not enough points"), (0, "greater than or equal to 1")):
        response = client.post(url, {"redeem-points": points}, follow=True)
        assert message in response.content.decode()
    membership.refresh_from_db()
    assert membership.balance == 70
    entry = PointEntry.objects.get(kind="redeem")
    assert (entry.points, entry.created_by, entry.reason) == (-30, cast.rep, "礼品")


def test_only_managers_adjust_and_always_with_a_reason(cast, client_for):
    membership = services.membership_enrol(customer=cast.rep_customer, by=None)
    url = reverse("loyalty-adjust", args=[cast.rep_customer.pk])
    rep = client_for(cast.rep)
    assert 'id="adjust-form"' not in detail(rep, cast.rep_customer).content.decode()
    assert rep.post(url, {"adjust-points": 10, "adjust-reason": "x"}).status_code == 403
    manager = client_for(cast.manager)
    assert 'id="adjust-form"' in detail(manager, cast.rep_customer).content.decode()
    response = manager.post(url, {"adjust-points": 10, "adjust-reason": ""}, follow=True)
    assert "This field is required" in response.content.decode()
    assert not PointEntry.objects.exists()
    manager.post(url, {"adjust-points": 10, "adjust-reason": "补录"})
    entry = PointEntry.objects.get()
    assert (entry.kind, entry.points, entry.created_by, entry.reason) == (
        "adjust",
        10,
        cast.manager,
        "补录",
    )
    membership.refresh_from_db()
    assert membership.balance == 10


def test_the_panel_loads_in_five_queries(cast, django_assert_num_queries):
    membership = services.membership_enrol(customer=cast.rep_customer, by=None)
    for points in (5, 6, 7, 8, 9, 10):
        services.points_adjust(membership=membership, points=points, by=cast.admin, reason="x")
    is_manager(cast.rep)  # the roles are read once per request, before the panels
    with django_assert_num_queries(5):
        context = selectors.membership_panel(cast.rep_customer, cast.rep)
        [entry.created_by for entry in context["entries"]]
    assert [entry.points for entry in context["entries"]] == [10, 9, 8, 7, 6]
    with django_assert_num_queries(1):
        assert selectors.membership_panel(cast.teammate_customer, cast.rep) == {"membership": None}


def test_the_file_shows_the_tier_and_its_history(cast, client_for):
    membership = services.membership_enrol(customer=cast.rep_customer, by=None)
    services.tier_changes_apply(
        [{"membership_id": membership.pk, "from": "standard", "to": "gold", "spend": 9}],
        cause="order",
    )
    page = detail(client_for(cast.rep), cast.rep_customer).content.decode()
    assert 'id="member-tier">Gold (金卡)<' in page
    assert "Standard (普通) → Gold (金卡) · Order" in page


def test_an_admin_enrols_a_filtered_selection_in_bulk(cast, client_for):
    services.membership_enrol(customer=cast.rep_customer, by=None)
    chosen = [cast.rep_customer.pk, cast.teammate_customer.pk]
    response = client_for(cast.admin).post(
        reverse("admin:customers_customer_changelist"),
        {"action": "enrol_selected", "_selected_action": chosen},
        follow=True,
    )
    assert "Enrolled: 1; members already: 1." in response.content.decode()
    assert set(Membership.objects.values_list("customer_id", flat=True)) == set(chosen)
    assert Membership.objects.get(customer=cast.teammate_customer).enrolled_by == cast.admin
