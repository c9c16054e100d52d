"""The pipeline and import tasks sent through the real broker to a real Celery worker
process.

Needs CELERY_BROKER_URL and a PostgreSQL DATABASE_URL (the worker must reach the
test database); skipped otherwise, or failed when REQUIRE_BROKER_TESTS=1:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_pipeline \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 REQUIRE_BROKER_TESTS=1 \\
    .venv/bin/pytest tests/customers/test_worker.py -m broker
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from crm_site.celery import app as celery_app
from customers.imports.jobs import close_stale_import_jobs, import_job_create, uploads_dir
from customers.models import ImportJob, Order, PipelineRun
from customers.pipeline import close_stale_runs, pipeline_start, registered_steps
from customers.tasks import run_import_job_task, run_pipeline_task
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.broker

WORKER_READY_SECONDS = 60
TASK_SECONDS = 60


def skip_or_fail(reason):
    if os.environ.get("REQUIRE_BROKER_TESTS") == "1":
        pytest.fail(f"REQUIRE_BROKER_TESTS=1, but {reason}")
    pytest.skip(reason)


def test_database_url():
    """The URL of the database this test session uses, for the worker process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{credentials}@{db['HOST'] or '127.0.0.1'}" if credentials else db["HOST"]
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{host}{port}/{quote(db['NAME'], safe='')}"


test_database_url.__test__ = False  # a helper, not a test


def wait_for_worker(name, process, log_path):
    deadline = time.monotonic() + WORKER_READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}:\n{log_path.read_text()}")
        if celery_app.control.ping(destination=[name], timeout=0.5):
            return
    pytest.fail(
        f"the worker did not answer within {WORKER_READY_SECONDS} s:\n{log_path.read_text()}"
    )


@pytest.fixture
def start_worker(tmp_path):
    """Starts worker processes on the test database, each consuming a queue of its own;
    returns (queue, process). Extra arguments and environment go to the worker."""
    if not settings.CELERY_BROKER_URL:
        skip_or_fail(
            "CELERY_BROKER_URL is empty, so tasks run in-process and no worker is involved"
        )
    if connection.vendor != "postgresql":
        skip_or_fail(
            "the worker must share the test database, which needs PostgreSQL (DATABASE_URL)"
        )
    processes = []

    def start(*extra_args, pool="solo", **extra_env):
        tag = f"pipeline-test-{uuid.uuid4().hex[:12]}"
        name = f"{tag}@tests"
        log_path = tmp_path / f"{tag}.log"
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A", "crm_site", "worker",
            f"--pool={pool}", "--concurrency=1",
            "-Q", tag, "-n", name,
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel=INFO", *extra_args,
        ]  # fmt: skip
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CONN_MAX_AGE": "0",
            **extra_env,
        }
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        processes.append(process)
        wait_for_worker(name, process, log_path)
        return tag, process

    yield start
    for process in processes:
        # Ending the process closes its database connections, so the test database can go.
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def worker_queue(start_worker):
    """A worker process on the test database, consuming a queue of its own."""
    tag, _process = start_worker()
    return tag


@pytest.mark.django_db(transaction=True)
def test_worker_executes_a_queued_run_and_publishes_balances(worker_queue):
    today = timezone.localdate()
    customer = CustomerFactory()
    InvoiceFactory(
        customer=customer,
        issue_date=today - dt.timedelta(days=40),
        due_date=today - dt.timedelta(days=10),
        amount=Decimal("1234.50"),
    )
    run = pipeline_start(as_of=today)

    sent = run_pipeline_task.apply_async(args=[run.pk], queue=worker_queue)

    assert sent.get(timeout=TASK_SECONDS) == PipelineRun.Status.SUCCEEDED
    run.refresh_from_db()
    customer.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert run.steps[0]["name"] == "receivables"
    assert run.steps[0]["rows"] == 1
    assert run.steps[0]["summary"]["total_overdue"] == "1234.50"
    assert customer.overdue_amount == Decimal("1234.50")
    assert PipelineRun.objects.current() == run

    resent = run_pipeline_task.apply_async(args=[run.pk], queue=worker_queue)

    assert resent.get(timeout=TASK_SECONDS) is None
    assert PipelineRun.objects.values("finished_at").get(pk=run.pk)["finished_at"] == (
        run.finished_at
    )


