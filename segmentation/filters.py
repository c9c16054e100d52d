"""Filters and a sort key that segmentation adds to the customer list, via the current run."""

import django_filters
from django.db.models import FilteredRelation, Q
from django.utils.translation import gettext_lazy as _

from customers.models import PipelineRun
from segmentation.models import Segment, ValueTier
from segmentation.selectors import customers_with_score

SCORE_CHOICES = [(str(score), str(score)) for score in range(1, 6)]


def _score_filter(field):
    def filter_customers(queryset, name, value):
        return queryset.filter(customers_with_score(**{field: value}))

    return filter_customers


def value_tier_filter():
    return django_filters.ChoiceFilter(
        label=_("Value tier"), choices=ValueTier.choices, method=_score_filter("value_tier")
    )


def segment_filter():
    return django_filters.ChoiceFilter(
        label=_("RFM segment"), choices=Segment.choices, method=_score_filter("segment")
    )


# ChoiceFilter, not TypedChoiceFilter: only the former offers an empty "any" choice, and a
# select without one makes the browser submit the first score with every search.
def r_score_filter():
    return django_filters.ChoiceFilter(
        label=_("R score (recency)"), choices=SCORE_CHOICES, method=_score_filter("r_score")
    )


def f_score_filter():
    return django_filters.ChoiceFilter(
        label=_("F score (frequency)"), choices=SCORE_CHOICES, method=_score_filter("f_score")
    )


def ranked_by_value(queryset):
    """Only the customers ranked in the current run, joined to their score so that the list
    can be ordered by `rfm_current__value_rank`. Customers without spend in the window
    (or who never ordered) have no rank and are left out of this sort, on every database
    alike."""
    return queryset.annotate(
        rfm_current=FilteredRelation(
            "rfmscore", condition=Q(rfmscore__run_id=PipelineRun.objects.current_id())
        )
    ).filter(rfm_current__value_rank__isnull=False)
