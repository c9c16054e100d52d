"""Credit grades: the rule at its boundaries, locks, the audit trail and the pages."""

import datetime as dt
import io
import json
from decimal import Decimal

import pandas as pd
import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from customers.bulk import read_frame
from customers.credit import rule
from customers.credit.rule import read_payment_history, suggest_grades
from customers.credit.services import grade_set
from customers.models import CreditRules, Customer, Grade, GradeChange, PipelineRun
from customers.pipeline import pipeline_run
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory, UserFactory

AS_OF = dt.date(2026, 6, 30)
DUE = dt.date(2026, 5, 31)
RULES_VALUES = {
    "window_days": 365,
    "grace_days": 15,
    "c_late_count": 2,
    "d_overdue_days": 90,
    "d_silence_days": 60,
    "d_min_paid_percent": 10,
    "default_grade": "B",
}
RULES = CreditRules(**RULES_VALUES)


def history_row(**values):
    row = {
        "id": 1,
        "credit_grade": "",
        "suggested_grade": "",
        "grade_locked": False,
        "refuses_to_pay": False,
        "invoices": 1,
        "late_within_grace": 0,
        "late_beyond_grace": 0,
        "max_overdue_days": 0,
        "overdue_cents": 0,
        "overdue_paid_cents": 0,
    }
    row.update(values)
    return row


# An invoice past the D limit with ¥10,000.00 of it overdue before the payment period.
LONG_OVERDUE = {"max_overdue_days": 91}


def paid_in_period(paid_cents, debt_cents=1_000_000):
    return {
        **LONG_OVERDUE,
        "overdue_paid_cents": paid_cents,
        "overdue_cents": debt_cents - paid_cents,
    }


@pytest.mark.parametrize(
    ("values", "grade"),
    [
        ({}, "A"),
        ({"invoices": 0}, "B"),
        ({"late_within_grace": 3}, "B"),
        ({"late_beyond_grace": 1}, "B"),
        ({"late_beyond_grace": 2}, "C"),
        ({"max_overdue_days": 15, "overdue_cents": 100}, "B"),
        ({"max_overdue_days": 16, "overdue_cents": 100}, "C"),
        # At the D limit, not past it: C however little was paid.
        ({"max_overdue_days": 90, "overdue_cents": 1_000_000}, "C"),
        (paid_in_period(0), "D"),
        # ¥12,000 a year overdue, ¥10 a month: ¥20 of ¥12,000 in the 60 days (0.17 %).
        (paid_in_period(2_000, debt_cents=1_200_000), "D"),
        # A tenth of the overdue amount exactly: not less than 10 %.
        (paid_in_period(100_000), "C"),
        # One cent short of a tenth.
        (paid_in_period(99_999), "D"),
        (paid_in_period(300_000), "C"),
        ({"refuses_to_pay": True}, "D"),
        ({"refuses_to_pay": True, "invoices": 0}, "D"),
    ],
)
def test_rule_table(values, grade):
    frame = pd.DataFrame([history_row(**values)])
    assert list(suggest_grades(frame, RULES)) == [grade]


@pytest.mark.parametrize(
    ("percent", "paid_cents", "grade"),
    [
        # 0 %: overdue alone never makes a D.
        (0, 0, "C"),
        # 100 %: anything still overdue past the limit is D.
        (100, 999_999, "D"),
        (25, 249_999, "D"),
        (25, 250_000, "C"),
    ],
)
def test_the_share_paid_to_avoid_d_is_tunable(percent, paid_cents, grade):
    rules = CreditRules(**{**RULES_VALUES, "d_min_paid_percent": percent})
    frame = pd.DataFrame([history_row(**paid_in_period(paid_cents))])
    assert list(suggest_grades(frame, rules)) == [grade]


def test_rule_on_empty_input_is_empty():
    frame = pd.DataFrame([history_row()]).iloc[0:0]
    assert suggest_grades(frame, RULES).empty


@pytest.fixture
def rules(db):
    return CreditRules.current()


def invoice_paid(customer, *, days_late, due=DUE, amount=Decimal("100.00")):
    invoice = InvoiceFactory(
        customer=customer, issue_date=due - dt.timedelta(days=30), due_date=due, amount=amount
    )
    if days_late is not None:
        PaymentFactory(invoice=invoice, paid_date=due + dt.timedelta(days=days_late), amount=amount)
    return invoice


