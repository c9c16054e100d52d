"""What a page of a customer's whole history costs, first page against deep pages;
prints figures, asserts nothing.

    .venv/bin/python bench/bench_records.py --database-url postgres://…/crm_scratch

One customer gets N orders, invoices and payments (default 20,000 each, three a day),
written inside a transaction that is rolled back at the end (the database is migrated
first; nothing stays). Each page (the newest, then pages reached by the `older`
cursor at 10 %, 50 % and 99 % of the history, and a `newer` page from the deepest)
is read through customers.record_pages as the view reads it, REPEAT times; median
and p95 in milliseconds, and the plan of the deepest page.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.build_dataset import setup_django  # noqa: E402
from bench.figures import add_json_argument, reporting  # noqa: E402


class RolledBack(Exception):
    """Raised to undo the benchmark's writes once they are timed."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=20_000, help="N of each kind")
    parser.add_argument("--repeat", type=int, default=50)
    add_json_argument(parser)
    return parser.parse_args(argv)


def load(rows):
    from customers.models import Customer, Invoice, Order, Payment

    customer = Customer.objects.create(external_ref="BENCH-REC-1", name="基准酒店")
    other = Customer.objects.create(external_ref="BENCH-REC-2", name="旁人超市")
    start = dt.date(2010, 1, 1)
    day = [start + dt.timedelta(days=n // 3) for n in range(rows)]
    for owner in (customer, other):
        Order.objects.bulk_create(
            Order(
                customer=owner,
                external_ref=f"{owner.pk}-O{n}",
                order_date=day[n],
                amount=Decimal("100.00"),
                quantity=1,
            )
            for n in range(rows)
        )
        invoices = Invoice.objects.bulk_create(
            Invoice(
                customer=owner,
                external_ref=f"{owner.pk}-I{n}",
                issue_date=day[n],
                due_date=day[n] + dt.timedelta(days=30),
                amount=Decimal("100.00"),
            )
            for n in range(rows)
        )
        Payment.objects.bulk_create(
            Payment(
                customer=owner,
                invoice=invoice,
                external_ref=f"{owner.pk}-P{n}",
                paid_date=invoice.due_date,
                amount=Decimal("50.00"),
            )
            for n, invoice in enumerate(invoices)
        )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_order, customers_invoice, customers_payment")
    return customer


def measure(label, read, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        read()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(f"  {label:<28} median {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms")
    return statistics.median(times)


def main(argv=None):
    args = parse_args(argv)
    if not args.database_url:
        sys.exit("Give --database-url (or set DATABASE_URL): the database is migrated.")
    with reporting(args.json) as figures:
        report(args, figures)


def report(args, figures):
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import transaction

    from customers import record_pages

    call_command("migrate", verbosity=0)
    try:
        with transaction.atomic():
            customer = load(args.rows)
            for kind in record_pages.KINDS.values():
                print(f"{kind.key} ({args.rows:,} of the customer's, as many of another's):")
                base = record_pages.base_queryset(customer, kind)
                field = kind.date_field
                ordered = list(base.order_by(f"-{field}", "-id").values_list(field, "id"))
                newest = measure(
                    "newest page", lambda b=base, k=kind: record_pages.page_of(b, k), args.repeat
                )
                figures.add(
                    f"records.{kind.key}.newest", newest, "ms", label=f"{kind.key}: newest page"
                )
                for share in (0.1, 0.5, 0.99):
                    cursor = ordered[int(len(ordered) * share)]
                    median = measure(
                        f"older than {share:.0%}",
                        lambda b=base, k=kind, c=cursor: record_pages.page_of(b, k, older_than=c),
                        args.repeat,
                    )
                figures.add(
                    f"records.{kind.key}.older_99",
                    median,
                    "ms",
                    label=f"{kind.key}: page older than 99 % / newest page",
                    reference=f"records.{kind.key}.newest",
                )
                deepest = ordered[int(len(ordered) * 0.99)]
                measure(
                    "newer than 99 %",
                    lambda b=base, k=kind, c=deepest: record_pages.page_of(b, k, newer_than=c),
                    args.repeat,
                )
                day, pk = deepest
                from django.db.models import Q

                plan_query = (
                    base.filter(**{f"{field}__lte": day})
                    .filter(Q(**{f"{field}__lt": day}) | Q(**{field: day, "pk__lt": pk}))
                    .order_by(f"-{field}", "-id")[:21]
                )
                print("  plan of the page older than 99 %:")
                for line in plan_query.explain().splitlines()[:8]:
                    print("    " + line)
            raise RolledBack
    except RolledBack:
        pass


if __name__ == "__main__":
    main()
