"""What an import from the admin costs the request, and the job against the command's path.

    DEBUG=1 DATABASE_URL=postgres://…/crm_scratch .venv/bin/python bench/bench_import_job.py
    .venv/bin/python bench/bench_import_job.py --orders 200000 --customers 20000

Uses bench_import's database set-up, customers and orders file (1M orders over 100k
customers by default). Through the admin's own URLs, in this process (no network, no
gunicorn): the upload page's POST for a small file and for the whole file (stored,
header and first rows read), then the confirm POST with the task queued, not run. Then
the same file imported twice from an empty orders table: by `run_import` as the
commands call it, and by the job as a worker runs it, while a thread reads the job's
row every second as its page would. Prints seconds and the progress seen; asserts
nothing. Uploads go to a temporary MEDIA_ROOT.
"""

import argparse
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.bench_import import (  # noqa: E402
    DEFAULT_URL,
    empty_orders,
    ensure_customers,
    ensure_database,
    orders_csv,
)

SMALL_ROWS = 10_000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    ensure_database(url, env)
    ensure_customers(url, args.customers)
    options = SimpleNamespace(
        orders=args.orders, customers=args.customers, without_order_refs=False, seed=7
    )
    big = orders_csv(options)
    small = big.with_name("orders-head.csv")
    with open(big, encoding="utf-8") as source, open(small, "w", encoding="utf-8") as out:
        out.writelines(line for _, line in zip(range(SMALL_ROWS + 1), source, strict=False))

    from django.conf import settings

    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="crm-bench-media-"))
    settings.ALLOWED_HOSTS = ["testserver"]
    client = admin_client()
    for label, path, rows in [("small", small, SMALL_ROWS), ("whole", big, args.orders)]:
        seconds, _ = upload(client, path)
        size = path.stat().st_size / 1e6
        print(f"upload page POST, {label} file ({rows:,} rows, {size:.0f} MB): {seconds:.2f} s")
    seconds, job = confirm_queued(client, big)
    print(f"confirm POST (the job queued, not run): {seconds * 1000:.0f} ms")

    empty_orders(url)
    seconds = command_path(big)
    print(
        f"run_import as the commands call it: {seconds:.1f} s, {args.orders / seconds:,.0f} rows/s"
    )
    empty_orders(url)
    seconds, seen = job_path(job)
    print(f"the job as a worker runs it: {seconds:.1f} s, {args.orders / seconds:,.0f} rows/s")
    print("progress read every second (status, rows checked, rows written):")
    for second, values in seen:
        print(f"  {second:5.0f} s  {values}")


def admin_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    admin = get_user_model().objects.filter(username="bench-import-admin").first()
    if admin is None:
        admin = get_user_model().objects.create_superuser("bench-import-admin", "", None)
    client = Client()
    client.force_login(admin)
    return client


def upload(client, path):
    with open(path, "rb") as file:
        started = time.perf_counter()
        response = client.post("/admin/customers/order/import/", {"kind": "orders", "file": file})
        seconds = time.perf_counter() - started
    token = re.search(r'name="token" value="(\w+)"', response.content.decode())
    assert response.status_code == 200 and token, response.status_code
    return seconds, token.group(1)


def confirm_queued(client, path):
    from crm_site.celery import app
    from customers import tasks
    from customers.models import ImportJob

    _seconds, token = upload(client, path)
    app.conf.task_always_eager = False
    tasks.send_to_worker = lambda task, record_id: None
    started = time.perf_counter()
    response = client.post("/admin/customers/order/import/confirm/", {"token": token})
    seconds = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    return seconds, ImportJob.objects.latest("pk")


def command_path(path):
    from customers.imports.services import run_import

    started = time.perf_counter()
    run_import("orders", source=path)
    return time.perf_counter() - started


def job_path(job):
    from django.db import connections

    from customers.imports.jobs import import_job_execute
    from customers.models import ImportJob

    seen, done = [], threading.Event()
    started = time.perf_counter()

    def watch():
        while not done.wait(1):
            values = ImportJob.objects.values_list("status", "rows_checked", "rows_written")
            seen.append((time.perf_counter() - started, values.get(pk=job.pk)))
        connections.close_all()

    watcher = threading.Thread(target=watch)
    watcher.start()
    finished = import_job_execute(job)
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    assert finished.status == ImportJob.Status.DONE, finished.error
    return seconds, seen


if __name__ == "__main__":
    main()
