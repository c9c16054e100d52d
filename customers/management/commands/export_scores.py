from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from customers import export_columns
from customers.exporting import write_csv, write_xlsx
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
            count = write_xlsx(
                options["output"], export_columns.header(), export_columns.rows(customers)
            )
        elif options["output"]:
            with open(options["output"], "w", newline="", encoding="utf-8") as handle:
                count = write_csv(handle, export_columns.header(), export_columns.rows(customers))
        else:
            count = write_csv(self.stdout, export_columns.header(), export_columns.rows(customers))
        if options["output"]:
            self.stdout.write(f"{count} customers written to {options['output']}")
