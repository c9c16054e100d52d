"""Time the nightly churn step against PostgreSQL; prints figures, asserts nothing.

    .venv/bin/python bench/build_dataset.py       # once: 1M customers, 10M orders (crm_bench)
    .venv/bin/python bench/bench_churn.py         # median of 3
    .venv/bin/python bench/bench_churn.py -n 5 --database-url \\
        postgres://postgres@127.0.0.1:5432/crm_bench_small

Each repetition runs in a fresh subprocess, so that its peak memory is its own:
1. a run is started as the frame starts one (so never while another is running)
   and segmentation's step scores it (untimed: its spend is the customers' value);
2. the churn step runs in its own transaction, committed, with its phases timed:
   pruning, the order aggregation (COPY out), complaints and grades, the BG/NBD
   fit and scoring, the reasons, the values, the COPY of a million snapshot rows,
   and working out the churn episodes; the peak memory of the process is reset
   before it (Linux's clear_refs) and read after it;
3. its publishing (the churn episodes: on the first run, one per customer
   flagged or lost) is timed, then a second run of the step one day later, which
   finds those episodes open ("steady state"), and both are rolled back;
4. the run is closed as failed ("benchmark run, not published"), so that it never
   becomes the current run of a shared database, its snapshots are deleted, and
   retention's two tables are vacuumed so that the next repetition starts alike.
"""

import argparse
import datetime as dt
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

from bench.build_dataset import DEFAULT_URL, migrate, setup_django  # noqa: E402
from bench.figures import add_json_argument, reporting  # noqa: E402

BENCH_ERROR = "benchmark run (bench/bench_churn.py), not published"
PHASES = [
    ("snapshots_prune", "prune old snapshots"),
    ("read_order_stats_with_backtest", "order aggregation (run + year back)"),
    ("read_order_stats", "order aggregation (backtest a horizon back)"),
    ("read_open_complaints", "open complaints"),
    ("read_grades", "grades and grade changes"),
    ("score_customers", "BG/NBD fits + scoring (both)"),
    ("learn", "fitting the weights"),
    ("reasons_json", "reasons"),
    ("expected_value", "expected value (next year)"),
    ("read_values", "values (segmentation's spend)"),
    ("snapshot_write", "COPY of the snapshot"),
    ("plan_episodes", "churn episodes"),
]
# Where each phase's function is looked up when called.
PHASE_MODULES = {
    "snapshots_prune": "customers.pipeline",
    "read_order_stats": "retention.reading",
    "read_order_stats_with_backtest": "retention.reading",
    "score_customers": "retention.churn",
    "learn": "retention.churn",
    "reasons_json": "retention.churn",
    "expected_value": "retention.churn",
}


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


def reset_peak_memory():
    """Start a fresh peak-RSS count for this process (Linux); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_memory_mb():
    """The process's peak resident memory since start or the last reset, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(phases, name, func):
    """`func`, adding its time to phases[name] (`phases`: the dict of the step being timed)."""

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        result = func(*args, **kwargs)
        phases[name] = phases.get(name, 0) + time.perf_counter() - started
        return result

    return wrapper


def instrument(phases):
    import importlib

    for name, _label in PHASES:
        # The frame prunes the step's old snapshots in the step's transaction.
        module = importlib.import_module(PHASE_MODULES.get(name, "retention.pipeline"))
        setattr(module, name, timed(phases, name, getattr(module, name)))


def timed_step(run, phases):
    """The step in its own transaction, as the frame runs it: (result, seconds)."""
    from customers import pipeline as frame

    phases.clear()
    started = time.perf_counter()
    result = frame.step_execute(next(s for s in frame.registered_steps() if s.name == "churn"), run)
    seconds = time.perf_counter() - started
    phases["commit and the rest"] = seconds - sum(phases.values())
    return result, seconds


