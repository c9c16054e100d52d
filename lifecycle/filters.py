"""The stage filter that the lifecycle adds to the customer list: the live stage."""

import django_filters
from django.utils.translation import gettext_lazy as _

from lifecycle.models import Stage


def _in_stage(queryset, name, value):
    return queryset.filter(lifecycle_stage__stage=value)


def stage_filter():
    return django_filters.ChoiceFilter(
        label=_("Lifecycle stage"), choices=Stage.choices, method=_in_stage
    )
