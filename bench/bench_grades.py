"""Time the nightly credit-grading step against PostgreSQL; prints figures, asserts nothing.

    .venv/bin/python bench/build_dataset.py        # once: 1M customers, 3M invoices (crm_bench)
    .venv/bin/python bench/bench_grades.py         # median of 3

Each repetition runs in a fresh subprocess, so that its peak RSS is its own, and
times customers.credit.step.credit_grades_step as the frame runs it: the aggregation
of invoices and payments, the rule in pandas, then its publish callable (moving
the unlocked grades, recording every change).

Two cases. The first grading of a database whose customers have no grade yet
rewrites every customer row and records a change for each; it is timed once and
committed (`--first`). A nightly run afterwards changes only the grades that
moved; those repetitions happen inside a transaction that is rolled back. Either
way the benchmark run is closed as failed and never becomes the current run.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.build_dataset import DEFAULT_URL, setup_django  # noqa: E402
from bench.figures import add_json_argument, reporting  # noqa: E402

BENCH_ERROR = "benchmark run (bench/bench_grades.py), not published"


class RolledBack(Exception):
    """Raised to undo the benchmark's writes once they are timed."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("-n", "--repeat", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--commit", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--index-costs",
        action="store_true",
        help="on a never-graded data set, rolled back: the first grading's rewrite of the "
        "customer rows without secondary indexes, then the build of each index",
    )
    add_json_argument(parser)
    return parser.parse_args(argv)


def worker(database_url, commit):
    setup_django(database_url)
    from django.db import transaction
    from django.utils import timezone

    from customers.credit.step import credit_grades_step
    from customers.models import Customer, Invoice, Payment, PipelineRun
    from customers.pipeline import pipeline_start

    as_of = Invoice.objects.order_by("-due_date").values_list("due_date", flat=True).first()
    run = pipeline_start(as_of=as_of)
    figures = {
        "customers": Customer.objects.count(),
        "invoices": Invoice.objects.count(),
        "payments": Payment.objects.count(),
    }
    try:
        with transaction.atomic():
            started = time.perf_counter()
            result = credit_grades_step(run)
            figures["compute_seconds"] = time.perf_counter() - started
            started = time.perf_counter()
            result.publish()
            figures["publish_seconds"] = time.perf_counter() - started
            figures["summary"] = result.summary
            if not commit:
                raise RolledBack
    except RolledBack:
        pass
    finally:
        PipelineRun.objects.filter(pk=run.pk).update(
            status=PipelineRun.Status.FAILED, finished_at=timezone.now(), error=BENCH_ERROR
        )
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures, default=str))


def index_costs(database_url):
    """What each index of the customer table costs a first grading: the rewrite of every
    row with only the constraint indexes, then each secondary index built on its own."""
    setup_django(database_url)
    from django.db import connection, transaction

    from customers import bulk
    from customers.credit.rule import plan_grade_changes, read_payment_history, suggest_grades
    from customers.models import CreditRules, Customer, Invoice

    table = Customer._meta.db_table
    as_of = Invoice.objects.order_by("-due_date").values_list("due_date", flat=True).first()
    rules = CreditRules.current()
    frame = read_payment_history(as_of, rules)
    rows, _changes = plan_grade_changes(frame, suggest_grades(frame, rules))
    print(f"first grading of {len(rows):,} customer rows, rolled back")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            indexes = bulk._secondary_indexes(cursor, table)
            started = time.perf_counter()
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
            print(f"  drop {len(indexes)} secondary indexes: {time.perf_counter() - started:.2f} s")
            started = time.perf_counter()
            bulk._staged_update(table, rows, key="id", read={})
            print(
                f"  rewrite the rows, constraint indexes only: {time.perf_counter() - started:.2f} s"
            )
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{bulk.INDEX_BUILD_MEM}'")
            built = []
            for name, definition in indexes:
                started = time.perf_counter()
                cursor.execute(definition)
                built.append((time.perf_counter() - started, name))
            for seconds, name in sorted(built, reverse=True):
                print(f"  build {name:<48} {seconds:6.2f} s")
            print(f"  build all: {sum(seconds for seconds, _name in built):.2f} s")
            raise RolledBack
    except RolledBack:
        pass


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args.database_url, args.commit)
    if args.index_costs:
        return index_costs(args.database_url)
    with reporting(args.json) as figures:
        if ungraded(args.database_url):
            first = report("first grading (committed)", [spawn(args.database_url, commit=True)], 1)
            figures.add("grades.first", first, "s", label="first grading of never-graded customers")
        nightly = [spawn(args.database_url) for _ in range(args.repeat)]
        figures.add(
            "grades.step", report("nightly run", nightly, args.repeat), "s", label="grades step"
        )


def ungraded(database_url):
    setup_django(database_url)
    from customers.models import Customer

    return Customer.objects.filter(credit_grade="").exists()


def spawn(database_url, commit=False):
    command = [sys.executable, __file__, "--worker", "--database-url", database_url]
    completed = subprocess.run(
        command + (["--commit"] if commit else []), check=True, capture_output=True, text=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def report(title, results, repeat):
    first = results[0]
    print(f"{title}:")
    print(
        f"credit grades on {first['customers']:,} customers, {first['invoices']:,} invoices, "
        f"{first['payments']:,} payments ({repeat} runs)"
    )
    for key, label in [
        ("compute_seconds", "read + rule (s)"),
        ("publish_seconds", "publish: grades moved, changes recorded (s)"),
        ("peak_rss_mb", "peak RSS (MB)"),
    ]:
        values = [result[key] for result in results]
        print(
            f"  {label:<45} median {statistics.median(values):8.2f}   "
            f"min {min(values):8.2f}   max {max(values):8.2f}"
        )
    totals = [result["compute_seconds"] + result["publish_seconds"] for result in results]
    print(f"  {'whole step (s)':<45} median {statistics.median(totals):8.2f}")
    print(f"  grades: {first['summary']['grades']}, changed: {first['summary']['grades_changed']}")
    return statistics.median(totals)


if __name__ == "__main__":
    main()
