"""Customers without credit history (无往来记录): graded by the rule for want of invoices,
treated as the default grade, and shown as such on the dashboard, the file, the list, its
filter and the exports, in both languages."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from customers.credit.services import grade_set
from customers.models import CreditRules, Customer, GradeChange
from customers.pipeline import pipeline_run
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

AS_OF = dt.date(2025, 3, 31)


def invoice(customer, *, due, days_late=0, amount="100.00"):
    issued = InvoiceFactory(
        customer=customer,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        amount=Decimal(amount),
    )
    if days_late is not None:
        PaymentFactory(
            invoice=issued, paid_date=due + dt.timedelta(days=days_late), amount=issued.amount
        )
    return issued


@pytest.fixture
def graded(cast):
    """rep's customer paid late once (B on its record), the teammate's has no invoice (no
    credit history, treated as B), the outsider's paid on time (A)."""
    invoice(cast.rep_customer, due=AS_OF - dt.timedelta(days=20), days_late=3)
    invoice(cast.outsider_customer, due=AS_OF - dt.timedelta(days=20))
    run = pipeline_run(as_of=AS_OF)
    assert run.status == "succeeded", run.error
    for customer in (cast.rep_customer, cast.teammate_customer, cast.outsider_customer):
        customer.refresh_from_db()
    return cast


def lock_a(customer, *, by):
    grade_set(
        customer=customer, grade="A", locked=True, lock_reason="集团担保", reason="授信", by=by
    )


def step_summary(as_of=AS_OF):
    out = io.StringIO()
    call_command("run_pipeline", "--as-of", as_of.isoformat(), "--json", stdout=out)
    steps = {step["name"]: step for step in json.loads(out.getvalue())["steps"]}
    return steps["credit_grades"]["summary"]


@pytest.mark.django_db
class TestNightlyStep:
    def test_without_invoices_the_customer_is_treated_as_the_default_but_has_no_history(
        self, graded
    ):
        late, without = graded.rep_customer, graded.teammate_customer
        assert (late.credit_grade, late.has_credit_history, late.no_credit_history) == (
            "B",
            True,
            False,
        )
        assert (without.credit_grade, without.has_credit_history) == ("B", False)
        assert without.no_credit_history
        change = without.grade_changes.get()
        assert (change.old_grade, change.new_grade, change.new_no_history) == ("", "B", True)
        assert list(Customer.objects.without_credit_history()) == [without]

    def test_summary_counts_customers_without_history_apart_from_the_grades(self, cast):
        invoice(cast.rep_customer, due=AS_OF - dt.timedelta(days=20), days_late=3)
        summary = step_summary()
        assert summary["grades"] == {"A": 0, "B": 1, "C": 0, "D": 0}
        assert summary["without_credit_history"] == 2
        assert summary["suggested"] == {"A": 0, "B": 1, "C": 0, "D": 0}
        assert summary["customers_graded"] == 3

    def test_the_grade_they_are_treated_as_is_the_admin_setting(self, cast):
        CreditRules.objects.update(default_grade="C")
        pipeline_run(as_of=AS_OF)
        customer = Customer.objects.get(pk=cast.rep_customer.pk)
        assert (customer.credit_grade, customer.no_credit_history) == ("C", True)

    def test_refusing_to_pay_is_a_credit_record_even_without_invoices(self, cast):
        Customer.objects.filter(pk=cast.rep_customer.pk).update(refuses_to_pay=True)
        pipeline_run(as_of=AS_OF)
        customer = Customer.objects.get(pk=cast.rep_customer.pk)
        assert (customer.credit_grade, customer.no_credit_history) == ("D", False)

    def test_moves_into_and_out_of_no_history_are_recorded_and_are_not_worsening(self, graded):
        customer = graded.outsider_customer  # A, its only invoice due 20 days before AS_OF
        # A year later the invoice has left the window: no credit history, treated as B.
        later = AS_OF + dt.timedelta(days=400)
        summary = step_summary(later)
        assert summary["grades_worsened"] == 0
        change = customer.grade_changes.order_by("-id").first()
        assert (change.old_grade, change.old_no_history) == ("A", False)
        assert (change.new_grade, change.new_no_history) == ("B", True)
        assert not change.is_worse
        # A new invoice paid late: B on its record; the letter stays, the change is kept.
        invoice(customer, due=later - dt.timedelta(days=10), days_late=2)
        summary = step_summary(later)
        change = customer.grade_changes.order_by("-id").first()
        assert (change.old_grade, change.old_no_history) == ("B", True)
        assert (change.new_grade, change.new_no_history) == ("B", False)
        assert summary["grades_changed"] == 1
        customer.refresh_from_db()
        assert customer.has_credit_history and not customer.no_credit_history

    def test_a_second_run_rewrites_and_records_nothing(self, graded):
        changes = GradeChange.objects.count()
        summary = step_summary()
        assert summary["grades_changed"] == 0 and GradeChange.objects.count() == changes


