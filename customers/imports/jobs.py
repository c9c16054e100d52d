"""Imports run by a worker: a file uploaded in the admin becomes an `ImportJob`.

The request only keeps the upload and reads its first rows; the job, on a
Celery worker, runs the same `run_import` as the import_* commands (the whole
file checked first, then written in one transaction, all or nothing unless
rows with errors are skipped; a file imported twice adds nothing). While it
runs, a heartbeat thread writes how many rows were checked and then written,
every IMPORT_PROGRESS_SECONDS, through its own database connection (the write
pass's transaction would hide the worker's own updates until it commits). A
job whose heartbeat stopped for IMPORT_STALE_AFTER_SECONDS, or that no worker
took up within QUEUED_TOO_LONG, is closed as failed: a killed worker's
transaction was never committed, so it wrote nothing.

The upload is kept under MEDIA_ROOT/imports, the rejects under
MEDIA_ROOT/import_rejects, both named by random tokens; the upload goes once
imported, both after KEEP_UPLOADS / KEEP_REJECTS.
"""

import logging
import os
import secrets
import socket
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.imports.readers import ImportFileError, file_format
from customers.imports.services import CHECKING, COMMITTING, ImportReport, run_import
from customers.models import ImportJob
from customers.pipeline import Heartbeat

logger = logging.getLogger(__name__)

Status = ImportJob.Status
UNFINISHED = (Status.QUEUED, Status.CHECKING, Status.WRITING)
RUNNING = (Status.CHECKING, Status.WRITING)
# A queued job waits behind the worker's other tasks (a nightly run, another import).
QUEUED_TOO_LONG = timedelta(hours=1)
KEEP_UPLOADS = timedelta(days=1)
KEEP_REJECTS = timedelta(days=7)


def uploads_dir() -> Path:
    return _private_dir("imports")


def rejects_dir() -> Path:
    return _private_dir("import_rejects")


def _private_dir(name):
    directory = Path(settings.MEDIA_ROOT) / name
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def upload_path(job: ImportJob) -> Path:
    return uploads_dir() / job.stored_name


def rejects_path(job: ImportJob) -> Path | None:
    """The job's rejects file, or None when it has none (or it was removed)."""
    if not job.rejects_name:
        return None
    path = rejects_dir() / job.rejects_name
    return path if path.is_file() else None


def remove_old_files():
    """Remove the uploads older than KEEP_UPLOADS and the rejects older than KEEP_REJECTS."""
    for directory, kept in ((uploads_dir(), KEEP_UPLOADS), (rejects_dir(), KEEP_REJECTS)):
        oldest = time.time() - kept.total_seconds()
        for old in directory.iterdir():
            if old.is_file() and old.stat().st_mtime < oldest:
                old.unlink(missing_ok=True)


def stored_name_for(upload_name) -> str:
    """A random name for an upload, with its format's extension."""
    return f"{secrets.token_hex(16)}.{file_format(upload_name)}"


def import_job_create(
    *, kind, stored_name, source_name, skip_invalid, dry_run, by, within_scope=False
) -> ImportJob:
    """Record a queued import of the kept upload `stored_name`, reporting in the active
    language; queueing it is the caller's (customers.tasks.queue_import_job). `within_scope`:
    the import may change only the customers `by` may see."""
    path = uploads_dir() / stored_name
    return ImportJob.objects.create(
        kind=kind,
        stored_name=stored_name,
        source_name=source_name,
        file_size=path.stat().st_size if path.exists() else 0,
        skip_invalid=skip_invalid or dry_run,
        dry_run=dry_run,
        within_scope=within_scope,
        created_by=by,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )


class JobClosed(Exception):
    """The job was closed (as stale) while this process ran it."""


class JobProgress:
    """The job's progress as the import reports it (see services.Progress), written by the
    heartbeat's thread."""

    def __init__(self, job):
        self.status = Status.CHECKING
        self.rows_checked = 0
        self.rows_written = 0
        self.rows = _running(job)
        self.heartbeat = Heartbeat(
            self.rows,
            interval=settings.IMPORT_PROGRESS_SECONDS,
            name=f"import job {job.pk}",
            values=self.values,
        )

    def __call__(self, stage, rows):
        if stage == CHECKING:
            self.rows_checked = rows
            return
        if stage == COMMITTING:
            self.confirm_running()
        self.rows_written = rows
        if self.status != Status.WRITING:
            self.status = Status.WRITING
            self.heartbeat.beat_now()

    def confirm_running(self):
        """Inside the import's transaction, just before it commits: lock the job's row with
        a fresh sign of life, or raise JobClosed if it was closed meanwhile (its worker
        seemed gone), so that a job shown as failed has written nothing."""
        if not self.rows.update(heartbeat_at=timezone.now()):
            raise JobClosed

    def values(self):
        return {
            "status": self.status,
            "rows_checked": self.rows_checked,
            "rows_written": self.rows_written,
        }


