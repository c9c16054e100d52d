"""The stage in the customer list's filter and in `export_scores`, scoped as everything."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.pipeline import pipeline_run
from retention.selectors import at_risk_start_block
from tests.factories import CustomerFactory, OrderFactory
from tests.retention.factories import orders_every

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def staged(cast):
    """The rep's customer grows, the teammate's is lost, the outsider's is new."""
    orders_every(cast.rep_customer, first=dt.date(2025, 1, 5), last=dt.date(2026, 6, 5), days=30)
    orders_every(
        cast.teammate_customer, first=dt.date(2024, 9, 1), last=dt.date(2025, 9, 1), days=14
    )
    OrderFactory(customer=cast.outsider_customer, order_date=dt.date(2026, 5, 10))
    pipeline_run(as_of=AS_OF)
    return cast


def listed(client, query):
    content = client.get(reverse("customer-list") + query).content.decode()
    return {name for name in ("上海锦江酒店", "杭州联华超市", "成都红旗连锁") if name in content}


@pytest.mark.parametrize(
    ("who", "stage", "expected"),
    [
        ("manager", "termination", {"杭州联华超市"}),
        ("manager", "growth", {"上海锦江酒店"}),
        ("manager", "development", set()),
        ("rep", "termination", set()),
        ("admin", "development", {"成都红旗连锁"}),
        ("outsider", "termination", set()),
    ],
)
def test_the_customer_list_filters_by_stage_over_the_visible_customers(
    staged, client_for, who, stage, expected
):
    assert listed(client_for(getattr(staged, who)), f"?stage={stage}") == expected


def test_an_unknown_stage_is_refused_with_a_message(staged, client_for):
    response = client_for(staged.manager).get(reverse("customer-list") + "?stage=dormant")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_export_scores_gains_the_stage_as_an_english_code(staged, capsys):
    call_command("export_scores", "--user", "manager")
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    column = rows[0].index("lifecycle_stage")
    assert rows[0].index("value_tier") < column < rows[0].index("churn_risk")
    stages = {row[0]: row[column] for row in rows[1:]}
    assert stages == {
        staged.rep_customer.external_ref: "growth",
        staged.teammate_customer.external_ref: "termination",
    }


def risk_listed(client, query=""):
    response = client.get(reverse("churn-risk-list") + query)
    return {score.customer.name for score in response.context["page"].object_list}


def test_the_risk_list_shows_only_customers_who_can_still_be_kept(staged, client_for):
    # The teammate's customer is lost (termination): on the lost list, not the risk list.
    assert risk_listed(client_for(staged.manager)) == {"上海锦江酒店"}
    assert risk_listed(client_for(staged.admin)) == {"上海锦江酒店", "成都红旗连锁"}
    assert risk_listed(client_for(staged.admin), "?stage=development") == {"成都红旗连锁"}
    assert risk_listed(client_for(staged.rep), "?stage=development") == set()


@pytest.mark.parametrize("who", ["manager", "admin", "rep", "outsider"])
def test_the_dashboard_and_start_page_count_only_customers_who_can_still_be_kept(
    staged, client_for, who
):
    client = client_for(getattr(staged, who))
    sections = client.get(reverse("dashboard")).context["sections"]
    churn = next(item["context"] for item in sections if item["section"].key == "churn_risk")
    listed = risk_listed(client)
    assert sum(row["customers"] for row in churn["bands"]) == len(listed)
    assert {score.customer.name for score in churn["top"]} <= listed
    # The start page's at-risk block, stored with the run as the dashboard's figures.
    block = at_risk_start_block(getattr(staged, who))
    assert {score.customer.name for score in block["scores"]} <= listed
    assert "杭州联华超市" not in client.get(reverse("home")).content.decode()


def test_a_customer_phased_out_by_hand_leaves_the_risk_list(staged, client_for):
    client = client_for(staged.manager)
    client.post(
        reverse("customer-stage-change", args=[staged.rep_customer.pk]),
        {"stage": "termination", "reason": "已转向竞争对手"},
    )
    assert risk_listed(client) == set()


