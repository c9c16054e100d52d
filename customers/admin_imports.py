"""Imports in Django admin: upload a file, preview what it would do, then confirm.

`ImportMixin` adds two pages to a ModelAdmin: `import/` (pick the kind, upload,
see the first rows, every error and the counts of a dry run) and
`import/confirm/` (run the real import). The upload waits under
MEDIA_ROOT/imports, named by a random token that only the uploader's session
knows, until it is imported or a day old.
"""

import secrets
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from customers.imports.commands import summary
from customers.imports.readers import LINE, ImportFileError, file_format, read_head
from customers.imports.services import IMPORTERS, run_import
from customers.models import Customer, Invoice, Order, Payment

KIND_MODELS = {"customers": Customer, "orders": Order, "invoices": Invoice, "payments": Payment}
KIND_LABELS = {
    "customers": gettext_lazy("Customers"),
    "orders": gettext_lazy("Orders (purchases)"),
    "invoices": gettext_lazy("Invoices (receivables)"),
    "payments": gettext_lazy("Payments received"),
}
SESSION_KEY = "customer_imports"
PREVIEW_ROWS = 20
# The preview lists this many errors; the counts cover all of them.
SHOWN_ERRORS = 1000
KEEP_UPLOADS_SECONDS = 24 * 3600


def upload_max_bytes():
    # Bigger files belong to the import_* management commands, which stream them.
    return getattr(settings, "IMPORT_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)


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
                _("The file is larger than %(limit)s MB; import it with the management command.")
                % {"limit": upload_max_bytes() // (1024 * 1024)}
            )
        return upload


class ConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    skip_invalid = forms.BooleanField(
        label=gettext_lazy("Skip the rows with errors and import the others"), required=False
    )


class ImportMixin:
    """Add import pages to a ModelAdmin; `import_kind` is the kind offered first."""

    import_kind = "customers"
    change_list_template = "admin/customers/import_change_list.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="{}_{}_import".format(*info),
            ),
            path(
                "import/confirm/",
                self.admin_site.admin_view(require_POST(self.import_confirm_view)),
                name="{}_{}_import_confirm".format(*info),
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """GET: the upload form. POST: keep the upload and show its dry-run preview."""
        kinds = importable_kinds(request.user)
        initial = {"kind": self.import_kind}
        form = ImportForm(request.POST or None, request.FILES or None, kinds=kinds, initial=initial)
        if request.method != "POST" or not form.is_valid():
            return self.render_import(request, "import_form", form=form, kinds=kinds)
        kind, upload = form.cleaned_data["kind"], form.cleaned_data["file"]
        stored = store_upload(upload)
        try:
            preview = preview_import(kind, stored, by=request.user)
        except ImportFileError as error:
            stored.unlink(missing_ok=True)
            form.add_error("file", str(error))
            return self.render_import(request, "import_form", form=form, kinds=kinds)
        remember_upload(request, stored, kind=kind, name=upload.name)
        confirm = ConfirmForm(initial={"token": stored.stem})
        return self.render_import(
            request, "import_preview", name=upload.name, confirm=confirm, **preview
        )

    def import_confirm_view(self, request):
        """Run the real import of a previewed upload."""
        form = ConfirmForm(request.POST)
        upload = stored_upload(request, form.cleaned_data["token"]) if form.is_valid() else None
        if upload is None:
            messages.error(request, _("This upload is no longer available; upload the file again."))
            return redirect(self.import_url())
        kind, stored = upload["kind"], upload["path"]
        if kind not in importable_kinds(request.user):
            raise PermissionDenied
        options = {"by": request.user} if kind == "customers" else {}
        skip_invalid = form.cleaned_data["skip_invalid"]
        report = run_import(kind, source=stored, skip_invalid=skip_invalid, **options)
        if not report.imported:
            messages.error(
                request,
                _("Nothing was imported: %(count)s rows have errors.") % {"count": report.rejected},
            )
            preview = preview_import(kind, stored, by=request.user)
            return self.render_import(
                request, "import_preview", name=upload["name"], confirm=form, **preview
            )
        forget_upload(request, stored)
        messages.success(request, summary(report))
        model = KIND_MODELS[kind]._meta
        return redirect(f"admin:{model.app_label}_{model.model_name}_changelist")

    def import_url(self):
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")

    def render_import(self, request, template, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import"),
            "confirm_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_import_confirm"
            ),
            "import_url": self.import_url(),
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


def preview_import(kind, stored, *, by):
    """The dry run of an import: its report, the first rows and the errors to show."""
    options = {"by": by} if kind == "customers" else {}
    report = run_import(kind, source=stored, skip_invalid=True, dry_run=True, **options)
    head = read_head(stored, rows=PREVIEW_ROWS)
    return {
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "report": report,
        # The reader's own line-number column under its label; the file's columns as named.
        "head_columns": [_("Line") if column == LINE else column for column in head.columns],
        "head_rows": head.itertuples(index=False, name=None),
        "errors": report.errors[:SHOWN_ERRORS],
        "errors_not_shown": max(len(report.error_frame) - SHOWN_ERRORS, 0),
        "warnings": report.warnings[:SHOWN_ERRORS],
        "warnings_not_shown": max(len(report.warning_frame) - SHOWN_ERRORS, 0),
    }


def uploads_dir() -> Path:
    directory = Path(settings.MEDIA_ROOT) / "imports"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def store_upload(upload) -> Path:
    """Save the upload under a random name (a name typed by a user never reaches the disk),
    after removing the uploads older than a day."""
    directory = uploads_dir()
    for old in directory.iterdir():
        if old.stat().st_mtime < time.time() - KEEP_UPLOADS_SECONDS:
            old.unlink(missing_ok=True)
    stored = directory / f"{secrets.token_hex(16)}.{file_format(upload.name)}"
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
        if Path(stored_name).stem == token and stored.exists():
            return {**upload, "path": stored}
    return None


def forget_upload(request, stored):
    """Remove the upload and the session's note of it."""
    uploads = request.session.get(SESSION_KEY, {})
    uploads.pop(stored.name, None)
    request.session[SESSION_KEY] = uploads
    stored.unlink(missing_ok=True)
