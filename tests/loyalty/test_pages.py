"""The members list and a member's full ledger: scoped, filtered, paged."""

import pytest
from django.urls import reverse

from loyalty import services
from loyalty.models import Membership
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(cast):
    rep = services.membership_enrol(customer=cast.rep_customer, by=None)
    teammate = services.membership_enrol(customer=cast.teammate_customer, by=None)
    outsider = services.membership_enrol(customer=cast.outsider_customer, by=None)
    Membership.objects.filter(pk=teammate.pk).update(tier="gold")
    for _ in range(3):
        customer = CustomerFactory(owner=cast.rep, team=cast.east)
        services.membership_enrol(customer=customer, by=None)
    return rep, teammate, outsider


def test_the_members_list_shows_only_visible_members_in_fixed_queries(
    members, cast, client_for, django_assert_num_queries
):
    rep, teammate, outsider = members
    client = client_for(cast.manager)
    client.get(reverse("loyalty-members"))  # session and user loaded once
    with django_assert_num_queries(7):
        page = client.get(reverse("loyalty-members")).content.decode()
    assert rep.number in page and teammate.number in page
    assert outsider.number not in page and "成都红旗连锁" not in page
    page = client.get(reverse("loyalty-members"), {"tier": "gold"}).content.decode()
    assert teammate.number in page and rep.number not in page
    page = client.get(reverse("loyalty-members"), {"q": "锦江"}).content.decode()
    assert rep.number in page and teammate.number not in page
    page = client.get(reverse("loyalty-members"), {"tier": "nonsense"}).content.decode()
    assert rep.number in page and teammate.number in page


def test_a_members_ledger_filters_by_kind_and_pages(members, cast, client_for, settings):
    rep, _teammate, outsider = members
    services.points_adjust(membership=rep, points=100, by=cast.manager, reason="开户礼")
    for _ in range(3):
        services.points_redeem(membership=rep, points=7, by=cast.rep, reason="礼品")
    client = client_for(cast.rep)
    url = reverse("loyalty-ledger", args=[cast.rep_customer.pk])
    page = client.get(url).content.decode()
    assert page.count("开户礼") == 1 and page.count("礼品") == 3
    assert "balance 79 points" in page
    page = client.get(url, {"kind": "adjust"}).content.decode()
    assert "开户礼" in page and "礼品" not in page
    from loyalty import views

    views.ENTRIES_PER_PAGE, saved = 2, views.ENTRIES_PER_PAGE
    try:
        page = client.get(url, {"page": 2}).content.decode()
    finally:
        views.ENTRIES_PER_PAGE = saved
    assert "Page 2 of 2" in page
    outsider_url = reverse("loyalty-ledger", args=[cast.outsider_customer.pk])
    assert client.get(outsider_url).status_code == 404
