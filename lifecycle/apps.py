from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LifecycleConfig(AppConfig):
    name = "lifecycle"
    verbose_name = _("Lifecycle")

    def ready(self):
        from customers import dashboards, export_columns, filters, merging, panels, pipeline
        from lifecycle import exports, rhythm, selectors
        from lifecycle import filters as lifecycle_filters
        from lifecycle.models import CustomerStage
        from lifecycle.pipeline import (
            SNAPSHOT_MODELS,
            SUMMARY_FIELDS,
            lifecycle_step,
            snapshots_kept,
        )

        # A merge keeps the survivor's live stage; the merged customer's stage changes move
        # with the rest, and the next run places the survivor from the merged purchases.
        merging.register_conflict_rule(CustomerStage, on_conflict=merging.KEEP_SURVIVOR)

        # Reads the value tiers of the same run (maturity needs a key or ordinary tier).
        pipeline.register_step(
            "lifecycle",
            lifecycle_step,
            after=("rfm",),
            label=_("Lifecycle stages"),
            describe=SUMMARY_FIELDS,
            snapshots=SNAPSHOT_MODELS,
            keep=snapshots_kept,
        )

        panels.register(
            key="lifecycle",
            title=_("Lifecycle stage"),
            template="lifecycle/_panel_stage.html",
            load=selectors.stage_panel,
            # Beside the credit grade (5) and before RFM (9).
            order=7,
            column="side",
        )
        filters.register_list_filter("stage", lifecycle_filters.stage_filter)
        filters.register_list_filter("moved", lifecycle_filters.moved_filter)
        filters.register_list_filter("won_back", lifecycle_filters.won_back_filter)
        dashboards.register(
            key="lifecycle",
            title=_("Lifecycle"),
            template="lifecycle/_dashboard_stages.html",
            build=selectors.build_stages,
            build_all=selectors.build_all_stages,
            show=selectors.show_stages,
            combine=selectors.combine_stages,
            # After the value tiers and RFM (30, 31), before churn risk (40).
            order=35,
        )
        # After the RFM columns (30), before churn's (40).
        export_columns.register(
            key="lifecycle",
            headers=exports.EXPORT_HEADER,
            load=exports.export_columns,
            order=35,
            labels=exports.EXPORT_LABELS,
            choices=exports.EXPORT_CHOICES,
        )
        # Live: a contact logged now takes the customer off the list at once.
        dashboards.register_start(
            key="contact_rhythm", template="lifecycle/_home_rhythm.html", load=rhythm.start_block
        )
