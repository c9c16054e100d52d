"""The pipeline frame and its tasks: order, all-or-nothing publishing, no overlap."""

import datetime as dt
import threading
import time

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from customers import tasks
from customers.models import Customer, PipelineRun
from customers.pipeline import (
    ABANDONED_AFTER,
    PipelineAlreadyRunning,
    StepResult,
    check_steps,
    close_stale_runs,
    pipeline_close,
    pipeline_execute,
    pipeline_run,
    pipeline_start,
    register_step,
    registered_steps,
    steps_execute,
)
from tests.factories import CustomerFactory

AS_OF = dt.date(2026, 2, 1)


def rename_customer(customer, name):
    return lambda: Customer.objects.filter(pk=customer.pk).update(name=name)


@pytest.mark.django_db
def test_steps_run_in_registered_order(steps):
    steps("segments", after=("grades",))
    steps("receivables")
    steps("grades", after=("receivables",))

    run = pipeline_run(as_of=AS_OF)

    assert steps.calls == ["receivables", "grades", "segments"]
    assert [step["name"] for step in run.steps] == ["receivables", "grades", "segments"]
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert run.finished_at is not None and run.published_at is not None


@pytest.mark.django_db
def test_succeeded_run_records_rows_seconds_and_summary(steps):
    steps("receivables", rows=7)

    run = pipeline_run(as_of=AS_OF)
    run.refresh_from_db()

    (recorded,) = run.steps
    assert recorded["rows"] == 7
    assert recorded["summary"] == {"seen": 7}
    assert recorded["seconds"] >= 0


@pytest.mark.django_db
def test_step_failure_fails_the_run_with_its_error_and_publishes_nothing(steps):
    customer = CustomerFactory(name="旧名")
    steps("warm-up")
    previous = pipeline_run(as_of=dt.date(2026, 1, 31))
    steps("renames", publish=rename_customer(customer, "新名"))
    steps("breaks", after=("renames",), fails=True)

    run = pipeline_run(as_of=AS_OF)

    run.refresh_from_db()
    customer.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED
    assert run.error.startswith("ValueError: breaks broke")
    assert "Traceback" in run.error
    assert run.finished_at is not None and run.published_at is None
    assert [step["name"] for step in run.steps] == ["warm-up", "renames"]
    assert customer.name == "旧名"
    assert PipelineRun.objects.current() == previous


@pytest.mark.django_db
def test_failure_while_publishing_rolls_back_every_publish(steps):
    customer = CustomerFactory(name="旧名")

    def broken_publish():
        raise RuntimeError("disk full")

    steps("renames", publish=rename_customer(customer, "新名"))
    steps("publishes badly", after=("renames",), publish=broken_publish)

    run = pipeline_run(as_of=AS_OF)

    customer.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED
    assert "RuntimeError: disk full" in run.error
    assert customer.name == "旧名"
    assert PipelineRun.objects.current() is None


@pytest.mark.django_db
def test_two_runs_cannot_overlap(steps):
    running = pipeline_start(as_of=AS_OF)

    with pytest.raises(PipelineAlreadyRunning):
        pipeline_start(as_of=AS_OF)

    assert list(PipelineRun.objects.all()) == [running]


@pytest.mark.django_db
def test_a_new_run_can_start_once_the_last_has_finished(steps):
    pipeline_run(as_of=AS_OF)

    assert pipeline_start(as_of=AS_OF).status == PipelineRun.Status.RUNNING


@pytest.mark.django_db
def test_abandoned_running_run_is_closed_and_a_new_one_starts(steps):
    abandoned = PipelineRun.objects.create(
        as_of=AS_OF, started_at=timezone.now() - ABANDONED_AFTER - dt.timedelta(minutes=1)
    )

    new = pipeline_start(as_of=AS_OF)

    abandoned.refresh_from_db()
    assert abandoned.status == PipelineRun.Status.FAILED
    assert abandoned.error.startswith("Abandoned")
    assert abandoned.finished_at is not None
    assert new.status == PipelineRun.Status.RUNNING


@pytest.mark.django_db
def test_running_run_younger_than_the_abandon_limit_still_blocks(steps):
    PipelineRun.objects.create(
        as_of=AS_OF, started_at=timezone.now() - ABANDONED_AFTER + dt.timedelta(minutes=1)
    )

    with pytest.raises(PipelineAlreadyRunning):
        pipeline_start(as_of=AS_OF)


