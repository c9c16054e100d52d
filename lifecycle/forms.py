from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers import ranges
from lifecycle.models import Stage

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StageChangeForm(forms.Form):
    stage = forms.ChoiceField(
        label=_("Stage"),
        choices=Stage.choices,
        error_messages={"invalid_choice": _("Choose one of the five stages.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        error_messages={"required": _("Say why the stage changes.")},
    )
    locked_until = forms.DateField(
        label=_("Lock until"),
        required=False,
        widget=DATE_INPUT,
        validators=ranges.business_date_validators(far_ahead=True),
        help_text=_("Optional: the nightly rule leaves the stage as set up to this date."),
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why the stage changes."))
        return reason

    def clean_locked_until(self):
        locked_until = self.cleaned_data["locked_until"]
        if locked_until is not None and locked_until < timezone.localdate():
            raise forms.ValidationError(_("A lock must end today or later."))
        return locked_until
