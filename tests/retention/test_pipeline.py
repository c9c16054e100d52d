import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from customers import pipeline, records
from customers.models import Order, PipelineRun
from customers.pipeline import pipeline_execute, pipeline_run
from retention.models import ChurnEpisode, ChurnScore, RetentionSettings
from retention.reading import read_order_stats
from segmentation.models import RfmScore
from tests.factories import ComplaintFactory, CustomerFactory, OrderFactory
from tests.retention.factories import orders_every

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def history(cast):
    """A steady monthly buyer, one who stopped last September, a single order, and a
    customer who never ordered."""
    orders_every(cast.rep_customer, first=dt.date(2025, 1, 5), last=dt.date(2026, 6, 5), days=30)
    orders_every(
        cast.teammate_customer,
        first=dt.date(2024, 9, 1),
        last=dt.date(2025, 9, 1),
        days=14,
        amount="300.00",
    )
    OrderFactory(customer=cast.outsider_customer, order_date=dt.date(2026, 1, 10))
    ComplaintFactory(
        customer=cast.teammate_customer,
        subject="送货延迟",
        received_at=dt.datetime(2025, 9, 3, 10, tzinfo=dt.UTC),
    )
    CustomerFactory(owner=cast.rep, team=cast.east, name="从未下单的客户")
    return cast


def scores_of(run):
    return {score.customer_id: score for score in ChurnScore.objects.filter(run=run)}


def test_the_step_scores_every_customer_who_ordered_with_value_from_segmentation(history):
    run = pipeline_run(as_of=AS_OF)
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    scores = scores_of(run)
    assert set(scores) == {
        history.rep_customer.pk,
        history.teammate_customer.pk,
        history.outsider_customer.pk,
    }
    steady, stopped = scores[history.rep_customer.pk], scores[history.teammate_customer.pk]
    assert stopped.risk > steady.risk
    assert stopped.band == "high"
    rfm = {score.customer_id: score for score in RfmScore.objects.filter(run=run)}
    for customer_id, score in scores.items():
        assert score.value == rfm[customer_id].monetary
        assert score.value_tier == rfm[customer_id].value_tier
        # The value is last year's spend; what is at risk is the next year's.
        assert score.value_at_risk == (score.expected_value * Decimal(str(score.risk))).quantize(
            Decimal("0.01")
        )
    codes = [reason["code"] for reason in stopped.reasons]
    assert codes[0] == "late" and "complaint" in codes
    assert scores[history.outsider_customer.pk].reasons[0]["code"] == "single_order"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's statistics")
def test_the_planner_counts_the_snapshot_the_run_wrote(history):
    """The churn list plans its count from the snapshot's statistics: the step leaves fresh
    ones behind, as RFM's does."""
    table = ChurnScore._meta.db_table
    with connection.cursor() as cursor:
        # Statistics of the table as it is before the run: no scores.
        cursor.execute(f"ANALYZE {table}")
    run = pipeline_run(as_of=AS_OF)

    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        assert cursor.fetchone()[0] == ChurnScore.objects.count() == 3


def test_run_pipeline_json_reports_bands_and_value_at_risk(history, capsys):
    call_command("run_pipeline", "--as-of", AS_OF.isoformat(), "--json")
    report = json.loads(capsys.readouterr().out)
    churn_step = next(step for step in report["steps"] if step["name"] == "churn")
    summary = churn_step["summary"]
    assert churn_step["rows"] == 3
    assert sum(summary["bands"].values()) == 3
    assert set(summary["bands"]) == {"high", "medium", "low"}
    total = sum(ChurnScore.objects.values_list("value_at_risk", flat=True))
    assert Decimal(summary["value_at_risk"]) == total


def test_a_failing_later_step_leaves_the_previous_snapshot_and_episodes_current(history):
    first = pipeline_run(as_of=AS_OF)
    episodes = list(ChurnEpisode.objects.values_list("pk", "outcome", "ended_on"))

    def broken(run):
        raise RuntimeError("loyalty exploded")

    pipeline.register_step("broken", broken, after=("churn",))
    OrderFactory(customer=history.teammate_customer, order_date=dt.date(2026, 7, 10))
    second = pipeline_run(as_of=dt.date(2026, 7, 31))

    assert second.status == PipelineRun.Status.FAILED
    assert PipelineRun.objects.current() == first
    assert list(ChurnEpisode.objects.values_list("pk", "outcome", "ended_on")) == episodes
    # The failed run's rows exist but nobody reads them; the next run prunes them.
    assert ChurnScore.objects.filter(run=second).exists()
    pipeline._steps.pop("broken")
    third = pipeline_run(as_of=dt.date(2026, 7, 31))
    assert not ChurnScore.objects.filter(run=second).exists()
    assert ChurnEpisode.objects.get(customer=history.teammate_customer).outcome == "won_back"
    assert PipelineRun.objects.current() == third


