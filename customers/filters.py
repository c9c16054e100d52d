from collections.abc import Callable
from dataclasses import dataclass

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from customers import people
from customers.models import NO_CREDIT_HISTORY, Customer, Grade, Tag, credit_grade_q
from customers.people import PersonFilter
from customers.widgets import speed_up_selects

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def credit_grade_filter(prefix=""):
    """The grades as shown (A … D and no credit history), for lists of customers or of rows
    that reach the customer through `prefix` (e.g. "customer__")."""

    def filter_grades(queryset, name, values):
        return queryset.filter(credit_grade_q(values, prefix))

    return django_filters.MultipleChoiceFilter(
        label=_("Credit grade"),
        choices=[*Grade.choices, (NO_CREDIT_HISTORY, _("No credit history"))],
        widget=forms.CheckboxSelectMultiple,
        method=filter_grades,
    )


@dataclass(frozen=True)
class ListOrdering:
    label: str
    field: str
    prepare: Callable


# Other apps add filters and sort keys to the customer list from their
# AppConfig.ready(), so that the core never imports them.
_extra_filters: dict[str, Callable[[], django_filters.Filter]] = {}
_extra_orderings: dict[str, ListOrdering] = {}


def register_list_filter(name, make_filter):
    """Add a filter to the customer list; `make_filter()` returns a fresh Filter."""
    _extra_filters[name] = make_filter


def register_list_ordering(key, *, label, field, prepare=lambda queryset: queryset):
    """Add a sort key `key` (and `-key`) ordering by `field` of the queryset that
    `prepare(queryset)` returns (e.g. one annotated with FilteredRelation)."""
    _extra_orderings[key] = ListOrdering(label=label, field=field, prepare=prepare)


# Sort keys of the list: URL value → (model field, label).
SORT_KEYS = {
    "name": ("name", _("Name")),
    "region": ("region", _("Region")),
    "grade": ("credit_grade", _("Credit grade")),
    "created": ("created_at", _("Created")),
    "outstanding": ("outstanding_amount", _("Outstanding")),
    "overdue": ("overdue_amount", _("Overdue")),
}


def _sort_filter(filterset):
    keys = {key: field for key, (field, _label) in SORT_KEYS.items()}
    labels = dict(SORT_KEYS.values())
    for key, ordering in _extra_orderings.items():
        keys[key] = ordering.field
        labels[ordering.field] = ordering.label
    sort = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=[(field, key) for key, field in keys.items()],
        field_labels=labels,
    )
    sort.model, sort.parent = Customer, filterset
    return sort


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        widget=forms.TextInput(attrs={"placeholder": _("Name, phone or reference")}),
    )
    owner = PersonFilter(label=_("Owner"), queryset=None)
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=None)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Customer.Kind.choices)
    channel_role = django_filters.ChoiceFilter(
        label=_("Channel role"), choices=Customer.ChannelRole.choices
    )
    region = django_filters.CharFilter(label=_("Region"), lookup_expr="exact")
    # The direct customers of one supplier (its id), linked from the supplier's file.
    supplier = django_filters.NumberFilter(
        label=_("Supplied by"), field_name="parent", widget=forms.HiddenInput
    )
    tag = django_filters.ModelChoiceFilter(
        label=_("Tag"), field_name="tags", queryset=Tag.objects.all()
    )
    credit_grade = credit_grade_filter()
    has_overdue = django_filters.ChoiceFilter(
        label=_("Has overdue"), choices=YES_NO, method="filter_overdue"
    )
    has_open_complaint = django_filters.ChoiceFilter(
        label=_("Has open complaint"), choices=YES_NO, method="filter_open_complaint"
    )

    class Meta:
        model = Customer
        fields = []

    def __init__(self, data=None, queryset=None, *, user, **kwargs):
        requested = (data or {}).get("sort", "").lstrip("-")
        if queryset is not None and requested in _extra_orderings:
            queryset = _extra_orderings[requested].prepare(queryset)
        super().__init__(data, queryset, **kwargs)
        self.filters["owner"].queryset = people.filterable_owners(user)
        self.filters["team"].queryset = people.visible_teams(user)
        for name, make_filter in _extra_filters.items():
            self.filters[name] = make_filter()
        # Built per instance so that sort keys registered by other apps are offered.
        self.filters["sort"] = _sort_filter(self)

    @property
    def form(self):
        if not hasattr(self, "_form"):
            speed_up_selects(super().form)
        return self._form

    def search(self, queryset, name, value):
        return queryset.search(value)

    def filter_overdue(self, queryset, name, value):
        if value == "yes":
            return queryset.with_overdue()
        return queryset.filter(overdue_amount__lte=0)

    def filter_open_complaint(self, queryset, name, value):
        with_complaint = queryset.with_open_complaint()
        if value == "yes":
            return with_complaint
        return queryset.exclude(pk__in=with_complaint.values("pk"))

    @property
    def qs(self):
        queryset = super().qs
        # A stable order for paging: every sort ends on the primary key.
        ordering = list(queryset.query.order_by) or ["name"]
        if not any(field.lstrip("-") in ("id", "pk") for field in ordering):
            last_desc = ordering[-1].startswith("-")
            ordering.append("-id" if last_desc else "id")
        return queryset.order_by(*ordering)
