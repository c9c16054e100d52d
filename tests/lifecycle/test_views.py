"""Changing a stage by hand from the customer file, and the file's lifecycle panel."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.pipeline import pipeline_run
from lifecycle import selectors
from lifecycle.models import CustomerStage, Playbook, StageChange, StageSnapshot
from lifecycle.pipeline import lifecycle_step
from tests.factories import OrderFactory
from tests.retention.factories import orders_every

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def staged(cast):
    orders_every(cast.rep_customer, first=dt.date(2025, 1, 5), last=dt.date(2026, 6, 5), days=30)
    OrderFactory(customer=cast.outsider_customer, order_date=dt.date(2026, 5, 10))
    cast.run = pipeline_run(as_of=AS_OF)
    return cast


def change_url(customer):
    return reverse("customer-stage-change", args=[customer.pk])


def lock_date(days):
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def test_a_manager_changes_a_team_customers_stage_with_a_reason_and_a_lock(staged, client_for):
    response = client_for(staged.manager).post(
        change_url(staged.rep_customer),
        {"stage": "maturity", "reason": "年度框架协议客户", "locked_until": lock_date(30)},
    )
    assert response.status_code == 302
    live = CustomerStage.objects.get(customer=staged.rep_customer)
    assert (live.stage, live.locked_until) == (
        "maturity",
        timezone.localdate() + dt.timedelta(days=30),
    )
    change = StageChange.objects.get(customer=staged.rep_customer, source="hand")
    # Dated by the current run's as-of date, not the wall clock.
    assert (change.on, change.old_stage, change.new_stage, change.changed_by) == (
        AS_OF,
        "growth",
        "maturity",
        staged.manager,
    )
    assert change.reason == "年度框架协议客户"
    # The next night's rule leaves the locked stage.
    later = pipeline_run(as_of=dt.date(2026, 7, 1))
    assert StageSnapshot.objects.get(run=later, customer=staged.rep_customer).stage == "maturity"
    assert StageSnapshot.objects.get(run=later, customer=staged.rep_customer).rule_stage == (
        "growth"
    )


def test_an_admin_phases_out_any_customer(staged, client_for):
    response = client_for(staged.admin).post(
        change_url(staged.outsider_customer), {"stage": "termination", "reason": "已停业"}
    )
    assert response.status_code == 302
    assert CustomerStage.objects.get(customer=staged.outsider_customer).stage == "termination"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stage": "dormant", "reason": "x"}, "Choose one of the five stages."),
        ({"stage": "maturity", "reason": "  "}, "Say why the stage changes."),
        ({"stage": "maturity", "reason": "x", "locked_until": "2020-01-01"}, "today or later"),
        ({"stage": "growth", "reason": "x"}, "already in this stage"),
    ],
)
def test_bad_changes_are_refused_with_a_message_and_nothing_written(
    staged, client_for, data, message
):
    before = list(CustomerStage.objects.values_list("customer_id", "stage", "locked_until"))
    changes = StageChange.objects.count()
    response = client_for(staged.manager).post(change_url(staged.rep_customer), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert list(CustomerStage.objects.values_list("customer_id", "stage", "locked_until")) == (
        before
    )
    assert StageChange.objects.count() == changes


def test_a_rep_may_not_change_a_stage(staged, client_for):
    response = client_for(staged.rep).post(
        change_url(staged.rep_customer), {"stage": "maturity", "reason": "x"}
    )
    assert response.status_code == 403
    assert "managers of its team" in response.content.decode()
    assert CustomerStage.objects.get(customer=staged.rep_customer).stage == "growth"


@pytest.mark.parametrize("who", ["manager", "outsider"])
def test_another_teams_customer_answers_404(staged, client_for, who):
    customer = staged.outsider_customer if who == "manager" else staged.rep_customer
    response = client_for(getattr(staged, who)).post(
        change_url(customer), {"stage": "maturity", "reason": "x"}
    )
    assert response.status_code == 404
    assert not StageChange.objects.filter(source="hand").exists()


def test_the_file_shows_the_stage_its_playbook_and_its_changes(staged, client_for):
    Playbook.objects.create(stage="growth", actions="邀请加入会员\n\n推荐积分活动")
    content = (
        client_for(staged.manager)
        .get(reverse("customer-detail", args=[staged.rep_customer.pk]))
        .content.decode()
    )
    assert 'data-stage="growth"' in content
    assert "<li>邀请加入会员</li><li>推荐积分活动</li>" in content
    assert 'id="stage-changes"' in content and 'id="stage-change-link"' in content
    rep_view = (
        client_for(staged.rep)
        .get(reverse("customer-detail", args=[staged.rep_customer.pk]))
        .content.decode()
    )
    assert 'data-stage="growth"' in rep_view and 'id="stage-change-link"' not in rep_view


def test_a_stage_without_a_written_playbook_shows_the_default_actions(staged):
    context = selectors.stage_panel(staged.outsider_customer, staged.admin)
    assert context["live"].stage == "development"
    assert context["playbook"][0] == "Turn interest into transactions"


def test_the_panel_takes_a_fixed_number_of_queries(staged, django_assert_num_queries):
    for stage in ("maturity", "growth", "maturity"):
        CustomerStage.objects.filter(customer=staged.rep_customer).update(stage="termination")
        StageChange.objects.create(
            customer=staged.rep_customer,
            on=AS_OF,
            old_stage="termination",
            new_stage=stage,
            source="hand",
            changed_by=staged.manager,
            reason="x",
        )
    selectors.stage_panel(staged.rep_customer, staged.manager)
    # the live stage, the stage's playbook, the changes (who joined); the manager's teams
    # are read once per request.
    with django_assert_num_queries(3):
        context = selectors.stage_panel(staged.rep_customer, staged.manager)
    assert len(context["changes"]) == 4 and context["can_change"]


def test_a_run_executed_again_replaces_its_own_stages(staged):
    customers = StageSnapshot.objects.filter(run=staged.run).count()
    lifecycle_step(staged.run)
    assert StageSnapshot.objects.filter(run=staged.run).count() == customers


def test_the_stage_form_starts_from_the_customer_s_current_stage(staged, client_for):
    page = client_for(staged.manager).get(change_url(staged.rep_customer)).content.decode()

    assert '<option value="growth" selected>' in page
