from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers import ranges
from customers.models import Customer, Interaction
from customers.people import PersonChoiceField, assignable_users, by_name, display_name
from customers.selectors import visible_customers
from retention.models import FollowUpPlan

# More customers than a page of the list in one go is more likely a mistake than a plan.
MAX_CUSTOMERS_PER_PLAN = 200


class PlanCreateForm(forms.Form):
    """A manager turns selected rows of the risk list into follow-up plans."""

    customers = forms.ModelMultipleChoiceField(
        label=_("Customers"),
        queryset=Customer.objects.none(),
        widget=forms.MultipleHiddenInput,
        error_messages={
            "required": _("Tick at least one customer in the list."),
            "invalid_choice": _("One of the ticked customers is not yours to plan for."),
            "invalid_pk_value": _("One of the ticked customers is not yours to plan for."),
        },
    )
    assignee = PersonChoiceField(
        label=_("Assign to"),
        queryset=None,
        required=False,
        empty_label=_("Each customer's owner"),
    )
    due_date = forms.DateField(
        label=_("Due"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter the date as YYYY-MM-DD, e.g. 2026-01-31.")},
        validators=ranges.business_date_validators(),
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Interaction.Channel.choices, initial=Interaction.Channel.VISIT
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What to talk about, e.g. the reasons shown in the list."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customers"].queryset = visible_customers(user).select_related("owner")
        self.fields["assignee"].queryset = by_name(assignable_users(user))

    def clean_customers(self):
        customers = self.cleaned_data["customers"]
        if len(customers) > MAX_CUSTOMERS_PER_PLAN:
            raise forms.ValidationError(
                _("Plan for at most %(max)s customers at a time.") % {"max": MAX_CUSTOMERS_PER_PLAN}
            )
        return customers

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if due < timezone.localdate():
            raise forms.ValidationError(_("The due date cannot be in the past."))
        return due

    def clean(self):
        cleaned = super().clean()
        customers, assignee = cleaned.get("customers"), cleaned.get("assignee")
        if not customers:
            return cleaned
        if assignee is None:
            unowned = [customer.name for customer in customers if customer.owner_id is None]
            if unowned:
                self.add_error(
                    "assignee",
                    _("These customers have no owner; choose whom to assign them to: %(names)s")
                    % {"names": ", ".join(unowned)},
                )
        else:
            # The assignee must be able to open the customer's file to work the plan.
            reachable = set(
                visible_customers(assignee)
                .filter(pk__in=[customer.pk for customer in customers])
                .values_list("pk", flat=True)
            )
            hidden = [customer.name for customer in customers if customer.pk not in reachable]
            if hidden:
                self.add_error(
                    "assignee",
                    _(
                        "%(person)s cannot see these customers: %(names)s. Assign them to their owner."
                    )
                    % {
                        "person": display_name(assignee),
                        "names": ", ".join(hidden),
                    },
                )
        return cleaned


class PlanOutcomeForm(forms.Form):
    """The assignee (or their manager) records how a plan went."""

    status = forms.ChoiceField(
        label=_("Result"),
        choices=[
            (FollowUpPlan.Status.DONE, _("Done")),
            (FollowUpPlan.Status.CANCELLED, _("Cancelled")),
        ],
        widget=forms.RadioSelect,
        initial=FollowUpPlan.Status.DONE,
    )
    outcome_code = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("", "—"), *FollowUpPlan.Outcome.choices],
        required=False,
    )
    outcome = forms.CharField(
        label=_("What happened"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("status")
        if status == FollowUpPlan.Status.DONE and not cleaned.get("outcome_code"):
            self.add_error("outcome_code", _("Say how it went."))
        if status == FollowUpPlan.Status.CANCELLED and not cleaned.get("outcome", "").strip():
            self.add_error("outcome", _("Say why the plan is cancelled."))
        return cleaned
