from django import forms
from django.utils.translation import gettext_lazy as _


class RedeemForm(forms.Form):
    points = forms.IntegerField(label=_("points"), min_value=1, max_value=10**12)
    reason = forms.CharField(label=_("for"), max_length=255, required=False)


class AdjustForm(forms.Form):
    points = forms.IntegerField(
        label=_("points"),
        min_value=-(10**12),
        max_value=10**12,
        help_text=_("Negative to take points away."),
    )
    reason = forms.CharField(label=_("reason"), max_length=255)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("An adjustment must add or take away points."))
        return points