def suggested_for(customer, rules, as_of=AS_OF):
    frame = read_payment_history(as_of, rules)
    grades = suggest_grades(frame, rules)
    return dict(zip(frame["id"], grades, strict=True))[customer.pk]


@pytest.mark.django_db
class TestRuleOnRecordedPayments:
    def test_paid_on_the_due_date_is_on_time(self, rules):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=0)
        assert suggested_for(customer, rules) == "A"

    def test_one_day_late_is_b(self, rules):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=1)
        assert suggested_for(customer, rules) == "B"

    def test_paid_on_the_last_day_of_grace_is_b_and_the_day_after_counts_towards_c(self, rules):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=rules.grace_days)
        invoice_paid(customer, days_late=rules.grace_days + 1, due=DUE - dt.timedelta(days=40))
        assert suggested_for(customer, rules) == "B"
        invoice_paid(customer, days_late=rules.grace_days + 1, due=DUE - dt.timedelta(days=80))
        assert suggested_for(customer, rules) == "C"

    def test_overdue_now_beyond_grace_is_c(self, rules):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=None, due=AS_OF - dt.timedelta(days=rules.grace_days))
        assert suggested_for(customer, rules) == "B"
        assert suggested_for(customer, rules, AS_OF + dt.timedelta(days=1)) == "C"

    def test_due_today_and_unpaid_is_not_overdue(self, rules):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=None, due=AS_OF)
        assert suggested_for(customer, rules) == "A"

    def test_long_overdue_without_payments_is_d(self, rules):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=None, due=AS_OF - dt.timedelta(days=rules.d_overdue_days))
        assert suggested_for(customer, rules) == "C"
        assert suggested_for(customer, rules, AS_OF + dt.timedelta(days=1)) == "D"

    def test_token_payments_on_a_year_old_debt_do_not_keep_c(self, rules):
        customer = CustomerFactory()
        debt = invoice_paid(
            customer, days_late=None, due=AS_OF - dt.timedelta(days=365), amount=Decimal("12000")
        )
        for month in range(1, 13):
            PaymentFactory(
                invoice=debt,
                paid_date=debt.due_date + dt.timedelta(days=30 * month),
                amount=Decimal("10.00"),
            )
        assert suggested_for(customer, rules) == "D"

    def test_a_payment_of_a_new_invoice_on_time_does_not_count(self, rules):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=None, due=AS_OF - dt.timedelta(days=120))
        recent = invoice_paid(customer, days_late=None, due=AS_OF + dt.timedelta(days=20))
        PaymentFactory(invoice=recent, paid_date=AS_OF - dt.timedelta(days=5), amount=recent.amount)
        assert suggested_for(customer, rules) == "D"

    @pytest.mark.parametrize(
        ("paid", "days_ago", "grade"),
        [
            # A tenth of ¥10,000 on the first day of the 60-day period: exactly 10 %.
            ("1000.00", 60, "C"),
            # The same the day before the period: nothing paid in it.
            ("1000.00", 61, "D"),
            ("999.99", 5, "D"),
            ("3000.00", 5, "C"),
        ],
    )
    def test_the_share_of_the_overdue_amount_paid_in_the_period_decides_d(
        self, rules, paid, days_ago, grade
    ):
        customer = CustomerFactory()
        debt = invoice_paid(
            customer, days_late=None, due=AS_OF - dt.timedelta(days=120), amount=Decimal("10000")
        )
        PaymentFactory(
            invoice=debt, paid_date=AS_OF - dt.timedelta(days=days_ago), amount=Decimal(paid)
        )
        assert suggested_for(customer, rules) == grade

    def test_overdue_invoices_paid_off_in_the_period_count_as_paid(self, rules):
        customer = CustomerFactory()
        cleared = invoice_paid(
            customer, days_late=None, due=AS_OF - dt.timedelta(days=200), amount=Decimal("900")
        )
        PaymentFactory(
            invoice=cleared, paid_date=AS_OF - dt.timedelta(days=3), amount=cleared.amount
        )
        invoice_paid(
            customer, days_late=None, due=AS_OF - dt.timedelta(days=100), amount=Decimal("9100")
        )
        # ¥900 of ¥10,000 overdue came in (9 %): D; ¥1,000 of it (10 %) would have kept C.
        assert suggested_for(customer, rules) == "D"
        rules.d_min_paid_percent = 9
        assert suggested_for(customer, rules) == "C"

    def test_an_invoice_paid_in_parts_is_paid_to_the_cent(self, rules):
        customer = CustomerFactory()
        invoice = invoice_paid(customer, days_late=None, amount=Decimal("100.00"))
        for part in ("33.33", "33.33", "33.34"):
            PaymentFactory(invoice=invoice, paid_date=DUE, amount=Decimal(part))
        assert suggested_for(customer, rules) == "A"

    def test_a_payment_after_the_as_of_date_does_not_count(self, rules):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=40, due=AS_OF - dt.timedelta(days=20))
        assert suggested_for(customer, rules) == "C"

    def test_late_payments_outside_the_window_are_forgotten(self, rules):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=50, due=AS_OF - dt.timedelta(days=400))
        invoice_paid(customer, days_late=0)
        assert suggested_for(customer, rules) == "A"

    def test_customer_without_invoices_gets_the_default(self, rules):
        customer = CustomerFactory()
        rules.default_grade = "C"
        assert suggested_for(customer, rules) == "C"

    def test_marked_refusing_to_pay_is_d(self, rules):
        customer = CustomerFactory(refuses_to_pay=True)
        invoice_paid(customer, days_late=0)
        assert suggested_for(customer, rules) == "D"


