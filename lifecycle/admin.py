from django.contrib import admin

from customers.admin import ReadOnlyAdmin, SingletonSettingsAdmin, SnapshotAdmin
from customers.paging import CappedPaginator
from customers.people import person_column
from lifecycle.models import (
    ContactRhythmSettings,
    LifecycleSettings,
    Playbook,
    StageChange,
    StageSnapshot,
)


@admin.register(LifecycleSettings)
class LifecycleSettingsAdmin(SingletonSettingsAdmin):
    list_display = [
        "__str__",
        "new_days",
        "repeat_orders",
        "mature_days",
        "mature_quarters",
        "mature_spend_share",
        "lost_after_intervals",
        "lost_after_days",
        "snapshots_kept",
    ]


@admin.register(StageSnapshot)
class StageSnapshotAdmin(SnapshotAdmin):
    list_display = ["customer", "run", "stage", "rule_stage", "won_back"]
    list_filter = ["run", "stage", "won_back"]


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "on",
        "old_stage",
        "new_stage",
        "source",
        person_column(StageChange, "changed_by"),
        "reason",
        "locked_until",
    ]
    list_filter = ["source", "new_stage", "old_stage"]
    list_select_related = ["customer", "changed_by"]
    search_fields = ["customer__external_ref", "customer__name"]
    raw_id_fields = ["customer", "run", "changed_by"]
    date_hierarchy = "on"
    paginator = CappedPaginator
    show_full_result_count = False


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    """Admins write a stage's actions; a stage without a row shows the product's defaults."""

    list_display = ["stage", "actions"]


@admin.register(ContactRhythmSettings)
class ContactRhythmSettingsAdmin(SingletonSettingsAdmin):
    list_display = ["__str__", "key_days", "ordinary_days", "small_days", "festival_days"]
