"""The stage in the customer list's filter and in `export_scores`, scoped as everything."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.pipeline import pipeline_run
from tests.factories import OrderFactory
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


def test_a_customer_phased_out_by_hand_leaves_the_risk_list(staged, client_for):
    client = client_for(staged.manager)
    client.post(
        reverse("customer-stage-change", args=[staged.rep_customer.pk]),
        {"stage": "termination", "reason": "已转向竞争对手"},
    )
    assert risk_listed(client) == set()