@pytest.mark.django_db
class TestNightlyStep:
    def test_unlocked_grades_follow_the_rule_and_each_change_is_recorded(self):
        good, late = CustomerFactory(), CustomerFactory()
        invoice_paid(good, days_late=0)
        invoice_paid(late, days_late=None, due=AS_OF - dt.timedelta(days=30))
        run = pipeline_run(as_of=AS_OF)
        assert run.status == "succeeded", run.error
        good.refresh_from_db()
        late.refresh_from_db()
        assert (good.credit_grade, good.suggested_grade) == ("A", "A")
        assert late.credit_grade == "C"
        change = late.grade_changes.get()
        assert (change.old_grade, change.new_grade, change.source, change.run) == (
            "",
            "C",
            "rule",
            run,
        )
        assert change.changed_by is None

    def test_rule_never_overwrites_a_locked_grade_but_updates_the_suggestion(self, cast):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=None, due=AS_OF - dt.timedelta(days=30))
        grade_set(
            customer=customer,
            grade="A",
            locked=True,
            lock_reason="战略客户",
            reason="总经理批准",
            by=cast.admin,
        )
        pipeline_run(as_of=AS_OF)
        customer.refresh_from_db()
        assert (customer.credit_grade, customer.suggested_grade) == ("A", "C")
        assert customer.grade_changes.filter(source="rule").count() == 0

    def test_a_second_run_records_no_change_when_nothing_changed(self):
        customer = CustomerFactory()
        invoice_paid(customer, days_late=3)
        pipeline_run(as_of=AS_OF)
        pipeline_run(as_of=AS_OF)
        assert GradeChange.objects.filter(customer=customer).count() == 1

    def test_json_summary_reports_grade_counts_and_changes(self):
        invoice_paid(CustomerFactory(), days_late=0)
        invoice_paid(CustomerFactory(), days_late=1)
        out = io.StringIO()
        call_command("run_pipeline", "--as-of", AS_OF.isoformat(), "--json", stdout=out)
        steps = {step["name"]: step for step in json.loads(out.getvalue())["steps"]}
        summary = steps["credit_grades"]["summary"]
        assert summary["grades"] == {"A": 1, "B": 1, "C": 0, "D": 0}
        assert summary["grades_changed"] == 2

    def test_a_failing_later_step_leaves_grades_untouched(self, monkeypatch):
        from customers import pipeline

        customer = CustomerFactory()
        invoice_paid(customer, days_late=0)

        def broken(run):
            raise RuntimeError("disk full")

        monkeypatch.setitem(
            pipeline._steps, "broken", pipeline.Step("broken", broken, after=("credit_grades",))
        )
        run = pipeline_run(as_of=AS_OF)
        customer.refresh_from_db()
        assert run.status == "failed"
        assert customer.credit_grade == "" and not GradeChange.objects.exists()

    def test_an_admins_change_made_while_the_run_computes_wins(self, cast, monkeypatch):
        from customers import pipeline

        changed_meanwhile, graded = CustomerFactory(), CustomerFactory()
        invoice_paid(changed_meanwhile, days_late=None, due=AS_OF - dt.timedelta(days=30))
        invoice_paid(graded, days_late=None, due=AS_OF - dt.timedelta(days=30))

        def admin_changes_the_grade(run):
            grade_set(
                customer=changed_meanwhile, grade="A", locked=False, reason="已付清", by=cast.admin
            )
            return pipeline.StepResult(rows=1)

        monkeypatch.setitem(
            pipeline._steps,
            "admin meanwhile",
            pipeline.Step("admin meanwhile", admin_changes_the_grade, after=("credit_grades",)),
        )
        run = pipeline_run(as_of=AS_OF)

        assert run.status == "succeeded", run.error
        changed_meanwhile.refresh_from_db()
        graded.refresh_from_db()
        assert changed_meanwhile.credit_grade == "A"
        assert list(changed_meanwhile.grade_changes.values_list("source", "new_grade")) == [
            ("manual", "A")
        ]
        assert graded.credit_grade == "C"
        assert list(graded.grade_changes.values_list("source", "new_grade")) == [("rule", "C")]


