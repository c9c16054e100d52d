"""The dashboard and start page read figures computed once per run and scope when the run
is published (customers.summaries): every role sees the figures a live computation over
the customers it may see gives, with a fixed number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers import dashboards, pipeline, summaries
from customers.credit.selectors import grade_distribution
from customers.models import PipelineRun, SectionSummary
from customers.pipeline import pipeline_run
from lifecycle.selectors import stage_section
from retention import selectors as retention
from retention.models import RetentionSettings
from segmentation import selectors as segmentation
from tests.factories import CustomerFactory, InvoiceFactory, TeamFactory, UserFactory
from tests.retention.factories import FollowUpPlanFactory, orders_every

D = dt.date

LIVE = {
    "credit": grade_distribution,
    "value_tiers": segmentation.value_tiers_section,
    "rfm_grid": segmentation.rfm_grid_section,
    "lifecycle": stage_section,
    "churn_risk": retention.churn_section,
    "retention": retention.retention_section,
}
# The sections whose figures are stored with the run: all of them.
SUMMARISED = list(LIVE)


@pytest.fixture
def night(cast):
    """Two runs over two teams. Besides the cast: `boss` manages both teams; `lead`
    manages west and owns a customer in east (outside the team he manages)."""
    RetentionSettings.objects.create(high_risk=0.3, medium_risk=0.1)
    cast.boss = UserFactory(username="boss")
    cast.east.managers.add(cast.boss)
    cast.west.managers.add(cast.boss)
    cast.lead = UserFactory(username="lead")
    cast.west.managers.add(cast.lead)
    extra = [
        CustomerFactory(owner=cast.rep, team=cast.east, name="南京苏果超市"),
        CustomerFactory(owner=cast.teammate, team=cast.east, name="苏州美佳便利店"),
        CustomerFactory(owner=cast.outsider, team=cast.west, name="重庆百家乐餐厅"),
        CustomerFactory(owner=cast.lead, team=cast.east, name="无锡天明批发部"),
    ]
    customers = [cast.rep_customer, cast.teammate_customer, cast.outsider_customer, *extra]
    for index, customer in enumerate(customers):
        # Different rhythms, spends and last orders: every band, tier and segment in use.
        orders_every(
            customer,
            first=D(2025, 1, 1) + dt.timedelta(days=9 * index),
            last=D(2025, 6, 1) + dt.timedelta(days=40 * index),
            days=10 + 7 * index,
            amount=f"{300 * (index + 1)}.00",
        )
        InvoiceFactory(customer=customer, issue_date=D(2025, 10, 1), due_date=D(2025, 10, 31))
    first = pipeline_run(as_of=D(2026, 1, 15))
    # Unpaid invoices falling overdue: grades worsen in the second run.
    for customer in customers[::2]:
        InvoiceFactory(customer=customer, issue_date=D(2025, 12, 1), due_date=D(2026, 1, 1))
    FollowUpPlanFactory(customer=cast.rep_customer, created_by=cast.manager)
    second = pipeline_run(as_of=D(2026, 3, 15))
    assert second.status == "succeeded", second.error
    cast.runs = (first, second)
    return cast


def fresh(user):
    """The user as a new request sees them (nothing cached on the object)."""
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def live_calls(monkeypatch):
    """The builds computed on the spot while a page is shown."""
    calls = []
    live_figures = summaries.live_figures

    def spy(build, user, run):
        calls.append(build.__name__)
        return live_figures(build, user, run)

    monkeypatch.setattr(summaries, "live_figures", spy)
    return calls


ROLES = ["rep", "teammate", "manager", "outsider", "admin", "boss", "lead"]


def test_the_run_stores_figures_for_the_company_each_team_and_each_owner(night):
    run = PipelineRun.objects.current()
    rows = {(row.scope, row.scope_id): row for row in SectionSummary.objects.all()}
    assert {row.run_id for row in rows.values()} == {run.pk}  # the older run's are gone
    owners = {night.rep, night.teammate, night.outsider, night.lead, night.manager, night.boss}
    assert set(rows) == {
        ("company", 0),
        ("team", night.east.pk),
        ("team", night.west.pk),
        *(("owner", user.pk) for user in owners),
    }
    assert rows["company", 0].customers == 7
    assert rows["team", night.east.pk].customers == 5
    assert rows["owner", night.rep.pk].customers == 2
    # The lead's row: his own customer in east, outside the team he manages.
    assert rows["owner", night.lead.pk].customers == 1
    assert rows["owner", night.lead.pk].teams == [night.west.pk]
    assert rows["owner", night.manager.pk].customers == 0
    assert set(rows["company", 0].figures) == {
        "dashboard:credit",
        "dashboard:value_tiers",
        "dashboard:rfm_grid",
        "dashboard:lifecycle",
        "dashboard:churn_risk",
        "dashboard:retention",
        "start:at_risk",
    }


@pytest.mark.parametrize("who", ROLES)
def test_every_role_sees_the_figures_a_live_computation_gives(night, who, client_for, live_calls):
    user = getattr(night, who)
    sections = client_for(user).get(reverse("dashboard")).context["sections"]
    shown = {item["section"].key: item["context"] for item in sections}
    assert set(shown) == set(LIVE)
    for key, live in LIVE.items():
        assert shown[key] == live(fresh(user)), key
    # Figures there are to compare: the scoping is what is tested.
    assert shown["churn_risk"]["bands"] and shown["value_tiers"]["has_snapshot"]
    assert shown["credit"]["total"] and shown["retention"]["totals"]["flagged"]
    assert any(row["customers"] for row in shown["lifecycle"]["funnel"])
    assert len(shown["lifecycle"]["trend"]) == 2

    live_calls.clear()
    page = client_for(user).get(reverse("home")).content.decode()
    block = render_to_string("retention/_home_at_risk.html", retention.at_risk_start_block(user))
    assert block in page


@pytest.mark.parametrize(
    ("who", "built_live"),
    [
        ("rep", []),
        ("manager", []),
        ("admin", []),
        ("outsider", []),
        # Two teams: counts add up, the credit list (ordered by name) and the Pareto
        # curve do not.
        ("boss", ["build_grade_distribution", "build_value_tiers"]),
        ("lead", ["build_grade_distribution", "build_value_tiers"]),
    ],
)
def test_single_scopes_read_their_row_several_add_up_where_they_can(
    night, who, built_live, client_for, live_calls
):
    client_for(getattr(night, who)).get(reverse("dashboard"))
    assert live_calls == built_live


def test_figures_shown_are_the_nights_until_the_next_run(night, client_for):
    """A customer handed to another team after the run still counts where it was."""
    night.rep_customer.team = night.west
    night.rep_customer.owner = night.outsider
    night.rep_customer.save()
    sections = client_for(night.manager).get(reverse("dashboard")).context["sections"]
    shown = {item["section"].key: item["context"] for item in sections}
    assert shown["credit"]["total"] == 5
    assert pipeline_run(as_of=D(2026, 3, 16)).status == "succeeded"
    sections = client_for(night.manager).get(reverse("dashboard")).context["sections"]
    shown = {item["section"].key: item["context"] for item in sections}
    assert shown["credit"]["total"] == 4 == grade_distribution(fresh(night.manager))["total"]


def test_a_scope_without_a_row_is_computed_live(night, client_for, live_calls):
    newcomer = UserFactory(username="newcomer")
    north = TeamFactory(name="华北一组")
    north.managers.add(newcomer)
    mine = CustomerFactory(owner=newcomer, team=north, name="北京华联超市")
    orders_every(mine, first=D(2025, 1, 1), last=D(2026, 3, 1), days=20)
    sections = client_for(newcomer).get(reverse("dashboard")).context["sections"]
    shown = {item["section"].key: item["context"] for item in sections}
    assert len(live_calls) == len(SUMMARISED)
    for key, live in LIVE.items():
        assert shown[key] == live(fresh(newcomer)), key
    # Not scored yet: the run did not know the customer.
    assert shown["churn_risk"]["bands"][0]["customers"] == 0
    assert shown["credit"]["total"] == 1


def test_a_manager_whose_teams_changed_since_the_run_is_computed_live(
    night, client_for, live_calls
):
    night.west.managers.add(night.manager)
    sections = client_for(night.manager).get(reverse("dashboard")).context["sections"]
    assert len(live_calls) == len(SUMMARISED)
    shown = {item["section"].key: item["context"] for item in sections}
    assert shown["credit"]["total"] == 7 == grade_distribution(fresh(night.manager))["total"]


def test_plans_are_counted_live_on_the_retention_section(night, client_for):
    def made():
        sections = client_for(night.manager).get(reverse("dashboard")).context["sections"]
        shown = {item["section"].key: item["context"] for item in sections}
        return shown["retention"]["totals"]["plans_made"]

    before = made()
    FollowUpPlanFactory(customer=night.teammate_customer, created_by=night.manager)
    assert made() == before + 1


def test_runs_kept_aside_and_failing_summaries_change_nothing(night, monkeypatch, caplog):
    rows = set(SectionSummary.objects.values_list("pk", flat=True))
    aside = pipeline_run(as_of=D(2026, 2, 1))
    assert aside.status == PipelineRun.Status.KEPT_ASIDE
    assert set(SectionSummary.objects.values_list("pk", flat=True)) == rows

    def broken(scopes, run):
        raise ValueError("no figures")

    monkeypatch.setitem(
        dashboards._registry,
        "credit",
        dashboards._registry["credit"].__class__(
            **{**dashboards._registry["credit"].__dict__, "build_all": broken}
        ),
    )
    run = pipeline_run(as_of=D(2026, 3, 20))
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert not SectionSummary.objects.filter(run=run).exists()
    assert "not built" in caplog.text


def test_the_publish_hook_is_registered_with_the_frame():
    assert pipeline._publish_hooks["dashboard_summaries"] is summaries.publish_hook


def test_a_section_needs_a_loader_or_figures():
    with pytest.raises(ValueError):
        dashboards.register(key="x", title="x", template="x.html")
    with pytest.raises(ValueError):
        dashboards.register(key="x", title="x", template="x.html", build=lambda s, r: {})
    assert "x" not in dashboards._registry


class TestQueryCounts:
    """The dashboard: session, user, (not for admins: permissions, group permissions,
    managed teams), the current run, the viewer's summary rows; the worsened grades and the
    churn list's scores by id (none for the rep, whose customers are all lost: no top list
    to read); plans made and done per month (live). The
    start page: its own cards (see test_views), the summary rows, the at-risk scores by id
    (none for the rep), the contact rhythm's settings and rows (one query per value tier, and per
    part of a manager's book: own, each team)
    (and a manager's per-rep table)."""

    @pytest.mark.parametrize(
        ("who", "dashboard", "home"),
        [("rep", 10, 19), ("manager", 11, 24), ("admin", 8, 18)],
    )
    def test_pages_take_a_fixed_number_of_queries(
        self, night, who, dashboard, home, client_for, django_assert_num_queries
    ):
        client = client_for(getattr(night, who))
        client.get(reverse("dashboard"))
        client.get(reverse("home"))
        with django_assert_num_queries(dashboard):
            client.get(reverse("dashboard"))
        with django_assert_num_queries(home):
            client.get(reverse("home"))


def test_amounts_keep_their_cents(night, client_for):
    sections = client_for(night.admin).get(reverse("dashboard")).context["sections"]
    shown = {item["section"].key: item["context"] for item in sections}
    for row in shown["churn_risk"]["bands"]:
        assert isinstance(row["value_at_risk"], Decimal | int)


@pytest.fixture
def crowd(night):
    """More scopes than the night's: six teams (one without customers), a manager of two
    teams who owns customers inside and outside them, customers without a team or an
    owner, namesakes; two more runs over all of them."""
    teams = [TeamFactory(name=f"华南{index}组") for index in range(4)]
    night.teams = [night.east, night.west, *teams]
    reps = [UserFactory(username=f"rep{index}") for index in range(6)]
    night.chief = UserFactory(username="chief")
    teams[0].managers.add(night.chief)
    teams[1].managers.add(night.chief)
    owners = [*reps, night.chief, None]
    cities = ["广州", "深圳", "佛山", "东莞", "珠海"]
    customers = []
    for index in range(24):
        team = [*teams[:3], night.east, None][index % 5]
        customer = CustomerFactory(
            owner=owners[index % len(owners)],
            team=team,
            # Namesakes: lists ordered by name fall back to the id.
            name=f"{cities[index % 3]}百货商店",
        )
        orders_every(
            customer,
            first=D(2025, 1, 1) + dt.timedelta(days=5 * index),
            last=D(2025, 12, 1) + dt.timedelta(days=2 * index),
            days=15 + 3 * (index % 4),
            amount=f"{100 * (index % 7 + 1)}.00",
        )
        InvoiceFactory(customer=customer, issue_date=D(2025, 10, 1), due_date=D(2025, 10, 31))
        customers.append(customer)
    assert pipeline_run(as_of=D(2026, 3, 20)).status == "succeeded"
    for customer in customers[::3]:
        InvoiceFactory(customer=customer, issue_date=D(2025, 12, 1), due_date=D(2026, 1, 1))
    run = pipeline_run(as_of=D(2026, 3, 31))
    assert run.status == "succeeded", run.error
    night.runs = (*night.runs, run)
    return night


def test_every_scope_built_at_once_equals_the_scope_built_alone(crowd):
    run = PipelineRun.objects.current()
    scopes = summaries.RunScopes()
    keys = scopes.scope_keys()
    assert len(keys) == 1 + 6 + 13
    sections = dashboards.summarised_sections()
    assert all(section.build_all is not None for _key, section in sections)
    stored = {(row.scope, row.scope_id): row for row in SectionSummary.objects.filter(run=run)}
    assert set(stored) == set(keys)
    for storage_key, section in sections:
        at_once = section.build_all(scopes, run)
        for key in keys:
            alone = summaries.as_stored(section.build(scopes.scope(key), run))
            assert summaries.as_stored(at_once[key]) == alone, (storage_key, key)
            assert stored[key].figures[storage_key] == alone, (storage_key, key)
    # Figures to compare in every kind of scope: the grouping is what is tested.
    chief = stored["owner", crowd.chief.pk]
    assert chief.teams == sorted(team.pk for team in crowd.teams[2:4])
    assert chief.customers == 2
    top = {key: len(row.figures["dashboard:churn_risk"]["top"]) for key, row in stored.items()}
    # Lists cut at their length, and owners' lists of several.
    assert top["company", 0] == retention.START_PAGE_ROWS
    assert top["team", crowd.east.pk] > 1
    assert sum(count > 1 for key, count in top.items() if key[0] == "owner") > 3
    assert stored["team", crowd.teams[2].pk].figures["dashboard:churn_risk"]["bands"]
    assert stored["team", crowd.teams[5].pk].customers == 0
    curve = stored["team", crowd.teams[3].pk].figures["dashboard:value_tiers"][0]["curve"]
    assert 0 < curve[20] < 1


@pytest.mark.parametrize("who", ["chief", "rep", "manager", "admin"])
def test_with_many_scopes_every_role_sees_the_live_figures(crowd, who, client_for):
    user = getattr(crowd, who)
    sections = client_for(user).get(reverse("dashboard")).context["sections"]
    shown = {item["section"].key: item["context"] for item in sections}
    for key, live in LIVE.items():
        assert shown[key] == live(fresh(user)), key


def test_the_build_takes_as_many_queries_whatever_the_number_of_scopes(
    crowd, django_assert_num_queries
):
    run = PipelineRun.objects.current()
    with CaptureQueriesContext(connection) as before:
        assert summaries.build_run_summaries(run) == 20
    for index in range(3):
        team = TeamFactory(name=f"西北{index}组")
        owner = UserFactory(username=f"north{index}")
        team.managers.add(UserFactory(username=f"head{index}"))
        CustomerFactory(owner=owner, team=team, name=f"兰州{index}号商店")
    with django_assert_num_queries(len(before.captured_queries)):
        assert summaries.build_run_summaries(run) == 20 + 3 * 3


def test_earlier_runs_in_trends_are_reported_as_the_previous_build_counted_them(night):
    """A reporting snapshot: a team's trend keeps the earlier runs as they were counted for
    the customers it had then; the new run's entry and the funnel follow the customer to
    its new team."""
    first, second = night.runs
    before = {
        (row.scope, row.scope_id): row.figures for row in SectionSummary.objects.filter(run=second)
    }
    east, west = ("team", night.east.pk), ("team", night.west.pk)
    moved = night.rep_customer
    type(moved).objects.filter(pk=moved.pk).update(team=night.west, owner=night.outsider)

    third = pipeline_run(as_of=D(2026, 3, 31))

    assert third.status == "succeeded", third.error
    after = {
        (row.scope, row.scope_id): row.figures for row in SectionSummary.objects.filter(run=third)
    }
    for key in (east, west):
        scope = summaries.team_scope(key[1])
        # Lifecycle: the kept snapshots of the earlier runs as reported, the new one live.
        stages = after[key]["dashboard:lifecycle"]
        recomputed = rebuilt("lifecycle", scope, third)
        for run in (first, second):
            assert (
                stages["trend"][str(run.pk)]
                == before[key]["dashboard:lifecycle"]["trend"][str(run.pk)]
            )
        assert stages["trend"][str(third.pk)] == recomputed["trend"][str(third.pk)]
        assert stages["funnel"] == recomputed["funnel"]
        # Value tiers: the same for the trend runs' tier totals.
        tiers = {f["run"]: f for f in after[key]["dashboard:value_tiers"]}
        reported = {f["run"]: f for f in before[key]["dashboard:value_tiers"]}
        live = {f["run"]: f for f in rebuilt("value_tiers", scope, third)}
        assert tiers[second.pk]["tiers"] == reported[second.pk]["tiers"]
        assert tiers[third.pk] == live[third.pk]
    # Recomputed with today's teams, the earlier runs would have moved with the customer.
    recomputed_east = rebuilt("lifecycle", summaries.team_scope(night.east.pk), third)
    assert (
        recomputed_east["trend"][str(second.pk)]
        != after[east]["dashboard:lifecycle"]["trend"][str(second.pk)]
    )
    # The company's figures are everyone's whatever the teams.
    assert after["company", 0]["dashboard:lifecycle"] == rebuilt(
        "lifecycle", summaries.company_scope(), third
    )


def rebuilt(section_key, scope, run):
    """The section's figures of `scope` computed now, with today's teams and owners."""
    (section,) = [
        s for key, s in dashboards.summarised_sections() if key.endswith(f":{section_key}")
    ]
    return summaries.as_stored(section.build(scope, run))
