import io

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from loyalty.models import Membership, PointEntry
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_seed_members_enrols_a_share_of_the_customers_who_ordered_and_earns_their_points():
    buyers = [CustomerFactory() for _ in range(6)]
    CustomerFactory()  # never ordered: never enrolled
    for customer in buyers:
        OrderFactory(customer=customer, order_date=timezone.localdate(), amount=60000)
    out = io.StringIO()
    call_command("seed_members", "--every", "2", stdout=out)
    members = Membership.objects.order_by("pk")
    assert [m.customer_id for m in members] == [c.pk for c in buyers[::2]]
    assert {m.tier for m in members} == {"silver"}  # ¥60,000 in the year: silver
    assert PointEntry.objects.aggregate(s=Sum("points"))["s"] == sum(m.balance for m in members)
    assert PointEntry.objects.count() == 3
    assert "3 members enrolled" in out.getvalue()
    call_command("seed_members", "--every", "2", stdout=io.StringIO())  # again: nobody more
    assert Membership.objects.count() == 3 and PointEntry.objects.count() == 3
