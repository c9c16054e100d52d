import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from customers.models import Interaction
from retention.models import FollowUpPlan, RetentionSettings
from tests.factories import CustomerFactory, InteractionFactory
from tests.retention.factories import ChurnScoreFactory, FollowUpPlanFactory, PublishedRunFactory

TODAY = dt.date.today()


@pytest.fixture
def scored(cast):
    """A published run scoring the cast's customers."""
    run = PublishedRunFactory()
    for customer, band, risk, value in [
        (cast.rep_customer, "high", 0.9, "20000.00"),
        (cast.teammate_customer, "medium", 0.5, "8000.00"),
        (cast.outsider_customer, "high", 0.95, "50000.00"),
    ]:
        ChurnScoreFactory(run=run, customer=customer, band=band, risk=risk, value=Decimal(value))
    cast.run = run
    return cast


def listed(response):
    return [score.customer.name for score in response.context["page"].object_list]


class TestRiskList:
    @pytest.mark.parametrize(
        ("who", "expected"),
        [
            ("rep", ["上海锦江酒店"]),
            ("manager", ["上海锦江酒店", "杭州联华超市"]),
            ("outsider", ["成都红旗连锁"]),
            ("admin", ["成都红旗连锁", "上海锦江酒店", "杭州联华超市"]),
        ],
    )
    def test_each_sees_their_customers_sorted_by_value_at_risk(
        self, scored, client_for, who, expected
    ):
        response = client_for(getattr(scored, who)).get(reverse("churn-risk-list"))
        assert response.status_code == 200
        assert listed(response) == expected

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"band": "medium"}, ["杭州联华超市"]),
            ({"band": ["high", "medium"]}, ["成都红旗连锁", "上海锦江酒店", "杭州联华超市"]),
            ({"q": "锦江"}, ["上海锦江酒店"]),
            ({"value_tier": "small"}, []),
        ],
    )
    def test_filters_narrow_the_list(self, scored, client_for, params, expected):
        response = client_for(scored.admin).get(reverse("churn-risk-list"), params)
        assert listed(response) == expected

    def test_filters_by_team_owner_and_grade(self, scored, client_for):
        scored.teammate_customer.credit_grade = "C"
        scored.teammate_customer.has_credit_history = True
        scored.teammate_customer.save()
        client = client_for(scored.admin)
        url = reverse("churn-risk-list")
        assert listed(client.get(url, {"team": scored.west.pk})) == ["成都红旗连锁"]
        assert listed(client.get(url, {"owner": scored.teammate.pk})) == ["杭州联华超市"]
        assert listed(client.get(url, {"credit_grade": ["C", "D"]})) == ["杭州联华超市"]

    def test_reasons_are_shown_in_words(self, scored, client_for):
        content = client_for(scored.rep).get(reverse("churn-risk-list")).content.decode()
        assert "last order 95 days ago; usually every 30 days" in content

    def test_without_a_run_the_list_is_empty_and_says_why(self, cast, client_for):
        response = client_for(cast.manager).get(reverse("churn-risk-list"))
        assert listed(response) == []
        assert "No complete run yet" in response.content.decode()

    def test_query_count_does_not_grow_with_rows(
        self, scored, client_for, django_assert_num_queries
    ):
        for _ in range(60):
            ChurnScoreFactory(
                run=scored.run,
                customer=CustomerFactory(owner=scored.teammate, team=scored.east),
            )
        client = client_for(scored.manager)
        client.get(reverse("churn-risk-list"))
        # session, user, current run, the user's permissions and group permissions
        # (may they see all?), capped count, is-manager check, overdue plans: count and
        # the oldest few; the run's backtest figures, team, owner and assignee choices,
        # the page's scores (customer, owner and team joined).
        with django_assert_num_queries(14):
            response = client.get(reverse("churn-risk-list"), {"band": "high"})
        assert len(response.context["page"].object_list) == 50


