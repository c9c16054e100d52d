"""Time the network pages and the contact rhythm at a million customers; prints figures,
asserts nothing.

    .venv/bin/python bench/build_dataset.py --database-url URL      # once: 1M customers
    .venv/bin/python bench/bench_network.py --database-url URL --build-network   # once
    .venv/bin/python bench/bench_network.py --database-url URL

The data set of build_dataset.py has no supplier links; `--build-network` writes them
(wholesalers under a general distributor of their region, terminals under a wholesaler of
their region, one terminal in twenty under one elsewhere, and 300 wholesalers of
BENCH-HEAVY's region under BENCH-HEAVY, the biggest distributor); on two loaded cores the
terminals' update took some 20 minutes (every index of the table is written). Without it
the bench only reads, so it may run against a shared data set.

Each page is called in this process through its view with a RequestFactory request (no
session, nothing written): the time is the whole view with its rendered template. The
supplier search suggests suppliers for a customer (excluding the network below it), the
downstream panel is the loader of the biggest distributor's file panel, the network page
its whole tree.
"""

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.bench_pages import p95, setup_bench_django  # noqa: E402
from bench.build_dataset import DEFAULT_URL  # noqa: E402
from bench.figures import add_json_argument, reporting  # noqa: E402

HEAVY_WHOLESALERS = 300

