"""`manage.py import_customers FILE [--skip-invalid] [--rejects FILE]`."""

from django.utils.translation import gettext_lazy as _

from customers.imports.commands import ImportCommand


class Command(ImportCommand):
    help = _("Create or update customers from a CSV or XLSX file, keyed by customer_ref.")
    kind = "customers"
