from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LifecycleConfig(AppConfig):
    name = "lifecycle"
    verbose_name = _("Lifecycle")

    def ready(self):
        from customers import panels, pipeline
        from lifecycle import selectors
        from lifecycle.pipeline import (
            SNAPSHOT_MODELS,
            SUMMARY_FIELDS,
            lifecycle_step,
            snapshots_kept,
        )

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
