"""Every benchmark that applies at a scale, and one table of figures against their targets.

    .venv/bin/python bench/run_all.py --scale small          # make bench SCALE=small
    .venv/bin/python bench/run_all.py --scale full           # make bench SCALE=full
    .venv/bin/python bench/run_all.py --scale small --only pages --only dashboards

Builds the scale's data set (or reuses it: build_dataset.py does nothing at the size
already built), then runs each bench in its own process with `--json` and collects its
figures (bench/figures.py). A bench that fails, or that does not apply to the data set,
is a row of the table saying so; the other benches still run. The table: figure, target,
measured, ratio (to the figure's reference, measured in the same run), verdict.

Which targets are judged at which scale (targets from issue 18 and the issues before it):
- per-request times (pages, dashboards, the network pages, the load's p95) are judged at
  every scale: a page over its budget at 20,000 customers will not meet it at a million;
- ratios to a reference of the same run (lifecycle / RFM, loyalty / RFM, churn's snapshot
  write / RFM's, constant query counts) at every scale, except the RFM step / its
  aggregation, whose fixed costs outweigh the aggregation of a small data set;
- whole-data budgets (the night ≤ 60 s, import ≥ 150,000 rows/s, first grading ≤ 60 s,
  peak memory) are set for 1M customers / 10M orders: at the small scale they are shown
  as "n/a at this scale" beside the figure.
Exit status 0 whatever the verdicts (the table is the result); 1 if the data set could
not be built.
"""

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "bench"
SERVER = "postgres://postgres@127.0.0.1:5432"

SCALES = {
    "small": {
        "database": "crm_bsmall",
        "import_database": "crm_bsmall_import",
        "build": ["--customers", "20000", "--orders", "200000", "--invoices", "60000"]
        + ["--interactions", "20000", "--complaints", "1000"],
        "import": ["--orders", "100000", "--customers", "10000"],
        "load": ["--users", "50", "--duration", "60", "--pipeline"],
        "redeem": ["--each", "100"],
        # Fewer repetitions than the benches' defaults, to stay within a few minutes.
        "repeat": {"rfm": 2, "churn": 2, "lifecycle": 2, "loyalty": 2, "grades": 2, "pages": 15}
        | {"network": 10, "records": 20},
    },
    "full": {
        "database": "crm_bench",
        "import_database": "crm_bench_import",
        "build": [],
        "import": [],
        "load": ["--users", "50", "--duration", "300", "--pipeline"],
        "redeem": [],
        "repeat": {},
    },
}


@dataclass(frozen=True)
class Target:
    """A budget for the figures matching `pattern`: `limit` on the measured value (`at_most`
    or at least), or on the ratio to the figure's reference when `ratio`; `any_scale` when
    it is judged below the full scale too."""

    pattern: str
    limit: float
    at_most: bool = True
    ratio: bool = False
    any_scale: bool = True
    source: str = "issue 18"

    def describe(self, unit):
        sign = "≤" if self.at_most else "≥"
        if self.ratio:
            return f"{sign} {self.limit:g}× ref"
        return f"{sign} {self.limit:,g} {unit}"


TARGETS = [
    Target("pages.file_heavy.queries", 1.0, ratio=True, source="issue 18: constant query counts"),
    Target("pages.*.median", 50),
    Target("pages.*.p95", 150),
    Target("dashboards.start_*", 50),
    Target("dashboards.dashboard_*", 50),
    Target("network.supplier_search_*", 100, source="network issue"),
    Target("network.downstream_panel_*", 100, source="network issue"),
    Target("network.network_*", 100, source="network issue"),
    Target("records.*", 50, source="issue 18: pages"),
    # The step's fixed costs (pruning, the summary row) outweigh a 20,000-customer aggregation.
    Target("rfm.step", 2.0, ratio=True, any_scale=False),
    Target("lifecycle.step", 1.0, ratio=True, source="lifecycle issue"),
    Target("loyalty.night", 2.0, ratio=True, source="loyalty issue"),
    Target("churn.write", 1.25, ratio=True, source="issue 18: as fast as RFM's"),
    Target("night.total", 60, any_scale=False),
    Target("night.peak_rss", 2048, any_scale=False),
    Target("grades.first", 60, any_scale=False),
    Target("import.first", 150_000, at_most=False, any_scale=False),
    Target("import.again", 150_000, at_most=False, any_scale=False),
    Target("load.p95", 300),
    Target("load.errors", 0),
]


