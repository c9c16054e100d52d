import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers import selectors
from customers.models import Customer, Grade, Tag

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        widget=forms.TextInput(attrs={"placeholder": _("Name, phone or reference")}),
    )
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=None)
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=None)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Customer.Kind.choices)
    channel_role = django_filters.ChoiceFilter(
        label=_("Channel role"), choices=Customer.ChannelRole.choices
    )
    region = django_filters.CharFilter(label=_("Region"), lookup_expr="exact")
    tag = django_filters.ModelChoiceFilter(
        label=_("Tag"), field_name="tags", queryset=Tag.objects.all()
    )
    credit_grade = django_filters.MultipleChoiceFilter(
        label=_("Credit grade"), choices=Grade.choices, widget=forms.CheckboxSelectMultiple
    )
    has_overdue = django_filters.ChoiceFilter(
        label=_("Has overdue"), choices=YES_NO, method="filter_overdue"
    )
    has_open_complaint = django_filters.ChoiceFilter(
        label=_("Has open complaint"), choices=YES_NO, method="filter_open_complaint"
    )
    sort = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=[
            ("name", "name"),
            ("region", "region"),
            ("credit_grade", "grade"),
            ("created_at", "created"),
            ("outstanding_amount", "outstanding"),
            ("overdue_amount", "overdue"),
        ],
        field_labels={
            "name": _("Name"),
            "region": _("Region"),
            "credit_grade": _("Credit grade"),
            "created_at": _("Created"),
            "outstanding_amount": _("Outstanding"),
            "overdue_amount": _("Overdue"),
        },
    )

    class Meta:
        model = Customer
        fields = []

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].queryset = selectors.filterable_owners(user)
        self.filters["team"].queryset = selectors.visible_teams(user)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(phone__startswith=value) | Q(external_ref=value)
        )

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
