"""The forms of an import from the browser, shared by the admin's pages and the site's."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.imports import uploads
from customers.imports.readers import ImportFileError, file_format
from customers.imports.uploads import KIND_LABELS, upload_max_bytes


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


class AgainForm(forms.Form):
    skip_invalid = forms.BooleanField(
        label=gettext_lazy("Skip the rows with errors and import the others"), required=False
    )


def again_form(job, user, *, kinds_of):
    """The form that imports a finished job's file again, when it may be (see
    uploads.may_import_again) and its kind is among `kinds_of(user)` (those the user may
    import, asked only then)."""
    if not (uploads.may_import_again(job) and job.kind in kinds_of(user)):
        return None
    return AgainForm(initial={"skip_invalid": job.skip_invalid and not job.dry_run})


class ConfirmForm(AgainForm):
    token = forms.CharField(widget=forms.HiddenInput)


def confirmed_job_start(request, *, kinds, within_scope=False):
    """Start the job of the preview confirmed in `request` (a check of the whole file only,
    or the import); None when the form is invalid or its upload is gone."""
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return None
    return uploads.import_job_start(
        request,
        token=form.cleaned_data["token"],
        skip_invalid=form.cleaned_data["skip_invalid"],
        dry_run="check_only" in request.POST,
        kinds=kinds,
        within_scope=within_scope,
    )
