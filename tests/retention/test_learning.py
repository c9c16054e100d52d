"""The churn score learns from the base's own past: the backtest, the fallback, the
reasons it may give, the expected value, and the accuracy shown in words."""

import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse
from django.utils import translation

from customers.pipeline import pipeline_run
from retention import bgnbd, churn
from retention.models import ChurnRunSummary, ChurnScore, Festival, RetentionSettings
from tests.factories import CustomerFactory, OrderFactory
from tests.retention.factories import orders_every
from tests.retention.test_churn import PARAMS, signals_frame, stats_frame

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def small_thresholds(monkeypatch):
    """A base of a few dozen customers learns, as a base of thousands does."""
    monkeypatch.setattr(churn, "MIN_CUSTOMERS", 10)
    monkeypatch.setattr(churn, "MIN_CLASS", 3)


@pytest.fixture
def base(cast):
    """Steady buyers, customers who stopped early in 2025 and customers who stopped
    late in 2025, all ordering since early 2024."""
    customers = []
    for number in range(24):
        customer = CustomerFactory(owner=cast.rep, team=cast.east)
        last = [AS_OF, dt.date(2025, 3, 1), dt.date(2025, 10, 20)][number % 3]
        orders_every(
            customer, first=dt.date(2024, 1, 2) + dt.timedelta(days=number), last=last, days=40
        )
        customers.append(customer)
    cast.customers = customers
    return cast


def scores_of(run):
    return {
        score.customer_id: (score.risk, score.band, score.expected_value, score.reasons)
        for score in ChurnScore.objects.filter(run=run)
    }


@pytest.mark.usefixtures("small_thresholds")
def test_orders_after_the_runs_date_change_nothing(base):
    before = pipeline_run(as_of=AS_OF)
    summary = ChurnRunSummary.objects.get(run=before)
    assert summary.backtest_on == AS_OF - dt.timedelta(days=365)
    assert summary.customers == 24
    assert summary.fallback in ("", "default_better")
    # Everybody orders again after the date, some of them a lot.
    for customer in base.customers:
        for days in (1, 20, 200):
            OrderFactory(customer=customer, order_date=AS_OF + dt.timedelta(days=days))
    after = pipeline_run(as_of=AS_OF)
    assert scores_of(after) == scores_of(before)
    again = ChurnRunSummary.objects.get(run=after)
    assert (again.weights, again.customers, again.churned, again.auc) == (
        summary.weights,
        summary.customers,
        summary.churned,
        summary.auc,
    )


@pytest.mark.usefixtures("small_thresholds")
def test_a_short_history_learns_from_the_last_horizon(base):
    # As of early 2025 nobody has a year of history yet: the backtest stands a horizon back.
    as_of = dt.date(2024, 12, 31)
    run = pipeline_run(as_of=as_of)
    summary = ChurnRunSummary.objects.get(run=run)
    assert summary.backtest_on == as_of - dt.timedelta(days=180)


def test_a_tiny_base_falls_back_to_the_default_weights_and_says_so(base, client_for):
    run = pipeline_run(as_of=AS_OF)
    summary = ChurnRunSummary.objects.get(run=run)
    assert summary.fallback == "few_customers"
    assert summary.weights == churn.DEFAULT_WEIGHTS
    assert summary.customers == 24
    (step,) = [step for step in run.steps if step["name"] == "churn"]
    assert step["summary"]["accuracy"]["fallback"] == "few_customers"
    content = client_for(base.manager).get(reverse("churn-risk-list")).content.decode()
    assert "The score uses its default weights" in content
    assert "too few customers ordered before the backtest date" in content


def test_a_changed_horizon_is_used_by_the_next_run(base):
    settings = RetentionSettings.current()
    settings.horizon_days = 90
    settings.save()
    run = pipeline_run(as_of=AS_OF)
    assert ChurnRunSummary.objects.get(run=run).horizon_days == 90


def test_the_shipped_calendar_has_the_festivals_of_2020_to_2035(db):
    assert Festival.objects.filter(kind="spring").count() == 16
    assert Festival.objects.filter(kind="mid_autumn", date=dt.date(2025, 10, 6)).exists()
    assert Festival.objects.filter(kind="spring", date=dt.date(2026, 2, 17)).exists()
    assert Festival.objects.filter(kind="new_year", date=dt.date(2035, 1, 1)).exists()


# --- reasons -----------------------------------------------------------------------


def reason_codes(stats, weights, **kwargs):
    purchases = churn.purchase_features(stats)
    signals = signals_frame(*({} for _ in range(len(stats))))
    inputs = churn.model_inputs(purchases, signals, PARAMS)
    return [
        [reason["code"] for reason in json.loads(text)]
        for text in churn.reasons_json(purchases, signals, inputs, weights, **kwargs)
    ]


LATE = {"recency": 200, "orders": 5, "tenure": 600, "orders_recent": 0, "orders_year": 1}


