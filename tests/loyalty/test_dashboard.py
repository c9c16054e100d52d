"""The points section of the dashboard: figures built when the run is published, per scope."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.pipeline import pipeline_run
from loyalty import selectors, services
from loyalty.models import LoyaltySettings, Membership
from tests.loyalty.test_ledger import member

pytestmark = pytest.mark.django_db


def test_the_section_counts_members_points_and_their_value_in_scope(cast, client_for):
    LoyaltySettings.objects.create(point_value="0.05")
    mine = member(cast.rep_customer)
    services.points_adjust(membership=mine, points=300, by=None, reason="开户礼")
    services.points_redeem(membership=mine, points=100, by=None)
    other = member(cast.outsider_customer)
    services.points_adjust(membership=other, points=1000, by=None, reason="开户礼")
    Membership.objects.filter(pk=other.pk).update(tier="gold")
    run = pipeline_run(as_of=timezone.localdate())
    assert run.status == "succeeded", run.error

    page = client_for(cast.rep).get(reverse("dashboard"))
    (section,) = [s["context"] for s in page.context["sections"] if s["section"].key == "points"]
    assert section == selectors.points_section(cast.rep)
    assert section["active"] == 1
    assert section["outstanding"] == 200
    assert str(section["outstanding_value"]) == "10.00"
    assert [tier["count"] for tier in section["tiers"]] == [1, 0, 0, 0]
    month = section["months"][-1]
    assert month["month"] == timezone.localdate().replace(day=1)
    assert (month["redeemed"], month["expired"]) == (100, 0)
    html = page.content.decode()
    assert "200 points outstanding, worth ¥10.00" in html
    assert reverse("loyalty-members") + "?status=active" in html

    admin = client_for(cast.admin).get(reverse("dashboard"))
    (section,) = [s["context"] for s in admin.context["sections"] if s["section"].key == "points"]
    assert (section["active"], section["outstanding"]) == (2, 1200)
    # The night's evaluation put the gold member back to standard: no spend in 12 months.
    assert [tier["count"] for tier in section["tiers"]] == [2, 0, 0, 0]
    assert len(section["months"]) == 12
    assert section["months"][0]["month"] < dt.date.today()
