"""Time the nightly lifecycle step beside the RFM step of the same run, against PostgreSQL;
prints both step times and their ratio, asserts nothing.

    .venv/bin/python bench/bench_lifecycle.py --database-url \\
        postgres://postgres@127.0.0.1:5432/crm_lifecycle_bench     # median of 3

Each repetition, in a fresh subprocess: a new run as of the last order date, then the RFM
step and the lifecycle step one after the other as the frame runs them (each in its own
transaction, its old snapshots pruned first, one pass over the orders for both, read by
the RFM step: customers.rollups), each timed whole and by phase; then the lifecycle step's
order figures read alone, what the step would add run on its own. The lifecycle
step reads the value tiers the RFM step just wrote, as in the night. Nothing is published:
the run is closed as failed ("benchmark run, not published") so that it never becomes the
current run of a shared database, and both snapshots are deleted afterwards. The live
stages read are those of the database's published runs (run `run_pipeline` once first).
"""

import argparse
import datetime as dt
import json
import os
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

BENCH_ERROR = "benchmark run (bench/bench_lifecycle.py), not published"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("-n", "--repeat", type=int, default=3, help="repetitions")
    parser.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=None, help="default: the last order date"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    add_json_argument(parser)
    return parser.parse_args(argv)


def timed(phases, name, func):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        result = func(*args, **kwargs)
        phases[name] = phases.get(name, 0) + time.perf_counter() - started
        return result

    return wrapper


def worker(as_of):
    """Both steps of one fresh run, timed; then the run closed unpublished, its rows gone."""
    from django.db import transaction
    from django.utils import timezone

    from customers import pipeline as frame
    from customers.models import PipelineRun
    from customers.rollups import shared_order_figures
    from lifecycle import pipeline as lifecycle_pipeline
    from lifecycle import rules
    from lifecycle.models import StageSnapshot
    from segmentation.models import RfmRunSummary, RfmScore

    phases = {}
    lifecycle_pipeline.read_history = timed(phases, "read", lifecycle_pipeline.read_history)
    lifecycle_pipeline.rules.plan_stages = timed(phases, "rule", rules.plan_stages)
    lifecycle_pipeline.copy_binary = timed(phases, "write (COPY)", lifecycle_pipeline.copy_binary)
    steps = {step.name: step for step in frame.registered_steps()}
    seconds = {}
    run = pipeline_start(as_of)
    try:
        # As the frame runs them: one pass over the orders for both steps, read by the first.
        with shared_order_figures():
            for name in ("rfm", "lifecycle"):
                started = time.perf_counter()
                result = frame.step_execute(steps[name], run)
                seconds[name] = time.perf_counter() - started
                if name == "lifecycle":
                    stages = result.summary.get("stages")
        # What the lifecycle step would pay run on its own: its order figures read alone.
        with transaction.atomic():
            started = time.perf_counter()
            lifecycle_pipeline.read_orders(run)
            seconds["lifecycle figures alone"] = time.perf_counter() - started
    finally:
        PipelineRun.objects.filter(pk=run.pk).update(
            status=PipelineRun.Status.FAILED, finished_at=timezone.now(), error=BENCH_ERROR
        )
        with transaction.atomic():
            for model in (StageSnapshot, RfmScore, RfmRunSummary):
                model.objects.filter(run=run).delete()
    return {"seconds": seconds, "phases": phases, "rows": result.rows, "stages": stages}


def pipeline_start(as_of):
    from customers.pipeline import pipeline_start as start

    return start(as_of=as_of)


def spawn(args):
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
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
        raise SystemExit(f"worker failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def prepare(args):
    """Apply the migrations; find the as-of date; refuse while a run is running."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
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


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        setup_django(args.database_url)
        from django.db import connection

        if connection.vendor != "postgresql":
            raise SystemExit("The lifecycle bench runs on PostgreSQL (bench/build_dataset.py).")
        print(json.dumps(worker(args.as_of)))
        return
    with reporting(args.json) as figures:
        report(args, figures)


def report(args, figures):
    customers, orders = prepare(args)
    print(
        f"{customers:,} customers, {orders:,} orders, as of {args.as_of}, "
        f"{args.repeat} repetitions (median, min)"
    )
    results = [spawn(args) for _ in range(args.repeat)]
    medians = {}
    for name in ("rfm", "lifecycle", "lifecycle figures alone"):
        times = [result["seconds"][name] for result in results]
        medians[name] = statistics.median(times)
        print(f"{name + ' step':16} median {medians[name]:6.2f} s   min {min(times):6.2f} s")
        if name == "lifecycle":
            for phase in results[0]["phases"]:
                median = statistics.median(result["phases"][phase] for result in results)
                print(f"    {phase:24} {median:6.2f} s")
    ratios = [result["seconds"]["lifecycle"] / result["seconds"]["rfm"] for result in results]
    print(
        f"lifecycle / rfm: {medians['lifecycle'] / medians['rfm']:.2f} (of medians), "
        f"per run {', '.join(f'{ratio:.2f}' for ratio in ratios)}"
    )
    print(f"stages: {json.dumps(results[0]['stages'])}")
    figures.add("lifecycle.rfm_step", medians["rfm"], "s", label="RFM step (lifecycle's run)")
    figures.add(
        "lifecycle.step",
        medians["lifecycle"],
        "s",
        label="lifecycle step / RFM step",
        reference="lifecycle.rfm_step",
    )


if __name__ == "__main__":
    main()
