"""Imports in Django admin: upload a file, see its first rows, then start an import job.

`ImportMixin` adds to a ModelAdmin: `import/` (pick the kind, upload; the page
then shows how the file's headers were read and its first rows, a check of the
header only, whatever the file's size), `import/confirm/` (start the job:
check the whole file and import it, or check it only), and the job's pages
`import/jobs/<id>/` (its progress, refreshed every few seconds, then its
counts, errors and rejects file), `.../rejects/` (the rejects as CSV) and
`.../again/` (import the same file again, e.g. skipping the rows with errors).
The job runs on a worker (customers.imports.jobs), never in the request. Until
the job starts, the upload waits under MEDIA_ROOT/imports, named by a random
token that only the uploader's session knows. A job is seen by its uploader and
by superusers only.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.move import file_move_safe
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from customers.imports.jobs import (
    import_job_create,
    is_silent,
    rejects_path,
    remove_old_files,
    stored_name_for,
    upload_path,
    uploads_dir,
)
from customers.imports.readers import LINE, ImportFileError, file_format, read_head
from customers.imports.services import IMPORTERS, file_columns
from customers.models import Customer, ImportJob, Invoice, Order, Payment
from customers.tasks import queue_import_job

KIND_MODELS = {"customers": Customer, "orders": Order, "invoices": Invoice, "payments": Payment}
KIND_LABELS = dict(ImportJob.Kind.choices)
SESSION_KEY = "customer_imports"
PREVIEW_ROWS = 20
# The job page lists this many recent jobs.
RECENT_JOBS = 10
# While a job runs, its page reloads itself this often.
REFRESH_SECONDS = 3


def upload_max_bytes():
    return settings.IMPORT_UPLOAD_MAX_BYTES


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("A .csv file (UTF-8) or an Excel .xlsx workbook."),
    )

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind, KIND_LABELS[kind]) for kind in kinds]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            file_format(upload.name)
        except ImportFileError as error:
            raise forms.ValidationError(str(error)) from None
        if upload.size > upload_max_bytes():
            raise forms.ValidationError(
                _(
                    "The file is larger than %(limit)s MB. Split it into smaller files, or "
                    "import it with the management command on the server."
                )
                % {"limit": upload_max_bytes() // (1024 * 1024)}
            )
        return upload


class ConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    skip_invalid = forms.BooleanField(
        label=gettext_lazy("Skip the rows with errors and import the others"), required=False
    )


class AgainForm(forms.Form):
    skip_invalid = forms.BooleanField(
        label=gettext_lazy("Skip the rows with errors and import the others"), required=False
    )


class ImportMixin:
    """Add import pages to a ModelAdmin; `import_kind` is the kind offered first."""

    import_kind = "customers"
    change_list_template = "admin/customers/import_change_list.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="{}_{}_import".format(*info)),
            path(
                "import/confirm/",
                view(require_POST(self.import_confirm_view)),
                name="{}_{}_import_confirm".format(*info),
            ),
            path(
                "import/jobs/<int:job_id>/",
                view(self.import_job_view),
                name="{}_{}_import_job".format(*info),
            ),
            path(
                "import/jobs/<int:job_id>/rejects/",
                view(self.import_rejects_view),
                name="{}_{}_import_rejects".format(*info),
            ),
            path(
                "import/jobs/<int:job_id>/again/",
                view(require_POST(self.import_again_view)),
                name="{}_{}_import_again".format(*info),
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """GET: the upload form and the user's recent imports. POST: keep the upload and show
        how its header reads and its first rows."""
        kinds = importable_kinds(request.user)
        initial = {"kind": self.import_kind}
        form = ImportForm(request.POST or None, request.FILES or None, kinds=kinds, initial=initial)
        if request.method != "POST" or not form.is_valid():
            return self.render_import(
                request, "import_form", form=form, jobs=recent_jobs(request.user)
            )
        kind, upload = form.cleaned_data["kind"], form.cleaned_data["file"]
        stored = store_upload(upload)
        try:
            preview = preview_import(kind, stored)
        except ImportFileError as error:
            stored.unlink(missing_ok=True)
            form.add_error("file", str(error))
            return self.render_import(
                request, "import_form", form=form, jobs=recent_jobs(request.user)
            )
        remember_upload(request, stored, kind=kind, name=upload.name)
        confirm = ConfirmForm(initial={"token": stored.stem})
        return self.render_import(
            request, "import_preview", name=upload.name, confirm=confirm, **preview
        )

    def import_confirm_view(self, request):
        """Start the job of a previewed upload: a check of the whole file only, or the import."""
        form = ConfirmForm(request.POST)
        upload = stored_upload(request, form.cleaned_data["token"]) if form.is_valid() else None
        if upload is None:
            messages.error(request, _("This upload is no longer available; upload the file again."))
            return redirect(self.import_url())
        if upload["kind"] not in importable_kinds(request.user):
            raise PermissionDenied
        job = import_job_create(
            kind=upload["kind"],
            stored_name=upload["path"].name,
            source_name=upload["name"],
            skip_invalid=form.cleaned_data["skip_invalid"],
            dry_run="check_only" in request.POST,
            by=request.user,
        )
        # The job owns the file now: this token cannot start a second one.
        forget_upload(request, upload["path"])
        queue_import_job(job.pk)
        return redirect(self.job_url(job))

    def import_job_view(self, request, job_id):
        """The job's progress while it runs; then its counts, errors and rejects file."""
        job = self.visible_job(request, job_id)
        again = None
        if may_import_again(job) and job.kind in importable_kinds(request.user):
            again = AgainForm(initial={"skip_invalid": job.skip_invalid and not job.dry_run})
        return self.render_import(
            request,
            "import_job",
            job=job,
            kind_label=KIND_LABELS[job.kind],
            refresh_seconds=None if job.is_finished else REFRESH_SECONDS,
            silent=is_silent(job),
            has_rejects=rejects_path(job) is not None,
            rejects_url=self.job_url(job, "import_rejects"),
            again=again,
            again_url=self.job_url(job, "import_again"),
            title=_("Import of “%(name)s”") % {"name": job.source_name},
        )

    def import_rejects_view(self, request, job_id):
        """The job's rejected rows as CSV: their cells, then line, column and reason."""
        job = self.visible_job(request, job_id)
        rejects = rejects_path(job)
        if rejects is None:
            raise Http404(_("This import has no rejects file (or it is no longer kept)."))
        name = f"{job.source_name.rsplit('.', 1)[0]}.rejects.csv"
        return FileResponse(
            open(rejects, "rb"), as_attachment=True, filename=name, content_type="text/csv"
        )

    def import_again_view(self, request, job_id):
        """Import a checked (or refused) job's file again, as a new job."""
        job = self.visible_job(request, job_id)
        if job.kind not in importable_kinds(request.user):
            raise PermissionDenied
        form = AgainForm(request.POST)
        if not form.is_valid() or not may_import_again(job):
            messages.error(request, _("This file is no longer kept; upload it again."))
            return redirect(self.job_url(job))
        again = import_job_create(
            kind=job.kind,
            stored_name=job.stored_name,
            source_name=job.source_name,
            skip_invalid=form.cleaned_data["skip_invalid"],
            dry_run=False,
            by=request.user,
        )
        queue_import_job(again.pk)
        return redirect(self.job_url(again))

    def visible_job(self, request, job_id):
        """The job, if this user uploaded it or is a superuser; otherwise 404."""
        return get_object_or_404(
            ImportJob.objects.select_related("created_by"), pk=job_id, **jobs_of(request.user)
        )

    def import_url(self):
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")

    def job_url(self, job, page="import_job"):
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{page}", args=[job.pk])

    def render_import(self, request, template, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import"),
            "confirm_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_import_confirm"
            ),
            "import_url": self.import_url(),
            "job_url_name": f"admin:{self.opts.app_label}_{self.opts.model_name}_import_job",
            "upload_limit_mb": upload_max_bytes() // (1024 * 1024),
            "columns": [
                (
                    KIND_LABELS[kind],
                    importer.required,
                    [*importer.optional, *importer.other_columns],
                )
                for kind, importer in IMPORTERS.items()
            ],
            **context,
        }
        return TemplateResponse(request, f"admin/customers/{template}.html", context)