class TestPlanCreation:
    def post(self, client, **data):
        form = {
            "customers": [],
            "assignee": "",
            "due_date": (TODAY + dt.timedelta(days=3)).isoformat(),
            "channel": "visit",
            "note": "了解停止进货的原因",
            "query": "band=high",
        }
        form.update(data)
        return client.post(reverse("follow-up-plan-create"), form)

    def test_manager_creates_plans_for_several_rows_assigned_to_their_owners(
        self, scored, client_for
    ):
        customers = [scored.rep_customer.pk, scored.teammate_customer.pk]
        response = self.post(client_for(scored.manager), customers=customers)
        assert response.status_code == 302
        assert response.url == reverse("churn-risk-list") + "?band=high"
        plans = {plan.customer_id: plan for plan in FollowUpPlan.objects.all()}
        assert set(plans) == set(customers)
        rep_plan = plans[scored.rep_customer.pk]
        assert rep_plan.assignee == scored.rep
        assert plans[scored.teammate_customer.pk].assignee == scored.teammate
        assert rep_plan.created_by == scored.manager
        assert (rep_plan.run, rep_plan.risk, rep_plan.value_at_risk) == (
            scored.run,
            0.9,
            Decimal("18000.00"),
        )
        assert rep_plan.status == "open" and rep_plan.channel == "visit"

    def test_customers_with_an_open_plan_get_no_second_one(self, scored, client_for):
        FollowUpPlanFactory(customer=scored.rep_customer, created_by=scored.manager)
        client = client_for(scored.manager)
        self.post(client, customers=[scored.rep_customer.pk, scored.teammate_customer.pk])
        assert FollowUpPlan.objects.filter(customer=scored.rep_customer).count() == 1
        assert FollowUpPlan.objects.filter(customer=scored.teammate_customer).count() == 1

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"customers": []}, "Tick at least one customer in the list."),
            (
                {"due_date": (TODAY - dt.timedelta(days=1)).isoformat()},
                "The due date cannot be in the past.",
            ),
            ({"due_date": "31/12/2026"}, "Enter the date as YYYY-MM-DD"),
            ({"due_date": "9999-12-31"}, "Enter a date between 2000-01-01 and"),
            ({"channel": "pigeon"}, "Select a valid choice"),
        ],
    )
    def test_bad_input_shows_the_list_again_with_the_error(self, scored, client_for, data, message):
        data.setdefault("customers", [scored.rep_customer.pk])
        response = self.post(client_for(scored.manager), **data)
        assert response.status_code == 200
        assert message in response.content.decode()
        # The list comes back as it was filtered (band=high).
        assert listed(response) == ["上海锦江酒店"]
        assert not FollowUpPlan.objects.exists()

    def test_customers_the_manager_cannot_see_are_refused(self, scored, client_for):
        response = self.post(
            client_for(scored.manager),
            customers=[scored.rep_customer.pk, scored.outsider_customer.pk],
        )
        assert "not yours to plan for" in response.content.decode()
        assert not FollowUpPlan.objects.exists()

    def test_an_assignee_who_cannot_see_the_customer_is_refused(self, scored, client_for):
        response = self.post(
            client_for(scored.manager),
            customers=[scored.rep_customer.pk],
            assignee=scored.teammate.pk,
        )
        assert response.status_code == 200
        assert "cannot see these customers: 上海锦江酒店" in response.content.decode()
        assert not FollowUpPlan.objects.exists()

    def test_ticked_rows_stay_ticked_when_the_form_comes_back(self, scored, client_for):
        response = self.post(
            client_for(scored.manager), customers=[scored.rep_customer.pk], due_date=""
        )
        content = response.content.decode()
        assert f'value="{scored.rep_customer.pk}" aria-label="上海锦江酒店" checked' in content

    @pytest.mark.parametrize("who", ["rep", "outsider"])
    def test_sales_reps_cannot_create_plans(self, scored, client_for, who):
        user = getattr(scored, who)
        response = self.post(client_for(user), customers=[scored.rep_customer.pk])
        assert response.status_code == 403
        assert not FollowUpPlan.objects.exists()

    def test_creating_plans_needs_a_post(self, scored, client_for):
        assert client_for(scored.manager).get(reverse("follow-up-plan-create")).status_code == 405


