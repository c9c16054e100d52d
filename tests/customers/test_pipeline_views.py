"""The nightly runs pages and the run_pipeline command."""

import datetime as dt
import json
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, GradeChange, PipelineRun
from customers.pipeline import (
    describe_summary,
    pipeline_execute,
    pipeline_run,
    pipeline_start,
    register_step,
)
from customers.views.pipeline import format_duration
from retention.models import ChurnEpisode
from tests.factories import CustomerFactory, InvoiceFactory, UserFactory

RUNS = reverse("pipeline-runs")


def detail_url(run):
    return reverse("pipeline-run-detail", args=[run.pk])


def grant_run_permission(user):
    user.user_permissions.add(Permission.objects.get(codename="run_pipeline"))
    return user


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
@pytest.mark.parametrize("who", ["manager", "admin"])
def test_granted_manager_and_admin_start_a_run_that_completes_in_eager_mode(
    cast, client_for, who, django_capture_on_commit_callbacks
):
    InvoiceFactory(customer=cast.rep_customer, due_date=dt.date(2026, 1, 31))
    grant_run_permission(cast.manager)
    client = client_for(getattr(cast, who))

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(RUNS, {"as_of": "2026-02-01"})

    run = PipelineRun.objects.get()
    assert response.status_code == 302
    assert response.url == detail_url(run)
    assert len(queued) == 1
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert run.as_of == dt.date(2026, 2, 1)
    assert run.triggered_by == getattr(cast, who)
    cast.rep_customer.refresh_from_db()
    assert cast.rep_customer.overdue_amount == 1000

    page = client.get(response.url)
    assert "The run as of 2026-02-01 has started." in page.text
    assert "Succeeded" in page.text
    assert "receivables" in page.text


@pytest.mark.django_db
def test_empty_date_starts_a_run_as_of_today(cast, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        client_for(cast.admin).post(RUNS, {"as_of": ""})

    assert PipelineRun.objects.get().as_of == timezone.localdate()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["rep", "outsider"])
def test_sales_rep_gets_403_and_cannot_start_a_run(
    cast, client_for, who, django_capture_on_commit_callbacks
):
    run = pipeline_run(as_of=dt.date(2026, 2, 1))
    client = client_for(getattr(cast, who))

    with django_capture_on_commit_callbacks() as queued:
        posted = client.post(RUNS, {"as_of": "2026-02-01"})

    assert posted.status_code == 403
    assert client.get(RUNS).status_code == 403
    assert client.get(detail_url(run)).status_code == 403
    assert queued == []
    assert PipelineRun.objects.count() == 1


@pytest.mark.django_db
def test_admin_sees_the_start_form(cast, client_for):
    response = client_for(cast.admin).get(RUNS)

    assert response.status_code == 200
    assert 'id="pipeline-start"' in response.text
    assert "csrfmiddlewaretoken" in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2999-01-01", "The date cannot be in the future"),
        ("2026-02-30", "Enter the date as YYYY-MM-DD"),
        ("yesterday", "Enter the date as YYYY-MM-DD"),
    ],
)
def test_future_or_malformed_date_is_shown_again_with_an_error(
    cast, client_for, as_of, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = client_for(cast.admin).post(RUNS, {"as_of": as_of})

    assert response.status_code == 200
    assert message in response.text
    assert queued == []
    assert not PipelineRun.objects.exists()


@pytest.mark.django_db
def test_tomorrow_is_in_the_future(cast, client_for):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    response = client_for(cast.admin).post(RUNS, {"as_of": tomorrow.isoformat()})

    assert "The date cannot be in the future" in response.text
    assert not PipelineRun.objects.exists()


@pytest.mark.django_db
def test_second_start_while_one_is_running_shows_an_error_and_creates_nothing(
    cast, client_for, django_capture_on_commit_callbacks
):
    running = pipeline_start(as_of=dt.date(2026, 2, 1))

    with django_capture_on_commit_callbacks() as queued:
        response = client_for(cast.admin).post(RUNS, {"as_of": "2026-02-01"})

    assert response.status_code == 200
    assert "Another run is still running" in response.text
    assert queued == []
    assert list(PipelineRun.objects.all()) == [running]


@pytest.mark.django_db
def test_run_detail_shows_steps_and_the_full_error(cast, client_for):
    run = PipelineRun.objects.create(
        as_of=dt.date(2026, 2, 1),
        status=PipelineRun.Status.FAILED,
        finished_at=timezone.now(),
        steps=[
            {"name": "receivables", "rows": 12, "seconds": 0.25, "summary": {"total": "9.00"}},
            {"name": "grades", "rows": 4, "seconds": 0.5, "summary": {"grades": {"A": 3, "B": 1}}},
        ],
        error="ValueError: grades broke\n\nTraceback (most recent call last):\n  line 42",
    )

    response = client_for(cast.admin).get(detail_url(run))

    assert response.status_code == 200
    assert "receivables" in response.text
    assert "total" in response.text and "9.00" in response.text
    assert "A 3, B 1" in response.text
    assert "Traceback (most recent call last):\n  line 42" in response.text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0.0 s"), (4.24, "4.2 s"), (59.94, "59.9 s"), (60, "0:01:00"), (3723.4, "1:02:03")],
)
def test_durations_read_in_seconds_then_hours_minutes_seconds(seconds, shown):
    assert format_duration(seconds) == shown