@pytest.mark.django_db
def test_executing_a_run_again_starts_its_step_record_afresh(steps):
    # Whatever step record the run holds, its execution records the steps afresh.
    steps("receivables")
    run = pipeline_start(as_of=AS_OF)
    PipelineRun.objects.filter(pk=run.pk).update(
        steps=[{"name": "receivables", "rows": 1, "seconds": 0.1, "summary": {}}]
    )
    run.refresh_from_db()

    pipeline_execute(run)

    run.refresh_from_db()
    assert [step["name"] for step in run.steps] == ["receivables"]


@pytest.mark.django_db
def test_task_executes_a_running_run(steps):
    steps("receivables")
    run = pipeline_start(as_of=AS_OF)

    assert tasks.run_pipeline_task(run.pk) == PipelineRun.Status.SUCCEEDED

    run.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED


@pytest.mark.django_db
def test_task_for_a_finished_run_changes_nothing(steps):
    steps("receivables")
    run = pipeline_run(as_of=AS_OF)
    steps.calls.clear()
    before = PipelineRun.objects.values().get(pk=run.pk)

    assert tasks.run_pipeline_task(run.pk) is None

    assert steps.calls == []
    assert PipelineRun.objects.values().get(pk=run.pk) == before


@pytest.mark.django_db
def test_task_for_a_deleted_run_does_nothing(steps):
    steps("receivables")

    assert tasks.run_pipeline_task(123456) is None
    assert steps.calls == []


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_nightly_pipeline_runs_as_of_today(steps, django_capture_on_commit_callbacks):
    steps("receivables")

    with django_capture_on_commit_callbacks(execute=True):
        run_id = tasks.nightly_pipeline()

    run = PipelineRun.objects.get(pk=run_id)
    assert run.as_of == timezone.localdate()
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert run.triggered_by is None


@pytest.mark.django_db
def test_nightly_pipeline_with_a_run_running_returns_quietly(steps, caplog):
    running = pipeline_start(as_of=AS_OF)

    assert tasks.nightly_pipeline() is None

    assert list(PipelineRun.objects.all()) == [running]
    assert "another run is still running" in caplog.text


@pytest.mark.django_db
@pytest.mark.usefixtures("queued_tasks")
def test_run_that_cannot_be_sent_to_a_worker_is_closed(
    steps, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks, "send_to_worker", broker_down)
    run = pipeline_start(as_of=AS_OF)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.queue_pipeline_run(run.pk)

    run.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED
    assert "broker unreachable" in run.error
    assert pipeline_start(as_of=AS_OF).status == PipelineRun.Status.RUNNING


# Steps ordered by the steps they read.


def test_steps_run_after_the_steps_they_read_and_otherwise_in_registration_order(steps):
    steps("churn", after=("rfm", "grades"))
    steps("rfm")
    steps("receivables")
    steps("grades", after=("receivables",))

    assert [step.name for step in registered_steps()] == ["rfm", "receivables", "grades", "churn"]


@pytest.mark.parametrize(
    ("registrations", "message"),
    [
        ({"churn": ("rfm",)}, "nobody registered: churn → rfm"),
        ({"a": ("b",), "b": ("c",), "c": ("a",)}, "in a cycle: a after b, b after c, c after a"),
        ({"self": ("self",)}, "in a cycle: self after self"),
    ],
)
def test_unknown_or_cyclic_dependency_is_refused_at_start_up(steps, registrations, message):
    for name, after in registrations.items():
        steps(name, after=after)

    with pytest.raises(ImproperlyConfigured, match=message):
        registered_steps()
    # `manage.py check` (and so migrate, runserver and the worker) report it as an error.
    errors = [error for error in run_checks() if error.id == "customers.E001"]
    assert len(errors) == 1 and message in errors[0].msg


def test_the_installed_steps_resolve_in_the_order_they_read_each_other():
    assert check_steps() == []
    assert [step.name for step in registered_steps()] == [
        "receivables",
        "credit_grades",
        "purchases",
        "rfm",
        "lifecycle",
        "loyalty",
        "churn",
    ]


# Back-dated runs are kept aside.


def published(as_of):
    return PipelineRun.objects.create(
        as_of=as_of,
        status=PipelineRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
        published_at=timezone.now(),
    )


@pytest.mark.django_db
def test_back_dated_run_computes_but_is_kept_aside_and_publishes_nothing(steps):
    customer = CustomerFactory(name="旧名")
    current = published(AS_OF)
    steps("renames", publish=rename_customer(customer, "新名"), rows=3)

    run = pipeline_run(as_of=AS_OF - dt.timedelta(days=150))

    run.refresh_from_db()
    customer.refresh_from_db()
    assert steps.calls == ["renames"]
    assert run.status == PipelineRun.Status.KEPT_ASIDE
    assert run.kept_aside_behind == AS_OF
    assert run.published_at is None and run.finished_at is not None
    assert run.steps[0]["summary"] == {"seen": 3}
    assert customer.name == "旧名"
    assert PipelineRun.objects.current() == current
    # Kept aside, it holds no lock: the next run starts.
    assert pipeline_start(as_of=AS_OF).status == PipelineRun.Status.RUNNING


