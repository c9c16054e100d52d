from django.contrib import admin

from customers.admin import ReadOnlyAdmin, SingletonSettingsAdmin, SnapshotAdmin
from segmentation.models import RfmRunSummary, RfmScore, SegmentationSettings


@admin.register(SegmentationSettings)
class SegmentationSettingsAdmin(SingletonSettingsAdmin):
    list_display = ["__str__", "window_days", "key_share", "ordinary_share", "snapshots_kept"]


@admin.register(RfmScore)
class RfmScoreAdmin(SnapshotAdmin):
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
