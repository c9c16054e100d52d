"""Records added to a customer's file: contacts, interactions, complaints,
documents and unresolved issues. Each is reached through a visible customer."""

import mimetypes

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from customers import record_pages, selectors, services
from customers.forms import (
    ComplaintForm,
    ComplaintUpdateForm,
    ContactForm,
    DocumentForm,
    InteractionForm,
    IssueCloseForm,
    OpenIssueForm,
)
from customers.paging import query_without


def _record_form(request, pk, *, form_class, save, title, saved, form_id, files=False):
    """GET shows the form for a visible customer; a valid POST saves and returns to the file."""
    customer = selectors.customer_for(request.user, pk)
    data = request.POST if request.method == "POST" else None
    form = form_class(data, request.FILES if files and data is not None else None)
    if data is not None and form.is_valid():
        save(customer=customer, form=form, by=request.user)
        messages.success(request, saved)
        return redirect("customer-detail", pk=customer.pk)
    return render(
        request,
        "customers/form.html",
        {
            "form": form,
            "customer": customer,
            "title": title,
            "form_id": form_id,
            "multipart": files,
        },
    )


@require_http_methods(["GET", "POST"])
def contact_create(request, pk):
    return _record_form(
        request,
        pk,
        form_class=ContactForm,
        save=services.contact_add,
        title=gettext_lazy("Add a contact person"),
        saved=gettext_lazy("Contact added."),
        form_id="contact-form",
    )


@require_http_methods(["GET", "POST"])
def interaction_create(request, pk):
    return _record_form(
        request,
        pk,
        form_class=InteractionForm,
        save=services.interaction_log,
        title=gettext_lazy("Log an interaction"),
        saved=gettext_lazy("Interaction logged."),
        form_id="interaction-form",
    )


@require_http_methods(["GET", "POST"])
def complaint_create(request, pk):
    return _record_form(
        request,
        pk,
        form_class=ComplaintForm,
        save=services.complaint_record,
        title=gettext_lazy("Record a complaint"),
        saved=gettext_lazy("Complaint recorded."),
        form_id="complaint-form",
    )


@require_http_methods(["GET", "POST"])
def document_upload(request, pk):
    return _record_form(
        request,
        pk,
        form_class=DocumentForm,
        save=services.document_attach,
        title=gettext_lazy("Upload a document"),
        saved=gettext_lazy("Document uploaded."),
        form_id="document-form",
        files=True,
    )


@require_http_methods(["GET", "POST"])
def issue_create(request, pk):
    return _record_form(
        request,
        pk,
        form_class=OpenIssueForm,
        save=services.issue_open,
        title=gettext_lazy("Add an unresolved issue"),
        saved=gettext_lazy("Issue added."),
        form_id="issue-form",
    )


@require_http_methods(["GET", "POST"])
def complaint_update(request, pk, complaint_pk):
    customer = selectors.customer_for(request.user, pk)
    complaint = get_object_or_404(customer.complaints, pk=complaint_pk)
    form = ComplaintUpdateForm(request.POST or None, instance=complaint)
    if request.method == "POST" and form.is_valid():
        services.complaint_update(form=form, by=request.user)
        messages.success(request, _("Complaint updated."))
        return redirect("customer-detail", pk=customer.pk)
    return render(
        request,
        "customers/form.html",
        {
            "form": form,
            "customer": customer,
            "title": _("Complaint: %(subject)s") % {"subject": complaint.subject},
            "form_id": "complaint-update-form",
        },
    )


@require_http_methods(["GET", "POST"])
def issue_close(request, pk, issue_pk):
    customer = selectors.customer_for(request.user, pk)
    issue = get_object_or_404(customer.open_issues.open(), pk=issue_pk)
    form = IssueCloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.issue_close(
            issue=issue, resolution=form.cleaned_data["resolution"], by=request.user
        )
        messages.success(request, _("Issue closed."))
        return redirect("customer-detail", pk=customer.pk)
    return render(
        request,
        "customers/form.html",
        {
            "form": form,
            "customer": customer,
            "title": _("Close: %(title)s") % {"title": issue.title},
            "form_id": "issue-close-form",
        },
    )


def document_download(request, pk, document_pk):
    """Documents are never served from a public URL; this view checks access first."""
    customer = selectors.customer_for(request.user, pk)
    document = get_object_or_404(customer.documents, pk=document_pk)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    content_type = mimetypes.guess_type(document.file.name)[0] or "application/octet-stream"
    response = FileResponse(
        handle, as_attachment=True, filename=document.original_name, content_type=content_type
    )
    response["Cache-Control"] = "private, no-store"
    return response


def customer_records(request, pk, kind):
    """The customer's whole history of one kind of record (orders, invoices, payments),
    filtered and paged by keyset (see customers.record_pages)."""
    kind = record_pages.KINDS.get(kind)
    if kind is None:
        raise Http404
    customer = selectors.customer_for(request.user, pk)
    form = record_pages.RecordFilterForm(request.GET or None, kind=kind)
    page = None
    if form.is_bound and not form.is_valid():
        filters = None
    else:
        filters = form.cleaned_data if form.is_bound else {}
        older_than = newer_than = None
        try:
            if request.GET.get("older"):
                older_than = record_pages.parse_cursor(request.GET["older"])
            elif request.GET.get("newer"):
                newer_than = record_pages.parse_cursor(request.GET["newer"])
        except record_pages.BadCursor:
            messages.warning(
                request, _("That page link is not valid; showing the latest records instead.")
            )
        queryset = record_pages.filtered(record_pages.base_queryset(customer, kind), kind, filters)
        page = record_pages.page_of(queryset, kind, older_than=older_than, newer_than=newer_than)
        if newer_than is not None and not page.rows:
            page = record_pages.page_of(queryset, kind)
        record_pages.decorate(page.rows, kind, timezone.localdate())
    return render(
        request,
        "customers/customer_records.html",
        {
            "customer": customer,
            "kind": kind,
            "kinds": record_pages.KINDS.values(),
            "form": form,
            "page": page,
            "query": query_without(request, "older", "newer"),
        },
    )
