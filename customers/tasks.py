"""Celery tasks of the nightly pipeline: thin shells over customers.pipeline."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from customers.models import PipelineRun
from customers.pipeline import PipelineAlreadyRunning, pipeline_execute, pipeline_start

logger = logging.getLogger(__name__)


@shared_task(name="customers.run_pipeline", acks_late=True)
def run_pipeline_task(run_id):
    """Execute a started run; a run that is no longer running is left alone, so a
    redelivered message does nothing twice. Returns the run's final status."""
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


def queue_pipeline_run(run_id):
    """Send the run to a worker once the transaction that started it has committed."""
    transaction.on_commit(lambda: _send_run(run_id), robust=True)


def _send_run(run_id):
    try:
        run_pipeline_task.delay(run_id)
    except Exception as exc:
        # Unsent, the run would hold the one-running-run lock until it is abandoned.
        PipelineRun.objects.filter(pk=run_id, status=PipelineRun.Status.RUNNING).update(
            status=PipelineRun.Status.FAILED,
            finished_at=timezone.now(),
            error=gettext("Could not be sent to a worker: %(error)s")
            % {"error": f"{type(exc).__name__}: {exc}"},
        )
        raise