@pytest.mark.django_db
class TestManualGrades:
    def test_manual_change_is_recorded_with_who_and_why(self, cast):
        customer = cast.rep_customer
        grade_set(customer=customer, grade="B", locked=False, reason="补签担保", by=cast.admin)
        change = customer.grade_changes.get()
        assert (change.new_grade, change.source, change.changed_by, change.reason) == (
            "B",
            "manual",
            cast.admin,
            "补签担保",
        )

    def test_lock_without_reason_and_unknown_grade_are_refused(self, cast):
        with pytest.raises(ValueError):
            grade_set(
                customer=cast.rep_customer,
                grade="A",
                locked=True,
                lock_reason=" ",
                reason="",
                by=cast.admin,
            )
        with pytest.raises(ValueError):
            grade_set(
                customer=cast.rep_customer, grade="E", locked=False, reason="x", by=cast.admin
            )
        assert not GradeChange.objects.exists()


def admin_change_data(customer, **changes):
    data = {
        "name": customer.name,
        "external_ref": customer.external_ref,
        "kind": customer.kind,
        "channel_role": customer.channel_role,
        "owner": customer.owner_id or "",
        "team": customer.team_id or "",
        "credit_grade": customer.credit_grade,
        "grade_lock_reason": "",
        "grade_change_reason": "",
    }
    for prefix in ("grade_changes", "contacts", "open_issues", "complaints", "documents"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    data.update(changes)
    return {key: value for key, value in data.items() if value is not False}


@pytest.mark.django_db
class TestAdmin:
    def url(self, customer):
        return reverse("admin:customers_customer_change", args=[customer.pk])

    def test_admin_locks_a_grade_and_the_history_shows_it(self, cast, client_for):
        customer = cast.rep_customer
        client = client_for(cast.admin)
        response = client.post(
            self.url(customer),
            admin_change_data(
                customer,
                credit_grade="A",
                grade_locked="on",
                grade_lock_reason="集团担保",
            ),
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        customer.refresh_from_db()
        assert (customer.credit_grade, customer.grade_locked) == ("A", True)
        change = customer.grade_changes.get()
        assert (change.changed_by, change.locked, change.source) == (cast.admin, True, "manual")
        assert "集团担保" in client.get(self.url(customer)).content.decode()
        rep_page = client_for(cast.rep).get(reverse("customer-detail", args=[customer.pk]))
        assert "集团担保" in rep_page.content.decode()

    def test_lock_without_a_reason_is_refused_with_a_message(self, cast, client_for):
        customer = cast.rep_customer
        response = client_for(cast.admin).post(
            self.url(customer),
            admin_change_data(
                customer,
                credit_grade="A",
                grade_locked="on",
            ),
        )
        assert response.status_code == 200
        assert "grade_lock_reason" in response.context["adminform"].form.errors
        assert not GradeChange.objects.exists()

    def test_changing_the_grade_needs_a_reason_and_a_known_grade(self, cast, client_for):
        customer = cast.rep_customer
        client = client_for(cast.admin)
        errors = (
            client.post(
                self.url(customer),
                admin_change_data(
                    customer,
                    credit_grade="B",
                ),
            )
            .context["adminform"]
            .form.errors
        )
        assert "grade_change_reason" in errors
        errors = (
            client.post(
                self.url(customer),
                admin_change_data(
                    customer,
                    credit_grade="E",
                    grade_change_reason="x",
                ),
            )
            .context["adminform"]
            .form.errors
        )
        assert "credit_grade" in errors

    def test_staff_without_the_permission_cannot_change_grades(self, cast, client_for):
        clerk = UserFactory(username="clerk", is_staff=True)
        clerk.user_permissions.add(
            *Permission.objects.filter(codename__in=["change_customer", "view_customer"])
        )
        customer = cast.rep_customer
        client_for(clerk).post(
            self.url(customer),
            admin_change_data(
                customer,
                credit_grade="D",
                grade_change_reason="x",
            ),
        )
        customer.refresh_from_db()
        assert customer.credit_grade == "" and not GradeChange.objects.exists()

    def test_sales_staff_cannot_open_the_admin(self, cast, client_for):
        response = client_for(cast.rep).get(self.url(cast.rep_customer))
        assert response.status_code == 302

    def test_bulk_action_sets_and_locks_grades(self, cast, client_for):
        customers = [cast.rep_customer, cast.teammate_customer]
        client = client_for(cast.admin)
        changelist = reverse("admin:customers_customer_changelist")
        data = {"action": "set_credit_grade", "_selected_action": [c.pk for c in customers]}
        assert client.post(changelist, data).status_code == 200
        response = client.post(
            changelist,
            {
                **data,
                "apply": "1",
                "credit_grade": "C",
                "grade_locked": "on",
                "grade_lock_reason": "",
                "reason": "年度复核",
            },
        )
        assert "grade_lock_reason" in response.context["form"].errors
        client.post(
            changelist,
            {
                **data,
                "apply": "1",
                "credit_grade": "C",
                "grade_locked": "on",
                "grade_lock_reason": "年度复核锁定",
                "reason": "年度复核",
            },
        )
        assert set(Customer.objects.filter(credit_grade="C", grade_locked=True)) == set(customers)
        assert GradeChange.objects.filter(source="manual", reason="年度复核").count() == 2

    def test_contradicting_thresholds_are_refused(self, cast, client_for):
        rules = CreditRules.current()
        url = reverse("admin:customers_creditrules_change", args=[rules.pk])
        response = client_for(cast.admin).post(
            url,
            {
                "window_days": 365,
                "grace_days": 120,
                "c_late_count": 2,
                "d_overdue_days": 90,
                "d_silence_days": 60,
                "d_min_paid_percent": 10,
                "default_grade": "B",
            },
        )
        assert "d_overdue_days" in response.context["adminform"].form.errors
        rules.refresh_from_db()
        assert rules.grace_days == 15

    def test_the_share_paid_to_avoid_d_is_a_percentage(self, cast, client_for):
        rules = CreditRules.current()
        url = reverse("admin:customers_creditrules_change", args=[rules.pk])
        client = client_for(cast.admin)
        data = {**RULES_VALUES, "d_min_paid_percent": 101}
        response = client.post(url, data)
        assert "Enter a percentage from 0 to 100." in response.content.decode()
        response = client.post(url, {**data, "d_min_paid_percent": 25})
        assert response.status_code == 302
        rules.refresh_from_db()
        assert rules.d_min_paid_percent == 25


@pytest.mark.django_db
class TestPages:
    def test_file_warns_when_outstanding_exceeds_the_credit_limit(self, cast, client_for):
        customer = cast.rep_customer
        grade_set(customer=customer, grade="C", locked=False, reason="复核", by=cast.admin)
        Customer.objects.filter(pk=customer.pk).update(outstanding_amount=Decimal("60000"))
        page = client_for(cast.rep).get(reverse("customer-detail", args=[customer.pk]))
        content = page.content.decode()
        assert "exceeds the credit limit of ¥50,000.00" in content
        assert "cash or short terms" in content

    def test_file_warns_about_new_unpaid_invoices_of_a_d_customer(self, cast, client_for):
        customer = cast.rep_customer
        grade_set(
            customer=customer,
            grade="D",
            locked=True,
            lock_reason="恶意拖欠",
            reason="恶意拖欠",
            by=cast.admin,
        )
        InvoiceFactory(
            customer=customer,
            issue_date=dt.date.today(),
            due_date=dt.date.today() + dt.timedelta(days=30),
        )
        page = client_for(cast.rep).get(reverse("customer-detail", args=[customer.pk]))
        assert "1 unpaid invoice issued to a D customer" in page.content.decode()

    def test_list_filters_and_sorts_by_grade(self, cast, client_for):
        graded = {"has_credit_history": True}
        Customer.objects.filter(pk=cast.rep_customer.pk).update(credit_grade="D", **graded)
        Customer.objects.filter(pk=cast.teammate_customer.pk).update(credit_grade="A", **graded)
        client = client_for(cast.manager)
        response = client.get(reverse("customer-list"), {"credit_grade": ["D"]})
        assert [c.name for c in response.context["page"]] == ["上海锦江酒店"]
        response = client.get(reverse("customer-list"), {"sort": "grade"})
        assert [c.name for c in response.context["page"]] == ["杭州联华超市", "上海锦江酒店"]

    def test_dashboard_shows_the_visible_grade_distribution_and_who_worsened(
        self, cast, client_for
    ):
        for customer in (cast.rep_customer, cast.teammate_customer, cast.outsider_customer):
            invoice_paid(customer, days_late=0)
        pipeline_run(as_of=AS_OF)
        invoice_paid(cast.rep_customer, days_late=None, due=AS_OF)
        later = AS_OF + dt.timedelta(days=30)
        run = pipeline_run(as_of=later)
        assert run == PipelineRun.objects.current()
        client = client_for(cast.manager)
        section = client.get(reverse("dashboard")).context["sections"][0]["context"]
        assert {row["grade"]: row["count"] for row in section["grades"]} == {
            "A": 1,
            "B": 0,
            "C": 1,
            "D": 0,
        }
        assert [change.customer for change in section["worsened"]] == [cast.rep_customer]
        rep_section = client_for(cast.rep).get(reverse("dashboard")).context["sections"][0]
        assert rep_section["context"]["total"] == 1


@pytest.mark.django_db
def test_export_scores_lists_only_what_the_user_may_see(cast, tmp_path):
    grade_set(
        customer=cast.rep_customer,
        grade="A",
        locked=True,
        lock_reason="x",
        reason="x",
        by=cast.admin,
    )
    out = io.StringIO()
    call_command("export_scores", "--user", "rep", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("customer_ref,credit_grade,suggested_grade,grade_locked")
    assert [line.split(",")[:4] for line in lines[1:]] == [
        [cast.rep_customer.external_ref, "A", "", "true"]
    ]
    target = tmp_path / "scores.xlsx"
    call_command("export_scores", "--format", "xlsx", "--output", str(target), stdout=out)
    from openpyxl import load_workbook

    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert len(rows) == 4


def test_one_grade_order_from_best_to_worst():
    assert Grade.ranks() == {"A": 0, "B": 1, "C": 2, "D": 3}
    assert Grade.or_worse(Grade.C) == ["C", "D"] and Grade.or_worse(Grade.A) == Grade.values
    assert Grade.is_worse("C", "B") and not Grade.is_worse("B", "C")
    assert not Grade.is_worse("B", "B") and not Grade.is_worse("D", "") and Grade.rank("") is None


@pytest.mark.django_db
def test_grade_rank_orders_and_compares_in_sql(cast):
    for customer, grade in zip(
        (cast.rep_customer, cast.teammate_customer, cast.outsider_customer), "DAC", strict=True
    ):
        Customer.objects.filter(pk=customer.pk).update(credit_grade=grade)
    ranked = Customer.objects.annotate(rank=Grade.rank_of("credit_grade")).order_by("rank")
    assert [c.credit_grade for c in ranked] == ["A", "C", "D"]
    assert [c.credit_grade for c in ranked.filter(rank__gte=Grade.rank("C"))] == ["C", "D"]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="read by binary COPY on PostgreSQL only"
)
@pytest.mark.django_db
def test_the_binary_read_gives_the_rows_the_text_read_gives(rules):
    graded = CustomerFactory(credit_grade="C", suggested_grade="D", grade_locked=True)
    refusing = CustomerFactory(refuses_to_pay=True, has_credit_history=True)
    CustomerFactory()
    invoice_paid(graded, days_late=40)
    invoice_paid(refusing, days_late=None, amount=Decimal("12345678.91"))
    params = {
        "as_of": AS_OF,
        "window_start": AS_OF - dt.timedelta(days=rules.window_days),
        "period_start": AS_OF - dt.timedelta(days=rules.d_silence_days),
        "grace": rules.grace_days,
    }
    text = read_frame(rule._grading_sql(), params)

    binary = read_payment_history(AS_OF, rules)

    assert list(binary.columns) == list(text.columns)
    text = text.astype({column: binary[column].dtype for column in binary.columns})
    pd.testing.assert_frame_equal(
        binary.sort_values("id", ignore_index=True), text.sort_values("id", ignore_index=True)
    )
    row = binary.set_index("id").loc[graded.pk]
    assert (row["credit_grade"], row["suggested_grade"], bool(row["grade_locked"])) == (
        "C",
        "D",
        True,
    )
    assert binary.set_index("id").loc[refusing.pk, "overdue_cents"] == 1234567891