def import_job_execute(job: ImportJob) -> ImportJob:
    """Run a queued job in this process and record how it ended; never raises for the
    import's failure. A job another execution claimed, or no longer queued, is left alone."""
    if not _claim(job):
        logger.info("Import job %s is claimed or no longer queued; left alone", job.pk)
        job.refresh_from_db()
        return job
    progress = JobProgress(job)
    try:
        with progress.heartbeat, translation.override(_language(job)):
            report = _run(job, progress)
    except JobClosed:
        logger.warning("Import job %s was closed while it ran; it wrote nothing", job.pk)
    except ImportFileError as error:
        _close(job, progress, error=str(error))
    except Exception as exc:
        logger.exception("Import job %s failed", job.pk)
        with translation.override(_language(job)):
            error = _("The import stopped on an unexpected error and wrote nothing: %(error)s")
        _close(job, progress, error=error % {"error": f"{type(exc).__name__}: {exc}"})
    else:
        with translation.override(_language(job)):
            _close(job, progress, report=report)
    job.refresh_from_db()
    return job


def _run(job, progress):
    source = upload_path(job)
    if not source.is_file():
        raise ImportFileError(_("The uploaded file is no longer kept; upload it again."))
    rejects = rejects_dir() / f"{job.pk}-{secrets.token_hex(8)}.csv"
    options = {"by": job.created_by} if job.kind == ImportJob.Kind.CUSTOMERS else {}
    if job.within_scope:
        if job.created_by is None:
            raise ImportFileError(
                _("The uploader's account no longer exists; nothing was written.")
            )
        options["scope"] = job.created_by
    report = run_import(
        job.kind,
        source=source,
        skip_invalid=job.skip_invalid,
        rejects=rejects,
        dry_run=job.dry_run,
        progress=progress,
        **options,
    )
    job.rejects_name = rejects.name if rejects.exists() else ""
    return report


def _close(job, progress, *, report: ImportReport | None = None, error=""):
    """Record the job's end: its counts and rejects, or why it failed (having written
    nothing, whatever it had reported)."""
    fields = {
        "finished_at": timezone.now(),
        "rows_checked": progress.rows_checked,
        "rows_written": 0,
        "rejects_name": job.rejects_name,
        "status": Status.FAILED,
        "error": error,
    }
    if report is not None:
        fields["counts"] = report_counts(report)
        if report.imported or job.dry_run:
            fields.update(status=Status.DONE, rows_written=progress.rows_written)
        else:
            fields["error"] = _(
                "Nothing was imported: %(count)s rows have errors. Correct them and upload the "
                "file again, or import it again skipping the rows with errors."
            ) % {"count": report.rejected}
        if report.imported and not job.dry_run:
            upload_path(job).unlink(missing_ok=True)
    if not _running(job).update(**fields):
        logger.warning("Import job %s was closed while it ran", job.pk)


SHOWN_WARNINGS = 50


def report_counts(report: ImportReport) -> dict:
    return {
        "rows_read": report.rows_read,
        "created": report.created,
        "updated": report.updated,
        "already_present": report.already_present,
        "customers_created": report.customers_created,
        "rejected": int(report.rejected),
        "imported": report.imported,
        # Likely duplicates of customers already recorded: imported all the same.
        "warned": int(report.warned),
        "warnings": [list(warning) for warning in report.warnings[:SHOWN_WARNINGS]],
    }


def _running(job):
    return ImportJob.objects.filter(pk=job.pk, status__in=RUNNING)


def _claim(job):
    """Mark `job` as run by this process, unless another execution has it."""
    worker = f"{socket.gethostname()} pid {os.getpid()}"
    now = timezone.now()
    return bool(
        ImportJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(
            status=Status.CHECKING, worker=worker, started_at=now, heartbeat_at=now
        )
    )


def is_silent(job) -> bool:
    """Whether a running job's worker has given no sign of life for long enough to be
    closed as failed (which beat's next check does)."""
    return job.status in RUNNING and job.heartbeat_at < timezone.now() - _stale_after()


def close_stale_import_jobs() -> int:
    """Close as failed the running jobs whose worker gave no sign of life for
    IMPORT_STALE_AFTER_SECONDS and the queued jobs no worker took up within
    QUEUED_TOO_LONG; returns how many were closed."""
    now = timezone.now()
    silent = Q(status__in=RUNNING, heartbeat_at__lt=now - _stale_after())
    waiting = Q(status=Status.QUEUED, created_at__lt=now - QUEUED_TOO_LONG)
    closed = 0
    for job in ImportJob.objects.filter(silent | waiting):
        with translation.override(_language(job)):
            error = _stale_job_error(job)
        # Unless it moved on since it was read.
        closed += (
            ImportJob.objects.filter(pk=job.pk)
            .filter(silent | waiting)
            .update(status=Status.FAILED, finished_at=now, error=error, rows_written=0)
        )
    if closed:
        logger.warning("Closed %s stale import job(s)", closed)
    return closed


def _stale_job_error(job):
    if job.status == Status.QUEUED:
        return _(
            "No worker took this import up within an hour; nothing was written. Check "
            "that a worker is running and start the import again."
        )
    return _(
        "Its worker (%(worker)s) gave no sign of life after %(since)s and was "
        "presumably stopped; the import was closed as failed and wrote nothing."
    ) % {"worker": job.worker, "since": _local_time(job.heartbeat_at)}


def import_job_not_sent(job_id, detail):
    """Close a queued job whose task could not be sent to a worker."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    with translation.override(_language(job)):
        error = _(
            "Not started: the task queue could not be reached, so nothing was written. Start "
            "the import again once the queue is back."
        )
    ImportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.FAILED, finished_at=timezone.now(), error=f"{error}\n\n{detail}"
    )


def _language(job):
    return job.language or settings.LANGUAGE_CODE


def _stale_after():
    return timedelta(seconds=settings.IMPORT_STALE_AFTER_SECONDS)


def _local_time(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")
