from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from customers import export_columns
from customers.exporting import write_csv, write_xlsx
from customers.models import Customer


class Command(BaseCommand):
    help = (
        "Write one row of scores per customer (credit grade and the analytics columns). "
        "With --user, only the customers that user may see. Columns and values are the "
        "codes machines read (--codes, the default); --labels names them in the users' "
        "language (--language, default the site's)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument(
            "--output", help="File to write; CSV goes to standard output without it."
        )
        parser.add_argument("--user", help="Username whose view of the customers to export.")
        words = parser.add_mutually_exclusive_group()
        words.add_argument(
            "--codes",
            dest="labels",
            action="store_false",
            help="Column names and values as codes (customer_ref, true, key …): the default.",
        )
        words.add_argument(
            "--labels",
            dest="labels",
            action="store_true",
            help="Column names and values in words (客户编号, 是, 重点客户 …).",
        )
        parser.set_defaults(labels=False)
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            help="The language of --labels (default: the site's, LANGUAGE_CODE).",
        )

    def handle(self, *args, **options):
        customers = Customer.objects.all()
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user is called {options['user']!r}.")
            customers = Customer.objects.visible_to(user)
        if options["format"] == "xlsx" and not options["output"]:
            raise CommandError("An XLSX export needs --output FILE.")
        with translation.override(options["language"] or settings.LANGUAGE_CODE):
            in_words = options["labels"]
            header = export_columns.header(in_words=in_words)
            rows = export_columns.rows(customers, in_words=in_words)
            count = self.write(options, header, rows)
        if options["output"]:
            self.stdout.write(f"{count} customers written to {options['output']}")

    def write(self, options, header, rows):
        if options["format"] == "xlsx":
            return write_xlsx(options["output"], header, rows)
        if options["output"]:
            # With a byte order mark, so that Excel reads Chinese correctly.
            encoding = "utf-8-sig" if options["labels"] else "utf-8"
            with open(options["output"], "w", newline="", encoding=encoding) as handle:
                return write_csv(handle, header, rows)
        return write_csv(self.stdout, header, rows)
