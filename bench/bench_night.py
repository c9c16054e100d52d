"""Time the whole nightly pipeline as `manage.py run_pipeline` runs it; prints figures,
asserts nothing.

    .venv/bin/python bench/bench_night.py --database-url postgres://…/crm_bench   # 2 runs

Each run is `manage.py run_pipeline --json` in a fresh process, as of today: every
registered step (receivables, grades, RFM and tiers, lifecycle, churn, loyalty, …) and the
publishing, committed (the run becomes the database's current run, as a night's would).
The first run of a data set grades and stages every customer for the first time; the
runs after it are the steady state, so the figures are the last run's: its wall time (the
process from start to exit, Django's start included), the run's own time (started to
finished), each step's share and the process's peak RSS.
"""

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.build_dataset import DEFAULT_URL  # noqa: E402
from bench.figures import add_json_argument, reporting  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("-n", "--repeat", type=int, default=2, help="runs; the last is reported")
    add_json_argument(parser)
    return parser.parse_args(argv)


def night(database_url):
    """One run in a fresh process: (wall seconds, peak RSS in MB, the command's JSON report)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_pipeline", "--json"],
            cwd=BASE_DIR,
            env={**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "INFO"},
            stdout=out,
            stderr=err,
        )
        # wait4 gives the child's own peak RSS, not the largest of all children so far.
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode:
        raise SystemExit(f"run_pipeline failed ({process.returncode}):\n{stderr[-3000:]}")
    report = json.loads(stdout.strip().splitlines()[-1])
    # The publish hook's log line: how long the dashboards' figures took, section by section.
    report["summaries"] = next(
        (line.strip() for line in stderr.splitlines() if "Dashboard summaries of run" in line), ""
    )
    return seconds, usage.ru_maxrss / 1024, report


def run_seconds(report):
    started = dt.datetime.fromisoformat(report["started_at"])
    finished = dt.datetime.fromisoformat(report["finished_at"])
    return (finished - started).total_seconds()


def steps_seconds(report):
    """From the first step's start to the last one's end: steps execute two at a time."""
    steps = report["steps"]
    if steps and all("started" in step for step in steps):
        return max(step["started"] + step["seconds"] for step in steps)
    return sum(step["seconds"] for step in steps)


def main(argv=None):
    args = parse_args(argv)
    with reporting(args.json) as figures:
        measure(args, figures)


def measure(args, figures):
    print(f"database: {args.database_url.rsplit('/', 1)[-1]}, {args.repeat} runs")
    for number in range(1, args.repeat + 1):
        seconds, peak_mb, report = night(args.database_url)
        print(
            f"  #{number}: run #{report['run_id']} {report['status']}, {seconds:.1f} s "
            f"(the run itself {run_seconds(report):.1f} s), peak RSS {peak_mb:.0f} MB"
        )
        for step in report["steps"]:
            prepared = (
                f", prepared beside others in {step['prepare_seconds']:.2f} s"
                if "prepare_seconds" in step
                else ""
            )
            print(
                f"      {step['name']:16} {step['seconds']:7.2f} s  {step['rows']:>10,} rows"
                f"  (from {step.get('started', 0):.1f} s{prepared})"
            )
        steps = steps_seconds(report)
        print(
            f"      {'steps':16} {steps:7.2f} s (from the first start to the last end)\n"
            f"      {'publishing':16} {run_seconds(report) - steps:7.2f} s\n"
            f"      {'after the run':16} {seconds - run_seconds(report):7.2f} s "
            "(the dashboards' figures for every scope, and the process's start)"
        )
        if report["summaries"]:
            print(f"      {report['summaries']}")
    figures.add("night.total", seconds, "s", label="whole night (run_pipeline, steady state)")
    figures.add("night.run", run_seconds(report), "s", label="the run, started to published")
    figures.add("night.peak_rss", peak_mb, "MB", label="whole night, peak RSS")
    for step in report["steps"]:
        figures.add(
            f"night.step.{step['name']}",
            step["seconds"],
            "s",
            label=f"night: {step['name']} step / whole night",
            reference="night.total",
        )


if __name__ == "__main__":
    main()
