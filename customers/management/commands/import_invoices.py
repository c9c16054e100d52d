"""`manage.py import_invoices FILE [--skip-invalid] [--rejects FILE]`."""

from django.utils.translation import gettext_lazy as _

from customers.imports.commands import ImportCommand


class Command(ImportCommand):
    help = _("Record invoices from a CSV or XLSX file; invoices already recorded are skipped.")
    kind = "invoices"
