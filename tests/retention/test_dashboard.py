"""Retained and won back, counted on a hand-made history through two nightly runs,
and shown on the dashboard and the customer file."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.pipeline import pipeline_run
from retention import selectors
from retention.models import ChurnEpisode, FollowUpPlan, RetentionSettings
from tests.factories import CustomerFactory, OrderFactory
from tests.retention.factories import FollowUpPlanFactory, orders_every

D = dt.date


def moment(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


@pytest.fixture
def two_runs(cast):
    """Every scored customer is flagged at each run (high risk from 1 %), so that the
    story depends on the orders alone:
    - A (rep's): monthly until 2025-11-27, ordered again on 2026-03-01, before counting
      as lost (2026-05-27): retained;
    - B (teammate's): monthly until 2025-05-27, lost from 2025-11-24, ordered again on
      2026-03-01 after a plan made on 2026-02-01: won back;
    - C (rep's): like B, but never ordered again: lost;
    - the outsider's customer: monthly throughout: retained on its next order (2026-02-04).
    """
    RetentionSettings.objects.create(high_risk=0.01, medium_risk=0.005)
    a, b = cast.rep_customer, cast.teammate_customer
    c = CustomerFactory(owner=cast.rep, team=cast.east, name="南京苏果超市")
    orders_every(a, first=D(2025, 1, 1), last=D(2025, 12, 1), days=30)
    OrderFactory(customer=a, order_date=D(2026, 3, 1))
    for customer in (b, c):
        orders_every(customer, first=D(2024, 6, 1), last=D(2025, 6, 1), days=30)
    OrderFactory(customer=b, order_date=D(2026, 3, 1))
    orders_every(cast.outsider_customer, first=D(2025, 1, 10), last=D(2026, 3, 10), days=30)

    first = pipeline_run(as_of=D(2026, 1, 15))
    plan = FollowUpPlanFactory(customer=b, created_by=cast.manager)
    FollowUpPlan.objects.filter(pk=plan.pk).update(
        created_at=moment(D(2026, 2, 1)),
        status="done",
        outcome_code="reached",
        completed_at=moment(D(2026, 2, 5)),
    )
    second = pipeline_run(as_of=D(2026, 3, 15))
    cast.c, cast.plan, cast.runs = c, plan, (first, second)
    return cast


def test_orders_after_a_flag_count_as_retained_or_won_back(two_runs):
    assert all(run.status == "succeeded" for run in two_runs.runs), two_runs.runs[-1].error
    first_episodes = {
        episode.customer_id: episode
        for episode in ChurnEpisode.objects.filter(flagged_on=D(2026, 1, 15))
    }
    a, b, c = two_runs.rep_customer, two_runs.teammate_customer, two_runs.c
    summary = {
        customer_id: (episode.outcome, episode.ended_on, episode.lost_from, episode.plan_id)
        for customer_id, episode in first_episodes.items()
    }
    assert summary == {
        a.pk: ("retained", D(2026, 3, 1), D(2026, 5, 27), None),
        b.pk: ("won_back", D(2026, 3, 1), D(2025, 11, 24), two_runs.plan.pk),
        c.pk: ("open", None, D(2025, 11, 24), None),
        two_runs.outsider_customer.pk: ("retained", D(2026, 2, 4), D(2026, 7, 5), None),
    }
    # Those who ordered again are flagged afresh by the second run; C stays in its episode.
    reopened = ChurnEpisode.objects.filter(flagged_on=D(2026, 3, 15))
    assert set(reopened.values_list("customer_id", flat=True)) == {
        a.pk,
        b.pk,
        two_runs.outsider_customer.pk,
    }


def months(section, *columns):
    return {
        row["month"].strftime("%Y-%m"): tuple(row[column] for column in columns)
        for row in section["rows"]
        if any(row[column] for column in columns)
    }


COLUMNS = ("flagged", "plans_made", "plans_done", "retained", "won_back", "lost", "after_plan")


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (
            "admin",
            {
                "2025-11": (0, 0, 0, 0, 0, 2, 0),
                "2026-01": (4, 0, 0, 0, 0, 0, 0),
                "2026-02": (0, 1, 1, 1, 0, 0, 0),
                "2026-03": (3, 0, 0, 1, 1, 0, 1),
            },
        ),
        (
            "manager",
            {
                "2025-11": (0, 0, 0, 0, 0, 2, 0),
                "2026-01": (3, 0, 0, 0, 0, 0, 0),
                "2026-02": (0, 1, 1, 0, 0, 0, 0),
                "2026-03": (2, 0, 0, 1, 1, 0, 1),
            },
        ),
        (
            "rep",
            {
                "2025-11": (0, 0, 0, 0, 0, 1, 0),
                "2026-01": (2, 0, 0, 0, 0, 0, 0),
                "2026-03": (1, 0, 0, 1, 0, 0, 0),
            },
        ),
        ("outsider", {"2026-01": (1, 0, 0, 0, 0, 0, 0), "2026-02": (0, 0, 0, 1, 0, 0, 0),
                      "2026-03": (1, 0, 0, 0, 0, 0, 0)}),
    ],
)  # fmt: skip
def test_the_dashboard_counts_per_month_over_the_visible_customers(two_runs, who, expected):
    section = selectors.retention_section(getattr(two_runs, who), today=D(2026, 3, 31))
    assert months(section, *COLUMNS) == expected


def test_the_dashboard_page_shows_both_sections(two_runs, client_for):
    content = client_for(two_runs.manager).get(reverse("dashboard")).content.decode()
    assert 'id="dashboard-churn_risk"' in content and 'id="dashboard-retention"' in content
    # The top of the risk list: customers who can still be kept; C is lost (termination).
    assert "上海锦江酒店" in content and "杭州联华超市" in content
    assert "南京苏果超市" not in content
    assert "成都红旗连锁" not in content


def test_the_customer_file_shows_risk_plans_and_episodes(two_runs, client_for):
    page = client_for(two_runs.teammate).get(
        reverse("customer-detail", args=[two_runs.teammate_customer.pk])
    )
    content = page.content.decode()
    assert 'id="panel-churn"' in content
    assert "Won back 2026-03-01" in content
    assert "Done · Reached the customer" in content
    assert reverse("follow-up-plan-detail", args=[two_runs.plan.pk]) in content


def test_the_file_panel_takes_a_fixed_number_of_queries(two_runs, django_assert_num_queries):
    for day in (D(2026, 3, 20), D(2026, 3, 25)):
        FollowUpPlanFactory(
            customer=two_runs.teammate_customer, created_by=two_runs.manager, due_date=day
        )
    manager = two_runs.manager
    selectors.churn_panel(two_runs.teammate_customer, manager)
    # the customer's score in the current run (run joined), plans (assignee and
    # completed-by joined, whether the viewer may update each), episodes (plan joined).
    with django_assert_num_queries(3):
        context = selectors.churn_panel(two_runs.teammate_customer, manager)
    assert context["score"].run == two_runs.runs[1]
    assert len(context["plans"]) == 3 and all(plan.can_update for plan in context["plans"])


@pytest.mark.parametrize(
    ("who", "can_update"), [("teammate", True), ("manager", True), ("rep", False), ("admin", True)]
)
def test_the_panel_offers_the_outcome_form_only_to_whom_the_plan_answers(two_runs, who, can_update):
    (plan,) = selectors.churn_panel(two_runs.teammate_customer, getattr(two_runs, who))["plans"]
    assert plan.can_update is can_update