@pytest.mark.django_db
class TestManualGrades:
    def test_a_locked_grade_is_the_admins_assessment_and_shown_as_that_grade(
        self, graded, client_for
    ):
        customer = graded.teammate_customer
        lock_a(customer, by=graded.admin)
        change = customer.grade_changes.order_by("-id").first()
        assert (change.old_no_history, change.new_no_history) == (True, False)
        assert not customer.no_credit_history
        pipeline_run(as_of=AS_OF)
        customer.refresh_from_db()
        assert (customer.credit_grade, customer.has_credit_history) == ("A", False)
        page = client_for(graded.manager).get(reverse("customer-detail", args=[customer.pk]))
        content = page.content.decode()
        assert 'id="credit-assessed"' in content and "administrator's assessment" in content
        assert "finds no credit history and would treat the customer as B" in content
        assert 'id="credit-no-history"' not in content

    def test_an_unlocked_grade_is_what_they_are_treated_as_until_the_next_run(self, graded):
        customer = graded.teammate_customer
        grade_set(customer=customer, grade="C", locked=False, reason="试用期", by=graded.admin)
        change = customer.grade_changes.order_by("-id").first()
        assert (change.old_no_history, change.new_no_history) == (True, True)
        assert customer.no_credit_history and customer.credit_grade == "C"
        pipeline_run(as_of=AS_OF)
        customer.refresh_from_db()
        assert (customer.credit_grade, customer.no_credit_history) == ("B", True)


def dashboard_credit(client):
    response = client.get(reverse("dashboard"))
    section = next(
        item["context"] for item in response.context["sections"] if item["section"].key == "credit"
    )
    return section, response.content.decode()


@pytest.mark.django_db
class TestDashboard:
    def test_no_credit_history_is_a_row_of_its_own_not_counted_as_b(self, graded, client_for):
        section, page = dashboard_credit(client_for(graded.admin))
        assert {row["grade"]: row["count"] for row in section["grades"]} == {
            "A": 1,
            "B": 1,
            "C": 0,
            "D": 0,
        }
        assert section["without_history"]["count"] == 1
        assert section["treated_as"] == [("B", 1)]
        assert 'href="/customers/?credit_grade=none"' in page
        assert "No credit history" in page and "treated as B" in page

    def test_the_row_counts_only_visible_customers(self, graded, client_for):
        section, _page = dashboard_credit(client_for(graded.rep))
        assert section["without_history"]["count"] == 0
        assert section["total"] == 1
        section, _page = dashboard_credit(client_for(graded.manager))
        assert section["without_history"]["count"] == 1

    def test_a_customer_whose_invoices_left_the_window_did_not_worsen(self, graded, client_for):
        pipeline_run(as_of=AS_OF + dt.timedelta(days=400))
        section, _page = dashboard_credit(client_for(graded.admin))
        assert section["worsened"] == []
        assert section["without_history"]["count"] == 3

    @override_settings(LANGUAGE_CODE="zh-hans")
    def test_in_chinese(self, graded, client_for):
        _section, page = dashboard_credit(client_for(graded.admin))
        assert "无往来记录" in page and "按 B 级对待" in page

    def test_takes_three_queries(self, graded, django_assert_num_queries):
        from customers.credit.selectors import grade_distribution

        # customers per grade and history, the current run, the worsened grades.
        with django_assert_num_queries(3):
            grade_distribution(graded.admin)


