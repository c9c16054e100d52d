import json

import numpy as np
import pandas as pd
import pytest

from retention import bgnbd, churn

PARAMS = bgnbd.BgNbdParams(r=1.0, alpha=30.0, a=1.0, b=10.0)


def stats_frame(*rows):
    """Order statistics as reading.read_order_stats gives them; each row overrides a
    steady customer: five orders over 400 days, the last 20 days ago."""
    steady = {
        "orders": 5,
        "recency": 20,
        "tenure": 400,
        "spend_recent": 1000.0,
        "spend_previous": 1000.0,
        "spend_year": 4000.0,
        "orders_recent": 1,
        "orders_previous": 1,
        "orders_year": 4,
    }
    return pd.DataFrame([{"customer_id": i + 1, **steady, **row} for i, row in enumerate(rows)])


def signals_frame(*rows):
    quiet = {"open_complaints": 0, "complaint_since": "", "grade_now": "B", "grade_before": "B"}
    return pd.DataFrame([{**quiet, **row} for row in rows])


def test_risk_rises_with_recency_for_an_otherwise_fixed_customer():
    recencies = [0, 10, 30, 60, 120, 240, 390]
    stats = stats_frame(*({"recency": days} for days in recencies))
    signals = signals_frame(*({} for _ in recencies))
    inputs = churn.model_inputs(churn.purchase_features(stats), signals, PARAMS)
    risk = churn.churn_risk(inputs)
    assert (np.diff(risk) > 0).all()


@pytest.mark.parametrize(
    ("signal", "feature"),
    [
        ({"open_complaints": 1, "complaint_since": "2026-05-03"}, "complaint"),
        ({"grade_now": "C", "grade_before": "C"}, "grade_poor"),
        ({"grade_now": "C", "grade_before": "B"}, "grade_fell"),
    ],
)
def test_a_complaint_or_a_worse_grade_raises_the_risk(signal, feature):
    stats = stats_frame({}, {})
    inputs = churn.model_inputs(churn.purchase_features(stats), signals_frame({}, signal), PARAMS)
    assert inputs[feature].tolist() == [0.0, 1.0]
    risk = churn.churn_risk(inputs)
    assert risk[1] > risk[0]


@pytest.mark.parametrize(
    ("row", "signal", "expected"),
    [
        (
            {"orders": 5, "tenure": 400, "recency": 200},
            {},
            [{"code": "late", "params": {"days": 200, "interval": 50}}],
        ),
        # One order; several orders all on one day are one purchase occasion too.
        (
            {"orders": 1, "tenure": 95, "recency": 95},
            {},
            [{"code": "single_order", "params": {"days": 95}}],
        ),
        (
            {"orders": 3, "tenure": 95, "recency": 95},
            {},
            [{"code": "single_order", "params": {"days": 95}}],
        ),
        (
            {"spend_recent": 400.0, "spend_previous": 1000.0},
            {},
            [{"code": "spend_down", "params": {"percent": 60, "days": 90}}],
        ),
        (
            {"orders_recent": 0, "orders_previous": 3},
            {},
            [{"code": "orders_down", "params": {"recent": 0, "previous": 3, "days": 90}}],
        ),
        (
            {},
            {"open_complaints": 2, "complaint_since": "2026-05-03"},
            [{"code": "complaint", "params": {"count": 2, "since": "2026-05-03"}}],
        ),
        (
            {},
            {"grade_now": "C", "grade_before": "B"},
            [{"code": "grade_fell", "params": {"old": "B", "new": "C"}}],
        ),
        (
            {},
            {"grade_now": "D", "grade_before": "D"},
            [{"code": "grade_poor", "params": {"grade": "D"}}],
        ),
        # On rhythm (every 95 days, last order 20 days ago), spend steady: nothing to say.
        ({}, {}, []),
        # Spend down by less than a fifth is noise, not a reason.
        ({"spend_recent": 850.0, "spend_previous": 1000.0}, {}, []),
    ],
)
def test_reasons_match_the_inputs(row, signal, expected):
    # A steady customer beside, so that the population has something to compare with.
    stats = stats_frame(row, {})
    signals = signals_frame(signal, {})
    purchases = churn.purchase_features(stats)
    inputs = churn.model_inputs(purchases, signals, PARAMS)
    reasons = churn.reasons_json(purchases, signals, inputs)
    assert json.loads(reasons[0]) == expected


