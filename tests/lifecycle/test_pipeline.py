"""The lifecycle step through the pipeline: stages as of the run's date, the live stage and
its trail moved only by published runs, win-backs counted once, locks kept."""

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.db import connection

from customers.models import PipelineRun
from customers.pipeline import pipeline_run
from lifecycle.models import CustomerStage, LifecycleSettings, StageChange, StageSnapshot
from retention.models import ChurnEpisode
from tests.factories import CustomerFactory, OrderFactory
from tests.retention.factories import orders_every

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def base(cast):
    """A steady monthly buyer, one who stopped last September, one new customer, and one
    who never ordered."""
    orders_every(cast.rep_customer, first=dt.date(2025, 1, 5), last=dt.date(2026, 6, 5), days=30)
    orders_every(
        cast.teammate_customer, first=dt.date(2024, 9, 1), last=dt.date(2025, 9, 1), days=14
    )
    OrderFactory(customer=cast.outsider_customer, order_date=dt.date(2026, 5, 10))
    cast.prospect = CustomerFactory(
        owner=cast.rep,
        team=cast.east,
        name="从未下单的客户",
        created_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )
    return cast


def stages_of(run):
    return dict(StageSnapshot.objects.filter(run=run).values_list("customer_id", "stage"))


def live_stages():
    return dict(CustomerStage.objects.values_list("customer_id", "stage"))


def test_every_known_customer_gets_a_stage_as_of_the_run(base):
    run = pipeline_run(as_of=AS_OF)
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    expected = {
        base.rep_customer.pk: "growth",
        base.teammate_customer.pk: "termination",
        base.outsider_customer.pk: "development",
        base.prospect.pk: "potential",
    }
    assert {k: v for k, v in stages_of(run).items() if k in expected} == expected
    assert {k: v for k, v in live_stages().items() if k in expected} == expected
    # First stages are recorded, dated by the run, with no old stage: no flow.
    first = StageChange.objects.get(customer=base.teammate_customer)
    assert (first.on, first.old_stage, first.new_stage, first.source) == (
        AS_OF,
        "",
        "termination",
        "rule",
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's statistics")
def test_the_planner_counts_the_live_stages_the_run_wrote(base):
    """The lists leave out lost customers by probing the live stages only when the planner
    knows how many there are: the run's write leaves fresh statistics behind."""
    table = CustomerStage._meta.db_table

    def counted():
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        # Statistics of the table as it is before the run: no stages.
        cursor.execute(f"ANALYZE {table}")
    assert counted() == 0
    run = pipeline_run(as_of=AS_OF)

    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert counted() == CustomerStage.objects.count() >= 4


def test_a_customer_created_after_the_runs_date_has_no_stage_in_it(base):
    CustomerFactory(owner=base.rep, team=base.east, name="明天的客户")
    run = pipeline_run(as_of=AS_OF)
    assert StageSnapshot.objects.filter(run=run, customer__name="明天的客户").count() == 0


def test_a_win_back_is_counted_once_by_the_lifecycle_and_by_retention(base):
    pipeline_run(as_of=AS_OF)
    OrderFactory(customer=base.teammate_customer, order_date=dt.date(2026, 7, 3))
    run = pipeline_run(as_of=dt.date(2026, 7, 5))
    assert stages_of(run)[base.teammate_customer.pk] == "development"
    moves = StageChange.objects.filter(customer=base.teammate_customer, run=run)
    assert [(c.old_stage, c.new_stage, c.on) for c in moves] == [
        ("termination", "development", dt.date(2026, 7, 5))
    ]
    summary = next(step for step in run.steps if step["name"] == "lifecycle")["summary"]
    assert summary["won_back"] == 1
    assert summary["transitions"] == {"termination→development": 1}
    episode = ChurnEpisode.objects.get(customer=base.teammate_customer)
    assert episode.outcome == ChurnEpisode.Outcome.WON_BACK
    # The next night: still in development, no second win-back.
    later = pipeline_run(as_of=dt.date(2026, 7, 6))
    assert stages_of(later)[base.teammate_customer.pk] == "development"
    assert next(s for s in later.steps if s["name"] == "lifecycle")["summary"]["won_back"] == 0
    assert StageChange.objects.filter(old_stage="termination", new_stage="development").count() == 1


def test_a_back_dated_run_never_moves_live_stages(base):
    pipeline_run(as_of=AS_OF)
    before = live_stages()
    changes = StageChange.objects.count()
    aside = pipeline_run(as_of=dt.date(2025, 6, 30))
    assert aside.status == PipelineRun.Status.KEPT_ASIDE
    # Its own figures are kept: a year earlier the stopped buyer was still buying.
    assert stages_of(aside)[base.teammate_customer.pk] != "termination"
    assert live_stages() == before
    assert StageChange.objects.count() == changes


def test_the_rule_leaves_a_locked_stage_until_the_lock_ends(base):
    pipeline_run(as_of=AS_OF)
    CustomerStage.objects.filter(customer=base.rep_customer).update(
        stage="maturity", locked_until=dt.date(2026, 7, 10)
    )
    held = pipeline_run(as_of=dt.date(2026, 7, 10))
    assert stages_of(held)[base.rep_customer.pk] == "maturity"
    assert live_stages()[base.rep_customer.pk] == "maturity"
    moved = pipeline_run(as_of=dt.date(2026, 7, 11))
    assert stages_of(moved)[base.rep_customer.pk] == "growth"
    assert live_stages()[base.rep_customer.pk] == "growth"
    change = StageChange.objects.get(customer=base.rep_customer, run=moved)
    assert (change.old_stage, change.new_stage, change.on) == (
        "maturity",
        "growth",
        dt.date(2026, 7, 11),
    )


def test_the_lost_rule_is_tuned_in_the_lifecycle_settings(base):
    LifecycleSettings.objects.create(lost_after_days=400, lost_after_intervals=1.0)
    run = pipeline_run(as_of=AS_OF)
    # About 300 days without an order is no longer lost.
    assert stages_of(run)[base.teammate_customer.pk] == "growth"
    # Retention reads the same rule: still flagged at high risk, lost only after 400 days.
    last = base.teammate_customer.orders.order_by("-order_date").first().order_date
    episode = ChurnEpisode.objects.get(customer=base.teammate_customer)
    assert episode.lost_from == last + dt.timedelta(days=401)


def test_run_pipeline_json_reports_stages_and_transitions(base, capsys):
    call_command("run_pipeline", "--as-of", AS_OF.isoformat(), "--json")
    report = json.loads(capsys.readouterr().out)
    step = next(step for step in report["steps"] if step["name"] == "lifecycle")
    assert set(step["summary"]["stages"]) == {
        "potential",
        "development",
        "growth",
        "maturity",
        "termination",
    }
    assert sum(step["summary"]["stages"].values()) == step["rows"]
    assert step["summary"]["transitions"] == {}