@pytest.mark.django_db
def test_run_with_the_same_date_as_the_current_one_publishes(steps):
    customer = CustomerFactory(name="旧名")
    published(AS_OF)
    steps("renames", publish=rename_customer(customer, "新名"))

    run = pipeline_run(as_of=AS_OF)

    customer.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert run.kept_aside_behind is None
    assert customer.name == "新名"
    assert PipelineRun.objects.current() == run


@pytest.mark.django_db
def test_run_overtaken_by_a_later_published_run_while_computing_is_kept_aside(steps):
    # Checked again when publishing: a later run published meanwhile wins.
    customer = CustomerFactory(name="旧名")
    steps("renames", publish=rename_customer(customer, "新名"))
    run = pipeline_start(as_of=AS_OF)
    later = published(AS_OF + dt.timedelta(days=1))

    pipeline_execute(run)

    run.refresh_from_db()
    customer.refresh_from_db()
    assert run.status == PipelineRun.Status.KEPT_ASIDE
    assert run.kept_aside_behind == later.as_of
    assert customer.name == "旧名"
    assert PipelineRun.objects.current() == later


# A run closed while it computes publishes nothing.


@pytest.mark.django_db
def test_run_closed_by_hand_while_computing_publishes_nothing_and_stays_closed(steps, cast):
    customer = CustomerFactory(name="旧名")
    run = pipeline_start(as_of=AS_OF)

    def closes_its_own_run():
        pipeline_close(
            PipelineRun.objects.get(pk=run.pk), closure=PipelineRun.Closure.BY_HAND, by=cast.admin
        )

    steps("renames", publish=rename_customer(customer, "新名"))
    register_step(
        "closed meanwhile",
        lambda run: closes_its_own_run() or StepResult(rows=0),
        after=("renames",),
    )
    steps("after the close", after=("closed meanwhile",))

    pipeline_execute(run)

    run.refresh_from_db()
    customer.refresh_from_db()
    assert steps.calls == ["renames"]
    assert run.status == PipelineRun.Status.FAILED
    assert run.closed_because == PipelineRun.Closure.BY_HAND
    assert run.closed_by == cast.admin
    assert run.error.startswith("Closed by admin at ")
    assert customer.name == "旧名"
    assert PipelineRun.objects.current() is None


@pytest.mark.django_db
def test_a_claimed_run_is_not_executed_a_second_time(steps):
    # A redelivered message while (or after) a worker executes the run.
    steps("receivables")
    run = pipeline_start(as_of=AS_OF)
    PipelineRun.objects.filter(pk=run.pk).update(worker="other-host pid 7")

    assert tasks.run_pipeline_task(run.pk) == PipelineRun.Status.RUNNING

    assert steps.calls == []
    run.refresh_from_db()
    assert run.worker == "other-host pid 7" and run.steps == []


# Heartbeat and stale runs.


@pytest.fixture
def stale_after(settings):
    settings.PIPELINE_STALE_AFTER_SECONDS = 300
    return dt.timedelta(seconds=300)


def silent_run(since, **fields):
    return PipelineRun.objects.create(as_of=AS_OF, heartbeat_at=timezone.now() - since, **fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("worker", "closure", "reason"),
    [
        ("worker-1 pid 42", PipelineRun.Closure.WORKER_SILENT, "its worker (worker-1 pid 42)"),
        ("", PipelineRun.Closure.NOT_PICKED_UP, "no worker took it up"),
    ],
)
def test_run_without_heartbeat_is_closed_as_failed_on_the_next_start(
    steps, stale_after, worker, closure, reason
):
    silent = silent_run(stale_after + dt.timedelta(seconds=1), worker=worker)

    new = pipeline_start(as_of=AS_OF)

    silent.refresh_from_db()
    assert new.status == PipelineRun.Status.RUNNING
    assert silent.status == PipelineRun.Status.FAILED
    assert silent.closed_because == closure
    assert silent.error.startswith("Abandoned") and reason in silent.error
    assert silent.finished_at is not None and silent.published_at is None


@pytest.mark.django_db
def test_run_with_a_recent_heartbeat_still_blocks(steps, stale_after):
    silent_run(stale_after - dt.timedelta(seconds=30), worker="worker-1 pid 42")

    with pytest.raises(PipelineAlreadyRunning):
        pipeline_start(as_of=AS_OF)
    assert close_stale_runs() == 0