def test_old_snapshots_are_pruned_to_the_runs_kept(history):
    RetentionSettings.objects.create(snapshots_kept=2)
    runs = [pipeline_run(as_of=AS_OF - dt.timedelta(days=days)) for days in (3, 2, 1, 0)]
    kept = set(ChurnScore.objects.values_list("run_id", flat=True).distinct())
    # The fourth run pruned to the two published before it, and added its own.
    assert kept == {runs[1].pk, runs[2].pk, runs[3].pk}


def test_executing_a_run_again_replaces_its_scores(history):
    run = pipeline_run(as_of=AS_OF)
    run.status = PipelineRun.Status.RUNNING
    run.save()
    pipeline_execute(run)
    assert ChurnScore.objects.filter(run=run).count() == 3


def figures(run):
    """Every score a run wrote, by customer."""
    churn = {
        score.customer_id: (score.risk, score.band, score.value, score.value_tier, score.reasons)
        for score in ChurnScore.objects.filter(run=run)
    }
    rfm = {
        score.customer_id: (
            score.recency_days,
            score.frequency,
            score.monetary,
            score.r_score,
            score.f_score,
            score.m_score,
            score.segment,
            score.value_tier,
            score.value_rank,
        )
        for score in RfmScore.objects.filter(run=run)
    }
    return churn, rfm


def test_cancelled_orders_leave_every_score_as_if_they_never_existed(history):
    before = figures(pipeline_run(as_of=AS_OF))
    stats_before = read_order_stats(AS_OF)
    flagged = ChurnEpisode.objects.get(customer=history.teammate_customer)
    newcomer = CustomerFactory(owner=history.rep, team=history.east, name="只下过取消订单的客户")
    later = [
        # The customer who stopped orders big again, a newcomer orders, a steady buyer doubles.
        OrderFactory(customer=history.teammate_customer, order_date=dt.date(2026, 6, 20)),
        OrderFactory(customer=newcomer, order_date=dt.date(2026, 6, 1)),
        OrderFactory(customer=history.rep_customer, order_date=AS_OF, amount=Decimal("50000.00")),
    ]
    # Recorded, they would change what the steps read.
    assert not read_order_stats(AS_OF).equals(stats_before)

    records.orders_cancel(
        orders=Order.objects.filter(pk__in=[order.pk for order in later]),
        reason="客户退单",
        by=history.admin,
    )
    assert figures(pipeline_run(as_of=AS_OF)) == before
    assert read_order_stats(AS_OF).equals(stats_before)
    # Not won back by an order that was cancelled.
    flagged.refresh_from_db()
    assert flagged.outcome == ChurnEpisode.Outcome.OPEN


@pytest.mark.skipif(connection.vendor != "postgresql", reason="steps at once on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_steps_executed_at_once_score_as_steps_executed_one_by_one(history, settings):
    fields = ("risk", "band", "value", "expected_value", "value_at_risk", "value_tier", "reasons")

    def scored(run):
        assert run.status == PipelineRun.Status.SUCCEEDED, run.error
        return {
            score.customer_id: tuple(getattr(score, name) for name in fields)
            for score in ChurnScore.objects.filter(run=run)
        }

    at_once = pipeline_run(as_of=AS_OF)
    settings.PIPELINE_STEP_THREADS = 1
    one_by_one = pipeline_run(as_of=AS_OF)

    churn_at_once = next(step for step in at_once.steps if step["name"] == "churn")
    churn_one_by_one = next(step for step in one_by_one.steps if step["name"] == "churn")
    # Its order statistics prepared beside the steps it waits for, only when at once.
    assert "prepare_seconds" in churn_at_once and "prepare_seconds" not in churn_one_by_one
    assert len(scored(at_once)) == 3
    assert scored(at_once) == scored(one_by_one)
