"""What the customer history's baselines cost; prints figures and ratios, asserts nothing.

    .venv/bin/python bench/bench_history.py --database-url postgres://…/crm_scratch

A customer written in bulk gets its baseline history row lazily, just before its
first change (customers.history). Measured in one run, inside a transaction that is
rolled back at the end (the database is migrated first; nothing stays):

1. Bulk load: COPY of N customers (the reference) against the same load followed by
   a set-wise baseline for every customer, the alternative not taken.
2. Edits: a plain save of one customer (the reference, as before baselines), a save
   with the baseline check when the baseline exists, and a first edit that writes it.
3. Import: `import_customers` updating M bulk-loaded customers that have their
   baselines (the reference) against M that have none, so the import writes them.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.build_dataset import setup_django  # noqa: E402


class RolledBack(Exception):
    """Raised to undo the benchmark's writes once they are timed."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="the database to migrate and measure in (default $DATABASE_URL)",
    )
    parser.add_argument("--customers", type=int, default=100_000, help="N, bulk-loaded")
    parser.add_argument("--edits", type=int, default=200, help="edits timed per case")
    parser.add_argument("--imported", type=int, default=20_000, help="M, updated by an import")
    return parser.parse_args(argv)


def timed(action):
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def load_customers(prefix, count):
    import pandas as pd

    from customers.demo.loading import write
    from customers.models import Customer

    refs = [f"{prefix}{i:07d}" for i in range(count)]
    loaded = pd.Series(pd.Timestamp.now().floor("s"), index=range(count))
    frame = pd.DataFrame(
        {"external_ref": refs, "name": refs, "region": "上海", "created_at": loaded}
    )
    write(Customer, frame.assign(updated_at=loaded))
    return Customer.objects.filter(external_ref__startswith=prefix)


def bench_load(count):
    from customers import history

    reference = timed(lambda: load_customers("REF-", count))
    load = timed(lambda: load_customers("BASE-", count))
    baselines = timed(lambda: history.baselines_record("c.external_ref LIKE %s", ["BASE-%"]))
    print(f"1. bulk load of {count:,} customers")
    print(f"   COPY alone (reference)          {reference:8.2f} s")
    print(
        f"   COPY, then set-wise baselines   {load + baselines:8.2f} s  "
        f"(baselines {baselines:.2f} s)  ratio {(load + baselines) / reference:.2f}"
    )


def bench_edits(edits):
    from customers import history
    from customers.models import Customer

    customers = list(load_customers("EDIT-", edits * 3).order_by("pk"))
    plain, checked, first = customers[:edits], customers[edits : 2 * edits], customers[2 * edits :]
    history.baselines_record("c.external_ref LIKE %s", ["EDIT-%"])  # all but `first`…
    Customer.history.model.objects.filter(
        id__in=[customer.pk for customer in first]
    ).delete()  # …which stay without a baseline, as loaded

    def save(customer, *, baseline):
        customer.region = "杭州"
        if baseline:
            history.baseline_record(customer)
        customer.save()

    cases = [
        ("plain save (reference)", plain, False),
        ("save, baseline present", checked, True),
        ("first save, writes baseline", first, True),
    ]
    print(f"2. edits of one customer ({edits} each, ms per edit: median, p95)")
    medians = {}
    for label, group, baseline in cases:
        times = [timed(lambda c=c, b=baseline: save(c, baseline=b)) * 1000 for c in group]
        medians[label] = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        ratio = medians[label] / medians[cases[0][0]]
        print(f"   {label:32} {medians[label]:6.2f} {p95:6.2f}  ratio {ratio:.2f}")


def bench_import(count):
    from customers import history
    from customers.imports.services import import_customers

    def csv_of(prefix, folder):
        path = Path(folder) / f"{prefix}.csv"
        rows = "".join(f"{prefix}{i:07d},{prefix}{i:07d},北京\n" for i in range(count))
        path.write_text("customer_ref,name,region\n" + rows, encoding="utf-8")
        return path

    load_customers("IMPA-", count)
    load_customers("IMPB-", count)
    history.baselines_record("c.external_ref LIKE %s", ["IMPB-%"])
    with tempfile.TemporaryDirectory() as folder:
        without, present = csv_of("IMPA-", folder), csv_of("IMPB-", folder)
        import_customers(source=present)  # warm-up: B keeps its baselines
        reference = timed(lambda: import_customers(source=present))
        first = timed(lambda: import_customers(source=without))
    print(f"3. import updating {count:,} bulk-loaded customers")
    print(f"   baselines present (reference)   {reference:8.2f} s")
    print(f"   first import, writes baselines  {first:8.2f} s  ratio {first / reference:.2f}")


def main(argv=None):
    args = parse_args(argv)
    if not args.database_url:
        sys.exit("Give --database-url (or set DATABASE_URL): the database is migrated.")
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    print(f"{connection.vendor}, {args.database_url.rsplit('/', 1)[-1]}")
    try:
        with transaction.atomic():
            bench_load(args.customers)
            bench_edits(args.edits)
            bench_import(args.imported)
            raise RolledBack
    except RolledBack:
        pass


if __name__ == "__main__":
    main()
