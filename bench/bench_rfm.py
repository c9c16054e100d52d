"""Time the nightly RFM + value-tier step against PostgreSQL; prints figures, asserts nothing.

    .venv/bin/python bench/build_dataset.py       # once: 1M customers, 10M orders (crm_bench)
    .venv/bin/python bench/bench_rfm.py           # median of 3 of each measurement
    .venv/bin/python bench/bench_rfm.py --database-url \\
        postgres://postgres@127.0.0.1:5432/crm_bench_rfm_small

Three measurements, each in a fresh subprocess so that its peak RSS is its own:
- step: segmentation.pipeline.rfm_step as the frame runs it, in one transaction,
  committed: pruning, the aggregation (COPY out), scoring, the COPY of a million
  snapshot rows and the summary row. The step has no publish callable; the
  frame's publishing (one UPDATE of the run row) is left out on purpose: the run
  is closed as failed ("benchmark run, not published") so that it never becomes
  the current run of a shared database, and its snapshot is deleted afterwards
  (that delete is timed as well: it is what each night's pruning costs once
  `snapshots_kept` runs exist).
- reference: pandas over the whole orders table — COPY of (customer_id,
  order_date, amount) to CSV bytes, read_csv, the same recency/frequency/spend
  by groupby and the same scoring functions — without writing anything.
- floor: the aggregation query alone, inside the database (its rows summed,
  not sent): what no approach that reads the orders can beat.

A run is only started when no other run is running (the frame's own lock).
"""

import argparse
import datetime as dt
import io
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

BENCH_ERROR = "benchmark run (bench/bench_rfm.py), not published"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("-n", "--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=None, help="default: the last order date"
    )
    parser.add_argument("--worker", choices=["step", "reference", "floor"], help=argparse.SUPPRESS)
    add_json_argument(parser)
    return parser.parse_args(argv)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def checksum(frame):
    """Figures that must agree between the step's and the reference's R/F/M."""
    return {
        "customers": int(len(frame)),
        "recency_days": int(frame["recency_days"].sum()),
        "frequency": int(frame["frequency"].sum()),
        "monetary_cents": int(frame["monetary_cents"].sum()),
        "key": int((frame["value_tier"] == "key").sum()),
    }


def timed(phases, name, func):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        result = func(*args, **kwargs)
        phases[name] = phases.get(name, 0) + time.perf_counter() - started
        return result

    return wrapper


def worker_step(as_of):
    """The whole step for a fresh run, with its phases timed; then the run is closed unpublished
    and its snapshot deleted."""
    from django.db import transaction
    from django.utils import timezone

    from customers import pipeline as frame
    from customers.models import PipelineRun
    from customers.pipeline import pipeline_start
    from segmentation import pipeline as rfm_pipeline
    from segmentation.models import RfmRunSummary, RfmScore

    phases, seen = {}, {}
    # The frame prunes the step's old snapshots in the step's transaction.
    frame.snapshots_prune = timed(phases, "snapshots_prune", frame.snapshots_prune)
    for name in (
        "read_order_totals",
        "rfm_scores",
        "value_tiers",
        "score_rows",
        "write_snapshot",
        "run_figures",
    ):
        setattr(rfm_pipeline, name, timed(phases, name, getattr(rfm_pipeline, name)))
    score = rfm_pipeline.value_tiers

    def keep_scored(*args, **kwargs):
        seen["scored"] = score(*args, **kwargs)
        return seen["scored"]

    rfm_pipeline.value_tiers = keep_scored
    baseline = peak_rss_mb()
    run = pipeline_start(as_of=as_of)
    try:
        started = time.perf_counter()
        step = next(step for step in frame.registered_steps() if step.name == "rfm")
        result = frame.step_execute(step, run)
        seconds = time.perf_counter() - started
        phases["summary row + commit"] = seconds - sum(phases.values())
    finally:
        PipelineRun.objects.filter(pk=run.pk).update(
            status=PipelineRun.Status.FAILED, finished_at=timezone.now(), error=BENCH_ERROR
        )
    peak = peak_rss_mb()
    started = time.perf_counter()
    with transaction.atomic():
        RfmScore.objects.filter(run=run).delete()
        RfmRunSummary.objects.filter(run=run).delete()
    prune_seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": result.rows,
        "phases": phases,
        "prune_one_snapshot_seconds": prune_seconds,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak,
        "checksum": checksum(seen["scored"]),
        "summary": {
            key: result.summary[key]
            for key in ("top_20_percent_revenue_share", "customers_making_key_share")
        },
    }


