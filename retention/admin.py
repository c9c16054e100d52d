from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from customers.admin import ReadOnlyAdmin, SingletonSettingsAdmin, SnapshotAdmin
from customers.paging import CappedPaginator
from customers.people import person_column
from retention.models import (
    ChurnEpisode,
    ChurnRunSummary,
    ChurnScore,
    Festival,
    FollowUpPlan,
    RetentionSettings,
)
from segmentation.models import ValueTier


@admin.register(RetentionSettings)
class RetentionSettingsAdmin(SingletonSettingsAdmin):
    list_display = [
        "__str__",
        "high_risk",
        "medium_risk",
        "horizon_days",
        "snapshots_kept",
    ]


@admin.register(Festival)
class FestivalAdmin(admin.ModelAdmin):
    """The festival calendar the churn score knows; add the coming years' dates here."""

    list_display = ["date", "kind"]
    list_filter = ["kind"]
    date_hierarchy = "date"


@admin.register(ChurnRunSummary)
class ChurnRunSummaryAdmin(ReadOnlyAdmin):
    list_display = [
        "run",
        "horizon_days",
        "backtest_on",
        "customers",
        "churned",
        "fallback",
        "auc",
        "lift",
        "recency_auc",
        "recency_lift",
    ]
    list_filter = ["fallback"]


class ValueTierFilter(admin.SimpleListFilter):
    """The score keeps the tier's code; the filter offers the tiers by name."""

    title = _("value tier")
    parameter_name = "value_tier"

    def lookups(self, request, model_admin):
        return ValueTier.choices

    def queryset(self, request, queryset):
        return queryset.filter(value_tier=self.value()) if self.value() else queryset


@admin.register(ChurnScore)
class ChurnScoreAdmin(SnapshotAdmin):
    list_display = [
        "customer",
        "run",
        "risk",
        "band",
        "value",
        "expected_value",
        "value_at_risk",
        "tier",
    ]
    list_filter = ["run", "band", ValueTierFilter]

    @admin.display(description=_("value tier"), ordering="value_tier")
    def tier(self, score):
        return ValueTier(score.value_tier).label if score.value_tier else "—"


@admin.register(ChurnEpisode)
class ChurnEpisodeAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "flagged_on",
        "flagged_risk",
        "last_order_on",
        "lost_from",
        "ended_on",
        "outcome",
        "plan",
    ]
    list_filter = ["outcome", "flagged_on"]
    list_select_related = ["customer", "plan"]
    search_fields = ["customer__external_ref", "customer__name"]
    raw_id_fields = ["customer", "flagged_run", "plan"]
    paginator = CappedPaginator
    show_full_result_count = False


@admin.register(FollowUpPlan)
class FollowUpPlanAdmin(admin.ModelAdmin):
    list_display = [
        "customer",
        person_column(FollowUpPlan, "assignee"),
        "due_date",
        "channel",
        "status",
        "outcome_code",
        person_column(FollowUpPlan, "created_by"),
        "created_at",
    ]
    list_filter = ["status", "outcome_code", "channel", "due_date"]
    list_select_related = ["customer", "assignee", "created_by"]
    search_fields = ["customer__external_ref", "customer__name", "assignee__username", "note"]
    raw_id_fields = ["customer", "assignee", "created_by", "completed_by", "run"]
    readonly_fields = ["created_at", "run", "risk", "value_at_risk"]
    date_hierarchy = "due_date"
