"""`manage.py import_orders FILE [--skip-invalid] [--rejects FILE] [--create-missing-customers]`."""

from django.utils.translation import gettext_lazy as _

from customers.imports.commands import ImportCommand


class Command(ImportCommand):
    help = _(
        "Record orders from a CSV or XLSX file; orders already recorded (same order_ref, "
        "or the same line for rows without one) are skipped."
    )
    kind = "orders"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--create-missing-customers",
            action="store_true",
            help=_("Create a customer named by its reference for each unknown customer_ref."),
        )

    def service_options(self, options):
        return {"create_missing_customers": options["create_missing_customers"]}
