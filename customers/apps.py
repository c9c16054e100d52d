from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from customers import (
            dashboards,
            network,
            panels,
            pgtypes,
            pipeline,
            purchases,
            receivables,
            selectors,
            summaries,
        )
        from customers.credit import selectors as credit_selectors
        from customers.credit import step as credit_step
        from customers.snapshots import CrossRegionSupply, PurchaseFigure

        pgtypes.register()

        pipeline.register_step(
            "receivables",
            receivables.receivables_step,
            label=_("Receivables"),
            describe=receivables.SUMMARY_FIELDS,
        )
        # Grades are judged from the invoices themselves; graded after the balances so
        # that a run's record reads like the customer file: what is owed, then the grade.
        pipeline.register_step(
            "credit_grades",
            credit_step.credit_grades_step,
            after=("receivables",),
            label=_("Credit grades"),
            describe=credit_step.SUMMARY_FIELDS,
        )
        # The network's purchases (panel and page) add up these figures.
        pipeline.register_step(
            "purchases",
            purchases.purchases_step,
            label=_("Purchases of the last 12 months"),
            describe=purchases.SUMMARY_FIELDS,
            snapshots=(PurchaseFigure, CrossRegionSupply),
            keep=purchases.snapshots_kept,
        )
        checks.register(pipeline.check_steps)
        # The dashboards' figures of each scope, once the run's data is live.
        pipeline.register_publish_hook("dashboard_summaries", summaries.publish_hook)

        core_panels = [
            ("interactions", _("Contact log"), selectors.interactions_panel, 10, "main"),
            ("downstream", _("Customers supplied"), network.downstream_panel, 15, "main"),
            ("receivables", _("Invoices and payments"), selectors.receivables_panel, 20, "main"),
            ("orders", _("Purchases"), selectors.orders_panel, 30, "main"),
            ("complaints", _("Complaints and feedback"), selectors.complaints_panel, 40, "main"),
            ("credit", _("Credit grade"), credit_selectors.credit_panel, 5, "side"),
            ("contacts", _("Contact people"), selectors.contacts_panel, 10, "side"),
            ("issues", _("Unresolved issues"), selectors.issues_panel, 20, "side"),
            ("documents", _("Documents"), selectors.documents_panel, 30, "side"),
            ("history", _("Change history"), selectors.history_panel, 90, "side"),
        ]
        for key, title, load, order, column in core_panels:
            panels.register(
                key=key,
                title=title,
                template=f"customers/_panel_{key}.html",
                load=load,
                order=order,
                column=column,
                # On a phone the file's change history comes last, after the records.
                phone_order=1000 if key == "history" else None,
            )

        dashboards.register(
            key="credit",
            title=_("Credit grades"),
            template="customers/_dashboard_credit.html",
            build=credit_selectors.build_grade_distribution,
            build_all=credit_selectors.build_all_grade_distributions,
            show=credit_selectors.show_grade_distribution,
            order=10,
        )
