"""`make bench`'s driver (bench/run_all.py): a bench's JSON figures become the table's rows
with their targets, ratios and verdicts; a bench that fails or does not apply is a row
saying so. No timing is asserted: the figures here are made up."""

import json
import textwrap

from bench import run_all
from bench.run_all import Bench, Outcome, table_rows

FAKE_BENCH = textwrap.dedent(
    """
    import argparse, os, subprocess, sys
    sys.path.insert(0, {base!r})
    from bench.figures import add_json_argument, reporting

    parser = argparse.ArgumentParser()
    add_json_argument(parser)
    args = parser.parse_args()
    with reporting(args.json) as figures:
        print("a human report line")
        subprocess.run([sys.executable, "-c", "print('a child process line')"], check=True)
        figures.add("pages.list_rep.median", 42.0, "ms", label="list (rep), median")
        figures.add("rfm.floor", 2.0, "s", label="aggregation")
        figures.add("rfm.step", 5.0, "s", label="RFM step", reference="rfm.floor")
    """
)


def fake_bench(tmp_path, body):
    script = tmp_path / "bench_fake.py"
    script.write_text(body)
    return Bench("fake", script.name, [])


def row(rows, figure):
    return next(r for r in rows if r[0] == figure)


def test_a_bench_run_with_json_gives_its_figures_and_prints_the_rest_elsewhere(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(run_all, "BENCH_DIR", tmp_path)
    bench = fake_bench(tmp_path, FAKE_BENCH.format(base=str(run_all.BASE_DIR)))
    log = tmp_path / "bench.log"
    with open(log, "w") as out:
        outcome = run_all.run_bench(bench, out)

    assert outcome.status == "ran"
    assert [f["figure"] for f in outcome.figures] == [
        "pages.list_rep.median",
        "rfm.floor",
        "rfm.step",
    ]
    assert outcome.figures[2]["reference"] == "rfm.floor"
    report = log.read_text()
    assert "a human report line" in report
    assert "a child process line" in report


def test_the_figures_become_rows_with_target_ratio_and_verdict(tmp_path, monkeypatch):
    monkeypatch.setattr(run_all, "BENCH_DIR", tmp_path)
    bench = fake_bench(tmp_path, FAKE_BENCH.format(base=str(run_all.BASE_DIR)))
    with open(tmp_path / "bench.log", "w") as out:
        outcome = run_all.run_bench(bench, out)

    rows = table_rows([outcome], "full")

    assert row(rows, "list (rep), median") == (
        "list (rep), median",
        "≤ 50 ms",
        "42.0 ms",
        "",
        "pass",
    )
    # 5 s against its reference's 2 s: 2.5 times, over the budget of twice.
    assert row(rows, "RFM step") == ("RFM step", "≤ 2× ref", "5.00 s", "2.50", "FAIL")
    assert row(rows, "aggregation") == ("aggregation", "", "2.00 s", "", "")
    # That ratio's budget is for the full scale: the step's fixed costs dominate below it.
    assert row(table_rows([outcome], "small"), "RFM step")[4] == "n/a at this scale"


def test_over_budget_is_a_failure_and_at_least_targets_read_the_other_way():
    figures = [
        {"figure": "pages.file_heavy.p95", "label": "file p95", "measured": 151.0, "unit": "ms"},
        {"figure": "import.copy", "label": "COPY", "measured": 900_000, "unit": "rows/s"},
        {
            "figure": "import.first",
            "label": "import",
            "measured": 200_000,
            "unit": "rows/s",
            "reference": "import.copy",
        },
        {"figure": "load.errors", "label": "errors", "measured": 3, "unit": "errors"},
    ]
    rows = table_rows([Outcome("x", figures=figures)], "full")

    assert row(rows, "file p95")[4] == "FAIL"
    assert row(rows, "import") == ("import", "≥ 150,000 rows/s", "200,000 rows/s", "0.22", "pass")
    assert row(rows, "errors")[1:] == ("≤ 0 errors", "3 errors", "", "FAIL")


def test_whole_data_budgets_are_not_judged_below_the_full_scale():
    figures = [{"figure": "night.total", "label": "night", "measured": 8.0, "unit": "s"}]

    assert table_rows([Outcome("night", figures=figures)], "small")[0][4] == "n/a at this scale"
    assert table_rows([Outcome("night", figures=figures)], "full")[0][4] == "pass"


def test_a_reference_from_another_bench_of_the_same_run_gives_the_ratio():
    rfm = Outcome(
        "rfm", figures=[{"figure": "rfm.write", "label": "rfm write", "measured": 4.0, "unit": "s"}]
    )
    churn = Outcome(
        "churn",
        figures=[
            {
                "figure": "churn.write",
                "label": "churn write",
                "measured": 6.0,
                "unit": "s",
                "reference": "rfm.write",
            }
        ],
    )
    assert row(table_rows([rfm, churn], "small"), "churn write")[3:] == ("1.50", "FAIL")
    # Without the reference in the run (rfm not run: --only churn) there is no ratio to judge.
    assert row(table_rows([churn], "small"), "churn write")[3:] == ("", "no reference")


def test_a_failing_or_missing_bench_is_a_row_and_the_others_still_count(tmp_path, monkeypatch):
    monkeypatch.setattr(run_all, "BENCH_DIR", tmp_path)
    broken = fake_bench(tmp_path, "import sys\nsys.exit('the data set has no heavy customer')\n")
    with open(tmp_path / "bench.log", "w") as out:
        failed = run_all.run_bench(broken, out)
    silent = fake_bench(tmp_path, "print('no figures')\n")
    with open(tmp_path / "bench.log", "a") as out:
        empty = run_all.run_bench(silent, out)
    skipped = Outcome("network", "n/a", note="no supplier links on this data set")
    pages = Outcome(
        "pages",
        figures=[
            {"figure": "pages.list_admin.median", "label": "list", "measured": 60, "unit": "ms"}
        ],
    )

    rows = table_rows([failed, empty, skipped, pages], "small")

    assert rows[0] == ("fake", "", "", "", "failed: exit 1, see the log")
    assert rows[1][4].startswith("failed: no JSON list of figures")
    assert rows[2] == ("network", "", "", "", "n/a: no supplier links on this data set")
    assert rows[3] == ("list", "≤ 50 ms", "60 ms", "", "FAIL")
    assert "the data set has no heavy customer" in (tmp_path / "bench.log").read_text()


def test_the_table_renders_every_row_under_its_header():
    rows = [("list", "≤ 50 ms", "42.0 ms", "", "pass"), ("network", "", "", "", "n/a: none")]
    lines = run_all.render(rows).splitlines()

    assert lines[0].split() == ["figure", "target", "measured", "ratio", "verdict"]
    assert lines[2].startswith("list") and lines[2].endswith("pass")
    assert lines[3].endswith("n/a: none")


def test_figures_are_read_from_the_last_json_list_of_the_output():
    out = "noise\n[1, 2\n" + json.dumps([{"figure": "a"}]) + "\n"
    assert run_all.figures_from(out) == [{"figure": "a"}]


def test_supplier_links_are_written_only_on_the_small_scales_own_data_set():
    server = "postgres://postgres@127.0.0.1:5432"
    small = run_all.benches("small", f"{server}/crm_bsmall", f"{server}/crm_bsmall_import")
    shared = run_all.benches("small", f"{server}/crm_bench", f"{server}/crm_bench_import")
    full = run_all.benches("full", f"{server}/crm_bench", f"{server}/crm_bench_import")

    def network(chosen):
        return next(bench for bench in chosen if bench.name == "network").args

    assert "--build-network-if-missing" in network(small)
    assert "--build-network-if-missing" not in network(shared)
    assert "--build-network-if-missing" not in network(full)