# A dead worker never blocks the next run.

HEARTBEAT_SECONDS = 0.5
STALE_AFTER_SECONDS = 3


@pytest.fixture
def quick_staleness(settings, tmp_path):
    """Small heartbeat and staleness limits, here and in the workers; a hold file that keeps
    a worker's run in its last step while it exists."""
    settings.PIPELINE_HEARTBEAT_SECONDS = HEARTBEAT_SECONDS
    settings.PIPELINE_STALE_AFTER_SECONDS = STALE_AFTER_SECONDS
    hold = tmp_path / "hold"
    hold.touch()
    return hold, {
        "PIPELINE_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "PIPELINE_STALE_AFTER_SECONDS": str(STALE_AFTER_SECONDS),
        "PIPELINE_TEST_HOLD": str(hold),
    }


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"{what} within {seconds} s")


def held_in_its_last_step(run):
    """Waits until the worker executes `run`'s last step (every other step recorded), and
    returns the id of the process executing it."""
    # The held step comes after every step the apps registered (tests.customers.hold_step),
    # which the worker has all recorded by then.
    recorded = len(registered_steps())
    run = wait_for(
        lambda: (
            PipelineRun.objects.filter(pk=run.pk, **{f"steps__{recorded}__isnull": True})
            .filter(**{f"steps__{recorded - 1}__isnull": False})
            .exclude(worker="")
            .first()
        ),
        TASK_SECONDS,
        "the worker did not reach the held step",
    )
    return int(run.worker.rsplit(" ", 1)[1])


def closed_as_stale(run):
    """What beat does every few minutes, done here until the run is closed."""
    close_stale_runs()
    run.refresh_from_db()
    return run.status != PipelineRun.Status.RUNNING


@pytest.mark.django_db(transaction=True)
def test_killed_worker_s_run_is_closed_within_minutes_and_the_next_run_succeeds(
    start_worker, quick_staleness
):
    hold, env = quick_staleness
    held_queue, held_worker = start_worker("--include", "tests.customers.hold_step", **env)
    run = pipeline_start(as_of=timezone.localdate())
    run_pipeline_task.apply_async(args=[run.pk], queue=held_queue)
    assert held_in_its_last_step(run) == held_worker.pid

    os.kill(held_worker.pid, signal.SIGKILL)
    held_worker.wait(timeout=30)
    wait_for(lambda: closed_as_stale(run), STALE_AFTER_SECONDS * 4, "the run was not closed")

    assert run.status == PipelineRun.Status.FAILED
    assert run.closed_because == PipelineRun.Closure.WORKER_SILENT
    assert f"pid {held_worker.pid}" in run.error
    assert PipelineRun.objects.current() is None
    # The next run starts at once and a worker completes it.
    hold.unlink()
    queue, _worker = start_worker(**env)
    next_run = pipeline_start(as_of=timezone.localdate())
    sent = run_pipeline_task.apply_async(args=[next_run.pk], queue=queue)
    assert sent.get(timeout=TASK_SECONDS) == PipelineRun.Status.SUCCEEDED
    assert PipelineRun.objects.current() == next_run


@pytest.mark.django_db(transaction=True)
def test_killed_pool_process_s_run_is_closed_and_the_same_worker_runs_the_next(
    start_worker, quick_staleness
):
    # As when the kernel kills the pool process that ran out of memory: the worker itself
    # lives on and acknowledges the task instead of running it again.
    hold, env = quick_staleness
    queue, worker = start_worker("--include", "tests.customers.hold_step", pool="prefork", **env)
    run = pipeline_start(as_of=timezone.localdate())
    run_pipeline_task.apply_async(args=[run.pk], queue=queue)
    pool_process = held_in_its_last_step(run)
    assert pool_process != worker.pid

    os.kill(pool_process, signal.SIGKILL)
    wait_for(lambda: closed_as_stale(run), STALE_AFTER_SECONDS * 4, "the run was not closed")

    assert run.closed_because == PipelineRun.Closure.WORKER_SILENT
    assert worker.poll() is None
    hold.unlink()
    next_run = pipeline_start(as_of=timezone.localdate())
    sent = run_pipeline_task.apply_async(args=[next_run.pk], queue=queue)
    assert sent.get(timeout=TASK_SECONDS) == PipelineRun.Status.SUCCEEDED
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED  # never redelivered and run again