@pytest.mark.django_db
def test_unknown_run_is_404(cast, client_for):
    assert client_for(cast.manager).get("/pipeline/999999/").status_code == 404


@pytest.mark.django_db
def test_data_as_of_names_the_current_run(cast, client_for):
    client = client_for(cast.manager)
    assert "No complete run yet" in client.get(RUNS).text

    pipeline_run(as_of=dt.date(2026, 2, 1))

    assert "Data as of 2026-02-01, finished" in client.get(RUNS).text


@pytest.mark.django_db
def test_run_list_query_count_does_not_grow_with_runs(cast, client_for, django_assert_num_queries):
    starters = [UserFactory(), UserFactory(), None]
    PipelineRun.objects.bulk_create(
        PipelineRun(
            as_of=dt.date(2026, 1, 1) + dt.timedelta(days=day),
            status=PipelineRun.Status.SUCCEEDED if day % 4 else PipelineRun.Status.FAILED,
            finished_at=timezone.now(),
            published_at=timezone.now() if day % 4 else None,
            steps=[{"name": "receivables", "rows": day, "seconds": 0.5, "summary": {}}],
            error="" if day % 4 else "ValueError: broke\nTraceback",
            triggered_by=starters[day % 3],
        )
        for day in range(30)
    )
    client = client_for(cast.manager)

    for page in (1, 2):
        # 1 session, 2 user, 3-4 the user's own and group permissions (may they see
        # all customers?), 5 their managed teams (are they a manager?), 6 count of runs
        # (capped), 7 the page of runs with who started them, 8 the current run.
        with django_assert_num_queries(8):
            response = client.get(RUNS, {"page": page})
        assert response.status_code == 200
    assert len(re.findall(r'href="/pipeline/\d+/"', response.text)) == 10


