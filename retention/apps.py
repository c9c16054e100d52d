from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention")

    def ready(self):
        from customers import dashboards, export_columns, merging, network_page, panels, pipeline
        from retention import exports, selectors
        from retention.models import ChurnEpisode, ChurnScore
        from retention.pipeline import SUMMARY_FIELDS, churn_prepare, churn_step, snapshots_kept

        # Of two open at-risk episodes the survivor's stays open; the merged customer's
        # finished episodes move with it.
        merging.register_conflict_rule(ChurnEpisode, on_conflict=merging.KEEP_SURVIVOR)

        # Reads the RFM rows of the same run (the customers' value), the credit grades and the
        # lifecycle's stages of the same run (who is lost, who was won back); its order
        # statistics and learned weights need none of them and may be prepared beside them.
        pipeline.register_step(
            "churn",
            churn_step,
            prepare=churn_prepare,
            after=("rfm", "credit_grades", "lifecycle"),
            label=_("Churn risk"),
            describe=SUMMARY_FIELDS,
            snapshots=(ChurnScore,),
            keep=snapshots_kept,
        )

        panels.register(
            key="churn",
            title=_("Churn risk and follow-up"),
            template="retention/_panel_churn.html",
            load=selectors.churn_panel,
            order=8,
            column="side",
        )
        dashboards.register(
            key="churn_risk",
            title=_("Churn risk"),
            template="retention/_dashboard_churn.html",
            build=selectors.build_churn,
            build_all=selectors.build_all_churn,
            show=selectors.show_churn,
            combine=selectors.combine_churn,
            order=40,
        )
        dashboards.register(
            key="retention",
            title=_("Retention and win-back"),
            template="retention/_dashboard_retention.html",
            build=selectors.build_retention,
            build_all=selectors.build_all_retention,
            show=selectors.show_retention,
            combine=selectors.combine_retention,
            order=41,
        )
        export_columns.register(
            key="churn",
            headers=exports.EXPORT_HEADER,
            load=exports.export_columns,
            order=40,
            labels=exports.EXPORT_LABELS,
            load_words=exports.export_columns_in_words,
        )
        dashboards.register_start(
            key="plans",
            template="retention/_home_plans.html",
            load=selectors.start_plans,
            order=10,
        )
        dashboards.register_start(
            key="at_risk",
            template="retention/_home_at_risk.html",
            build=selectors.build_at_risk,
            build_all=selectors.build_all_at_risk,
            show=selectors.show_at_risk,
            combine=selectors.combine_at_risk,
            order=20,
        )
        network_page.register_column(
            key="churn_risk", header=_("Churn risk"), load=selectors.network_column, order=40
        )
