import csv

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from openpyxl import Workbook

from customers import scores
from customers.exporting import safe_cell
from customers.models import Customer


class Command(BaseCommand):
    help = (
        "Write one row of scores per customer (credit grade and the analytics columns). "
        "With --user, only the customers that user may see."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument(
            "--output", help="File to write; CSV goes to standard output without it."
        )
        parser.add_argument("--user", help="Username whose view of the customers to export.")

    def handle(self, *args, **options):
        customers = Customer.objects.all()
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user is called {options['user']!r}.")
            customers = Customer.objects.visible_to(user)
        if options["format"] == "xlsx":
            if not options["output"]:
                raise CommandError("An XLSX export needs --output FILE.")
            count = self._write_xlsx(options["output"], customers)
        elif options["output"]:
            with open(options["output"], "w", newline="", encoding="utf-8") as handle:
                count = self._write_csv(handle, customers)
        else:
            count = self._write_csv(self.stdout, customers)
        if options["output"]:
            self.stdout.write(f"{count} customers written to {options['output']}")

    def _write_csv(self, handle, customers):
        writer = csv.writer(handle)
        writer.writerow(scores.header())
        count = 0
        for row in scores.rows(customers):
            writer.writerow([safe_cell(_plain(value)) for value in row])
            count += 1
        return count

    def _write_xlsx(self, path, customers):
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("scores")
        sheet.append(scores.header())
        count = 0
        for row in scores.rows(customers):
            sheet.append([_xlsx_value(value) for value in row])
            count += 1
        workbook.save(path)
        return count


def _plain(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _xlsx_value(value):
    if isinstance(value, bool):
        return _plain(value)
    if isinstance(value, int | float):
        return value
    return safe_cell(value)