# Imports uploaded in the admin, run by a worker.

IMPORT_PROGRESS_SECONDS = 0.5
IMPORT_STALE_AFTER_SECONDS = 3
ORDERS = "customer_ref,order_ref,order_date,amount,quantity\n" + "".join(
    f"C1,O-{number},2026-01-15,10,1\n" for number in range(50)
)


@pytest.fixture
def import_worker_env(settings, private_media, tmp_path):
    """The worker shares the uploads, and reports progress and goes stale quickly."""
    settings.IMPORT_PROGRESS_SECONDS = IMPORT_PROGRESS_SECONDS
    settings.IMPORT_STALE_AFTER_SECONDS = IMPORT_STALE_AFTER_SECONDS
    hold = tmp_path / "hold-import"
    hold.touch()
    return hold, {
        "MEDIA_ROOT": str(private_media),
        "IMPORT_PROGRESS_SECONDS": str(IMPORT_PROGRESS_SECONDS),
        "IMPORT_STALE_AFTER_SECONDS": str(IMPORT_STALE_AFTER_SECONDS),
        "IMPORT_TEST_HOLD": str(hold),
    }


def queued_import(by=None):
    (uploads_dir() / "orders.csv").write_text(ORDERS)
    return import_job_create(
        kind="orders",
        stored_name="orders.csv",
        source_name="orders.csv",
        skip_invalid=False,
        dry_run=False,
        by=by,
    )


@pytest.mark.django_db(transaction=True)
def test_worker_imports_an_uploaded_file_and_a_redelivery_adds_nothing(
    start_worker, import_worker_env
):
    _hold, env = import_worker_env
    queue, _worker = start_worker(**env)
    CustomerFactory(external_ref="C1")
    job = queued_import()

    sent = run_import_job_task.apply_async(args=[job.pk], queue=queue)

    assert sent.get(timeout=TASK_SECONDS) == ImportJob.Status.DONE
    job.refresh_from_db()
    assert (job.rows_checked, job.rows_written, job.counts["created"]) == (50, 50, 50)
    assert job.worker.endswith(f"pid {_worker.pid}")
    assert Order.objects.count() == 50
    resent = run_import_job_task.apply_async(args=[job.pk], queue=queue)
    assert resent.get(timeout=TASK_SECONDS) is None
    assert Order.objects.count() == 50


@pytest.mark.django_db(transaction=True)
def test_killed_worker_s_import_shows_its_progress_then_fails_having_written_nothing(
    start_worker, import_worker_env
):
    hold, env = import_worker_env
    queue, worker = start_worker("--include", "tests.customers.hold_import", **env)
    CustomerFactory(external_ref="C1")
    job = queued_import()
    run_import_job_task.apply_async(args=[job.pk], queue=queue)

    # Two chunks are written inside the transaction; the heartbeat shows them meanwhile.
    writing = wait_for(
        lambda: ImportJob.objects.filter(pk=job.pk, rows_written=20).first(),
        TASK_SECONDS,
        "the job did not report its rows written",
    )
    assert writing.status == ImportJob.Status.WRITING
    assert not Order.objects.exists()

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    wait_for(
        lambda: close_stale_import_jobs() or None,
        IMPORT_STALE_AFTER_SECONDS * 4,
        "the job was not closed",
    )

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert f"pid {worker.pid}" in job.error and "wrote nothing" in job.error
    assert job.rows_written == 0
    assert not Order.objects.exists()
    hold.unlink()
