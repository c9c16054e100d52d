"""Fill the database with the demo dataset of `customers.demo`: the demo logins,
their teams, and customers with three years of history (see `customers.demo.loading`)."""

import datetime as dt
from time import perf_counter

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.demo import DEFAULT_PASSWORD, MIN_CUSTOMERS, demo_dataset
from customers.demo.loading import demo_data_load
from customers.models import Customer


def parse_date(value):
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("--today must be a date as YYYY-MM-DD, not %r.") % value) from None


class Command(BaseCommand):
    @property
    def help(self):
        # A property: argparse needs a string, and the language is known only at run time.
        return _(
            "Fill the database with deterministic demo data: the demo logins, three sales teams, "
            "customers of a distribution network and three years of orders, invoices, payments, "
            "contacts and complaints. The same --customers and --seed give the same data."
        )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=2000, help=_("How many customers."))
        parser.add_argument("--seed", type=int, default=42, help=_("Seed of the random generator."))
        parser.add_argument(
            "--today",
            metavar="YYYY-MM-DD",
            help=_("The date the history runs up to (default: today, local time)."),
        )
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=_("Password of every demo login (default: %(default)s)."),
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help=_("Do nothing if there are customers already."),
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=_("Delete every existing customer and their records first."),
        )

    def handle(self, *args, customers, seed, today, password, if_empty, reset, **options):
        if customers < MIN_CUSTOMERS:
            raise CommandError(_("--customers must be at least %d.") % MIN_CUSTOMERS)
        if Customer.objects.exists():
            if if_empty:
                self.stdout.write(_("There are customers already; no demo data was added."))
                return
            if not reset:
                raise CommandError(
                    _(
                        "There are customers already. Use --reset to delete them and seed "
                        "again, or --if-empty to leave them."
                    )
                )
        today = parse_date(today) if today else timezone.localdate()
        started = perf_counter()
        data = demo_dataset(customers=customers, seed=seed, today=today)
        users = demo_data_load(data, password=password, reset=reset)
        self.stdout.write(
            self.style.SUCCESS(
                _("Demo data (seed %(seed)s, up to %(today)s) written in %(seconds).1f s:")
                % {"seed": seed, "today": today, "seconds": perf_counter() - started}
            )
        )
        counts = {
            _("users"): len(users),
            _("customers"): len(data.customers),
            _("orders"): len(data.orders),
            _("invoices"): len(data.invoices),
            _("payments"): len(data.payments),
            _("interactions"): len(data.interactions),
            _("complaints"): len(data.complaints),
        }
        self.stdout.write("  " + ", ".join(f"{label} {count:,}" for label, count in counts.items()))