@dataclass
class Outcome:
    """What one bench gave: its figures, or why there are none (`status`: ran, failed, n/a)."""

    name: str
    status: str = "ran"
    figures: list = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0


@dataclass
class Bench:
    name: str
    script: str
    args: list
    applies: object = None  # (database url) -> None, or the reason it does not apply


def target_for(figure):
    return next((t for t in TARGETS if fnmatch.fnmatchcase(figure, t.pattern)), None)


def verdict(target, measured, ratio, scale):
    if target is None:
        return ""
    if not target.any_scale and scale != "full":
        return "n/a at this scale"
    value = ratio if target.ratio else measured
    if value is None:
        return "no reference"
    met = value <= target.limit if target.at_most else value >= target.limit
    return "pass" if met else "FAIL"


def table_rows(outcomes, scale):
    """The table's rows (figure, target, measured, ratio, verdict) for the benches' outcomes;
    a reference is looked up among every figure of the run."""
    measured = {row["figure"]: row["measured"] for o in outcomes for row in o.figures}
    rows = []
    for outcome in outcomes:
        if outcome.status != "ran":
            rows.append((outcome.name, "", "", "", f"{outcome.status}: {outcome.note}".strip()))
            continue
        for figure in outcome.figures:
            target = target_for(figure["figure"])
            reference = measured.get(figure.get("reference"))
            ratio = figure["measured"] / reference if reference else None
            rows.append(
                (
                    figure["label"],
                    target.describe(figure["unit"]) if target else "",
                    f"{format_value(figure['measured'])} {figure['unit']}",
                    f"{ratio:.2f}" if ratio is not None else "",
                    verdict(target, figure["measured"], ratio, scale),
                )
            )
    return rows