@pytest.fixture
def plans(cast):
    """An open plan for the rep, one for the teammate and one for the outsider."""
    return {
        "rep": FollowUpPlanFactory(customer=cast.rep_customer, created_by=cast.manager),
        "teammate": FollowUpPlanFactory(customer=cast.teammate_customer, created_by=cast.manager),
        "outsider": FollowUpPlanFactory(customer=cast.outsider_customer, created_by=cast.admin),
    }


class TestPlanAccess:
    @pytest.mark.parametrize(
        ("who", "allowed"),
        [
            ("rep", {"rep"}),
            ("teammate", {"teammate"}),
            ("manager", {"rep", "teammate"}),
            ("outsider", {"outsider"}),
            ("admin", {"rep", "teammate", "outsider"}),
        ],
    )
    def test_only_ones_own_plans_or_ones_teams_answer(self, cast, plans, client_for, who, allowed):
        client = client_for(getattr(cast, who))
        for owner, plan in plans.items():
            status = client.get(reverse("follow-up-plan-detail", args=[plan.pk])).status_code
            assert status == (200 if owner in allowed else 404), owner
            response = client.post(
                reverse("follow-up-plan-detail", args=[plan.pk]),
                {"status": "done", "outcome_code": "reached", "outcome": "已联系"},
            )
            assert response.status_code == (302 if owner in allowed else 404), owner
        done = set(FollowUpPlan.objects.filter(status="done").values_list("pk", flat=True))
        assert done == {plans[owner].pk for owner in allowed}

    def test_a_rep_cannot_work_a_plan_assigned_to_their_manager(self, cast, plans, client_for):
        plan = FollowUpPlanFactory(
            customer=cast.rep_customer, assignee=cast.manager, created_by=cast.manager
        )
        url = reverse("follow-up-plan-detail", args=[plan.pk])
        assert client_for(cast.rep).get(url).status_code == 404

    def test_my_plans_lists_what_one_answers_for(self, cast, plans, client_for):
        def customers(user, **params):
            response = client_for(user).get(reverse("follow-up-plans"), params)
            return {plan.customer.name for plan in response.context["page"].object_list}

        assert customers(cast.rep) == {"上海锦江酒店"}
        assert customers(cast.manager) == {"上海锦江酒店", "杭州联华超市"}
        assert customers(cast.manager, mine="1") == set()
        assert customers(cast.outsider) == {"成都红旗连锁"}


class TestPlanOutcome:
    def test_done_is_recorded_with_its_outcome_and_logged_as_a_contact(
        self, cast, plans, client_for
    ):
        plan = plans["rep"]
        response = client_for(cast.rep).post(
            reverse("follow-up-plan-detail", args=[plan.pk]),
            {"status": "done", "outcome_code": "ordered", "outcome": "老板答应下周补货"},
        )
        assert response.status_code == 302
        plan.refresh_from_db()
        assert (plan.status, plan.outcome_code, plan.outcome) == (
            "done",
            "ordered",
            "老板答应下周补货",
        )
        assert plan.completed_by == cast.rep and plan.completed_at is not None
        contact = Interaction.objects.get(customer=cast.rep_customer)
        assert (contact.channel, contact.staff, contact.summary) == (
            "visit",
            cast.rep,
            "老板答应下周补货",
        )

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"status": "done", "outcome_code": ""}, "Say how it went."),
            ({"status": "cancelled", "outcome": " "}, "Say why the plan is cancelled."),
            ({"status": "postponed"}, "Select a valid choice"),
        ],
    )
    def test_incomplete_outcomes_come_back_with_the_error(
        self, cast, plans, client_for, data, message
    ):
        plan = plans["rep"]
        response = client_for(cast.rep).post(reverse("follow-up-plan-detail", args=[plan.pk]), data)
        assert response.status_code == 200
        assert message in response.content.decode()
        plan.refresh_from_db()
        assert plan.status == "open"

    def test_a_closed_plan_keeps_its_outcome(self, cast, plans, client_for):
        plan = plans["rep"]
        url = reverse("follow-up-plan-detail", args=[plan.pk])
        client = client_for(cast.rep)
        client.post(url, {"status": "cancelled", "outcome": "客户已转行"})
        client.post(url, {"status": "done", "outcome_code": "reached"})
        plan.refresh_from_db()
        assert (plan.status, plan.outcome) == ("cancelled", "客户已转行")
        assert not Interaction.objects.exists()


