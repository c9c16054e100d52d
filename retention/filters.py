import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from customers import people
from customers.filters import credit_grade_filter
from customers.models import Customer
from customers.people import PersonFilter
from lifecycle.models import Stage, StageChange
from retention.models import Band, ChurnScore
from segmentation.models import ValueTier


class ChurnFilter(django_filters.FilterSet):
    """The risk list's filters."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        widget=forms.TextInput(attrs={"placeholder": _("Name or reference")}),
    )
    # No join multiplies rows, so no DISTINCT: it would stop the list from reading the
    # (run, band, value at risk) index in order.
    band = django_filters.MultipleChoiceFilter(
        label=_("Risk band"),
        choices=Band.choices,
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
    )
    team = django_filters.ModelChoiceFilter(
        label=_("Team"), field_name="customer__team", queryset=None
    )
    owner = PersonFilter(label=_("Owner"), field_name="customer__owner", queryset=None)
    credit_grade = credit_grade_filter("customer__")
    value_tier = django_filters.MultipleChoiceFilter(
        label=_("Value tier"),
        choices=ValueTier.choices,
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
    )

    # The stages of customers who can still be kept: termination has its own list.
    stage = django_filters.MultipleChoiceFilter(
        label=_("Lifecycle stage"),
        field_name="customer__lifecycle_stage__stage",
        choices=[(value, label) for value, label in Stage.choices if value != Stage.TERMINATION],
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
    )

    class Meta:
        model = ChurnScore
        fields = []

    def __init__(self, data=None, queryset=None, *, user, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.filters["team"].queryset = people.visible_teams(user)
        self.filters["owner"].queryset = people.filterable_owners(user)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(customer__name__icontains=value) | Q(customer__external_ref=value))


class LostFilter(django_filters.FilterSet):
    """The lost customers list's filters."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        widget=forms.TextInput(attrs={"placeholder": _("Name or reference")}),
    )
    team = django_filters.ModelChoiceFilter(label=_("Team"), field_name="team", queryset=None)
    owner = PersonFilter(label=_("Owner"), field_name="owner", queryset=None)
    former_tier = django_filters.ChoiceFilter(
        label=_("Value tier when lost"), choices=ValueTier.choices, method="lost_in_tier"
    )

    class Meta:
        model = Customer
        fields = []

    def __init__(self, data=None, queryset=None, *, user, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.filters["team"].queryset = people.visible_teams(user)
        self.filters["owner"].queryset = people.filterable_owners(user)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(external_ref=value))

    def lost_in_tier(self, queryset, name, value):
        return queryset.filter(
            Exists(
                StageChange.objects.filter(
                    customer=OuterRef("pk"), new_stage=Stage.TERMINATION, value_tier=value
                )
            )
        )
