"""The order figures the nightly steps share: one pass over the orders per run inside the
frame, the same figures as each step's own read outside it."""

import datetime as dt

import pandas as pd
import pytest

from customers import rollups
from customers.models import PipelineRun
from customers.pipeline import pipeline_start, registered_steps, step_execute
from segmentation.models import SegmentationSettings
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 6, 30)
RFM = ["rfm_last_order", "rfm_frequency", "rfm_monetary_cents"]
LIFECYCLE = ["lifecycle_orders", "lifecycle_tenure", "lifecycle_spend_year"]


@pytest.fixture
def run(cast):
    OrderFactory(customer=cast.rep_customer, order_date=dt.date(2026, 6, 1), amount="120.50")
    OrderFactory(customer=cast.rep_customer, order_date=dt.date(2024, 2, 1), amount="80.00")
    OrderFactory(customer=cast.outsider_customer, order_date=dt.date(2026, 5, 10), amount="10")
    # After the run's date, and cancelled: neither counts.
    OrderFactory(customer=cast.outsider_customer, order_date=dt.date(2026, 7, 1), amount="99")
    cancelled = OrderFactory(customer=cast.teammate_customer, order_date=dt.date(2026, 6, 2))
    type(cancelled).objects.filter(pk=cancelled.pk).update(
        status="cancelled", cancelled_at=dt.datetime(2026, 6, 3, tzinfo=dt.UTC), cancel_reason="x"
    )
    return pipeline_start(as_of=AS_OF)


def test_the_figures_as_of_the_run(run, cast):
    frame = rollups.order_figures(run, ["lifecycle_orders", *RFM]).set_index("customer_id")
    assert sorted(frame.index) == sorted([cast.rep_customer.pk, cast.outsider_customer.pk])
    rep = frame.loc[cast.rep_customer.pk]
    assert rep["lifecycle_orders"] == 2
    assert rep["rfm_last_order"] == pd.Timestamp("2026-06-01")
    assert (rep["rfm_frequency"], rep["rfm_monetary_cents"]) == (1, 12050)


def test_inside_a_run_the_steps_share_one_read_with_the_same_figures(run):
    alone = {names[0]: rollups.order_figures(run, names) for names in (RFM, LIFECYCLE)}
    with rollups.shared_order_figures() as shared:
        together = {names[0]: rollups.order_figures(run, names) for names in (RFM, LIFECYCLE)}
        assert shared.reads == 1
    for key, frame in alone.items():
        pd.testing.assert_frame_equal(frame, together[key])


def test_a_setting_changed_between_steps_reads_again(run):
    with rollups.shared_order_figures() as shared:
        before = rollups.order_figures(run, RFM)
        SegmentationSettings.objects.update(window_days=30)
        after = rollups.order_figures(run, RFM)
        assert shared.reads == 2
    assert before["rfm_frequency"].sum() == 2
    assert after["rfm_frequency"].sum() == 1


def test_the_rfm_and_lifecycle_steps_of_a_run_read_the_orders_once(run):
    steps = {step.name: step for step in registered_steps()}
    with rollups.shared_order_figures() as shared:
        for name in ("rfm", "lifecycle"):
            step_execute(steps[name], run)
        assert shared.reads == 1
    PipelineRun.objects.filter(pk=run.pk).update(status=PipelineRun.Status.FAILED)


def test_outside_a_run_nothing_is_kept(run):
    rollups.order_figures(run, RFM)
    with rollups.shared_order_figures() as shared:
        assert shared.reads == 0
    with pytest.raises(KeyError):
        rollups.order_figures(run, ["no_such_figure"])