def test_reasons_never_name_a_factor_that_lowered_the_risk():
    stats = stats_frame({}, LATE)
    assert "late" in reason_codes(stats, churn.DEFAULT_WEIGHTS)[1]
    # Where the base's history says lateness and the rhythm lower the risk, being late is
    # no reason, nor a falling trend the fit gave no weight.
    lowering = {
        **churn.DEFAULT_WEIGHTS,
        "bgnbd": -0.5,
        "lateness": -0.5,
        "recency": -0.2,
        "spend_trend": 0.0,
        "order_trend": 0.0,
    }
    codes = reason_codes(stats, lowering)
    assert codes == [[], []]
    purchases = churn.purchase_features(stats)
    inputs = churn.model_inputs(purchases, signals_frame({}, {}), PARAMS)
    assert churn.churn_risk(inputs, lowering)[1] < churn.churn_risk(inputs, lowering)[0]


FESTIVE = {
    "orders": 4,
    "recency": 130,
    "tenure": 600,
    "orders_festive": 4,
    "orders_last_window": 1,
    "orders_this_window": 0,
    "last_window_recency": 500,
}


@pytest.mark.parametrize(("weight", "expected"), [(0.8, True), (0.0, False)])
def test_a_missed_festival_is_a_reason_only_where_it_raises_the_risk(weight, expected):
    stats = stats_frame({}, FESTIVE)
    weights = {**churn.DEFAULT_WEIGHTS, "missed_festival": weight}
    codes = reason_codes(stats, weights, as_of=AS_OF, festival="mid_autumn")
    assert ("festival_missed" in codes[1]) is expected
    assert "festival_missed" not in codes[0]


def test_a_missed_festival_reads_as_the_customer_would_say_it():
    from retention.reasons import reason_texts

    stats = stats_frame(FESTIVE)
    purchases = churn.purchase_features(stats)
    signals = signals_frame({})
    inputs = churn.model_inputs(purchases, signals, PARAMS)
    weights = {**churn.DEFAULT_WEIGHTS, "missed_festival": 3.0}
    (text,) = churn.reasons_json(
        purchases, signals, inputs, weights, as_of=dt.date(2026, 6, 30), festival="mid_autumn"
    )
    (festival,) = [r for r in json.loads(text) if r["code"] == "festival_missed"]
    assert festival["params"] == {"festival": "mid_autumn", "last_year": "2025-02-15"}
    with translation.override("en"):
        assert (
            "usually orders before the Mid-Autumn Festival; last year on 2025-02-15, "
            "not this year" in reason_texts([festival])
        )
    with translation.override("zh-hans"):
        assert reason_texts([festival]) == ["通常在中秋前下单；去年在 2025-02-15 下单，今年没有"]


# --- learning ---------------------------------------------------------------------


def synthetic(n, seed=5):
    rng = np.random.default_rng(seed)
    inputs = pd.DataFrame({name: np.zeros(n) for name in churn.FEATURES})
    inputs["recency"] = rng.normal(4, 1, n)
    inputs["season_ahead"] = (rng.random(n) < 0.5).astype(float)
    churned = rng.random(n) < 1 / (
        1 + np.exp(-(1.5 * (inputs["recency"] - 4) - 2 * inputs["season_ahead"]))
    )
    return inputs, churned, np.exp(inputs["recency"].to_numpy())


def test_learn_fits_the_base_and_measures_it_on_customers_it_did_not_fit():
    inputs, churned, recency = synthetic(4000)
    learned = churn.learn(inputs, churned, recency)
    assert learned.fallback == ""
    assert learned.weights["recency"] > 1
    assert learned.weights["season_ahead"] < -1
    assert learned.weights["complaint"] == churn.DEFAULT_WEIGHTS["complaint"]
    assert (learned.customers, learned.held_out) == (4000, 2000)
    assert learned.auc > learned.recency_auc


@pytest.mark.parametrize(
    ("n", "rate", "fallback"),
    [(400, 0.5, "few_customers"), (2000, 0.01, "few_churners"), (2000, 0.99, "few_stayers")],
)
def test_learn_falls_back_when_the_backtest_is_too_small(n, rate, fallback):
    inputs, _churned, recency = synthetic(n)
    churned = np.arange(n) < round(n * rate)
    learned = churn.learn(inputs, churned, recency)
    assert learned.fallback == fallback
    assert learned.weights == churn.DEFAULT_WEIGHTS


def test_the_backtest_stands_a_year_back_where_the_history_reaches():
    assert churn.backtest_date(AS_OF, 180, dt.date(2020, 1, 1), 5000) == dt.date(2025, 6, 30)
    assert churn.backtest_date(AS_OF, 180, dt.date(2026, 1, 1), 100) == dt.date(2026, 1, 1)
    assert churn.backtest_date(AS_OF, 180, dt.date(2026, 3, 1), 100) is None


# --- expected value ---------------------------------------------------------------


