from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentationConfig(AppConfig):
    name = "segmentation"
    verbose_name = _("Segmentation")

    def ready(self):
        from customers import dashboards, export_columns, filters, network_page, panels, pipeline
        from segmentation import filters as segment_filters
        from segmentation import selectors
        from segmentation.pipeline import SNAPSHOT_MODELS, SUMMARY_FIELDS, rfm_step, snapshots_kept

        # Reads only the orders, so it depends on no other step.
        pipeline.register_step(
            "rfm",
            rfm_step,
            label=_("RFM scores and value tiers"),
            describe=SUMMARY_FIELDS,
            snapshots=SNAPSHOT_MODELS,
            keep=snapshots_kept,
        )

        panels.register(
            key="rfm",
            title=_("RFM and value tier"),
            template="segmentation/_panel_rfm.html",
            load=selectors.rfm_panel,
            # Near the top of the side column, after the credit grade (5).
            order=9,
            column="side",
        )
        dashboards.register(
            key="value_tiers",
            title=_("Value tiers (80/20)"),
            template="segmentation/_dashboard_value_tiers.html",
            build=selectors.build_value_tiers,
            build_all=selectors.build_all_value_tiers,
            show=selectors.show_value_tiers,
            order=30,
        )
        dashboards.register(
            key="rfm_grid",
            title=_("RFM segments"),
            template="segmentation/_dashboard_rfm_grid.html",
            build=selectors.build_rfm_grid,
            build_all=selectors.build_all_rfm_grids,
            show=selectors.show_rfm_grid,
            combine=selectors.combine_rfm_grid,
            order=31,
        )

        filters.register_list_filter("value_tier", segment_filters.value_tier_filter)
        filters.register_list_filter("rfm_segment", segment_filters.segment_filter)
        filters.register_list_filter("r_score", segment_filters.r_score_filter)
        filters.register_list_filter("f_score", segment_filters.f_score_filter)
        # Rank 1 has the largest spend: ?sort=value_rank lists the biggest customers first.
        filters.register_list_ordering(
            "value_rank",
            label=_("Value rank (largest spend first)"),
            field="rfm_current__value_rank",
            prepare=segment_filters.ranked_by_value,
        )

        export_columns.register(
            key="rfm",
            headers=selectors.EXPORT_HEADER,
            load=selectors.export_columns,
            order=30,
            labels=selectors.EXPORT_LABELS,
            choices=selectors.EXPORT_CHOICES,
        )
        network_page.register_column(
            key="value_tier", header=_("Value tier"), load=selectors.network_column, order=30
        )
