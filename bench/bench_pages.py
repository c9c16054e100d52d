"""Time the customer pages against the large data set; prints figures, asserts nothing.

    .venv/bin/python bench/build_dataset.py       # once: 1M customers, 10M orders
    .venv/bin/python bench/bench_pages.py         # 30 timed requests per page, 3 warm-ups

Requests go through Django's test Client in this process (no network, no
browser): the time is the whole view, from middleware to rendered template.
Each page is also requested once under CaptureQueriesContext for its query
count, and the count is taken again at other page sizes and history sizes
(the light customer's file with 10 orders against the heavy one's 20,000) to
show that it does not grow with the data.
"""

import argparse
import os
import re
import statistics
import sys
import time
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.build_dataset import DEFAULT_URL, migrate, setup_django  # noqa: E402
from bench.figures import add_json_argument, reporting  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("-n", "--repeat", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument(
        "--search",
        nargs="+",
        default=["锦江", "锦江酒店"],
        help="the `q` of the search pages (PostgreSQL's trigram index needs 3+ characters)",
    )
    parser.add_argument("--region", default="上海", help="the region of the filtered page")
    parser.add_argument(
        "--queries", action="store_true", help="print every query of each page with its time"
    )
    add_json_argument(parser)
    return parser.parse_args(argv)


def setup_bench_django(url):
    setup_django(url)
    from django.conf import settings
    from django.test.utils import override_settings

    # The test Client's host, and static URLs without a collected manifest;
    # no setup_test_environment(): its template instrumentation would be timed too.
    override_settings(
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()


def missing_indexes():
    """Model indexes absent from the database (a data set built from older migrations)."""
    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
        present = {name for (name,) in cursor.fetchall()}
    wanted = {
        index.name
        for model in apps.get_app_config("customers").get_models()
        for index in model._meta.indexes
    }
    return sorted(wanted - present)


def get(client, url):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return response


def measure(client, url, repeat, warmup):
    for _ in range(warmup):
        get(client, url)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        get(client, url)
        times.append((time.perf_counter() - started) * 1000)
    return times


def captured_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        response = get(client, url)
    return response, context.captured_queries


def last_page(client, url):
    """The deepest page the list lets one reach: follow its highest page link."""
    seen = 1
    for _ in range(5):
        html = get(client, f"{url}&page={seen}").content.decode()
        numbers = [int(n) for n in re.findall(r"[?&](?:amp;)?page=(\d+)", html)]
        deepest = max(numbers, default=seen)
        if deepest <= seen:
            break
        seen = deepest
    return seen


def p95(times):
    return statistics.quantiles(times, n=20, method="inclusive")[18] if len(times) > 1 else times[0]


def main(argv=None):
    args = parse_args(argv)
    with reporting(args.json) as figures:
        report(args, figures)


def report(args, figures):
    # WhiteNoise notes that nothing was collected; the bench serves no static file.
    warnings.filterwarnings("ignore", message="No directory at")
    migrate(args.database_url)
    setup_bench_django(args.database_url)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    from customers.models import Customer
    from loyalty.models import Membership

    if connection.vendor != "postgresql":
        raise SystemExit("The page bench runs on the PostgreSQL data set (bench/build_dataset.py).")
    users = {
        username: get_user_model().objects.get(username=username)
        for username in ("bench_admin", "bench_manager", "bench_rep")
    }
    heavy = Customer.objects.get(external_ref="BENCH-HEAVY")
    light = Customer.objects.get(external_ref="BENCH-LIGHT")
    customers = Customer.objects.count()
    orders = heavy.orders.count()
    print(
        f"data set: {connection.settings_dict['NAME']}, {customers:,} customers; "
        f"heavy customer {heavy.pk} with {orders:,} orders, "
        f"light customer {light.pk} with {light.orders.count()} orders"
    )
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)"
    )
    for name in missing_indexes():
        print(f"WARNING: index {name} is missing; rebuild with build_dataset.py --rebuild")

    clients = {}
    for username, user in users.items():
        clients[username] = Client()
        clients[username].force_login(user)

    customer_list = reverse("customer-list")
    sorted_url = f"{customer_list}?sort=name"
    deep = last_page(clients["bench_admin"], sorted_url)
    pages = [
        ("list_admin", "list, page 1 (admin: all)", "bench_admin", customer_list),
        ("list_manager", "list, page 1 (manager: team)", "bench_manager", customer_list),
        ("list_rep", "list, page 1 (rep: own)", "bench_rep", customer_list),
        (
            "list_filtered",
            "list, region + wholesaler (admin)",
            "bench_admin",
            f"{customer_list}?region={args.region}&channel_role=wholesaler",
        ),
        (
            "list_overdue",
            "list, has overdue (admin)",
            "bench_admin",
            f"{customer_list}?has_overdue=yes",
        ),
        *[
            (
                f"search_{number}_{username.removeprefix('bench_')}",
                f"search q={term} ({username})",
                username,
                f"{customer_list}?q={term}",
            )
            for number, term in enumerate(args.search, 1)
            for username in ("bench_admin", "bench_rep")
        ],
        (
            "list_deep",
            f"list, sort=name page {deep} (admin)",
            "bench_admin",
            f"{sorted_url}&page={deep}",
        ),
        (
            "file_heavy",
            "file of heavy customer (rep)",
            "bench_rep",
            reverse("customer-detail", args=[heavy.pk]),
        ),
        (
            "file_light",
            "file of light customer (rep)",
            "bench_rep",
            reverse("customer-detail", args=[light.pk]),
        ),
        ("churn_list", "churn list (manager)", "bench_manager", reverse("churn-risk-list")),
        ("lost_list", "lost list (manager)", "bench_manager", reverse("lost-customer-list")),
    ]
    if Membership.objects.filter(customer=heavy).exists():
        ledger = reverse("loyalty-ledger", args=[heavy.pk])
        pages.append(("ledger_heavy", "ledger of heavy customer (rep)", "bench_rep", ledger))

    print(f"\n{args.repeat} timed requests per page after {args.warmup} warm-ups (milliseconds)")
    header = f"{'page':42} {'median':>8} {'p95':>8} {'min':>8} {'queries':>8} {'slowest query':>14}"
    print(header)
    print("-" * len(header))
    for key, label, username, url in pages:
        client = clients[username]
        times = measure(client, url, args.repeat, args.warmup)
        _response, queries = captured_queries(client, url)
        slowest = max(float(query["time"]) for query in queries) * 1000
        print(
            f"{label:42} {statistics.median(times):8.1f} {p95(times):8.1f} {min(times):8.1f} "
            f"{len(queries):8} {slowest:11.1f} ms"
        )
        figures.add(f"pages.{key}.median", statistics.median(times), "ms", label=f"{label}, median")
        figures.add(f"pages.{key}.p95", p95(times), "ms", label=f"{label}, p95")
        if args.queries:
            for query in queries:
                print(f"    {float(query['time']) * 1000:7.1f} ms  {query['sql'][:160]}")

    print("\nquery count as the data grows (it should not)")
    rows = []
    for size in (10, settings.CUSTOMER_LIST_PAGE_SIZE, 200):
        with override_settings(CUSTOMER_LIST_PAGE_SIZE=size):
            for username in ("bench_rep", "bench_admin"):
                _response, queries = captured_queries(clients[username], customer_list)
                rows.append((f"list, {size} rows per page ({username})", len(queries)))
    for customer in (light, heavy):
        url = reverse("customer-detail", args=[customer.pk])
        _response, queries = captured_queries(clients["bench_rep"], url)
        label = (
            f"file, {customer.orders.count():,} orders, {customer.invoices.count():,} invoices, "
            f"{customer.interactions.count():,} interactions"
        )
        rows.append((label, len(queries)))
        name = "heavy" if customer == heavy else "light"
        figures.add(
            f"pages.file_{name}.queries",
            len(queries),
            "queries",
            label=f"queries, {name} customer's file"
            + (" / light customer's" if name == "heavy" else ""),
            reference="pages.file_light.queries" if name == "heavy" else None,
        )
    for label, count in rows:
        print(f"{label:70} {count:4} queries")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