def test_expected_value_is_expected_orders_times_a_shrunk_order_value():
    # Fader, Hardie & Lee (2005): with r 0.243, α 4.414, a 0.793, b 2.426 (weeks), a
    # customer with 2 repeat orders, the last at 30.43 of 38.86 weeks, is expected to
    # order 1.226 times in the next 39 weeks.
    params = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    expected = bgnbd.expected_purchases(params, [2], [30.43], [38.86], 39)
    assert expected[0] == pytest.approx(1.226, abs=5e-4)
    # Three orders of 100, 200, 300 and one of 1,000: the base's mean order is 400; with
    # fewer than ten customers of several orders the shrinkage is its upper bound, 50
    # orders' weight: (600 + 50 × 400) / (3 + 50) and (1000 + 50 × 400) / (1 + 50).
    stats = stats_frame(
        {"orders": 3, "spend_total": 600.0, "spend_squares": 140000.0},
        {"orders": 1, "spend_total": 1000.0, "spend_squares": 1e6, "tenure": 20, "recency": 20},
    )
    purchases = churn.purchase_features(stats)
    value = churn.order_value(purchases)
    assert value == pytest.approx([20600 / 53, 21000 / 51])
    scored = churn.Scored(purchases, None, np.zeros(2), PARAMS)
    orders = bgnbd.expected_purchases(PARAMS, purchases["x"], purchases["t_x"], purchases["T"], 365)
    assert churn.expected_value(scored) == pytest.approx(orders * value)


def test_the_step_stores_risk_times_expected_value(base):
    run = pipeline_run(as_of=AS_OF)
    for score in ChurnScore.objects.filter(run=run):
        assert score.value_at_risk == (score.expected_value * Decimal(str(score.risk))).quantize(
            Decimal("0.01")
        )
    assert ChurnScore.objects.filter(run=run, expected_value__gt=0).exists()


# --- accuracy in words ---------------------------------------------------------------


@pytest.fixture
def measured(cast):
    from tests.retention.factories import ChurnScoreFactory, PublishedRunFactory

    run = PublishedRunFactory(as_of=AS_OF)
    ChurnScoreFactory(run=run, customer=cast.rep_customer)
    ChurnRunSummary.objects.create(
        run=run,
        horizon_days=180,
        backtest_on=AS_OF - dt.timedelta(days=180),
        customers=12000,
        churned=3000,
        held_out=6000,
        fallback="",
        weights=churn.DEFAULT_WEIGHTS,
        auc=0.8123,
        lift=2.46,
        recency_auc=0.7712,
        recency_lift=2.1,
    )
    cast.run = run
    return cast


def page(client, url, language):
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_the_list_says_how_well_the_score_separated_churners_in_both_languages(
    measured, client_for
):
    client = client_for(measured.manager)
    url = reverse("churn-risk-list")
    english = page(client, url, "en")
    assert "In a backtest over the last 180 days (12,000 customers, 25 % of them" in english
    assert "81 % of the time" in english
    assert "plain days since the last order: 77 % and 2.1 times" in english
    assert "Warning" not in english
    chinese = page(client, url, "zh-hans")
    assert "在过去 180 天的回测中" in chinese
    assert "81%" in chinese and "77%" in chinese


def test_the_list_warns_when_the_score_does_not_beat_recency(measured, client_for):
    ChurnRunSummary.objects.filter(run=measured.run).update(auc=0.7)
    client = client_for(measured.manager)
    english = page(client, reverse("churn-risk-list"), "en")
    assert "Warning: the score did not separate churners better than plain days" in english
    assert "警告" in page(client, reverse("churn-risk-list"), "zh-hans")


def test_the_run_page_says_it_too_in_both_languages(base, client_for):
    run = pipeline_run(as_of=AS_OF)
    # The run's figures are for those who see every customer.
    client = client_for(base.admin)
    url = reverse("pipeline-run-detail", args=[run.pk])
    assert "The score uses its default weights" in page(client, url, "en")
    assert "评分使用默认权重" in page(client, url, "zh-hans")


@pytest.mark.usefixtures("small_thresholds")
def test_evaluate_churn_scores_as_the_nightly_run_of_the_day_before_the_cutoff(base):
    import io

    from django.core.management import call_command

    as_of = dt.date(2026, 3, 31)
    run = pipeline_run(as_of=as_of)
    summary = ChurnRunSummary.objects.get(run=run)
    out = io.StringIO()
    call_command("evaluate_churn", "--cutoff", "2026-04-01", "--horizon-days", "60", stdout=out)
    lines = out.getvalue().splitlines()
    (backtest,) = [line for line in lines if line.startswith("backtest: as of")]
    assert backtest.startswith(f"backtest: as of {summary.backtest_on}, horizon 180 days, 24 ")
    (weights,) = [line for line in lines if line.startswith("weights used: ")]
    assert json.loads(weights.removeprefix("weights used: ")) == summary.weights
    assert any(line.startswith("backtest on 12 held-out customers: score auc") for line in lines)
    assert lines[-2].startswith("auc: ") and lines[-1].startswith("top_decile_lift: ")