NETWORK_SQL = [
    "UPDATE customers_customer SET parent_id = NULL WHERE parent_id IS NOT NULL",
    # Wholesalers: a general distributor of their own region, spread by id.
    """
    CREATE TEMP TABLE bench_d AS
    SELECT id, region, row_number() OVER (PARTITION BY region ORDER BY id) - 1 AS rn,
           count(*) OVER (PARTITION BY region) AS n
    FROM customers_customer WHERE channel_role = 'general_distributor'
    """,
    """
    UPDATE customers_customer c SET parent_id = d.id FROM bench_d d
    WHERE c.channel_role = 'wholesaler' AND d.region = c.region AND d.rn = c.id %% d.n
    """,
    # Terminals: a wholesaler of their region; one in twenty a wholesaler anywhere.
    """
    CREATE TEMP TABLE bench_w AS
    SELECT id, region, row_number() OVER (PARTITION BY region ORDER BY id) - 1 AS rn,
           count(*) OVER (PARTITION BY region) AS n,
           row_number() OVER (ORDER BY id) - 1 AS rn_all, count(*) OVER () AS n_all
    FROM customers_customer WHERE channel_role = 'wholesaler'
    """,
    "ANALYZE bench_d",
    "ANALYZE bench_w",
    """
    UPDATE customers_customer c SET parent_id = w.id FROM bench_w w
    WHERE c.channel_role = 'terminal' AND c.id %% 20 <> 0
      AND w.region = c.region AND w.rn = (c.id / 20) %% w.n
    """,
    """
    UPDATE customers_customer c SET parent_id = w.id FROM bench_w w
    WHERE c.channel_role = 'terminal' AND c.id %% 20 = 0 AND w.rn_all = (c.id / 20) %% w.n_all
    """,
    # The biggest distributor: BENCH-HEAVY takes the first wholesalers of its region.
    """
    UPDATE customers_customer SET parent_id = (
        SELECT id FROM customers_customer WHERE external_ref = 'BENCH-HEAVY')
    WHERE id IN (
        SELECT w.id FROM customers_customer w
        JOIN customers_customer h ON h.external_ref = 'BENCH-HEAVY' AND w.region = h.region
        WHERE w.channel_role = 'wholesaler' ORDER BY w.id LIMIT %s)
    """,
    "VACUUM ANALYZE customers_customer",
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("-n", "--repeat", type=int, default=30, help="timed calls per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first")
    parser.add_argument("--search", default="批发", help="the supplier search's text")
    parser.add_argument(
        "--rhythm-repeat", type=int, default=5, help="timed calls of the contact-rhythm pages"
    )
    parser.add_argument(
        "--build-network", action="store_true", help="write the supplier links first (once)"
    )
    parser.add_argument(
        "--build-network-if-missing",
        action="store_true",
        help="write them only when no customer has a supplier (bench/run_all.py, small scale)",
    )
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the loaded objects to the garbage collector (the site's workers freeze them)",
    )
    parser.add_argument(
        "--figures",
        action="store_true",
        help="publish a run with the purchases step only, if none is published (once)",
    )
    add_json_argument(parser)
    return parser.parse_args(argv)


def build_network(connection):
    if connection.settings_dict["NAME"] == "crm_bench":
        raise SystemExit("The shared data set is read-only: build the network on your own copy.")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in NETWORK_SQL:
            cursor.execute(sql, [HEAVY_WHOLESALERS] if "%s" in sql else [])
    print(f"network written in {time.perf_counter() - started:.1f} s")


def write_purchase_figures():
    """A published run with the nightly purchases figures only (the data set has no run;
    a real nightly run writes them too). Skipped when a run is already published."""
    from django.db import transaction
    from django.utils import timezone

    from customers.models import PipelineRun
    from customers.purchases import purchases_step

    if PipelineRun.objects.current() is not None:
        print("a run is published already: its purchases figures are read")
        return
    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        run = PipelineRun.objects.create(
            as_of=timezone.localdate(),
            status=PipelineRun.Status.SUCCEEDED,
            finished_at=now,
            published_at=now,
        )
        result = purchases_step(run)
    print(f"purchases figures: {result.rows:,} rows in {time.perf_counter() - started:.1f} s")


def timed(call, repeat, warmup):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def view_call(view, user, path, **kwargs):
    from django.test import RequestFactory

    def call():
        request = RequestFactory().get(path)
        request.user = user
        response = view(request, **kwargs)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        return response

    return call


def query_count(call):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        call()
    return len(context.captured_queries)


def has_rhythm_settings(connection):
    return "lifecycle_contactrhythmsettings" in connection.introspection.table_names()


def main(argv=None):
    args = parse_args(argv)
    with reporting(args.json) as figures:
        report(args, figures)


def report(args, figures):
    warnings.filterwarnings("ignore", message="No directory at")
    setup_bench_django(args.database_url)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.urls import reverse

    from customers import network
    from customers.models import Customer
    from customers.views import customers as customer_views
    from customers.views import network as network_views

    if connection.vendor != "postgresql":
        raise SystemExit("The network bench runs on the PostgreSQL data set.")
    if not args.no_gc_freeze:
        # As the site's workers do once loaded (gunicorn.conf.py): what is loaded now lives
        # for the whole process and need not be scanned by each full garbage collection.
        import gc

        gc.freeze()
    if args.build_network or (
        args.build_network_if_missing and not Customer.objects.filter(parent__isnull=False).exists()
    ):
        build_network(connection)
    if args.figures or args.build_network or args.build_network_if_missing:
        write_purchase_figures()
    users = {
        name: get_user_model().objects.get(username=name)
        for name in ("bench_admin", "bench_manager", "bench_rep")
    }
    heavy = Customer.objects.get(external_ref="BENCH-HEAVY")
    below = Customer.objects.filter(network.below_q(heavy.pk)).count()
    print(
        f"data set: {connection.settings_dict['NAME']}, {Customer.objects.count():,} customers, "
        f"{Customer.objects.filter(parent__isnull=False).count():,} with a supplier; "
        f"biggest distributor {heavy.pk} with {heavy.children.count():,} direct customers and "
        f"{below:,} in its network"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    search = reverse("supplier-search")
    tree = reverse("customer-network", args=[heavy.pk])
    cases = []  # (key, label, call, timed calls)
    for name, user in users.items():
        role = name.removeprefix("bench_")
        cases += [
            (
                f"supplier_search_{role}",
                f"supplier search q={args.search} ({name})",
                view_call(
                    customer_views.supplier_search,
                    user,
                    f"{search}?q={args.search}&exclude={heavy.pk}",
                ),
                args.repeat,
            ),
            (
                f"downstream_panel_{role}",
                f"downstream panel, biggest distributor ({name})",
                lambda user=user: network.downstream_panel(heavy, user),
                args.repeat,
            ),
            (
                f"network_page_{role}",
                f"network page, biggest distributor ({name})",
                view_call(network_views.network_tree, user, tree, pk=heavy.pk),
                args.repeat,
            ),
        ]
    cases.append(
        (
            "network_index_admin",
            f"network index, region {heavy.region} (admin)",
            view_call(
                network_views.network_index,
                users["bench_admin"],
                f"{reverse('network')}?region={heavy.region}",
            ),
            args.repeat,
        )
    )
    if has_rhythm_settings(connection):
        from lifecycle import rhythm
        from lifecycle import views as lifecycle_views

        for name, user in users.items():
            role = name.removeprefix("bench_")
            cases += [
                (
                    f"rhythm_start_{role}",
                    f"contact rhythm start card ({name})",
                    lambda user=user: rhythm.start_block(user),
                    args.rhythm_repeat,
                ),
                (
                    f"rhythm_list_{role}",
                    f"contact rhythm list ({name})",
                    view_call(lifecycle_views.contact_rhythm, user, reverse("contact-rhythm")),
                    args.rhythm_repeat,
                ),
            ]

    print(f"\ntimed calls after {args.warmup} warm-ups (milliseconds)")
    header = f"{'what':52} {'calls':>6} {'median':>8} {'p95':>8} {'min':>8} {'queries':>8}"
    print(header)
    print("-" * len(header))
    for key, label, call, repeat in cases:
        times = timed(call, repeat, min(args.warmup, repeat))
        print(
            f"{label:52} {repeat:6} {statistics.median(times):8.1f} {p95(times):8.1f} "
            f"{min(times):8.1f} {query_count(call):8}",
            flush=True,
        )
        figures.add(f"network.{key}.median", statistics.median(times), "ms", label=label)


if __name__ == "__main__":
    main()