def importable_kinds(user):
    """The kinds this user may import: adding (and, for customers, changing) that model."""
    kinds = [
        kind
        for kind, model in KIND_MODELS.items()
        if user.has_perm(f"{model._meta.app_label}.add_{model._meta.model_name}")
        and (kind != "customers" or user.has_perm("customers.change_customer"))
    ]
    if not kinds:
        raise PermissionDenied
    return kinds


def jobs_of(user):
    """Lookups of the jobs this user may see: their own, or every job for a superuser."""
    return {} if user.is_superuser else {"created_by": user}


def recent_jobs(user):
    return ImportJob.objects.filter(**jobs_of(user)).select_related("created_by")[:RECENT_JOBS]


def may_import_again(job):
    """A finished check, or an import refused for its bad rows, whose file is still kept."""
    refused = job.status == ImportJob.Status.FAILED and job.counts.get("rejected")
    checked = job.status == ImportJob.Status.DONE and job.dry_run
    return bool(refused or checked) and upload_path(job).is_file()


def preview_import(kind, stored):
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


def remember_upload(request, stored, *, kind, name):
    """Note in the session that this user uploaded `stored`, of `kind`, as `name`."""
    uploads = request.session.get(SESSION_KEY, {})
    uploads[stored.name] = {"kind": kind, "name": name}
    request.session[SESSION_KEY] = uploads


def stored_upload(request, token):
    """The session's upload of this token, with its `path`, or None (unknown or removed)."""
    for stored_name, upload in request.session.get(SESSION_KEY, {}).items():
        stored = uploads_dir() / stored_name
        if stored_name.split(".", 1)[0] == token and stored.exists():
            return {**upload, "path": stored}
    return None


def forget_upload(request, stored):
    """Remove the session's note of the upload (the file stays, for its job)."""
    uploads = request.session.get(SESSION_KEY, {})
    uploads.pop(stored.name, None)
    request.session[SESSION_KEY] = uploads