class TestOverdueReminder:
    def test_reps_and_managers_are_reminded_of_overdue_plans(self, cast, plans, client_for):
        overdue = TODAY - dt.timedelta(days=2)
        FollowUpPlan.objects.filter(pk__in=[plans["rep"].pk, plans["outsider"].pk]).update(
            due_date=overdue
        )
        for who, count in [("rep", 1), ("manager", 1), ("teammate", 0), ("admin", 2)]:
            content = (
                client_for(getattr(cast, who)).get(reverse("follow-up-plans")).content.decode()
            )
            if count:
                assert f"{count} follow-up plan" in content and 'id="overdue-plans"' in content
            else:
                assert 'id="overdue-plans"' not in content

    def test_start_page_shows_my_at_risk_customers_and_overdue_plans(
        self, scored, plans, client_for
    ):
        FollowUpPlan.objects.filter(pk=plans["rep"].pk).update(
            due_date=TODAY - dt.timedelta(days=1)
        )
        html = client_for(scored.rep).get(reverse("home")).content.decode()
        assert "My at-risk customers" in html and "上海锦江酒店" in html
        assert "成都红旗连锁" not in html and "杭州联华超市" not in html
        assert "1 follow-up plan is overdue." in html


def start_block(client, block_id):
    """The start page's block with that id, as HTML."""
    html = client.get(reverse("home")).content.decode()
    start = html.index(f'id="{block_id}"')
    return html[start : html.index('<div class="col-md-6">', start)]