@pytest.mark.django_db
def test_beat_task_closes_stale_runs_and_the_nightly_run_goes_ahead(
    steps, stale_after, django_capture_on_commit_callbacks
):
    silent = silent_run(stale_after * 2, worker="worker-1 pid 42")

    assert tasks.close_stale_pipeline_runs() == 1
    silent.refresh_from_db()
    assert silent.status == PipelineRun.Status.FAILED
    assert tasks.close_stale_pipeline_runs() == 0

    with django_capture_on_commit_callbacks():
        assert tasks.nightly_pipeline() is not None


@pytest.mark.django_db
def test_beat_checks_for_stale_runs_every_few_minutes():
    check = PeriodicTask.objects.get(task="customers.close_stale_pipeline_runs")

    assert check.enabled
    assert check.interval.period == "minutes" and check.interval.every <= 5


@pytest.mark.django_db(transaction=True)
def test_heartbeat_is_refreshed_while_a_long_step_runs(steps, settings):
    settings.PIPELINE_HEARTBEAT_SECONDS = 0.05
    settings.PIPELINE_STALE_AFTER_SECONDS = 0.2
    run = pipeline_start(as_of=AS_OF)
    queued_at = run.heartbeat_at
    seen = []

    def long_step(run):
        # Longer than the stale limit, without touching the database meanwhile.
        time.sleep(0.5)
        seen.append(PipelineRun.objects.get(pk=run.pk).heartbeat_at)
        # Yet alive: another start does not close it.
        with pytest.raises(PipelineAlreadyRunning):
            pipeline_start(as_of=AS_OF)
        return StepResult(rows=0)

    register_step("long", long_step)

    pipeline_execute(run)

    run.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert seen[0] - queued_at >= dt.timedelta(seconds=0.3)


def test_a_step_naming_snapshots_must_say_how_many_runs_keep_them(steps):
    from segmentation.models import RfmScore

    with pytest.raises(ImproperlyConfigured, match="keep="):
        register_step("scores", lambda run: StepResult(rows=0), snapshots=(RfmScore,))


# Steps at once: on PostgreSQL outside a transaction, each in a thread with its connection.

pg_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="steps execute at once on PostgreSQL only"
)


@pg_only
@pytest.mark.django_db(transaction=True)
def test_independent_steps_execute_at_once_and_dependent_ones_after(steps):
    started, spans, published = threading.Event(), {}, []

    def step(name, *, wait_for=None, signal=None):
        def execute(run):
            begun = time.monotonic()
            if signal is not None:
                signal.set()
            # Executed one at a time, the step it waits for would never begin.
            seen = wait_for.wait(timeout=10) if wait_for is not None else True
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (backend,) = cursor.fetchone()
            spans[name] = (begun, time.monotonic(), seen, backend)
            return StepResult(rows=1, publish=lambda: published.append(name))

        return execute

    register_step("slow", step("slow", wait_for=started))
    register_step("quick", step("quick", signal=started))
    register_step("after-slow", step("after-slow"), after=("slow",))

    run = pipeline_run(as_of=AS_OF)

    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert spans["slow"][2], "the quick step did not execute while the slow one waited"
    assert spans["after-slow"][0] >= spans["slow"][1]
    # Each on a database connection of its own.
    assert spans["slow"][3] != spans["quick"][3]
    # Recorded and published in the steps' order, whichever ended first.
    assert [row["name"] for row in run.steps] == ["slow", "quick", "after-slow"]
    assert published == ["slow", "quick", "after-slow"]


@pg_only
@pytest.mark.django_db(transaction=True)
def test_a_step_failing_beside_another_fails_the_run_once_both_ended(steps):
    customer = CustomerFactory(name="旧名")
    failing = threading.Event()

    def outlasting(run):
        failing.wait(timeout=10)
        time.sleep(0.2)
        return StepResult(rows=1, publish=rename_customer(customer, "新名"))

    def breaks(run):
        failing.set()
        raise ValueError("breaks broke")

    register_step("outlasting", outlasting)
    register_step("breaks", breaks)
    steps("never", after=("breaks",))

    run = pipeline_run(as_of=AS_OF)

    run.refresh_from_db()
    customer.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED
    assert run.error.startswith("ValueError: breaks broke")
    assert steps.calls == []
    assert [step["name"] for step in run.steps] == ["outlasting"]
    assert customer.name == "旧名"


