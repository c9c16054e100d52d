from django.contrib import admin

from customers.admin import ReadOnlyAdmin
from customers.paging import CappedPaginator
from segmentation.models import RfmRunSummary, RfmScore, SegmentationSettings


@admin.register(SegmentationSettings)
class SegmentationSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "window_days", "key_share", "ordinary_share", "snapshots_kept"]

    def has_add_permission(self, request):
        return not SegmentationSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RfmScore)
class RfmScoreAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "run",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "segment",
        "value_tier",
        "value_rank",
    ]
    list_filter = ["run", "value_tier", "segment", "r_score", "f_score", "m_score"]
    list_select_related = ["customer", "run"]
    search_fields = ["customer__external_ref", "customer__name"]
    raw_id_fields = ["customer", "run"]
    show_full_result_count = False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        # A million rows a run: count up to a cap, as the customer list does.
        return CappedPaginator(
            queryset, per_page, orphans=orphans, allow_empty_first_page=allow_empty_first_page
        )


@admin.register(RfmRunSummary)
class RfmRunSummaryAdmin(ReadOnlyAdmin):
    list_display = [
        "run",
        "customers_scored",
        "total_monetary",
        "top20_share",
        "pareto_customers",
        "window_days",
        "key_share",
        "ordinary_share",
    ]
    list_select_related = ["run"]