class TestStartPagePlans:
    def test_a_plan_the_manager_assigns_for_next_week_is_on_the_reps_start_page(
        self, cast, client_for
    ):
        next_week = timezone.localdate() + dt.timedelta(days=7)
        response = client_for(cast.manager).post(
            reverse("follow-up-plan-create"),
            {
                "customers": [cast.rep_customer.pk],
                "assignee": cast.rep.pk,
                "due_date": next_week.isoformat(),
                "channel": "visit",
                "note": "了解停止进货的原因",
            },
        )
        assert response.status_code == 302
        plans = start_block(client_for(cast.rep), "home-plans")
        assert "1 follow-up plan is due in the next 14 days." in plans
        assert "0 follow-up plans are overdue." in plans
        assert "上海锦江酒店" in plans and next_week.isoformat() in plans
        for other in (cast.teammate, cast.outsider):
            assert "上海锦江酒店" not in client_for(other).get(reverse("home")).content.decode()
        # The manager sees it among the team's plans, by rep.
        plans = start_block(client_for(cast.manager), "home-plans")
        assert "上海锦江酒店" in plans and 'id="plans-by-rep"' in plans and "王伟" in plans

    def test_overdue_plans_come_first_then_those_due_soon_each_counted_with_a_link(
        self, cast, client_for
    ):
        today = timezone.localdate()
        for days, name in [
            (-3, "逾期甲"),
            (-1, "逾期乙"),
            (0, "今日丙"),
            (14, "两周丁"),
            (15, "以后戊"),
        ]:
            FollowUpPlanFactory(
                customer=CustomerFactory(owner=cast.rep, team=cast.east, name=name),
                due_date=today + dt.timedelta(days=days),
                created_by=cast.manager,
            )
        FollowUpPlanFactory(
            customer=CustomerFactory(owner=cast.rep, team=cast.east, name="已办己"),
            due_date=today - dt.timedelta(days=2),
            status=FollowUpPlan.Status.DONE,
            created_by=cast.manager,
        )
        plans = start_block(client_for(cast.rep), "home-plans")
        assert "2 follow-up plans are overdue." in plans
        assert "2 follow-up plans are due in the next 14 days." in plans
        shown = [name for name in ("逾期甲", "逾期乙", "今日丙", "两周丁") if name in plans]
        assert shown == ["逾期甲", "逾期乙", "今日丙", "两周丁"]
        assert [plans.index(name) for name in shown] == sorted(plans.index(name) for name in shown)
        assert "以后戊" not in plans and "已办己" not in plans
        assert "?status=open&amp;due=overdue&amp;mine=1" in plans
        assert "?status=open&amp;due=soon&amp;mine=1" in plans

    def test_the_plans_page_filters_by_due_date_and_assignee(self, cast, client_for):
        today = timezone.localdate()
        for owner, days, name in [
            (cast.rep, -2, "逾期甲"),
            (cast.rep, 5, "本周乙"),
            (cast.teammate, 3, "同事丙"),
            (cast.rep, 40, "以后丁"),
        ]:
            FollowUpPlanFactory(
                customer=CustomerFactory(owner=owner, team=cast.east, name=name),
                due_date=today + dt.timedelta(days=days),
                created_by=cast.manager,
            )

        def listed(user, **params):
            response = client_for(user).get(reverse("follow-up-plans"), params)
            assert response.status_code == 200
            return [plan.customer.name for plan in response.context["page"].object_list]

        assert listed(cast.manager, due="overdue") == ["逾期甲"]
        assert listed(cast.manager, due="soon") == ["同事丙", "本周乙"]
        assert listed(cast.manager, due="soon", assignee=cast.teammate.pk) == ["同事丙"]
        assert listed(cast.rep, due="soon", mine="1") == ["本周乙"]
        # Another team's rep's plans stay out of reach, whatever the filter says.
        assert listed(cast.outsider, assignee=cast.rep.pk) == []
        # Values the page does not know are ignored, not an error.
        assert len(listed(cast.manager, due="someday", assignee="x")) == 4

    def test_start_page_query_count_does_not_grow_with_plans_and_follow_ups(
        self, cast, client_for, django_assert_num_queries
    ):
        today = timezone.localdate()

        def add(count):
            for i in range(count):
                customer = CustomerFactory(owner=cast.rep, team=cast.east)
                FollowUpPlanFactory(
                    customer=customer,
                    due_date=today + dt.timedelta(days=i % 20 - 5),
                    created_by=cast.manager,
                )
                InteractionFactory(
                    customer=customer, next_follow_up=today + dt.timedelta(days=i % 9 - 3)
                )

        for user, queries in ((cast.rep, 18), (cast.manager, 22)):
            add(3)
            client = client_for(user)
            client.get(reverse("home"))
            # session, user; the user's permissions, group permissions and managed teams
            # (whom may they see?); capped count of customers; follow-ups: counts, the
            # first few; customers with overdue payments; open complaints; current run;
            # plans: counts per assignee, the overdue few, the few due soon; at-risk
            # block: nothing (no run yet, so no summary and no scores to read); contact
            # rhythm: settings, the overdue few (one query per value tier and part of the
            # book: own, each team; none: all contacted today), a manager's table per rep.
            with django_assert_num_queries(queries):
                client.get(reverse("home"))
            add(40)
            with django_assert_num_queries(queries):
                client.get(reverse("home"))