def worker_reference(as_of):
    """All orders into pandas, then the same R/F/M and scoring; nothing written."""
    import numpy as np
    import pandas as pd
    from django.db import connection

    from customers.models import Order
    from segmentation.models import SegmentationSettings
    from segmentation.rfm import rfm_scores, value_tiers

    settings = SegmentationSettings.current()
    baseline = peak_rss_mb()
    started = time.perf_counter()
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY (SELECT customer_id, order_date, amount FROM {Order._meta.db_table}) "
            "TO STDOUT WITH (FORMAT csv)",
            buffer,
        )
    buffer.seek(0)
    orders = pd.read_csv(
        buffer,
        names=["customer_id", "order_date", "amount"],
        dtype={"customer_id": "int64", "amount": "float64"},
    )
    del buffer
    orders["order_date"] = pd.to_datetime(orders["order_date"], format="%Y-%m-%d")
    read_seconds = time.perf_counter() - started
    orders = orders[orders["order_date"] <= pd.Timestamp(as_of)]
    in_window = orders["order_date"] > pd.Timestamp(as_of - dt.timedelta(days=settings.window_days))
    grouped = pd.DataFrame(
        {
            "customer_id": orders["customer_id"],
            "order_date": orders["order_date"],
            "in_window": in_window.astype("int64"),
            "spend": orders["amount"].where(in_window, 0.0),
        }
    ).groupby("customer_id", sort=False)
    totals = grouped.agg(
        last_order=("order_date", "max"), frequency=("in_window", "sum"), spend=("spend", "sum")
    ).reset_index()
    totals["monetary_cents"] = np.round(totals.pop("spend") * 100).astype("int64").clip(lower=0)
    scored = value_tiers(
        rfm_scores(totals, as_of),
        key_share=settings.key_share,
        ordinary_share=settings.ordinary_share,
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "phases": {"COPY + read_csv": read_seconds, "groupby + scoring": seconds - read_seconds},
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak_rss_mb(),
        "checksum": checksum(scored),
    }


def worker_floor(as_of):
    """The aggregation alone, in the database, with the work_mem the step gives it."""
    from django.db import connection, transaction

    from customers.bulk import AGGREGATION_WORK_MEM
    from segmentation.models import SegmentationSettings
    from segmentation.pipeline import order_totals_sql

    window_days = SegmentationSettings.current().window_days
    params = {"as_of": as_of, "window_start": as_of - dt.timedelta(days=window_days)}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{AGGREGATION_WORK_MEM}'")
        started = time.perf_counter()
        # Every output used, or PostgreSQL would skip computing the unused aggregates.
        cursor.execute(
            "SELECT count(*), max(last_order), sum(frequency), sum(monetary_cents) "
            f"FROM ({order_totals_sql()}) totals",
            params,
        )
        cursor.fetchone()
        return {"seconds": time.perf_counter() - started}


def run_worker(args):
    setup_django(args.database_url)
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("The RFM bench runs on PostgreSQL (bench/build_dataset.py).")
    worker = {"step": worker_step, "reference": worker_reference, "floor": worker_floor}
    print(json.dumps(worker[args.worker](args.as_of)))


