from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers import ranges
from customers.people import PersonChoiceField, filterable_owners
from lifecycle.models import Stage

SMALL_SELECT = forms.Select(attrs={"class": "form-select form-select-sm"})
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


class RhythmFilterForm(forms.Form):
    """The contact-rhythm list's filters: a festival's visit list instead of today's
    overdue customers, and one rep's customers (for managers)."""

    festival = forms.ChoiceField(label=_("Visits before"), required=False, widget=SMALL_SELECT)
    owner = PersonChoiceField(label=_("Owner"), queryset=None, required=False, widget=SMALL_SELECT)

    def __init__(self, *args, user, festivals, **kwargs):
        super().__init__(*args, **kwargs)
        self.festivals = {festival.key: festival for festival in festivals}
        self.fields["festival"].choices = [("", _("Overdue today"))] + [
            (festival.key, f"{festival.name} ({festival.day:%Y-%m-%d})") for festival in festivals
        ]
        self.fields["owner"].queryset = filterable_owners(user)

    def chosen_festival(self):
        return self.festivals.get(self.cleaned_data.get("festival") or "")
