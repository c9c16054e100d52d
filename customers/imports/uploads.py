"""Imports from the browser, for the admin's pages and the site's alike: who may import
what, the upload kept until its job starts, the header check and first rows, starting a
job and seeing one.

The upload waits under MEDIA_ROOT/imports, named by a random token that only the
uploader's session knows; the job (customers.imports.jobs) runs on a worker. A job, its
page and its rejects are its uploader's and every superuser's.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.move import file_move_safe
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from customers.access import is_manager
from customers.imports.jobs import (
    import_job_create,
    rejects_path,
    remove_old_files,
    stored_name_for,
    upload_path,
    uploads_dir,
)
from customers.imports.readers import LINE, ImportFileError, read_head
from customers.imports.services import IMPORTERS, file_columns
from customers.models import Customer, ImportJob, Invoice, Order, Payment
from customers.tasks import queue_import_job

KIND_MODELS = {"customers": Customer, "orders": Order, "invoices": Invoice, "payments": Payment}
KIND_LABELS = dict(ImportJob.Kind.choices)
SESSION_KEY = "customer_imports"
PREVIEW_ROWS = 20
# The import pages list this many recent jobs.
RECENT_JOBS = 10
# While a job runs, its page reloads itself this often.
REFRESH_SECONDS = 3


def upload_max_bytes():
    return settings.IMPORT_UPLOAD_MAX_BYTES


def admin_import_kinds(user) -> list[str]:
    """The kinds `user` may import in the admin: adding (and, for customers, changing) that
    model."""
    return [
        kind
        for kind, model in KIND_MODELS.items()
        if user.has_perm(f"{model._meta.app_label}.add_{model._meta.model_name}")
        and (kind != "customers" or user.has_perm("customers.change_customer"))
    ]


def site_import_kinds(user) -> list[str]:
    """The kinds `user` may import on the site, into the customers they may see: a manager
    every kind, for the teams they lead; anyone else their own customers (as they may
    create them on the site's form), and what the admin's permissions add."""
    if not user.is_authenticated:
        return []
    if is_manager(user):
        return list(KIND_MODELS)
    allowed = {"customers", *admin_import_kinds(user)}
    return [kind for kind in KIND_MODELS if kind in allowed]


def jobs_of(user) -> dict:
    """Lookups of the jobs this user may see: their own, or every job for a superuser."""
    return {} if user.is_superuser else {"created_by": user}


def recent_jobs(user, *, own=False):
    """The latest jobs `user` may see (`own`: only those they uploaded)."""
    lookups = {"created_by": user} if own else jobs_of(user)
    return ImportJob.objects.filter(**lookups).select_related("created_by")[:RECENT_JOBS]


def visible_job(user, job_id) -> ImportJob:
    """The job, if `user` uploaded it or is a superuser; otherwise 404."""
    return get_object_or_404(
        ImportJob.objects.select_related("created_by"), pk=job_id, **jobs_of(user)
    )


def may_import_again(job) -> bool:
    """A finished check, or an import refused for its bad rows, whose file is still kept."""
    refused = job.status == ImportJob.Status.FAILED and job.counts.get("rejected")
    checked = job.status == ImportJob.Status.DONE and job.dry_run
    return bool(refused or checked) and upload_path(job).is_file()


def column_guide(kinds=KIND_MODELS):
    """Per kind (of `kinds`): its label, required and optional columns, for the upload
    pages."""
    return [
        (KIND_LABELS[kind], importer.required, [*importer.optional, *importer.other_columns])
        for kind, importer in IMPORTERS.items()
        if kind in kinds
    ]


def preview_of_form(request, form) -> dict | None:
    """The preview of a posted, valid ImportForm's upload (see upload_receive); None when
    nothing was posted or the file is refused, the reason then added to the form's errors."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return upload_receive(
            request, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
        )
    except ImportFileError as error:
        form.add_error("file", str(error))
        return None


def upload_receive(request, *, kind, upload) -> dict:
    """Keep a valid form's upload for this session and return how its header reads with its
    first rows (the preview, with the `token` that starts its job). ImportFileError, with
    the upload removed, when the header is refused."""
    stored = store_upload(upload)
    try:
        preview = preview_import(kind, stored)
    except ImportFileError:
        stored.unlink(missing_ok=True)
        raise
    uploads = request.session.get(SESSION_KEY, {})
    uploads[stored.name] = {"kind": kind, "name": upload.name}
    request.session[SESSION_KEY] = uploads
    return {**preview, "name": upload.name, "token": stored.stem}


def import_job_start(request, *, token, skip_invalid, dry_run, kinds, within_scope=False):
    """Start the job of this session's upload `token`: a check of the whole file only, or
    the import. None when the upload is unknown or gone; PermissionDenied for a kind not in
    `kinds` (those the user may import)."""
    upload = _stored_upload(request, token)
    if upload is None:
        return None
    if upload["kind"] not in kinds:
        raise PermissionDenied
    job = import_job_create(
        kind=upload["kind"],
        stored_name=upload["path"].name,
        source_name=upload["name"],
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        by=request.user,
        within_scope=within_scope,
    )
    # The job owns the file now: this token cannot start a second one.
    uploads = request.session.get(SESSION_KEY, {})
    uploads.pop(upload["path"].name, None)
    request.session[SESSION_KEY] = uploads
    queue_import_job(job.pk)
    return job


def import_job_repeat(job, *, by, skip_invalid, within_scope=False) -> ImportJob:
    """Import a checked (or refused) job's file again, as a new job (see may_import_again)."""
    again = import_job_create(
        kind=job.kind,
        stored_name=job.stored_name,
        source_name=job.source_name,
        skip_invalid=skip_invalid,
        dry_run=False,
        by=by,
        within_scope=within_scope,
    )
    queue_import_job(again.pk)
    return again


def rejects_response(job):
    """The job's rejected rows as CSV (their cells, then line, column and reason); 404 when
    it has none, or no longer."""
    rejects = rejects_path(job)
    if rejects is None:
        raise Http404(_("This import has no rejects file (or it is no longer kept)."))
    name = f"{job.source_name.rsplit('.', 1)[0]}.rejects.csv"
    return FileResponse(
        open(rejects, "rb"), as_attachment=True, filename=name, content_type="text/csv"
    )


def preview_import(kind, stored) -> dict:
    """How the file's headers read and its first rows: a check of the header only, which
    takes the same time for a file of any size. The job checks every row."""
    columns = file_columns(kind, stored)
    head = read_head(stored, rows=PREVIEW_ROWS)
    return {
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "file_size": stored.stat().st_size,
        "header_columns": [(header, column) for header, column in columns.items()],
        # The reader's own line-number column under its label; the file's columns as named.
        "head_columns": [_("Line") if column == LINE else column for column in head.columns],
        "head_rows": head.itertuples(index=False, name=None),
    }


def store_upload(upload):
    """Keep the upload under a random name (a name typed by a user never reaches the disk),
    after removing the old uploads and rejects. A big upload, already streamed to a
    temporary file, is moved rather than copied."""
    remove_old_files()
    stored = uploads_dir() / stored_name_for(upload.name)
    if hasattr(upload, "temporary_file_path"):
        file_move_safe(upload.temporary_file_path(), stored)
    else:
        with open(stored, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    return stored


def _stored_upload(request, token):
    """The session's upload of this token, with its `path`, or None (unknown or removed)."""
    for stored_name, upload in request.session.get(SESSION_KEY, {}).items():
        stored = uploads_dir() / stored_name
        if stored_name.split(".", 1)[0] == token and stored.exists():
            return {**upload, "path": stored}
    return None
