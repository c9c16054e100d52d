"""Celery tasks: the nightly pipeline (customers.pipeline) and the import jobs
(customers.imports.jobs), thin shells over them."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from customers.imports.jobs import (
    close_stale_import_jobs,
    import_job_execute,
    import_job_not_sent,
)
from customers.models import ImportJob, PipelineRun
from customers.pipeline import (
    PipelineAlreadyRunning,
    close_stale_runs,
    pipeline_close,
    pipeline_execute,
    pipeline_start,
)

logger = logging.getLogger(__name__)


@shared_task(name="customers.run_pipeline", acks_late=True)
def run_pipeline_task(run_id):
    """Execute a started run; a run that is no longer running (or that another execution
    claimed) is left alone, so a redelivered message does nothing twice. Returns the run's
    final status."""
    run = PipelineRun.objects.filter(pk=run_id, status=PipelineRun.Status.RUNNING).first()
    if run is None:
        logger.info("Pipeline run %s is not running; nothing to do", run_id)
        return None
    return pipeline_execute(run).status


@shared_task(name="customers.nightly_pipeline")
def nightly_pipeline():
    """Start tonight's run as of today's local date and queue its execution."""
    try:
        run = pipeline_start(as_of=timezone.localdate())
    except PipelineAlreadyRunning:
        logger.warning("Nightly pipeline skipped: another run is still running")
        return None
    queue_pipeline_run(run.pk)
    return run.pk


@shared_task(name="customers.close_stale_pipeline_runs")
def close_stale_pipeline_runs():
    """Close the runs whose worker stopped; beat calls it every few minutes."""
    return close_stale_runs()


def queue_pipeline_run(run_id):
    """Send the run to a worker once the transaction that started it has committed."""
    transaction.on_commit(lambda: send_run(run_id), robust=True)


def send_run(run_id):
    """Send the run to a worker, or close it as failed, saying that the task queue could not
    be reached (unsent, it would hold the one-running-run lock). Returns whether it was sent."""

    def not_sent(detail):
        run = PipelineRun.objects.filter(pk=run_id).first()
        if run is not None:
            pipeline_close(run, closure=PipelineRun.Closure.NOT_SENT, detail=detail)

    return _send(run_pipeline_task, run_id, label="Pipeline run", not_sent=not_sent)


def _send(task, record_id, *, label, not_sent):
    """Run `task` here and now in the embedded mode, else put it on the broker; when the
    broker does not answer, `not_sent(detail)` closes the record. Returns whether it was
    sent."""
    if task.app.conf.task_always_eager:
        task.apply_async(args=[record_id])
        return True
    try:
        send_to_worker(task, record_id)
    except Exception as exc:
        logger.warning("%s %s not sent to a worker: %s", label, record_id, exc)
        not_sent(f"{type(exc).__name__}: {exc}")
        return False
    return True


def send_to_worker(task, record_id):
    """Put `task` for the run or job `record_id` on the broker, or raise at once if the
    broker does not answer."""
    with task.app.connection_for_write() as connection:
        # One attempt, no pause: the defaults retry for seconds while the page waits.
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
        # No result kept: the record is its result, and subscribing to one would wait
        # about twenty seconds on the result store (the same Redis) when it is down.
        task.apply_async(args=[record_id], connection=connection, retry=False, ignore_result=True)


@shared_task(name="customers.run_import_job", acks_late=True)
def run_import_job_task(job_id):
    """Run a queued import job; a job no longer queued (claimed, or closed) is left alone,
    so a redelivered message does nothing twice. Returns the job's final status."""
    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).first()
    if job is None:
        logger.info("Import job %s is not queued; nothing to do", job_id)
        return None
    return import_job_execute(job).status


@shared_task(name="customers.close_stale_import_jobs")
def close_stale_import_jobs_task():
    """Close the import jobs whose worker stopped; beat calls it every few minutes."""
    return close_stale_import_jobs()


def queue_import_job(job_id):
    """Send the job to a worker once the transaction that recorded it has committed (in the
    embedded mode, run it here and now)."""
    transaction.on_commit(lambda: send_import_job(job_id), robust=True)


def send_import_job(job_id):
    """Send the job to a worker, or close it as failed, saying that the task queue could not
    be reached. Returns whether it was sent."""
    return _send(
        run_import_job_task,
        job_id,
        label="Import job",
        not_sent=lambda detail: import_job_not_sent(job_id, detail),
    )
