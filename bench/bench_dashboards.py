"""Time every role's start page and dashboard against its customer list; prints figures,
asserts nothing.

    .venv/bin/python bench/build_dataset.py --customers 300000 --orders 3000000 \\
        --invoices 900000 --interactions 300000 --complaints 15000
    DATABASE_URL=... .venv/bin/python manage.py run_pipeline
    .venv/bin/python bench/bench_dashboards.py

For bench_rep, bench_manager and bench_admin in turn (the data set's users), each page
is requested through Django's test Client in this process (force_login, no network):
2 warm-ups, then 5 timed requests; the median is compared with the same user's
/customers/ median. The start page and the dashboard should cost at most about twice
the list: their figures come from the summaries the pipeline run wrote when it was
published. Each page's query count is printed as well.
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

from bench.bench_pages import setup_bench_django  # noqa: E402
from bench.build_dataset import DEFAULT_URL  # noqa: E402
from bench.figures import add_json_argument, reporting  # noqa: E402

USERS = ("bench_rep", "bench_manager", "bench_admin")
PAGES = ("/customers/", "/", "/dashboard/")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("-n", "--repeat", type=int, default=5, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests first")
    add_json_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with reporting(args.json) as figures:
        report(args, figures)


def report(args, figures):
    warnings.filterwarnings("ignore", message="No directory at")
    setup_bench_django(args.database_url)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from customers.models import Customer, PipelineRun

    run = PipelineRun.objects.current()
    print(
        f"{Customer.objects.count():,} customers; current run: "
        f"{run.pk if run else 'none'} (as of {run.as_of if run else '-'})"
    )
    User = get_user_model()
    for name in USERS:
        user = User.objects.filter(username=name).first()
        if user is None:
            raise SystemExit(f"No user {name}: build the data set with bench/build_dataset.py.")
        client = Client()
        client.force_login(user)
        medians, counts = {}, {}
        for path in PAGES:
            for _ in range(args.warmup):
                client.get(path)
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{name} GET {path} answered {response.status_code}")
            medians[path] = statistics.median(times)
            with CaptureQueriesContext(connection) as queries:
                client.get(path)
            counts[path] = len(queries.captured_queries)
        base = medians["/customers/"]
        for path in PAGES:
            ratio = medians[path] / base
            print(
                f"{name:14} {path:12} median {medians[path]:7.0f} ms  "
                f"{ratio:4.1f}x list  {counts[path]:3} queries"
            )
        role = name.removeprefix("bench_")
        figures.add(f"dashboards.list_{role}", base, "ms", label=f"/customers/ ({role}), median")
        for path, page in (("/", "start"), ("/dashboard/", "dashboard")):
            figures.add(
                f"dashboards.{page}_{role}",
                medians[path],
                "ms",
                label=f"{path} ({role}), median / the list's",
                reference=f"dashboards.list_{role}",
            )


if __name__ == "__main__":
    main()
