import datetime as dt
import io
import re

import pytest
from django.core.management import CommandError, call_command

from retention.management.commands.evaluate_churn import split_dates
from tests.factories import CustomerFactory, OrderFactory
from tests.retention.factories import orders_every

D = dt.date


@pytest.fixture
def history(db):
    """Two steady monthly buyers who go on buying, one who stopped in June 2025, one
    single order, one whose first order comes after the cut-off and one who never ordered."""
    customers = {
        name: CustomerFactory(name=name)
        for name in ("steady1", "steady2", "stopped", "once", "late", "never")
    }
    orders_every(customers["steady1"], first=D(2025, 1, 5), last=D(2026, 6, 30), days=30)
    orders_every(customers["steady2"], first=D(2025, 2, 5), last=D(2026, 2, 10), days=21)
    orders_every(customers["stopped"], first=D(2024, 11, 1), last=D(2025, 6, 1), days=20)
    OrderFactory(customer=customers["once"], order_date=D(2025, 3, 3))
    OrderFactory(customer=customers["late"], order_date=D(2026, 3, 1))
    return customers


def evaluate(*args):
    out = io.StringIO()
    call_command("evaluate_churn", *args, stdout=out)
    return out.getvalue().splitlines()


def test_labels_churners_among_those_who_ordered_before_the_cutoff(history):
    lines = evaluate("--cutoff", "2026-01-01")
    assert "customers scored: 4, churned: 2" in lines
    assert "base churn rate: 0.5000" in lines
    assert (
        lines[0] == "cutoff 2026-01-01, scored as of 2025-12-31, horizon to 2026-06-29 (180 days)"
    )


def test_a_shorter_horizon_labels_by_its_own_end(history):
    # steady1 orders on 2026-01-24 (30-day rhythm from 2025-01-05), after a 20-day horizon.
    lines = evaluate("--cutoff", "2026-01-01", "--horizon-days", "20")
    assert "customers scored: 4, churned: 3" in lines


def test_the_last_two_lines_are_the_scores_auc_and_lift(history):
    lines = evaluate("--cutoff", "2026-01-01")
    assert re.fullmatch(r"auc: \d\.\d{4}", lines[-2]), lines[-2]
    assert re.fullmatch(r"top_decile_lift: \d+\.\d{4}", lines[-1]), lines[-1]
    # Stayers bought weeks ago on their rhythm; churners months ago: perfectly separated.
    assert lines[-2] == "auc: 1.0000"
    assert any(line.split()[:2] == ["recency", "1.0000"] for line in lines)


def test_fit_prints_weights_before_the_figures(history):
    lines = evaluate("--cutoff", "2026-01-01", "--fit")
    assert lines[-3].startswith("fitted weights: {")
    assert lines[-2].startswith("auc: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cutoff", "2024-10-01"], "is not after the first order (2024-11-01)"),
        (["--cutoff", "2024-11-01"], "is not after the first order (2024-11-01)"),
        (["--cutoff", "2026-07-01"], "is after the last order (2026-06-29)"),
        (["--cutoff", "2026-01-01", "--horizon-days", "0"], "must be a positive number of days"),
        (["--cutoff", "2026-01-01", "--horizon-days", "-5"], "must be a positive number of days"),
        (["--cutoff", "2026-01-01", "--horizon-days", "400"], "at most 180 days"),
        (["--cutoff", "1/1/2026"], "must be a date as YYYY-MM-DD"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(history, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        evaluate(*args)


def test_without_orders_there_is_nothing_to_evaluate(db):
    with pytest.raises(CommandError, match="no orders"):
        evaluate("--cutoff", "2026-01-01")


def test_a_horizon_where_nobody_churns_cannot_judge_the_score(db):
    for customer in CustomerFactory.create_batch(2):
        orders_every(customer, first=D(2025, 1, 1), last=D(2025, 3, 1), days=10)
    with pytest.raises(CommandError, match="Everybody or nobody churned"):
        evaluate("--cutoff", "2025-02-01")


@pytest.mark.parametrize(
    ("cutoff", "horizon", "expected"),
    [
        (D(2026, 1, 1), None, (D(2025, 12, 31), D(2026, 6, 26))),
        (D(2026, 1, 1), 10, (D(2025, 12, 31), D(2026, 1, 11))),
        (D(2026, 6, 25), None, (D(2026, 6, 24), D(2026, 6, 26))),  # cut-off on the last day
    ],
)
def test_split_dates_score_the_day_before_and_end_after_the_horizon(cutoff, horizon, expected):
    assert split_dates(cutoff, horizon, D(2024, 11, 1), D(2026, 6, 25)) == expected