def test_at_most_three_reasons_the_strongest_first():
    stats = stats_frame(
        {"recency": 300, "spend_recent": 0.0, "orders_recent": 0, "orders_previous": 2},
        {},
    )
    signals = signals_frame(
        {
            "open_complaints": 1,
            "complaint_since": "2026-05-03",
            "grade_now": "D",
            "grade_before": "B",
        },
        {},
    )
    purchases = churn.purchase_features(stats)
    inputs = churn.model_inputs(purchases, signals, PARAMS)
    codes = [
        reason["code"] for reason in json.loads(churn.reasons_json(purchases, signals, inputs)[0])
    ]
    # Six apply; the rhythm (BG/NBD and lateness together) outweighs a worse grade,
    # which outweighs the trends (spend first on a tie), which outweigh a complaint.
    assert codes == ["late", "grade_fell", "spend_down"]


def test_single_orders_identical_dates_zero_amounts_and_new_customers_score_finitely():
    stats = stats_frame(
        {"orders": 1, "tenure": 300, "recency": 300},  # a single order
        {"orders": 4, "tenure": 200, "recency": 200},  # all on one day
        {"spend_recent": 0.0, "spend_previous": 0.0, "spend_year": 0.0},  # zero amounts
        {"orders": 1, "tenure": 0, "recency": 0, "orders_year": 1},  # first order today
        {},
    )
    signals = signals_frame({}, {}, {}, {}, {})
    scored = churn.score_customers(stats, signals)
    assert np.isfinite(scored.risk).all()
    assert ((scored.risk >= 0) & (scored.risk <= 1)).all()
    assert np.isfinite(scored.inputs.to_numpy()).all()
    assert all(
        isinstance(json.loads(text), list)
        for text in churn.reasons_json(scored.purchases, signals, scored.inputs)
    )


def test_nobody_with_a_rhythm_is_measured_against_the_horizon():
    stats = stats_frame({"orders": 1, "tenure": 90, "recency": 90})
    inputs = churn.model_inputs(churn.purchase_features(stats), signals_frame({}), PARAMS)
    assert inputs["lateness"].iloc[0] == pytest.approx(np.log1p(90 / churn.HORIZON_DAYS))


@pytest.mark.parametrize(
    ("risk", "band"),
    [
        (1.0, "high"),
        (0.6, "high"),
        (0.5999, "medium"),
        (0.3, "medium"),
        (0.2999, "low"),
        (0, "low"),
    ],
)
def test_bands_start_at_their_thresholds(risk, band):
    assert churn.risk_bands([risk], churn.Bands(high=0.6, medium=0.3)).tolist() == [band]


def test_fit_weights_finds_the_signal_and_never_lets_a_complaint_lower_the_risk():
    rng = np.random.default_rng(3)
    n = 4000
    inputs = pd.DataFrame({name: np.zeros(n) for name in churn.FEATURES})
    inputs["lateness"] = rng.normal(size=n)
    inputs["complaint"] = (rng.random(n) < 0.3).astype(float)
    # Churn follows lateness; complainers here happen to churn *less*.
    churned = rng.random(n) < 1 / (1 + np.exp(-(2 * inputs["lateness"] - inputs["complaint"])))
    weights = churn.fit_weights(inputs, churned)
    assert weights["lateness"] == pytest.approx(2, abs=0.3)
    assert weights["complaint"] == 0
    assert weights["grade_fell"] == 0


def test_stored_reasons_that_cannot_be_read_are_no_reasons():
    assert churn.parse_reasons("not json") == []
    assert churn.parse_reasons('{"code": "late"}') == []
    assert churn.parse_reasons([{"code": "late"}]) == [{"code": "late"}]
