"""The nightly RFM step against the database: values, as-of dates, snapshots and reports."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction

from customers import pipeline
from customers.models import PipelineRun
from customers.pipeline import PipelineAlreadyRunning, pipeline_run, pipeline_start
from segmentation.models import RfmRunSummary, RfmScore, SegmentationSettings
from segmentation.pipeline import rfm_step
from segmentation.rfm import segment_of
from tests.factories import CustomerFactory, OrderFactory

AS_OF = dt.date(2026, 6, 30)
WINDOW = 365

# (days before AS_OF, amount) per customer; negative days are after AS_OF.
ORDER_HISTORY = [
    [(3, "1200.00"), (40, "800.00"), (200, "300.50")],
    [(10, "99.90"), (364, "5000.00"), (365, "7000.00")],  # the last is just outside the window
    [(0, "15.00")],  # ordered on the as-of date itself
    [(100, "400.00"), (120, "400.00"), (130, "400.00"), (140, "400.00")],
    [(500, "9000.00")],  # nothing in the window: recency only
    [(60, "2500.00"), (-5, "100000.00")],  # the order after AS_OF does not count
    [(-1, "300.00")],  # only after AS_OF: not scored
    [],  # never ordered: not scored
]


@pytest.fixture
def history(db):
    customers = []
    for orders in ORDER_HISTORY:
        customer = CustomerFactory()
        for days, amount in orders:
            OrderFactory(
                customer=customer,
                order_date=AS_OF - dt.timedelta(days=days),
                amount=Decimal(amount),
            )
        customers.append(customer)
    return customers


def expected_scores(customers, as_of, window_days=WINDOW, key_share=Decimal("0.8")):
    """The rules computed again with plain loops, from the fixture's own order list."""
    rows = {}
    for customer, orders in zip(customers, ORDER_HISTORY, strict=True):
        dated = [(AS_OF - dt.timedelta(days=days), Decimal(amount)) for days, amount in orders]
        seen = [(d, a) for d, a in dated if d <= as_of]
        if not seen:
            continue
        in_window = [(d, a) for d, a in seen if d > as_of - dt.timedelta(days=window_days)]
        rows[customer.pk] = {
            "recency_days": (as_of - max(d for d, _ in seen)).days,
            "frequency": len(in_window),
            "monetary": sum((a for _, a in in_window), Decimal("0.00")),
        }
    ids = sorted(rows)

    def scores(key):
        # Ascending by the value; among equals the higher id goes first (scores lower).
        ordered = sorted(ids, key=lambda pk: (key(rows[pk]), -pk))
        return {pk: (2 * i + 1) * 5 // (2 * len(ids)) + 1 for i, pk in enumerate(ordered)}

    r = scores(lambda row: -row["recency_days"])
    f = scores(lambda row: row["frequency"])
    m = scores(lambda row: row["monetary"])
    total = sum(row["monetary"] for row in rows.values())
    running = Decimal(0)
    by_value = sorted(ids, key=lambda pk: (-rows[pk]["monetary"], pk))
    for rank, pk in enumerate(by_value, 1):
        row = rows[pk]
        if row["monetary"] > 0 and running < key_share * total:
            tier = "key"
        elif row["monetary"] > 0 and running < Decimal("0.95") * total:
            tier = "ordinary"
        else:
            tier = "small"
        running += row["monetary"]
        row.update(
            r_score=r[pk],
            f_score=f[pk],
            m_score=m[pk],
            segment=segment_of(r[pk], f[pk]),
            value_tier=tier,
            # No spend in the window, no value rank.
            value_rank=rank if row["monetary"] > 0 else None,
        )
    return rows


def stored_scores(run):
    fields = [
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "segment",
        "value_tier",
        "value_rank",
    ]
    return {
        score["customer_id"]: {field: score[field] for field in fields}
        for score in RfmScore.objects.filter(run=run).values("customer_id", *fields)
    }


def test_step_matches_a_computation_by_hand(history):
    run = pipeline_run(as_of=AS_OF)
    assert run.status == "succeeded", run.error
    assert stored_scores(run) == expected_scores(history, AS_OF)


def test_window_bounds_orders_after_as_of_and_customers_without_orders(history):
    run = pipeline_run(as_of=AS_OF)
    scores = stored_scores(run)
    assert scores[history[1].pk]["frequency"] == 2  # 365 days ago is outside the window
    assert scores[history[1].pk]["monetary"] == Decimal("5099.90")
    assert scores[history[2].pk]["recency_days"] == 0
    assert (scores[history[4].pk]["frequency"], scores[history[4].pk]["monetary"]) == (0, 0)
    assert scores[history[4].pk]["recency_days"] == 500
    assert scores[history[4].pk]["value_tier"] == "small"
    assert scores[history[5].pk]["monetary"] == Decimal("2500.00")
    assert history[6].pk not in scores and history[7].pk not in scores


def test_an_as_of_date_in_the_past_ignores_later_orders(history):
    past = AS_OF - dt.timedelta(days=90)
    run = pipeline_run(as_of=past)
    scores = stored_scores(run)
    assert scores == expected_scores(history, past)
    # Customer 3 ordered only on AS_OF, after the past date.
    assert history[2].pk not in scores
    assert scores[history[0].pk]["recency_days"] == 200 - 90


def test_window_length_comes_from_the_settings(history):
    SegmentationSettings.objects.update(window_days=30)
    run = pipeline_run(as_of=AS_OF)
    assert stored_scores(run) == expected_scores(history, AS_OF, window_days=30)
    assert RfmRunSummary.objects.get(run=run).window_days == 30


def test_summary_counts_tiers_segments_and_the_grid(history):
    run = pipeline_run(as_of=AS_OF)
    summary = RfmRunSummary.objects.get(run=run)
    expected = expected_scores(history, AS_OF)
    assert summary.customers_scored == len(expected) == 6
    assert summary.total_monetary == sum(row["monetary"] for row in expected.values())
    for tier in ("key", "ordinary", "small"):
        members = [row for row in expected.values() if row["value_tier"] == tier]
        assert summary.tiers[tier]["customers"] == len(members)
        assert Decimal(summary.tiers[tier]["cents"]) / 100 == sum(
            (row["monetary"] for row in members), Decimal(0)
        )
    assert summary.pareto_customers == summary.tiers["key"]["customers"]
    assert sum(summary.segments.values()) == 6 == sum(map(sum, summary.grid))
    assert summary.lorenz[0] == 0.0 and summary.lorenz[-1] == 1.0


def test_json_report_gives_counts_tiers_shares_and_segments(history):
    out = io.StringIO()
    call_command("run_pipeline", "--as-of", AS_OF.isoformat(), "--json", stdout=out)
    steps = {step["name"]: step for step in json.loads(out.getvalue())["steps"]}
    summary = steps["rfm"]["summary"]
    assert steps["rfm"]["rows"] == summary["customers_scored"] == 6
    assert set(summary["tiers"]) == {"key", "ordinary", "small"}
    assert sum(tier["customers"] for tier in summary["tiers"].values()) == 6
    assert sum(tier["revenue_share"] for tier in summary["tiers"].values()) == pytest.approx(1)
    assert 0 < summary["top_20_percent_revenue_share"] <= 1
    assert summary["customers_making_key_share"] == summary["tiers"]["key"]["customers"]
    assert sum(summary["segments"].values()) == 6
    assert summary["revenue_in_window"] == "11515.40"


def test_a_run_without_any_order_scores_nobody_and_still_publishes(db):
    CustomerFactory()
    run = pipeline_run(as_of=AS_OF)
    assert run.status == "succeeded", run.error
    summary = RfmRunSummary.objects.get(run=run)
    assert (summary.customers_scored, summary.total_monetary, summary.top20_share) == (0, 0, 0)
    assert not RfmScore.objects.exists()


def test_customer_exactly_at_80_percent_is_key_and_the_next_is_not(db):
    big, next_one, last = CustomerFactory(), CustomerFactory(), CustomerFactory()
    for customer, amount in [(big, "800.00"), (next_one, "150.00"), (last, "50.00")]:
        OrderFactory(customer=customer, order_date=AS_OF, amount=Decimal(amount))
    run = pipeline_run(as_of=AS_OF)
    tiers = dict(RfmScore.objects.filter(run=run).values_list("customer_id", "value_tier"))
    assert tiers == {big.pk: "key", next_one.pk: "ordinary", last.pk: "small"}


def test_a_failing_later_step_keeps_the_previous_snapshot_current(history, monkeypatch):
    first = pipeline_run(as_of=AS_OF - dt.timedelta(days=1))
    OrderFactory(customer=history[7], order_date=AS_OF, amount=Decimal("1.00"))

    def broken(run):
        raise RuntimeError("disk full")

    monkeypatch.setitem(pipeline._steps, "broken", pipeline.Step("broken", broken, after=("rfm",)))
    failed = pipeline_run(as_of=AS_OF)
    assert failed.status == "failed" and "disk full" in failed.error
    # The failed run's step committed its rows, but nothing reads them.
    assert RfmScore.objects.filter(run=failed).exists()
    assert PipelineRun.objects.current() == first


def test_two_runs_never_overlap(db):
    running = pipeline_start(as_of=AS_OF)
    with pytest.raises(PipelineAlreadyRunning):
        pipeline_start(as_of=AS_OF)
    assert PipelineRun.objects.get(status="running") == running


def test_executing_a_run_again_replaces_its_rows(history):
    run = pipeline_start(as_of=AS_OF)
    for _ in range(2):
        with transaction.atomic():
            rfm_step(run)
    assert RfmScore.objects.filter(run=run).count() == 6
    assert RfmRunSummary.objects.filter(run=run).count() == 1


def test_snapshots_beyond_the_kept_published_runs_are_deleted(history):
    SegmentationSettings.objects.update(snapshots_kept=2)
    runs = [pipeline_run(as_of=AS_OF - dt.timedelta(days=days)) for days in (4, 3, 2, 1)]
    # Each run's step keeps the two published before it, then adds its own.
    assert set(RfmRunSummary.objects.values_list("run_id", flat=True)) == {
        run.pk for run in runs[1:]
    }
    assert set(RfmScore.objects.values_list("run_id", flat=True).distinct()) == {
        run.pk for run in runs[1:]
    }
    assert PipelineRun.objects.current() == runs[-1]


def test_export_scores_adds_the_rfm_columns_after_the_credit_columns(history):
    pipeline_run(as_of=AS_OF)
    out = io.StringIO()
    call_command("export_scores", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    header = rows[0]
    assert header[header.index("grade_locked") + 1 :][:8] == [
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_segment",
        "value_tier",
    ]
    by_ref = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    expected = expected_scores(history, AS_OF)[history[0].pk]
    exported = by_ref[history[0].external_ref]
    assert exported["recency_days"] == "3"
    assert exported["monetary"] == "2300.50"
    assert exported["rfm_segment"] == expected["segment"]
    assert exported["value_tier"] == expected["value_tier"]
    assert by_ref[history[7].external_ref]["rfm_segment"] == ""


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"key_share": Decimal("0")}, "key_share"),
        ({"key_share": Decimal("1.000")}, "key_share"),
        ({"ordinary_share": Decimal("0.700")}, "ordinary_share"),
        ({"ordinary_share": Decimal("0.800")}, "ordinary_share"),
        ({"ordinary_share": Decimal("1.000")}, "ordinary_share"),
        ({"window_days": 0}, "window_days"),
        ({"snapshots_kept": 0}, "snapshots_kept"),
    ],
)
def test_settings_are_validated_with_a_message_on_the_field(db, values, field):
    settings = SegmentationSettings(**values)
    with pytest.raises(ValidationError) as error:
        settings.full_clean()
    assert field in error.value.message_dict


def test_default_settings_are_valid_and_stored_once(db):
    settings = SegmentationSettings.current()
    settings.full_clean()
    assert SegmentationSettings.objects.count() == 1
    assert (settings.window_days, settings.key_share, settings.ordinary_share) == (
        365,
        Decimal("0.800"),
        Decimal("0.950"),
    )


def test_the_frame_prunes_before_the_step_and_says_how_many_runs_it_pruned(history):
    SegmentationSettings.objects.update(snapshots_kept=1)
    runs = [pipeline_run(as_of=AS_OF - dt.timedelta(days=days)) for days in (2, 1, 0)]

    def pruned(run):
        (rfm,) = [step for step in run.steps if step["name"] == "rfm"]
        return rfm["summary"]["snapshots_pruned"]

    assert [pruned(run) for run in runs] == [0, 0, 1]
    assert set(RfmScore.objects.values_list("run_id", flat=True).distinct()) == {
        runs[1].pk,
        runs[2].pk,
    }