def spawn(args, kind):
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            kind,
            "--database-url",
            args.database_url,
            "--as-of",
            args.as_of.isoformat(),
        ],
        cwd=BASE_DIR,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
    )
    if completed.returncode:
        raise SystemExit(f"{kind} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def prepare(args):
    """Apply segmentation's migrations; find the as-of date; refuse while a run is running."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "segmentation", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": args.database_url},
        check=True,
    )
    setup_django(args.database_url)
    from django.db.models import Max

    from customers.models import Customer, Order, PipelineRun

    if PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).exists():
        raise SystemExit("A pipeline run is running in this database; try again when it ends.")
    if args.as_of is None:
        args.as_of = Order.objects.aggregate(last=Max("order_date"))["last"]
    return Customer.objects.count(), Order.objects.count()


def describe(label, results):
    times = [result["seconds"] for result in results]
    line = f"{label:34} median {statistics.median(times):7.2f} s   min {min(times):7.2f} s"
    if "peak_rss_mb" in results[0]:
        peak = max(result["peak_rss_mb"] for result in results)
        baseline = results[0]["baseline_rss_mb"]
        line += f"   peak RSS {peak:6.0f} MB (Django alone {baseline:.0f} MB)"
    print(line)
    if "phases" in results[0]:
        for name in results[0]["phases"]:
            median = statistics.median(result["phases"][name] for result in results)
            print(f"    {name:30} {median:7.2f} s")
    return statistics.median(times)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)
    with reporting(args.json) as figures:
        report(args, figures)


def report(args, figures):
    customers, orders = prepare(args)
    print(
        f"data set: {args.database_url.rsplit('/', 1)[-1]}, {customers:,} customers, "
        f"{orders:,} orders; as of {args.as_of}; {args.repeat} runs of each, "
        "each in a fresh process\n"
    )
    floor = [spawn(args, "floor") for _ in range(args.repeat)]
    steps = [spawn(args, "step") for _ in range(args.repeat)]
    references = [spawn(args, "reference") for _ in range(args.repeat)]
    floor_seconds = describe("floor: aggregation in the database", floor)
    step_seconds = describe("step: read, score, write (COPY)", steps)
    reference_seconds = describe("reference: all orders into pandas", references)
    prune = statistics.median(step["prune_one_snapshot_seconds"] for step in steps)
    print(f"\nsnapshot rows written per run: {steps[0]['rows']:,}")
    print(
        f"deleting one snapshot (each night's pruning once the kept runs are full): {prune:.2f} s"
    )
    same = steps[0]["checksum"] == references[0]["checksum"]
    print(f"step and reference agree on R/F/M and tiers: {'yes' if same else 'NO'}")
    if not same:
        print(f"    step {steps[0]['checksum']}\n    reference {references[0]['checksum']}")
    summary = steps[0]["summary"]
    print(
        f"top 20 % of customers bring {100 * summary['top_20_percent_revenue_share']:.1f} % "
        f"of revenue; {summary['customers_making_key_share']:,} customers make the key share"
    )
    print(
        f"\nstep / reference: {step_seconds / reference_seconds:.2f}  "
        f"(reference / step: {reference_seconds / step_seconds:.2f}x)"
    )
    print(f"step / floor:     {step_seconds / floor_seconds:.2f}")
    write = statistics.median(step["phases"]["write_snapshot"] for step in steps)
    figures.add("rfm.floor", floor_seconds, "s", label="RFM aggregation in the database")
    figures.add(
        "rfm.step", step_seconds, "s", label="RFM step / its aggregation", reference="rfm.floor"
    )
    figures.add("rfm.reference", reference_seconds, "s", label="RFM over all orders in pandas")
    figures.add("rfm.write", write, "s", label="RFM snapshot write")
    figures.add(
        "rfm.peak_rss", max(step["peak_rss_mb"] for step in steps), "MB", label="RFM step peak RSS"
    )


if __name__ == "__main__":
    main()
