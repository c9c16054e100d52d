"""The points section of the dashboard: figures built when the run is published, per scope."""

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers import dashboards, summaries
from customers.models import Customer, SectionSummary
from customers.pipeline import pipeline_run
from loyalty import selectors, services
from loyalty.models import LoyaltySettings, Membership
from tests.factories import CustomerFactory
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


def test_every_scope_built_at_once_equals_the_scope_built_alone(cast):
    """The night builds the section for every team and owner in three grouped queries; each
    scope's figures are those of the section built for it alone."""
    members_in_every_kind_of_scope(cast)
    run = pipeline_run(as_of=timezone.localdate())
    assert run.status == "succeeded", run.error

    scopes = summaries.RunScopes()
    at_once = selectors.build_all_points(scopes, run)
    for key in scopes.scope_keys():
        alone = summaries.as_stored(selectors.build_points(scopes.scope(key), run))
        assert summaries.as_stored(at_once[key]) == alone, key
    company = at_once["company", 0]
    # Seven members, one closed: 2,800 points given, 280 redeemed, 450 left in the closed one.
    assert (company["active"], company["outstanding"]) == (6, 2800 - 280 - 450)
    assert sum(redeemed for _month, _issued, redeemed, _expired in company["months"]) == 280
    assert sum(1 for row in company["months"] if row[2]) == 2
    # The manager's own customer outside the team they manage is their owner scope's.
    mine = at_once["owner", cast.manager.pk]
    assert (mine["active"], mine["outstanding"]) == (0, 0)
    assert sum(row[2] for row in mine["months"]) == 50


def members_in_every_kind_of_scope(cast):
    """Seven members: in both teams, a manager's own customer inside and outside the team
    they manage, without a team, without an owner; one closed; redemptions in two months."""
    cast.manager_customer = CustomerFactory(owner=cast.manager, team=cast.east)
    cast.manager_elsewhere = CustomerFactory(owner=cast.manager, team=cast.west)
    cast.without_team = CustomerFactory(owner=cast.rep, team=None)
    cast.without_owner = CustomerFactory(owner=None, team=cast.west)
    customers = [
        cast.rep_customer,
        cast.teammate_customer,
        cast.outsider_customer,
        cast.manager_customer,
        cast.manager_elsewhere,
        cast.without_team,
        cast.without_owner,
    ]
    earlier = timezone.now() - dt.timedelta(days=40)
    for index, customer in enumerate(customers):
        membership = member(customer, tier=["standard", "silver", "gold"][index % 3])
        services.points_adjust(
            membership=membership, points=100 * (index + 1), by=None, reason="开户礼"
        )
        # Redemptions of an earlier month too, in every kind of scope.
        if index % 2:
            with mock.patch("django.utils.timezone.now", return_value=earlier):
                services.points_redeem(membership=membership, points=10 * (index + 1), by=None)
        else:
            services.points_redeem(membership=membership, points=10 * (index + 1), by=None)
        if index == 4:
            Membership.objects.filter(pk=membership.pk).update(status=Membership.Status.CLOSED)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="built in threads on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_after_a_run_the_sections_are_built_side_by_side_as_one_by_one(cast, monkeypatch):
    members_in_every_kind_of_scope(cast)
    apart = []
    built_apart = summaries._built_apart
    monkeypatch.setattr(
        summaries, "_built_apart", lambda *args: apart.append(args) or built_apart(*args)
    )

    run = pipeline_run(as_of=timezone.localdate())

    assert run.status == "succeeded", run.error
    assert len(apart) == len(dashboards.summarised_sections()) > 1
    side_by_side = {(r.scope, r.scope_id): r.figures for r in SectionSummary.objects.all()}
    monkeypatch.setattr(summaries, "BUILD_THREADS", 1)
    assert summaries.build_run_summaries(run) == len(side_by_side) > 3
    one_by_one = {(r.scope, r.scope_id): r.figures for r in SectionSummary.objects.all()}
    assert one_by_one == side_by_side


def test_closed_months_are_reported_as_the_previous_build_counted_them(cast):
    """A reporting snapshot: the months before the previous run's are taken from its build,
    counted for the customers each scope had then; the members and this month's points
    follow the customer to its new team."""
    members_in_every_kind_of_scope(cast)
    assert pipeline_run(as_of=timezone.localdate()).status == "succeeded"
    Customer.objects.filter(pk=cast.teammate_customer.pk).update(
        team=cast.west, owner=cast.outsider
    )

    run = pipeline_run(as_of=timezone.localdate())

    assert run.status == "succeeded", run.error
    stored = {
        (row.scope, row.scope_id): row.figures["dashboard:points"]
        for row in SectionSummary.objects.filter(run=run)
    }
    closed = (timezone.localdate() - dt.timedelta(days=40)).replace(day=1).isoformat()

    def redeemed(figures):
        return next(row[2] for row in figures["months"] if row[0] == closed)

    recomputed = {
        team: summaries.as_stored(selectors.build_points(summaries.team_scope(team.pk), run))
        for team in (cast.east, cast.west)
    }
    # The teammate's 20 points redeemed in the closed month stay east's, as reported then.
    assert redeemed(stored["team", cast.east.pk]) == 20 + 40
    assert redeemed(stored["team", cast.west.pk]) == 0
    assert (redeemed(recomputed[cast.east]), redeemed(recomputed[cast.west])) == (40, 20)
    for team in (cast.east, cast.west):
        now = stored["team", team.pk]
        assert (now["active"], now["outstanding"], now["months"][-1]) == (
            recomputed[team]["active"],
            recomputed[team]["outstanding"],
            recomputed[team]["months"][-1],
        )
    company = summaries.as_stored(selectors.build_points(summaries.company_scope(), run))
    assert stored["company", 0] == company
