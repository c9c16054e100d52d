"""Imports in Django admin: upload a file, see its first rows, then start an import job.

`ImportMixin` adds to a ModelAdmin: `import/` (pick the kind, upload; the page
then shows how the file's headers were read and its first rows, a check of the
header only, whatever the file's size), `import/confirm/` (start the job:
check the whole file and import it, or check it only), and the job's pages
`import/jobs/<id>/` (its progress, refreshed every few seconds, then its
counts, errors and rejects file), `.../rejects/` (the rejects as CSV) and
`.../again/` (import the same file again, e.g. skipping the rows with errors).
The work is customers.imports.uploads', shared with the site's import pages; the
job runs on a worker (customers.imports.jobs), never in the request.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.imports import uploads
from customers.imports.forms import (
    AgainForm,
    ConfirmForm,
    ImportForm,
    again_form,
    confirmed_job_start,
)
from customers.imports.jobs import is_silent, rejects_path
from customers.imports.uploads import KIND_LABELS, SESSION_KEY  # noqa: F401 (tests read it)


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
        preview = uploads.preview_of_form(request, form)
        if preview is not None:
            confirm = ConfirmForm(initial={"token": preview["token"]})
            return self.render_import(request, "import_preview", confirm=confirm, **preview)
        return self.render_import(
            request, "import_form", form=form, jobs=uploads.recent_jobs(request.user)
        )

    def import_confirm_view(self, request):
        """Start the job of a previewed upload: a check of the whole file only, or the import."""
        job = confirmed_job_start(request, kinds=importable_kinds(request.user))
        if job is None:
            messages.error(request, _("This upload is no longer available; upload the file again."))
            return redirect(self.import_url())
        return redirect(self.job_url(job))

    def import_job_view(self, request, job_id):
        """The job's progress while it runs; then its counts, errors and rejects file."""
        job = uploads.visible_job(request.user, job_id)
        again = again_form(job, request.user, kinds_of=uploads.admin_import_kinds)
        return self.render_import(
            request,
            "import_job",
            job=job,
            kind_label=KIND_LABELS[job.kind],
            refresh_seconds=None if job.is_finished else uploads.REFRESH_SECONDS,
            silent=is_silent(job),
            has_rejects=rejects_path(job) is not None,
            rejects_url=self.job_url(job, "import_rejects"),
            again=again,
            again_url=self.job_url(job, "import_again"),
            title=_("Import of “%(name)s”") % {"name": job.source_name},
        )

    def import_rejects_view(self, request, job_id):
        """The job's rejected rows as CSV: their cells, then line, column and reason."""
        return uploads.rejects_response(uploads.visible_job(request.user, job_id))

    def import_again_view(self, request, job_id):
        """Import a checked (or refused) job's file again, as a new job."""
        job = uploads.visible_job(request.user, job_id)
        if job.kind not in importable_kinds(request.user):
            raise PermissionDenied
        form = AgainForm(request.POST)
        if not form.is_valid() or not uploads.may_import_again(job):
            messages.error(request, _("This file is no longer kept; upload it again."))
            return redirect(self.job_url(job))
        again = uploads.import_job_repeat(
            job,
            by=request.user,
            skip_invalid=form.cleaned_data["skip_invalid"],
            within_scope=job.within_scope,
        )
        return redirect(self.job_url(again))

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
            "upload_limit_mb": uploads.upload_max_bytes() // (1024 * 1024),
            "columns": uploads.column_guide(),
            **context,
        }
        return TemplateResponse(request, f"admin/customers/{template}.html", context)


def importable_kinds(user):
    """The kinds this user may import in the admin; PermissionDenied when none."""
    kinds = uploads.admin_import_kinds(user)
    if not kinds:
        raise PermissionDenied
    return kinds
