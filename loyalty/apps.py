from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self):
        from customers import dashboards, export_columns, merging, panels, pipeline
        from customers.signals import (
            orders_cancelled,
            orders_changed,
            orders_deleted,
            orders_recorded,
        )
        from loyalty import selectors, services
        from loyalty.models import Membership
        from loyalty.pipeline import SUMMARY_FIELDS, loyalty_step

        # A membership and its ledger follow the customer into a merge; two cannot be one.
        merging.register_conflict_rule(
            Membership,
            on_conflict=merging.REFUSE,
            refusal=_(
                "%(survivor)s and %(merged)s are both points members: close one membership "
                "before merging them."
            ),
        )
        orders_recorded.connect(services.award_for_orders, dispatch_uid="loyalty-award")
        orders_cancelled.connect(services.reverse_for_orders, dispatch_uid="loyalty-reverse")
        orders_changed.connect(services.rebalance_for_orders, dispatch_uid="loyalty-rebalance")
        orders_deleted.connect(services.reverse_for_orders, dispatch_uid="loyalty-reverse-deleted")

        pipeline.register_step(
            "loyalty",
            loyalty_step,
            after=("rfm",),
            label=_("Points membership"),
            describe=SUMMARY_FIELDS,
        )
        panels.register(
            key="membership",
            title=_("Points membership"),
            template="loyalty/_panel_membership.html",
            load=selectors.membership_panel,
            order=12,
            column="side",
        )
        export_columns.register(
            key="loyalty",
            headers=selectors.EXPORT_HEADER,
            load=selectors.export_columns,
            order=50,
            labels=selectors.EXPORT_LABELS,
            choices=selectors.EXPORT_CHOICES,
        )
        dashboards.register(
            key="points",
            title=_("Points membership"),
            template="loyalty/_dashboard_points.html",
            build=selectors.build_points,
            build_all=selectors.build_all_points,
            show=selectors.show_points,
            order=50,
        )
