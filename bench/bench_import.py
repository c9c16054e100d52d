"""Time `manage.py import_orders` on a large file against PostgreSQL.

    .venv/bin/python bench/bench_import.py                          # 10M orders, 1M customers
    .venv/bin/python bench/bench_import.py --orders 1000000 --customers 100000
    .venv/bin/python bench/bench_import.py --orders 1000000 --without-order-refs

Creates the database (DATABASE_URL, default crm_bench_import) and migrates it
when missing, adds the bench customers in one INSERT ... SELECT when fewer
exist, writes the orders CSV once (in the temporary directory, reused),
empties the orders table, then runs the import twice in a subprocess: the first
run records every order, the second finds them all already recorded. Prints
rows, seconds, rows per second and the importer's peak memory; asserts nothing.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import psycopg2
from psycopg2 import sql

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.figures import add_json_argument, reporting  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_import"
CATEGORIES = np.array(["饮料", "酒类", "粮油", "调味品", "休闲食品", "日化", "乳制品", ""])
CSV_CHUNK = 1_000_000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--without-order-refs", action="store_true", help="derive the refs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    add_json_argument(parser)
    args = parser.parse_args()
    with reporting(args.json) as figures:
        measure(args, figures)


def measure(args, figures):
    url = args.database_url
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "INFO"}

    ensure_database(url, env)
    ensure_customers(url, args.customers)
    path = orders_csv(args)
    empty_orders(url)
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB, {args.orders:,} orders)")
    copy = raw_copy(url, path)
    report("raw COPY of the file into a scratch table (reference)", args.orders, copy)
    first = timed_import(path, env)
    report("first import", args.orders, first)
    second = timed_import(path, env)
    report("re-import", args.orders, second)
    figures.add("import.copy", args.orders / copy, "rows/s", label="raw COPY of the orders file")
    for name, label, seconds in [("first", "first import", first), ("again", "re-import", second)]:
        figures.add(
            f"import.{name}",
            args.orders / seconds,
            "rows/s",
            label=f"import_orders, {label} / raw COPY",
            reference="import.copy",
        )


def raw_copy(url, path):
    """COPY of the same file into a temporary table of text columns: what no import beats."""
    with open(path, encoding="utf-8") as source:
        header = source.readline().strip().split(",")
    columns = ", ".join(f'"{name}" text' for name in header)
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE bench_import_copy ({columns})")
        started = time.perf_counter()
        with open(path, encoding="utf-8") as source:
            cursor.copy_expert(
                "COPY bench_import_copy FROM STDIN WITH (FORMAT csv, HEADER)", source
            )
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_import_copy")
    connection.close()
    return seconds


def ensure_database(url, env):
    """Create the database if it does not exist, then apply the migrations."""
    name = urlsplit(url).path.lstrip("/")
    connection = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )


def ensure_customers(url, count):
    """Customers BENCH-C0000001 … up to `count`, added set-wise when missing."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from customers.imports.writers import _db_default
    from customers.models import Customer

    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE external_ref LIKE %s", ["BENCH-C%"])
        present = cursor.fetchone()[0]
    if present >= count:
        return
    columns, values, params = [], [], []
    now = timezone.now()
    for field in Customer._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in ("external_ref", "name"):
            values.append("'BENCH-C' || lpad(g::text, 7, '0')")
        else:
            values.append("%s")
            params.append(_db_default(field, now))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM generate_series(%s, %s) AS g ON CONFLICT (external_ref) DO NOTHING",
            [*params, present + 1, count],
        )
        cursor.execute(f"ANALYZE {table}")
    print(f"customers: added {count - present:,} in {time.perf_counter() - started:.1f} s")


def orders_csv(args):
    """The orders file for these arguments, written once."""
    refs = "derived" if args.without_order_refs else "refs"
    path = (
        Path(tempfile.gettempdir())
        / "crm_bench_import"
        / f"orders-{args.orders}-{args.customers}-{refs}.csv"
    )
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8") as out:
        for start in range(0, args.orders, CSV_CHUNK):
            size = min(CSV_CHUNK, args.orders - start)
            chunk_orders(rng, start, size, args).to_csv(out, index=False, header=start == 0)
    partial.rename(path)
    print(f"wrote {path.name} in {time.perf_counter() - started:.1f} s")
    return path


def chunk_orders(rng, start, size, args):
    customer = rng.integers(1, args.customers + 1, size)
    days = rng.integers(0, 3 * 365, size)
    cents = rng.integers(100, 5_000_000, size)
    frame = pd.DataFrame(
        {
            "customer_ref": pd.Series(customer).map("BENCH-C{:07d}".format),
            "order_date": (np.datetime64("2023-01-01") + days).astype(str),
            "amount": pd.Series(cents // 100).astype(str)
            + "."
            + pd.Series(cents % 100).map("{:02d}".format),
            "quantity": rng.integers(1, 50, size),
            "category": CATEGORIES[rng.integers(0, len(CATEGORIES), size)],
        }
    )
    if not args.without_order_refs:
        frame.insert(
            1, "order_ref", pd.Series(np.arange(start, start + size)).map("BO-{:09d}".format)
        )
    return frame


def empty_orders(url):
    """Start from no orders, so that the first import records every row."""
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_order CASCADE")
    connection.close()


def timed_import(path, env):
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", "import_orders", str(path)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    phases = [line for line in result.stderr.splitlines() if line.startswith("Import of")]
    print("\n".join([result.stdout.strip(), *phases]) or result.stderr.strip()[-2000:])
    if result.returncode:
        sys.exit(result.returncode)
    return seconds


def report(label, rows, seconds):
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{label}: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s "
        f"(largest child process so far: {peak_mb:,.0f} MB)"
    )


if __name__ == "__main__":
    main()