def format_value(value):
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render(rows):
    header = ("figure", "target", "measured", "ratio", "verdict")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, tuple("-" * w for w in widths), *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def figures_from(stdout):
    """The bench's figures: the last line of its stdout that is a JSON list."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("["):
            try:
                figures = json.loads(line)
            except ValueError:
                continue
            if isinstance(figures, list):
                return figures
    raise ValueError("no JSON list of figures in the bench's output")


def run_bench(bench, log):
    started = time.perf_counter()
    print(f"\n== {bench.name}: {' '.join([bench.script, *bench.args])}", file=log, flush=True)
    completed = subprocess.run(
        [sys.executable, str(BENCH_DIR / bench.script), *bench.args, "--json"],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    seconds = time.perf_counter() - started
    if completed.returncode:
        note = f"exit {completed.returncode}, see the log"
        return Outcome(bench.name, "failed", note=note, seconds=seconds)
    try:
        figures = figures_from(completed.stdout)
    except ValueError as error:
        return Outcome(bench.name, "failed", note=str(error), seconds=seconds)
    return Outcome(bench.name, figures=figures, seconds=seconds)


def scalar(url, sql):
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        value = cursor.fetchone()[0]
    connection.close()
    return value


def writes_network(scale, url):
    """Supplier links are written only on the small scale's own data set, never on one
    shared with other work (crm_bench) or named by hand."""
    return scale == "small" and url.rsplit("/", 1)[-1] == SCALES["small"]["database"]


def network_applies(scale):
    def check(url):
        linked = scalar(url, "SELECT count(*) FROM customers_customer WHERE parent_id IS NOT NULL")
        if linked or writes_network(scale, url):
            return None
        return "no supplier links on this data set (bench_network.py --build-network, on a copy)"

    return check


def benches(scale, url, import_url):
    settings = SCALES[scale]
    db = ["--database-url", url]
    network = [*db]
    if writes_network(scale, url):
        network.append("--build-network-if-missing")

    def repeat(name):
        count = settings["repeat"].get(name)
        flag = "--repeat" if name == "records" else "-n"
        return [flag, str(count)] if count else []

    chosen = [
        # First: at a new data set it enrols the members the night and the load use.
        Bench("loyalty", "bench_loyalty.py", db),
        # Publishes runs: the dashboards, lifecycle and the load read the current one.
        Bench("night", "bench_night.py", db),
        Bench("rfm", "bench_rfm.py", db),
        Bench("grades", "bench_grades.py", db),
        Bench("lifecycle", "bench_lifecycle.py", db),
        Bench("churn", "bench_churn.py", db),
        Bench("pages", "bench_pages.py", db),
        Bench("dashboards", "bench_dashboards.py", db),
        Bench("records", "bench_records.py", db),
        Bench("redeem", "bench_redeem.py", [*db, *settings["redeem"]]),
        Bench("network", "bench_network.py", network, applies=network_applies(scale)),
        Bench("import", "bench_import.py", ["--database-url", import_url, *settings["import"]]),
        Bench("load", "load.py", [*db, *settings["load"]]),
    ]
    for bench in chosen:
        bench.args = [*bench.args, *repeat(bench.name)]
    return chosen


def build(scale, url, log):
    command = [sys.executable, str(BENCH_DIR / "build_dataset.py"), "--database-url", url]
    print(f"== build: {' '.join(command[1:] + SCALES[scale]['build'])}", file=log, flush=True)
    return subprocess.run(command + SCALES[scale]["build"], cwd=BASE_DIR, stdout=log, stderr=log)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--database-url", help="default: the scale's data set")
    parser.add_argument("--import-database-url", help="default: the scale's import database")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this bench (repeatable)"
    )
    parser.add_argument(
        "--log", default=None, help="the benches' reports (default var/bench-SCALE.log)"
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    settings = SCALES[args.scale]
    url = (
        args.database_url
        or os.environ.get("BENCH_DATABASE_URL")
        or (f"{SERVER}/{settings['database']}")
    )
    import_url = (
        args.import_database_url
        or os.environ.get("BENCH_IMPORT_DATABASE_URL")
        or f"{SERVER}/{settings['import_database']}"
    )
    chosen = benches(args.scale, url, import_url)
    names = [bench.name for bench in chosen]
    unknown = sorted(set(args.only or []) - set(names))
    if unknown:
        raise SystemExit(f"unknown bench {', '.join(unknown)}; one of: {', '.join(names)}")
    if args.only:
        chosen = [bench for bench in chosen if bench.name in args.only]
    log_path = Path(args.log or BASE_DIR / "var" / f"bench-{args.scale}.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"scale {args.scale}: {url.rsplit('/', 1)[-1]}; reports in {log_path}", flush=True)
    outcomes = []
    with open(log_path, "w", encoding="utf-8") as log:
        if build(args.scale, url, log).returncode:
            raise SystemExit(f"the data set could not be built; see {log_path}")
        for bench in chosen:
            reason = bench.applies(url) if bench.applies else None
            if reason:
                outcomes.append(Outcome(bench.name, "n/a", note=reason))
            else:
                outcomes.append(run_bench(bench, log))
            outcome = outcomes[-1]
            print(f"  {bench.name:12} {outcome.status:7} {outcome.seconds:6.0f} s", flush=True)
    rows = table_rows(outcomes, args.scale)
    print()
    print(render(rows))
    verdicts = [row[4] for row in rows]
    print(
        f"\n{verdicts.count('pass')} pass, {verdicts.count('FAIL')} fail, "
        f"{verdicts.count('n/a at this scale')} n/a at this scale; "
        f"{len(chosen)} benches in {time.perf_counter() - started:.0f} s "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