def lost_listed(client, query=""):
    response = client.get(reverse("lost-customer-list") + query)
    assert response.status_code == 200
    return [customer.name for customer in response.context["page"].object_list]


def test_the_lost_list_shows_terminated_customers_the_user_may_see(staged, client_for):
    assert lost_listed(client_for(staged.manager)) == ["杭州联华超市"]
    assert lost_listed(client_for(staged.teammate)) == ["杭州联华超市"]
    assert lost_listed(client_for(staged.rep)) == []
    assert lost_listed(client_for(staged.outsider)) == []
    content = client_for(staged.manager).get(reverse("lost-customer-list")).content.decode()
    assert "No order far beyond their usual rhythm" in content
    assert "2025-08-" in content  # the last order, fortnightly from 2024-09-01
    # The tier of the run that found them lost, filterable.
    from lifecycle.models import StageChange
    from segmentation.models import RfmScore

    tier = RfmScore.objects.get(customer=staged.teammate_customer).value_tier
    assert StageChange.objects.get(customer=staged.teammate_customer).value_tier == tier
    assert f'data-tier="{tier}"' in content
    assert lost_listed(client_for(staged.manager), f"?former_tier={tier}") == ["杭州联华超市"]
    other = "small" if tier != "small" else "key"
    assert lost_listed(client_for(staged.manager), f"?former_tier={other}") == []


def test_the_lost_list_gives_the_reason_of_a_customer_phased_out_by_hand(staged, client_for):
    client = client_for(staged.manager)
    client.post(
        reverse("customer-stage-change", args=[staged.rep_customer.pk]),
        {"stage": "termination", "reason": "已转向竞争对手"},
    )
    # Both lost as of the same date (a change by hand takes the current run's): newest first.
    assert lost_listed(client) == ["杭州联华超市", "上海锦江酒店"]
    assert "已转向竞争对手" in client.get(reverse("lost-customer-list")).content.decode()


def test_a_manager_turns_lost_customers_into_win_back_plans(staged, client_for):
    from retention.models import FollowUpPlan

    client = client_for(staged.manager)
    response = client.post(
        reverse("follow-up-plan-create"),
        {
            "customers": [staged.teammate_customer.pk],
            "due_date": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
            "channel": "visit",
            "list": "lost",
        },
    )
    assert response.status_code == 302 and response.url == reverse("lost-customer-list")
    plan = FollowUpPlan.objects.get()
    assert (plan.customer, plan.assignee) == (staged.teammate_customer, staged.teammate)


def test_a_plan_for_another_teams_lost_customer_is_refused_on_the_lost_list(staged, client_for):
    response = client_for(staged.manager).post(
        reverse("follow-up-plan-create"),
        {
            "customers": [staged.outsider_customer.pk],
            "due_date": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
            "channel": "visit",
            "list": "lost",
        },
    )
    assert response.status_code == 200
    assert "not yours to plan for" in response.content.decode()
    assert 'id="lost-table"' in response.content.decode()


def test_the_lost_list_takes_a_fixed_number_of_queries(
    staged, client_for, django_assert_num_queries
):
    from lifecycle.models import CustomerStage

    for number in range(30):
        customer = CustomerFactory(
            name=f"流失客户{number}", owner=staged.teammate, team=staged.east
        )
        OrderFactory(customer=customer, order_date=dt.date(2024, 1, 1))
        CustomerStage.objects.create(customer=customer, stage="termination", since=AS_OF)
    client = client_for(staged.manager)
    client.get(reverse("lost-customer-list"))
    # session, user, the user's permissions and group permissions (may they see all?),
    # the manager's teams, capped count, the page's customers (owner, team and stage
    # joined), their changes into termination, their spend and last order, the current
    # run, team, owner and assignee choices.
    with django_assert_num_queries(13):
        response = client.get(reverse("lost-customer-list"))
    assert len(response.context["page"].object_list) == 31