class TestExports:
    def test_csv_neutralises_formulas_and_shows_only_visible_customers(self, scored, client_for):
        scored.rep_customer.name = "=cmd|' /C calc'!A0"
        scored.rep_customer.save()
        response = client_for(scored.manager).get(reverse("churn-risk-export"))
        rows = list(
            csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
        )
        assert rows[0][:3] == ["customer_ref", "name", "owner"]
        names = [row[1] for row in rows[1:]]
        assert names == ["'=cmd|' /C calc'!A0", "杭州联华超市"]
        assert rows[1][-1] == "last order 95 days ago; usually every 30 days"

    def test_xlsx_neutralises_formulas_and_keeps_numbers(self, scored, client_for):
        scored.rep_customer.name = "=cmd"
        scored.rep_customer.save()
        response = client_for(scored.rep).get(reverse("churn-risk-export"), {"format": "xlsx"})
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == 2
        assert rows[1][1] == "'=cmd"
        assert rows[1][7] == 0.9 and rows[1][9] == 18000.0

    def test_outsider_exports_only_their_own(self, scored, client_for):
        response = client_for(scored.outsider).get(reverse("churn-risk-export"))
        content = b"".join(response.streaming_content).decode("utf-8-sig")
        assert "成都红旗连锁" in content and "上海锦江酒店" not in content

    def test_export_scores_gains_churn_columns_in_english(self, scored, capsys):
        from django.core.management import call_command

        call_command("export_scores", "--user", "rep")
        rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
        header = rows[0]
        churn = slice(header.index("churn_risk"), header.index("churn_risk") + 3)
        assert header[churn] == ["churn_risk", "value_at_risk", "churn_reasons"]
        assert rows[1][churn] == [
            "0.9",
            "18000.00",
            "last order 95 days ago; usually every 30 days",
        ]


def test_plan_list_query_count_does_not_grow_with_plans(
    cast, client_for, django_assert_num_queries
):
    for _ in range(30):
        FollowUpPlanFactory(
            customer=CustomerFactory(owner=cast.teammate, team=cast.east), created_by=cast.manager
        )
    client = client_for(cast.manager)
    client.get(reverse("follow-up-plans"))
    # session, user, the user's permissions and group permissions, is-manager check,
    # capped count, current run, overdue plans: count and the oldest few; the page's
    # plans (customer and assignee joined).
    with django_assert_num_queries(10):
        response = client.get(reverse("follow-up-plans"))
    assert len(response.context["page"].object_list) == 30


@pytest.mark.parametrize(
    ("model", "can_add"),
    [
        ("churnscore", False),
        ("churnepisode", False),
        ("followupplan", True),
        ("retentionsettings", True),
    ],
)
def test_admin_lists_scores_read_only_and_plans_editable(cast, client_for, model, can_add):
    ChurnScoreFactory(customer=cast.rep_customer)
    client = client_for(cast.admin)
    assert client.get(reverse(f"admin:retention_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:retention_{model}_add")).status_code == (
        200 if can_add else 403
    )


def test_admin_settings_page_shows_the_values_in_force_before_anyone_saves(cast, client_for):
    client = client_for(cast.admin)
    url = reverse("admin:retention_retentionsettings_changelist")
    response = client.get(url)
    content = response.content.decode()
    assert response.status_code == 200
    # The defaults, in the form where the empty list used to be; reading writes nothing.
    assert 'name="high_risk" value="0.6"' in content
    assert 'name="snapshots_kept" value="7"' in content
    assert 'name="horizon_days" value="180"' in content
    assert "_addanother" not in content
    assert not RetentionSettings.objects.exists()

    data = {
        "high_risk": "0.7",
        "medium_risk": "0.3",
        "lost_after_intervals": "2",
        "lost_after_days": "180",
        "horizon_days": "120",
        "snapshots_kept": "5",
    }
    # A horizon beyond a year is refused, and nothing is written.
    refused = client.post(url, {**data, "horizon_days": "400", "_save": "Save"})
    assert refused.status_code == 200
    assert "horizon_days" in refused.context["adminform"].form.errors
    assert not RetentionSettings.objects.exists()
    assert client.post(url, {**data, "_save": "Save"}).status_code == 302
    saved = RetentionSettings.objects.get()
    assert (saved.high_risk, saved.snapshots_kept, saved.horizon_days) == (0.7, 5, 120)

    # Once saved, the same page is that row's form; no second row, no delete.
    content = client.get(url).content.decode()
    assert 'name="high_risk" value="0.7"' in content
    assert "deletelink" not in content
    assert client.get(reverse("admin:retention_retentionsettings_add")).status_code == 403
    assert client.post(url, {**data, "snapshots_kept": "9", "_save": "Save"}).status_code == 302
    assert RetentionSettings.objects.get().snapshots_kept == 9