@pytest.mark.django_db
class TestFileAndList:
    def test_file_shows_no_credit_history_and_the_grade_treated_as(self, graded, client_for):
        customer = graded.teammate_customer
        page = client_for(graded.teammate).get(reverse("customer-detail", args=[customer.pk]))
        content = page.content.decode()
        assert 'id="credit-no-history"' in content
        assert "No credit history (treated as B)" in content
        assert "B · late but repays" not in content
        # The policy of the grade they are treated as applies.
        assert "Consolidate" in content
        assert "No history (as B)" in content  # the history entry

    @override_settings(LANGUAGE_CODE="zh-hans")
    def test_file_in_chinese(self, graded, client_for):
        customer = graded.teammate_customer
        page = client_for(graded.teammate).get(reverse("customer-detail", args=[customer.pk]))
        content = page.content.decode()
        assert "无往来记录（按 B 级对待）" in content
        assert "曾拖欠但能还款" not in content

    def test_list_filter_separates_no_history_from_b(self, graded, client_for):
        client = client_for(graded.manager)
        url = reverse("customer-list")

        def names(params):
            return [c.name for c in client.get(url, params).context["page"]]

        assert names({"credit_grade": "none"}) == ["杭州联华超市"]
        assert names({"credit_grade": "B"}) == ["上海锦江酒店"]
        assert names({"credit_grade": ["B", "none"]}) == ["上海锦江酒店", "杭州联华超市"]
        page = client.get(url).content.decode()
        assert 'value="none"' in page and "No credit history" in page
        assert "No history (as B)" in page

    def test_the_outsider_never_sees_anothers_customer_without_history(self, graded, client_for):
        response = client_for(graded.outsider).get(
            reverse("customer-list"), {"credit_grade": "none"}
        )
        assert list(response.context["page"]) == []

    def test_a_locked_grade_is_listed_under_its_letter(self, graded, client_for):
        lock_a(graded.teammate_customer, by=graded.admin)
        client = client_for(graded.manager)
        listed = client.get(reverse("customer-list"), {"credit_grade": "A"}).context["page"]
        assert [c.name for c in listed] == ["杭州联华超市"]

    @override_settings(LANGUAGE_CODE="zh-hans")
    def test_list_in_chinese(self, graded, client_for):
        page = client_for(graded.manager).get(reverse("customer-list")).content.decode()
        assert "无往来记录（按B）" in page

    def test_list_query_count_holds_with_the_filter(
        self, graded, client_for, django_assert_num_queries
    ):
        CustomerFactory.create_batch(30, owner=graded.rep, team=graded.east, credit_grade="B")
        client = client_for(graded.manager)
        client.get(reverse("customer-list"), {"credit_grade": "none"})
        # session, user, the user's permissions and group permissions, capped count,
        # current run, is-manager check, owner choices, team choices, tag choices,
        # the page's customers, their tags.
        with django_assert_num_queries(12):
            response = client.get(reverse("customer-list"), {"credit_grade": "none"})
        assert len(response.context["page"].object_list) == 31

    def test_churn_list_filter_knows_no_credit_history(self, graded, client_for):
        from retention.filters import ChurnFilter
        from retention.models import ChurnScore

        filtered = ChurnFilter(
            {"credit_grade": ["none"]}, ChurnScore.objects.all(), user=graded.admin
        )
        assert "customer" in str(filtered.qs.query).lower() and filtered.is_valid()


@pytest.mark.django_db
class TestExports:
    def test_customer_export_has_the_grade_and_whether_it_rests_on_invoices(
        self, graded, client_for
    ):
        response = client_for(graded.manager).get(reverse("customer-export"))
        lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
        header = lines[0].split(",")
        assert header[-2:] == ["credit_grade", "credit_history"]
        rows = {line.split(",")[1]: line.split(",")[-2:] for line in lines[1:]}
        assert rows == {"上海锦江酒店": ["B", "true"], "杭州联华超市": ["B", "false"]}

    def test_export_scores_has_a_credit_history_column_at_the_end(self, graded):
        CustomerFactory(name="新建未评级")
        out = io.StringIO()
        call_command("export_scores", stdout=out)
        lines = out.getvalue().splitlines()
        header = lines[0].split(",")
        assert header[:4] == ["customer_ref", "credit_grade", "suggested_grade", "grade_locked"]
        assert header[-1] == "credit_history"
        rows = {line.split(",")[0]: line.split(",") for line in lines[1:]}
        refs = {c.pk: c.external_ref for c in Customer.objects.all()}

        def credit(customer_ref):
            row = rows[customer_ref]
            return [*row[1:4], row[-1]]

        assert credit(refs[graded.teammate_customer.pk]) == ["B", "B", "false", "false"]
        assert credit(refs[graded.rep_customer.pk]) == ["B", "B", "false", "true"]
        ungraded = Customer.objects.get(name="新建未评级")
        assert credit(ungraded.external_ref) == ["", "", "false", ""]


@pytest.mark.django_db
def test_churn_signals_ignore_a_grade_given_for_want_of_history(cast):
    from retention import reading

    CreditRules.objects.update(default_grade="C")
    pipeline_run(as_of=AS_OF)
    frame = reading.read_grades(AS_OF)
    assert cast.rep_customer.pk not in set(frame["customer_id"])
