"""The pipeline task sent through the real broker to a real Celery worker process.

Needs CELERY_BROKER_URL and a PostgreSQL DATABASE_URL (the worker must reach the
test database); skipped otherwise, or failed when REQUIRE_BROKER_TESTS=1:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_pipeline \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 REQUIRE_BROKER_TESTS=1 \\
    .venv/bin/pytest tests/customers/test_worker.py -m broker
"""

import datetime as dt
import os
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
from customers.models import PipelineRun
from customers.pipeline import pipeline_start
from customers.tasks import run_pipeline_task
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
def worker_queue(tmp_path):
    """A worker process on the test database, consuming a queue of its own."""
    if not settings.CELERY_BROKER_URL:
        skip_or_fail(
            "CELERY_BROKER_URL is empty, so tasks run in-process and no worker is involved"
        )
    if connection.vendor != "postgresql":
        skip_or_fail(
            "the worker must share the test database, which needs PostgreSQL (DATABASE_URL)"
        )
    tag = f"pipeline-test-{uuid.uuid4().hex[:12]}"
    name = f"{tag}@tests"
    log_path = tmp_path / "worker.log"
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A", "crm_site", "worker",
        "--pool=solo", "--concurrency=1",
        "-Q", tag, "-n", name,
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel=INFO",
    ]  # fmt: skip
    env = {**os.environ, "DATABASE_URL": test_database_url(), "CONN_MAX_AGE": "0"}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for_worker(name, process, log_path)
        yield tag
    finally:
        # Ending the process closes its database connections, so the test database can go.
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