@pytest.mark.django_db
def test_run_pipeline_command_json_lists_the_steps():
    InvoiceFactory(customer=CustomerFactory(), due_date=dt.date(2026, 1, 31))
    out = StringIO()

    call_command("run_pipeline", "--as-of", "2026-02-01", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert report["status"] == "succeeded"
    assert report["as_of"] == "2026-02-01"
    assert report["run_id"] == PipelineRun.objects.get().pk
    assert report["error"] == ""
    receivables = report["steps"][0]
    assert receivables["name"] == "receivables"
    assert receivables["rows"] == 1
    assert receivables["summary"]["total_overdue"] == "1000.00"
    # When it started, in seconds from the first step's start.
    assert set(receivables) == {"name", "rows", "seconds", "started", "summary"}
    assert report["order"] == [
        "receivables",
        "credit_grades",
        "purchases",
        "rfm",
        "lifecycle",
        "loyalty",
        "churn",
    ]


@pytest.mark.django_db
def test_run_pipeline_command_prints_each_step_and_the_status():
    out = StringIO()

    call_command("run_pipeline", "--as-of", "2026-02-01", stdout=out)

    assert "receivables: 0 rows" in out.getvalue()
    assert "Succeeded" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.usefixtures("steps")
def test_run_pipeline_command_fails_when_the_run_fails():
    def breaks(run):
        raise ValueError("grades broke")

    register_step("grades", breaks)
    out = StringIO()

    with pytest.raises(CommandError, match="failed"):
        call_command("run_pipeline", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert report["status"] == "failed"
    assert report["error"].startswith("ValueError: grades broke")


@pytest.mark.django_db
def test_run_pipeline_command_refuses_while_a_run_is_running():
    pipeline_start(as_of=dt.date(2026, 2, 1))
    out = StringIO()

    with pytest.raises(CommandError, match="still running") as raised:
        call_command("run_pipeline", "--json", stdout=out)

    assert raised.value.returncode == 2
    assert json.loads(out.getvalue())["status"] == "not_started"
    assert PipelineRun.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_of", "message"), [("2026-02-30", "YYYY-MM-DD"), ("2999-01-01", "in the future")]
)
def test_run_pipeline_command_rejects_a_bad_date(as_of, message):
    with pytest.raises(CommandError, match=message):
        call_command("run_pipeline", "--as-of", as_of)

    assert not PipelineRun.objects.exists()


def test_run_pages_name_each_step_in_words(cast, client_for):
    from customers.pipeline import pipeline_run

    run = pipeline_run(as_of=dt.date(2026, 1, 31))
    content = client_for(cast.manager).get(reverse("pipeline-run-detail", args=[run.pk]))
    assert "Credit grades" in content.content.decode()


# Who may start runs, and who sees what runs add up to.


@pytest.mark.django_db
def test_manager_without_the_permission_follows_runs_but_cannot_start_one(
    cast, client_for, django_capture_on_commit_callbacks
):
    pipeline_run(as_of=dt.date(2026, 2, 1))
    client = client_for(cast.manager)

    page = client.get(RUNS)
    with django_capture_on_commit_callbacks() as queued:
        posted = client.post(RUNS, {"as_of": "2026-02-01"})

    assert page.status_code == 200
    assert 'id="pipeline-start"' not in page.text
    assert "needs the permission to start runs" in page.text
    assert "Data as of 2026-02-01" in page.text
    assert posted.status_code == 403
    assert queued == []
    assert PipelineRun.objects.count() == 1


@pytest.mark.django_db
def test_run_pages_show_company_totals_in_words_only_to_who_sees_every_customer(cast, client_for):
    InvoiceFactory(customer=cast.outsider_customer, due_date=dt.date(2026, 1, 31))
    run = pipeline_run(as_of=dt.date(2026, 2, 1))

    for_admin = client_for(cast.admin).get(detail_url(run)).text
    listed_for_admin = client_for(cast.admin).get(RUNS).text
    for_manager = client_for(cast.manager).get(detail_url(run)).text
    listed_for_manager = client_for(cast.manager).get(RUNS).text

    assert "outstanding in total</span> ¥1,000.00" in for_admin
    # One customer with an invoice is graded; the two without are shown apart.
    assert "grades after the run</span> A 0, B 1, C 0, D 0" in for_admin
    assert "customers without credit history</span> 2" in for_admin
    assert "customers_changed" not in for_admin and "{&#x27;" not in for_admin
    assert "Rows per step" in listed_for_admin
    # The manager sees the run, its steps and timings, not what they add up to.
    assert "Succeeded" in for_manager and "Credit grades" in for_manager
    assert "1,000.00" not in for_manager and "outstanding in total" not in for_manager
    assert "shown to those who see every customer" in for_manager
    assert "Rows per step" not in listed_for_manager


def test_step_summaries_read_in_words_and_fall_back_for_unknown_keys():
    described = describe_summary(
        "receivables", {"customers_changed": 1234, "total_overdue": "98765.4", "legacy_key": 3}
    )
    segments = describe_summary("rfm", {"segments": {"champions": 3, "gone": 1}})

    assert described == [
        ("customers whose balances changed", "1,234"),
        ("overdue in total", "¥98,765.40"),
        ("legacy key", "3"),
    ]
    assert segments == [("segments", "Champions 3, gone 1")]
    assert describe_summary("removed step", {"grades": {"A": 3}}) == [("grades", "A 3")]
    # A value of another shape than the step writes today reads as recorded.
    assert describe_summary("receivables", {"total_overdue": {"A": 1}}) == [
        ("overdue in total", "A 1")
    ]
    # The frame's pruning count reads in words for every step, whether it describes it or not.
    assert describe_summary("lifecycle", {"snapshots_pruned": 2}) == [
        ("old snapshots deleted", "2")
    ]


# Back-dated runs are kept aside: nothing anyone sees changes.


def pages_and_values(client, customer):
    """What the back-dated run must not change: the pages (without their CSRF tokens),
    every customer's values, the grade history, the churn episodes and the export."""
    out = StringIO()
    call_command("export_scores", "--format", "csv", stdout=out)
    pages = {
        path: re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", client.get(path).text)
        for path in (
            "/",
            "/dashboard/",
            "/customers/",
            f"/customers/{customer.pk}/",
            "/retention/risk/",
        )
    }
    return {
        "pages": pages,
        "customers": list(Customer.objects.order_by("pk").values()),
        "grade_history": list(GradeChange.objects.order_by("pk").values()),
        "episodes": list(ChurnEpisode.objects.order_by("pk").values()),
        "export": out.getvalue(),
        "current": PipelineRun.objects.current(),
    }


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_back_dated_run_from_the_site_is_kept_aside_and_changes_nothing(
    client_for, django_capture_on_commit_callbacks
):
    call_command("seed_demo", "--customers", "40", "--seed", "5", stdout=StringIO())
    admin = get_user_model().objects.get(username="admin")
    client = client_for(admin)
    customer = Customer.objects.filter(orders__isnull=False).first()
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(RUNS, {"as_of": ""})
    assert PipelineRun.objects.current().pk == int(first.url.rstrip("/").split("/")[-1])
    client.get(first.url)  # shows, and so clears, the "has started" message
    before = pages_and_values(client, customer)
    back = timezone.localdate() - dt.timedelta(days=150)

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(RUNS, {"as_of": back.isoformat()})
    page = client.get(started.url).text

    run = PipelineRun.objects.get(as_of=back)
    assert run.status == PipelineRun.Status.KEPT_ASIDE
    assert run.kept_aside_behind == timezone.localdate()
    assert f"It is dated before the published data (as of {timezone.localdate()})" in page
    assert "Kept aside (back-dated)" in page
    assert "never became current and changed none of them" in page
    # Its own figures, as of the earlier date, are there to compare.
    assert "customers scored" in page
    after = pages_and_values(client, customer)
    for path, html in before["pages"].items():
        assert after["pages"][path] == html, path
    assert after == before
    listed = client.get(RUNS).text
    assert "Dated before the published data" in listed


@pytest.mark.django_db
def test_run_pipeline_command_keeps_a_back_dated_run_aside_and_says_so():
    pipeline_run(as_of=dt.date(2026, 2, 1))
    out, text = StringIO(), StringIO()

    call_command("run_pipeline", "--as-of", "2026-01-01", "--json", stdout=out)
    call_command("run_pipeline", "--as-of", "2026-01-02", stdout=text)

    report = json.loads(out.getvalue())
    assert report["status"] == "kept_aside"
    assert report["published"] is False
    assert report["kept_aside_behind"] == "2026-02-01"
    assert report["order"] == [
        "receivables",
        "credit_grades",
        "purchases",
        "rfm",
        "lifecycle",
        "loyalty",
        "churn",
    ]
    assert "Kept aside: 2026-01-02 is before the published run's date (2026-02-01)" in (
        text.getvalue()
    )
    assert PipelineRun.objects.current().as_of == dt.date(2026, 2, 1)


# The task queue unreachable.


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("queued_tasks")
def test_broker_unreachable_says_so_at_once_in_one_message_and_closes_the_run(
    cast, client_for, monkeypatch
):
    # The real send, to a port where nothing listens.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    client = client_for(cast.admin)

    response = client.post(RUNS, {"as_of": "2026-02-01"}, follow=True)

    run = PipelineRun.objects.get()
    page = response.text
    assert run.status == PipelineRun.Status.FAILED
    assert run.closed_because == PipelineRun.Closure.NOT_SENT
    assert run.error.startswith("Not started: the task queue could not be reached")
    assert "Error 111" in run.error or "refused" in run.error
    assert page.count("Not started: the task queue could not be reached") == 2  # message, run
    assert "alert-danger" in page or "alert-error" in page
    assert "has started" not in page and "restarted" not in page
    # Nothing holds the lock: once the queue is back, a run starts.
    assert pipeline_start(as_of=dt.date(2026, 2, 1)).status == PipelineRun.Status.RUNNING


# Closing a run whose worker is gone.


@pytest.mark.django_db
def test_admin_closes_a_stuck_run_after_confirming(cast, client_for):
    stuck = pipeline_start(as_of=dt.date(2026, 2, 1))
    client = client_for(cast.admin)

    detail = client.get(detail_url(stuck)).text
    confirm = client.get(close_url(stuck))
    closed = client.post(close_url(stuck), follow=True)

    assert 'id="run-close-link"' in detail
    assert confirm.status_code == 200 and 'id="run-close-form"' in confirm.text
    stuck.refresh_from_db()
    assert stuck.status == PipelineRun.Status.FAILED
    assert stuck.closed_because == PipelineRun.Closure.BY_HAND
    assert stuck.closed_by == cast.admin
    assert f"Run #{stuck.pk} was closed as failed" in closed.text
    assert "Closed by admin at" in closed.text
    assert pipeline_start(as_of=dt.date(2026, 2, 1)).status == PipelineRun.Status.RUNNING


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager", "rep", "outsider"])
def test_only_who_may_start_runs_may_close_one(cast, client_for, who):
    stuck = pipeline_start(as_of=dt.date(2026, 2, 1))
    client = client_for(getattr(cast, who))

    assert client.get(close_url(stuck)).status_code == 403
    assert client.post(close_url(stuck)).status_code == 403
    stuck.refresh_from_db()
    assert stuck.status == PipelineRun.Status.RUNNING


@pytest.mark.django_db
def test_closing_needs_a_csrf_token_a_running_run_and_an_existing_one(cast):
    stuck = pipeline_start(as_of=dt.date(2026, 2, 1))
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.admin)

    assert client.post(close_url(stuck)).status_code == 403
    assert client.get("/pipeline/999999/close/").status_code == 404
    stuck.refresh_from_db()
    assert stuck.status == PipelineRun.Status.RUNNING
    pipeline_execute(stuck)
    finished = client.get(close_url(stuck), follow=True)
    assert "This run is no longer running; there is nothing to close." in finished.text


def close_url(run):
    return reverse("pipeline-run-close", args=[run.pk])


@pytest.mark.django_db
def test_run_page_reads_in_chinese_with_numbers_formatted_for_the_language(
    cast, client_for, settings
):
    settings.LANGUAGE_CODE = "zh-hans"
    InvoiceFactory(customer=cast.outsider_customer, due_date=dt.date(2026, 1, 31))
    current = pipeline_run(as_of=dt.date(2026, 2, 1))
    back = pipeline_run(as_of=dt.date(2026, 1, 1))

    page = client_for(cast.admin).get(detail_url(current)).text
    kept_aside = client_for(cast.admin).get(detail_url(back)).text

    assert "应收余额合计</span> ¥1000.00" in page
    assert "计算后的等级分布</span> A 0, B 1, C 0, D 0" in page
    assert "已搁置（日期早于当前数据）" in kept_aside
    assert "早于已发布的数据（截至 2026-02-01）" in kept_aside
