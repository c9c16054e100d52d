"""The filters that the lifecycle adds to the customer list: the live stage, the moves
between stages and the win-backs the dashboard counts."""

import django_filters
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from lifecycle.models import Stage, StageChange
from lifecycle.selectors import FLOW_WINDOWS, flow_window, win_backs

STAGES = "|".join(Stage.values)
MOVE_PATTERN = rf"^({STAGES})-({STAGES})-({'|'.join(str(days) for days in FLOW_WINDOWS)})$"


def _in_stage(queryset, name, value):
    return queryset.filter(lifecycle_stage__stage=value)


def stage_filter():
    return django_filters.ChoiceFilter(
        label=_("Lifecycle stage"), choices=Stage.choices, method=_in_stage
    )


def _moved(queryset, name, value):
    old, new, days = value.split("-")
    after, until = flow_window(int(days))
    return queryset.filter(
        Exists(
            StageChange.objects.filter(
                customer=OuterRef("pk"),
                old_stage=old,
                new_stage=new,
                on__gt=after,
                on__lte=until,
            )
        )
    )


def moved_filter():
    """`?moved=old-new-days`: customers moved from one stage to another in the last 30 or
    90 days, as the dashboard's flows count them."""
    return django_filters.CharFilter(
        label=_("Moved between stages"),
        method=_moved,
        validators=[
            RegexValidator(
                MOVE_PATTERN, _("Give two stages and 30 or 90 days, e.g. growth-termination-30.")
            )
        ],
    )


def _won_back(queryset, name, value):
    year, month = (int(part) for part in value.split("-"))
    return queryset.filter(
        Exists(win_backs().filter(customer=OuterRef("pk"), on__year=year, on__month=month))
    )


def won_back_filter():
    """`?won_back=YYYY-MM`: customers won back in that month."""
    return django_filters.CharFilter(
        label=_("Won back in month"),
        method=_won_back,
        validators=[
            RegexValidator(
                r"^\d{4}-(0[1-9]|1[0-2])$", _("Give the month as YYYY-MM, e.g. 2026-03.")
            )
        ],
    )