def worker(as_of):
    from django.db import connection, transaction
    from django.utils import timezone

    from customers.models import PipelineRun
    from customers.pipeline import pipeline_start
    from retention.models import ChurnEpisode, ChurnScore
    from segmentation.models import RfmRunSummary, RfmScore
    from segmentation.pipeline import rfm_step

    phases = {}
    instrument(phases)
    run = pipeline_start(as_of=as_of)
    try:
        with transaction.atomic():
            rfm_step(run)
        peak_reset = reset_peak_memory()
        baseline = peak_memory_mb()
        result, seconds = timed_step(run, phases)
        first_phases = dict(phases)
        peak = peak_memory_mb()
        with transaction.atomic():
            started = time.perf_counter()
            result.publish()
            publish_seconds = time.perf_counter() - started
            open_episodes = ChurnEpisode.objects.filter(outcome="open").count()
            later = PipelineRun.objects.create(
                as_of=as_of + dt.timedelta(days=1),
                status=PipelineRun.Status.FAILED,
                error=BENCH_ERROR,
            )
            _result, steady_seconds = timed_step(later, phases)
            transaction.set_rollback(True)
    finally:
        PipelineRun.objects.filter(pk=run.pk).update(
            status=PipelineRun.Status.FAILED, finished_at=timezone.now(), error=BENCH_ERROR
        )
    started = time.perf_counter()
    with transaction.atomic():
        ChurnScore.objects.filter(run=run).delete()
    prune_seconds = time.perf_counter() - started
    with transaction.atomic():
        RfmScore.objects.filter(run=run).delete()
        RfmRunSummary.objects.filter(run=run).delete()
    # The rolled-back and deleted rows would slow the next repetition's COPY down.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {ChurnScore._meta.db_table}, {ChurnEpisode._meta.db_table}")
    return {
        "seconds": seconds,
        "rows": result.rows,
        "phases": first_phases,
        "steady_phases": dict(phases),
        "publish_seconds": publish_seconds,
        "open_episodes": open_episodes,
        "steady_state_seconds": steady_seconds,
        "prune_one_snapshot_seconds": prune_seconds,
        "baseline_mb": baseline,
        "peak_mb": peak,
        "peak_reset": peak_reset,
        "summary": {
            key: result.summary.get(key) for key in ("bands", "value_at_risk", "bgnbd", "accuracy")
        },
    }


def run_worker(args, as_of):
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            "--database-url",
            args.database_url,
            "--as-of",
            as_of.isoformat(),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        sys.exit(f"worker failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def median(results, key):
    return statistics.median(result[key] for result in results)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        setup_django(args.database_url)
        print(json.dumps(worker(args.as_of)))
        return
    with reporting(args.json) as figures:
        report(args, figures)


def report(args, figures):
    migrate(args.database_url)
    setup_django(args.database_url)
    from django.db.models import Max

    from customers.models import Customer, Order, PipelineRun

    if PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).exists():
        sys.exit("A pipeline run is running on this database; try again when it has finished.")
    as_of = args.as_of or Order.objects.aggregate(last=Max("order_date"))["last"]
    customers = Customer.objects.count()
    orders = Order.objects.count()
    print(f"database: {args.database_url}")
    print(f"customers {customers:,}, orders {orders:,}, as of {as_of}, {args.repeat} repetitions")
    results = []
    for number in range(1, args.repeat + 1):
        result = run_worker(args, as_of)
        results.append(result)
        print(
            f"  #{number}: step {result['seconds']:.1f} s, peak {result['peak_mb']:.0f} MB, "
            f"publish {result['publish_seconds']:.1f} s, steady {result['steady_state_seconds']:.1f} s",
            flush=True,
        )
    first = results[0]
    print(f"\nchurn step ({first['rows']:,} customers scored), median of {len(results)}:")
    print(f"  total                               {median(results, 'seconds'):7.2f} s")
    for name, label in [*PHASES, ("commit and the rest", "commit and the rest")]:
        seconds = statistics.median(result["phases"].get(name, 0.0) for result in results)
        print(f"    {label:<34}{seconds:7.2f} s")
    print(
        f"  publish (episodes: {first['open_episodes']:,} open after it)"
        f"{median(results, 'publish_seconds'):>6.2f} s"
    )
    print(
        f"  next day's step, episodes open       {median(results, 'steady_state_seconds'):7.2f} s"
    )
    for name in ("read_order_stats", "snapshot_write", "plan_episodes", "commit and the rest"):
        seconds = statistics.median(result["steady_phases"].get(name, 0.0) for result in results)
        print(f"    {dict(PHASES).get(name, name):<34}{seconds:7.2f} s")
    print(
        f"  deleting one snapshot (pruning)      {median(results, 'prune_one_snapshot_seconds'):7.2f} s"
    )
    memory = "peak RSS during the step" if first["peak_reset"] else "peak RSS of the process"
    print(
        f"  {memory}: {median(results, 'peak_mb'):.0f} MB "
        f"(before it: {median(results, 'baseline_mb'):.0f} MB)"
    )
    print(f"  bands: {json.dumps(first['summary']['bands'])}")
    print(f"  value at risk: {first['summary']['value_at_risk']}")
    print(f"  BG/NBD: {json.dumps(first['summary']['bgnbd'])}")
    print(f"  backtest: {json.dumps(first['summary']['accuracy'])}")
    per_customer = median(results, "seconds") / max(first["rows"], 1) * 1e6
    print(f"  {per_customer:.1f} µs per customer scored")
    write = statistics.median(result["phases"].get("snapshot_write", 0.0) for result in results)
    figures.add("churn.step", median(results, "seconds"), "s", label="churn step")
    figures.add(
        "churn.write",
        write,
        "s",
        label="churn snapshot write / RFM snapshot write",
        reference="rfm.write",
    )
    figures.add("churn.peak_rss", median(results, "peak_mb"), "MB", label="churn step peak RSS")


if __name__ == "__main__":
    main()