@pg_only
@pytest.mark.django_db(transaction=True)
def test_steps_in_threads_share_one_order_read(steps, monkeypatch):
    from customers import rollups

    reads, database_reads = [], []
    read = rollups._read
    monkeypatch.setattr(rollups, "_read", lambda *args: database_reads.append(1) or read(*args))
    register_step("rfm", lambda run: _read_figures(run, reads, ["rfm_frequency"]))
    register_step("lifecycle", lambda run: _read_figures(run, reads, ["lifecycle_orders"]))
    CustomerFactory()

    run = pipeline_run(as_of=AS_OF)

    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert sorted(reads) == ["lifecycle_orders", "rfm_frequency"]
    assert len(database_reads) == 1


def _read_figures(run, reads, names):
    from customers.rollups import order_figures

    frame = order_figures(run, names)
    reads.append(frame.columns[1])
    return StepResult(rows=len(frame))


@pytest.mark.django_db
def test_a_step_gets_what_its_prepare_returned(steps):
    received = []

    def prepare(run):
        return {"as_of": run.as_of}

    def step(run, prepared):
        received.append(prepared)
        return StepResult(rows=1)

    register_step("scores", step, prepare=prepare)

    run = pipeline_run(as_of=AS_OF)

    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert received == [{"as_of": AS_OF}]


@pg_only
@pytest.mark.django_db(transaction=True)
def test_a_prepare_executes_beside_the_steps_its_step_waits_for(steps):
    slow_ended, spans = threading.Event(), {}

    def slow(run):
        time.sleep(0.3)
        slow_ended.set()
        return StepResult(rows=1)

    def prepare(run):
        spans["prepared while slow executed"] = not slow_ended.is_set()
        return "statistics"

    def step(run, prepared):
        spans["received"] = prepared
        return StepResult(rows=1)

    register_step("slow", slow)
    register_step("scores", step, after=("slow",), prepare=prepare)

    run = pipeline_run(as_of=AS_OF)

    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert spans == {"prepared while slow executed": True, "received": "statistics"}
    scores = next(row for row in run.steps if row["name"] == "scores")
    assert scores["prepare_seconds"] >= 0 and scores["started"] >= 0.3


@pg_only
@pytest.mark.django_db(transaction=True)
def test_a_failing_prepare_fails_the_run_and_its_step_never_starts(steps):
    def prepare(run):
        raise ValueError("prepare broke")

    register_step("scores", lambda run, prepared: StepResult(rows=1), prepare=prepare)

    run = pipeline_run(as_of=AS_OF)

    assert run.status == PipelineRun.Status.FAILED
    assert run.error.startswith("ValueError: prepare broke")
    assert run.steps == []


@pg_only
@pytest.mark.django_db(transaction=True)
def test_of_the_steps_free_to_start_the_longest_chain_goes_first(steps):
    started, lock = [], threading.Lock()

    def step(name):
        def execute(run):
            with lock:
                started.append(name)
            time.sleep(0.1)
            return StepResult(rows=1)

        return execute

    for name in ("short", "long", "longer"):
        register_step(name, step(name))
    register_step("last", step("last"), after=("longer",))

    steps_execute(
        PipelineRun.objects.create(as_of=AS_OF),
        registered_steps(),
        lambda step, result, timing: None,
        expected={"short": 1, "long": 5, "longer": 3, "last": 3},
    )

    # Two threads: "short" waits, though registered first.
    assert set(started[:2]) == {"long", "longer"}
    assert started[2:] == ["last", "short"] or started[2:] == ["short", "last"]


@pg_only
@pytest.mark.django_db(transaction=True)
def test_old_snapshots_are_pruned_beside_other_steps_before_the_step(steps):
    from customers.snapshots import PurchaseFigure

    customer = CustomerFactory()
    seen = []

    def figures(run):
        # Pruned before the step starts: only the current run's rows are left.
        seen.append(sorted(PurchaseFigure.objects.values_list("run_id", flat=True)))
        PurchaseFigure.objects.create(run=run, customer=customer, purchases=1)
        return StepResult(rows=1)

    register_step("figures", figures, snapshots=(PurchaseFigure,), keep=lambda: 1)
    first = pipeline_run(as_of=AS_OF)
    second = pipeline_run(as_of=AS_OF + dt.timedelta(days=1))

    third = pipeline_run(as_of=AS_OF + dt.timedelta(days=2))

    assert third.status == PipelineRun.Status.SUCCEEDED, third.error
    assert seen == [[], [first.pk], [second.pk]]
    (step,) = third.steps
    assert step["summary"]["snapshots_pruned"] == 1 and step["prune_seconds"] >= 0
    assert sorted(PurchaseFigure.objects.values_list("run_id", flat=True)) == [
        second.pk,
        third.pk,
    ]
