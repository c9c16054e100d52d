"""`manage.py import_payments FILE [--skip-invalid] [--rejects FILE]`."""

from django.utils.translation import gettext_lazy as _

from customers.imports.commands import ImportCommand


class Command(ImportCommand):
    help = _(
        "Record payments against invoices from a CSV or XLSX file; payments already recorded are skipped."
    )
    kind = "payments"
