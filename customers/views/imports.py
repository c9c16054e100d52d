"""Imports from a site page: upload a file of customers, orders, invoices or payments, see
how its header reads and its first rows, then check it or import it in the background and
follow the job. The work is the admin's (customers.imports.uploads); here the import is
bounded to the customers the uploader may see (a manager's teams', a rep's own)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from customers.imports import uploads
from customers.imports.forms import (
    AgainForm,
    ConfirmForm,
    ImportForm,
    again_form,
    confirmed_job_start,
)
from customers.imports.jobs import is_silent, rejects_path


def _kinds(user):
    kinds = uploads.site_import_kinds(user)
    if not kinds:
        raise PermissionDenied
    return kinds


@require_http_methods(["GET", "POST"])
def import_upload(request):
    """GET: the upload form and my recent imports. POST: keep the upload and show how its
    header reads and its first rows, or say why the file is refused."""
    kinds = _kinds(request.user)
    initial = {"kind": request.GET.get("kind", "customers")}
    form = ImportForm(request.POST or None, request.FILES or None, kinds=kinds, initial=initial)
    preview = uploads.preview_of_form(request, form)
    if preview is not None:
        confirm = ConfirmForm(initial={"token": preview["token"]})
        return render(request, "customers/import_preview.html", {"confirm": confirm, **preview})
    return render(
        request,
        "customers/import_form.html",
        {
            "form": form,
            "jobs": uploads.recent_jobs(request.user, own=True),
            "upload_limit_mb": uploads.upload_max_bytes() // (1024 * 1024),
            "columns": uploads.column_guide(kinds),
        },
    )


@require_POST
def import_start(request):
    """Start the job of a previewed upload: a check of the whole file only, or the import."""
    job = confirmed_job_start(request, kinds=_kinds(request.user), within_scope=True)
    if job is None:
        messages.error(request, _("This upload is no longer available; upload the file again."))
        return redirect("import-upload")
    return redirect("import-job", pk=job.pk)


def import_job(request, pk):
    """The job's progress while it runs (the page reloads itself); then its counts, likely
    duplicates, error and rejects file."""
    job = uploads.visible_job(request.user, pk)
    again = again_form(job, request.user, kinds_of=uploads.site_import_kinds)
    return render(
        request,
        "customers/import_job.html",
        {
            "job": job,
            "refresh_seconds": None if job.is_finished else uploads.REFRESH_SECONDS,
            "silent": is_silent(job),
            "has_rejects": rejects_path(job) is not None,
            "again": again,
        },
    )


def import_rejects(request, pk):
    """The job's rejected rows as CSV: their cells, then line, column and reason."""
    return uploads.rejects_response(uploads.visible_job(request.user, pk))


@require_POST
def import_again(request, pk):
    """Import a checked (or refused) job's file again, as a new job."""
    job = uploads.visible_job(request.user, pk)
    if job.kind not in _kinds(request.user):
        raise PermissionDenied
    form = AgainForm(request.POST)
    if not form.is_valid() or not uploads.may_import_again(job):
        messages.error(request, _("This file is no longer kept; upload it again."))
        return redirect("import-job", pk=job.pk)
    again = uploads.import_job_repeat(
        job, by=request.user, skip_invalid=form.cleaned_data["skip_invalid"], within_scope=True
    )
    return redirect("import-job", pk=again.pk)
