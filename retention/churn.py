"""Churn risk (流失预警): from per-customer order statistics to a score in [0, 1]
with its reasons, and the value the customer would still buy. Pure functions over
DataFrames; no ORM, no I/O.

The score is a logistic combination of
- the BG/NBD chance that the customer orders nothing in the horizon (fitted to
  the order history of the run, see retention.bgnbd);
- how late the customer is against their own rhythm (days since the last order
  over their usual interval), whether they bought only once, and plain recency;
- their season (retention.calendar): whether they bought in the coming season a
  year ago, their share of orders in the weeks before festivals, and whether
  they missed the last festival they bought before a year earlier;
- the trend of spend and of orders: the last 90 days against the 90 before;
- how often they bought in the last year;
- an open complaint, a credit grade of C or D, a grade that fell recently.
Each run learns the weights from the base's own past (`learn`, on a backtest
inside the history the run already has); DEFAULT_WEIGHTS stand in where that
history is too short or too small.
"""

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, logit

from customers.models import Grade
from retention import bgnbd, evaluation
from retention.formatting import int_text

# The score is the chance of no order within this many days.
HORIZON_DAYS = 180
# The spend and order trends compare the last TREND_DAYS with the TREND_DAYS before.
TREND_DAYS = 90
# A grade change counts as recent within this many days.
GRADE_WINDOW_DAYS = 90
# Late against their rhythm: the rhythm is given as a reason from this ratio on.
LATE_RATIO = 1.5
# Customers who bought on one day only are a reason ("bought only once") after this long.
SINGLE_ORDER_REASON_DAYS = 30
# Spend down by at least this share on the previous period is a reason.
SPEND_DOWN_SHARE = 0.2
MAX_REASONS = 3

FEATURES = (
    "bgnbd",
    "lateness",
    "single",
    "recency",
    "season_ahead",
    "festive_share",
    "missed_festival",
    "spend_trend",
    "order_trend",
    "frequency",
    "complaint",
    "grade_poor",
    "grade_fell",
)

# The default weights, used when a base's history is too short or too small to learn
# from (see `learn`). Fitted once by logistic regression on the demo data (`seed_demo
# --customers 50000 --seed 7 --today 2026-10-31`, scored as of 2025-10-31, labelled by
# the 182 days after it). In words: the BG/NBD chance of no order carries most of the
# score; being late against one's own rhythm, and having bought only once, add to it;
# many orders in the last year take from it; an open complaint adds a little. The
# trends and the grades are policy floors (a falling trend or a worse grade always
# raises the risk a little); the seasonal inputs get no weight without a history to
# learn them from. The complaint and grade weights are kept in learned weights too:
# complaints and grades are not replayed for the backtest.
WEIGHTS = {
    "intercept": 0.0861,
    "bgnbd": 0.9295,
    "lateness": 0.2971,
    "single": 0.2608,
    "recency": 0.0,
    "season_ahead": 0.0,
    "festive_share": 0.0,
    "missed_festival": 0.0,
    "spend_trend": -0.1,
    "order_trend": -0.1,
    "frequency": -0.1999,
    "complaint": 0.0623,
    "grade_poor": 0.2,
    "grade_fell": 0.3,
}
DEFAULT_WEIGHTS = WEIGHTS
# Not learned: their weights always come from DEFAULT_WEIGHTS.
SIGNAL_FEATURES = ("complaint", "grade_poor", "grade_fell")


@dataclass(frozen=True)
class Bands:
    """Risk from `high` up is high, from `medium` up medium, below it low."""

    high: float = 0.6
    medium: float = 0.3


def purchase_features(stats: pd.DataFrame) -> pd.DataFrame:
    """Rhythm and trend of each customer's purchases.

    `stats` has one row per customer who ordered: customer_id, orders,
    recency (days from the last order to the run's date), tenure (days from the
    first order), spend_recent / spend_previous and orders_recent /
    orders_previous (the last TREND_DAYS and the TREND_DAYS before), orders_year; and
    where read (retention.reading), spend_total, spend_squares, orders_festive,
    orders_ahead, orders_this_window, orders_last_window and last_window_recency.
    """
    orders = stats["orders"].to_numpy(dtype=float)
    recency = stats["recency"].to_numpy(dtype=float)
    tenure = stats["tenure"].to_numpy(dtype=float)
    span = np.maximum(tenure - recency, 0.0)
    # Several orders on the first and only day are one purchase occasion: no repeat
    # order, no rhythm yet.
    repeat = np.where(span > 0, np.maximum(orders - 1, 0.0), 0.0)
    interval = np.where(repeat > 0, span / np.where(repeat > 0, repeat, 1), np.nan)
    return pd.DataFrame(
        {
            "customer_id": stats["customer_id"].to_numpy(),
            "orders": orders.astype(int),
            "x": repeat,
            "t_x": span,
            "T": tenure,
            "recency": recency,
            "interval": interval,
            "spend_recent": stats["spend_recent"].to_numpy(dtype=float),
            "spend_previous": stats["spend_previous"].to_numpy(dtype=float),
            "orders_recent": stats["orders_recent"].to_numpy(dtype=float),
            "orders_previous": stats["orders_previous"].to_numpy(dtype=float),
            "orders_year": stats["orders_year"].to_numpy(dtype=float),
            **{name: _column(stats, name, default) for name, default in SEASON_COLUMNS.items()},
            "spend_total": _column(stats, "spend_total", np.nan),
            "spend_squares": _column(stats, "spend_squares", np.nan),
        }
    )


# The seasonal order counts and their value where they were not read.
SEASON_COLUMNS = {
    "orders_festive": 0.0,
    "orders_ahead": 0.0,
    "orders_this_window": 0.0,
    "orders_last_window": 0.0,
    "last_window_recency": -1.0,
}


def _column(stats, name, default):
    if name in stats:
        return stats[name].to_numpy(dtype=float)
    return np.full(len(stats), default, dtype=float)


def _trend(recent, previous):
    """(recent − previous) / (recent + previous): −1 stopped, 0 steady, 1 new; 0 with neither."""
    total = recent + previous
    return np.where(total > 0, (recent - previous) / np.where(total > 0, total, 1.0), 0.0)


# "Usually orders before festivals": at least this share of their orders in the weeks
# before one (retention.calendar), over the calendar's pattern years.
FESTIVE_SHARE = 0.5


def missed_festival(purchases):
    """Customers who usually order before festivals, ordered before the last festival's
    occurrence a year ago and not before this one."""
    p = purchases
    share = p["orders_festive"] / np.maximum(p["orders"], 1)
    return (
        (share >= FESTIVE_SHARE) & (p["orders_last_window"] > 0) & (p["orders_this_window"] == 0)
    ).to_numpy()


def model_inputs(
    purchases, signals, params: bgnbd.BgNbdParams, horizon_days=HORIZON_DAYS
) -> pd.DataFrame:
    """The score's inputs (FEATURES) for each customer of `purchases`.

    `signals` (indexed like `purchases`) holds open_complaints, grade_now and
    grade_before (the grade GRADE_WINDOW_DAYS ago; empty when unknown).
    """
    p_no_order = bgnbd.p_no_order(
        params, purchases["x"], purchases["t_x"], purchases["T"], horizon_days
    )
    interval = purchases["interval"].to_numpy()
    # Without a rhythm of their own, customers are measured against the typical one.
    typical = np.nanmedian(interval) if np.isfinite(interval).any() else float(horizon_days)
    usual = np.where(np.isfinite(interval), interval, typical)
    ranks = Grade.ranks()
    rank_now = signals["grade_now"].map(ranks)
    rank_before = signals["grade_before"].map(ranks)
    return pd.DataFrame(
        {
            "bgnbd": logit(np.clip(p_no_order, 1e-4, 1 - 1e-4)),
            "lateness": np.log1p(purchases["recency"].to_numpy() / np.maximum(usual, 1.0)),
            "single": (~np.isfinite(interval)).astype(float),
            "recency": np.log1p(purchases["recency"].to_numpy()),
            "season_ahead": (purchases["orders_ahead"].to_numpy() > 0).astype(float),
            "festive_share": (
                purchases["orders_festive"] / np.maximum(purchases["orders"], 1)
            ).to_numpy(),
            "missed_festival": missed_festival(purchases).astype(float),
            "spend_trend": _trend(purchases["spend_recent"], purchases["spend_previous"]),
            "order_trend": _trend(purchases["orders_recent"], purchases["orders_previous"]),
            "frequency": np.log1p(purchases["orders_year"].to_numpy()),
            "complaint": (signals["open_complaints"].to_numpy() > 0).astype(float),
            "grade_poor": (rank_now >= Grade.rank(Grade.C)).to_numpy(dtype=float),
            "grade_fell": (rank_now > rank_before).to_numpy(dtype=float),
        },
        index=purchases.index,
    )


def _linear(inputs, weights):
    columns = list(FEATURES)
    coefficients = np.array([weights[name] for name in columns])
    return weights["intercept"] + inputs[columns].to_numpy() @ coefficients


def churn_risk(inputs: pd.DataFrame, weights=None) -> np.ndarray:
    """The score in [0, 1] for each row of `model_inputs`; never NaN."""
    score = expit(_linear(inputs, weights or WEIGHTS))
    return np.nan_to_num(score, nan=1.0)


def risk_bands(risk, bands: Bands) -> np.ndarray:
    risk = np.asarray(risk, dtype=float)
    return np.select([risk >= bands.high, risk >= bands.medium], ["high", "medium"], "low")


# Whatever one sample says, what is given as a reason must never lower the risk: a
# complaint, a worse grade or a missed festival (weights ≥ 0), a falling trend (the
# trends run from −1, stopped, to 1: weights ≤ 0). The rhythm's reasons are given only
# where the rhythm's part of the score raises the risk (see reasons_json).
NON_NEGATIVE = ("complaint", "grade_poor", "grade_fell", "missed_festival")
NON_POSITIVE = ("spend_trend", "order_trend")
# The ridge penalty on the standardised weights (per customer, on the mean log-loss).
L2 = 1e-3


def fit_weights(inputs: pd.DataFrame, churned, *, l2=L2) -> dict:
    """Logistic-regression weights for FEATURES on one time split, with a ridge penalty
    on the standardised inputs (so that a feature that never varies gets 0, and no
    feature's scale decides its penalty); the sign bounds above hold."""
    raw = inputs[list(FEATURES)].to_numpy(dtype=float)
    center, scale = raw.mean(axis=0), raw.std(axis=0)
    varies = scale > 1e-9
    scale = np.where(varies, scale, 1.0)
    design = np.column_stack([np.ones(len(raw)), (raw - center) / scale])
    y = np.asarray(churned, dtype=float)

    def loss(w):
        z = design @ w
        value = np.mean(np.logaddexp(0.0, z) - y * z) + l2 * np.sum(w[1:] ** 2)
        gradient = design.T @ (expit(z) - y) / len(y)
        gradient[1:] += 2 * l2 * w[1:]
        return value, gradient

    bounds = [(None, None)] + [
        (0, 0)
        if not varying
        else (0, None)
        if name in NON_NEGATIVE
        else (None, 0)
        if name in NON_POSITIVE
        else (None, None)
        for name, varying in zip(FEATURES, varies, strict=True)
    ]
    result = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds)
    coefficients = result.x[1:] / scale
    intercept = result.x[0] - float(coefficients @ center)
    weights = {"intercept": round(float(intercept), 4)}
    weights.update(
        {name: round(float(value), 4) for name, value in zip(FEATURES, coefficients, strict=True)}
    )
    return weights


# --- learning from the base's own past -----------------------------------------

# Too little to learn from: fewer customers with an order before the backtest date, or
# fewer churners or stayers in its horizon. Below these a fit of fourteen weights
# mostly learns the sample's noise (on the generators of bench/churn_generators.py,
# fits on 500 customers rank the rest within 0.01 of AUC of fits on 20,000).
MIN_CUSTOMERS = 500
MIN_CLASS = 50
# The weights are fitted on at most this many customers of the backtest (the rest are
# held out to measure them): on a consumer-retail history of 300,000 customers, fits on
# 10,000 and on 60,000 rank the same held-out customers alike (AUC 0.7375 and 0.7374;
# `bench/bench_churn_quality.py --sample-study`), the larger in six times the time.
FIT_SAMPLE = 20_000


@dataclass(frozen=True)
class Learned:
    """The weights a run scores with, and how they did on the backtest.

    `fallback` says why the default weights are used ("" when learned):
    "short_history", "few_customers", "few_churners", "few_stayers", or
    "default_better" (the learned weights ranked the held-out customers worse). The
    figures are measured on the held-out customers (all of them on a fallback);
    None where a class is empty."""

    weights: dict
    fallback: str
    customers: int
    churned: int
    held_out: int
    auc: float | None
    lift: float | None
    recency_auc: float | None
    recency_lift: float | None

    @property
    def base_rate(self):
        return self.churned / self.customers if self.customers else None


def backtest_date(as_of, horizon_days, first_order, customers_a_year_before):
    """Where the backtest stands: the same day a year earlier, when the history reaches
    back that far for enough customers (the season the score faces is the one it learns
    from), otherwise `horizon_days` before `as_of`; None when the history is shorter."""
    year_before = as_of - dt.timedelta(days=365)
    if horizon_days <= 365 and customers_a_year_before >= MIN_CUSTOMERS:
        return year_before
    earlier = as_of - dt.timedelta(days=horizon_days)
    if first_order is None or first_order > earlier:
        return None
    return earlier


def learn(inputs, churned, recency, *, seed=0) -> Learned:
    """Weights fitted on a backtest: `inputs` as of the backtest date, `churned` whether
    each customer then ordered nothing in the horizon, `recency` their days since the
    last order then. Half the customers (at most FIT_SAMPLE) fit, the other half judge
    the fit against DEFAULT_WEIGHTS and plain recency."""
    churned = np.asarray(churned, dtype=bool)
    recency = np.asarray(recency, dtype=float)
    n, positives = len(churned), int(churned.sum())
    fallback = (
        "few_customers"
        if n < MIN_CUSTOMERS
        else "few_churners"
        if positives < MIN_CLASS
        else "few_stayers"
        if n - positives < MIN_CLASS
        else ""
    )
    if fallback:
        return _judged(DEFAULT_WEIGHTS, fallback, inputs, churned, recency, n, positives)
    order = np.random.default_rng(seed).permutation(n)
    fit_rows, held = order[: n // 2][:FIT_SAMPLE], order[n // 2 :]
    weights = fit_weights(inputs.iloc[fit_rows], churned[fit_rows])
    weights.update({name: DEFAULT_WEIGHTS[name] for name in SIGNAL_FEATURES})
    held_inputs = inputs.iloc[held]
    learned_auc = evaluation.roc_auc(churn_risk(held_inputs, weights), churned[held])
    default_auc = evaluation.roc_auc(churn_risk(held_inputs, DEFAULT_WEIGHTS), churned[held])
    if default_auc is not None and learned_auc is not None and default_auc > learned_auc:
        weights, fallback = DEFAULT_WEIGHTS, "default_better"
    return _judged(weights, fallback, held_inputs, churned[held], recency[held], n, positives)


def _judged(weights, fallback, inputs, churned, recency, customers, positives):
    score = churn_risk(inputs, weights) if len(inputs) else np.array([])
    return Learned(
        weights=dict(weights),
        fallback=fallback,
        customers=customers,
        churned=positives,
        held_out=len(churned),
        auc=evaluation.roc_auc(score, churned),
        lift=evaluation.top_decile_lift(score, churned),
        recency_auc=evaluation.roc_auc(recency, churned),
        recency_lift=evaluation.top_decile_lift(recency, churned),
    )


def short_history(customers=0, churned=0) -> Learned:
    """No backtest possible: the default weights, no figures."""
    return Learned(dict(DEFAULT_WEIGHTS), "short_history", customers, churned, 0, *[None] * 4)


# --- reasons ------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """One kind of reason: where it applies, how strongly, and its parameters
    (arrays of ints, or of text to be quoted)."""

    code: str
    applies: np.ndarray
    strength: np.ndarray
    numbers: dict
    texts: dict


def reasons_json(
    purchases, signals, inputs, weights=None, *, as_of=None, festival=""
) -> np.ndarray:
    """Each customer's top reasons as JSON text: [{"code": …, "params": {…}}, …],
    the strongest first (by their share of the score). A reason is given only where
    its part of the score raises the risk. With `as_of` and the kind of the last
    festival passed (retention.calendar), a missed festival is one."""
    candidates = _reason_candidates(purchases, signals, inputs, weights or WEIGHTS)
    if as_of is not None and festival:
        candidates.append(
            _festival_candidate(purchases, inputs, weights or WEIGHTS, as_of, festival)
        )
    n = len(purchases)
    if n == 0:
        return np.array([], dtype=object)
    strength = np.column_stack([c.strength for c in candidates])
    # Never a reason whose part lowers the risk (or leaves it as it is).
    applies = np.column_stack([c.applies for c in candidates]) & (strength > 0)
    # Reasons that do not apply sort last; among those that do, the strongest first.
    ranked = np.argsort(np.where(applies, -strength, np.inf), axis=1, kind="stable")
    ranked = ranked[:, :MAX_REASONS]
    valid = np.take_along_axis(applies, ranked, axis=1)
    joined = np.full(n, "", dtype=object)
    # Text is built only for the reasons chosen: a million customers have about as
    # many, against seven candidates each.
    for slot in range(ranked.shape[1]):
        for kind, candidate in enumerate(candidates):
            rows = np.flatnonzero(valid[:, slot] & (ranked[:, slot] == kind))
            if len(rows):
                text = _json_objects(candidate, rows)
                joined[rows] = text if slot == 0 else joined[rows] + ", " + text
    return "[" + joined + "]"


def _json_objects(candidate, rows):
    """{"code": …, "params": {…}} as JSON text for the given rows of a candidate."""
    parts = [(name, int_text(values[rows])) for name, values in candidate.numbers.items()]
    parts += [
        (name, '"' + np.asarray(values, dtype=object)[rows] + '"')
        for name, values in candidate.texts.items()
    ]
    body = None
    for name, text in parts:
        part = f'"{name}": ' + text
        body = part if body is None else body + ", " + part
    return f'{{"code": "{candidate.code}", "params": {{' + body + "}}"


def _reason_candidates(purchases, signals, inputs, weights):
    recency = purchases["recency"].to_numpy().astype(int)
    interval = purchases["interval"].to_numpy()
    has_rhythm = np.isfinite(interval)
    # The rhythm's part of the score against a customer on time (lateness log 2: half an
    # interval late) and of the base's usual chance of no order and recency.
    rhythm_strength = (
        weights["bgnbd"] * (inputs["bgnbd"] - inputs["bgnbd"].median())
        + weights["lateness"] * (inputs["lateness"] - np.log(2))
        + weights["single"] * inputs["single"]
        + weights["recency"] * (inputs["recency"] - inputs["recency"].median())
    ).to_numpy()
    usual = np.where(has_rhythm, interval, 0.0)

    recent = purchases["spend_recent"].to_numpy()
    previous = purchases["spend_previous"].to_numpy()
    orders_recent = purchases["orders_recent"].to_numpy().astype(int)
    orders_previous = purchases["orders_previous"].to_numpy().astype(int)
    complaints = signals["open_complaints"].to_numpy().astype(int)
    grade_now = signals["grade_now"].to_numpy(dtype=object)
    fell = inputs["grade_fell"].to_numpy() > 0
    n = len(recency)

    def constant(value):
        return np.full(n, float(value))

    return [
        _Candidate(
            "late",
            has_rhythm & (recency >= LATE_RATIO * usual),
            rhythm_strength,
            {"days": recency, "interval": np.maximum(np.round(usual), 1)},
            {},
        ),
        _Candidate(
            "single_order",
            ~has_rhythm & (recency >= SINGLE_ORDER_REASON_DAYS),
            rhythm_strength,
            {"days": recency},
            {},
        ),
        _Candidate(
            "spend_down",
            (previous > 0) & (recent <= (1 - SPEND_DOWN_SHARE) * previous),
            weights["spend_trend"] * inputs["spend_trend"].to_numpy(),
            {
                "percent": np.round(100 * (1 - recent / np.where(previous > 0, previous, 1))),
                "days": np.full(n, TREND_DAYS),
            },
            {},
        ),
        _Candidate(
            "orders_down",
            (orders_previous > 0) & (orders_recent < orders_previous),
            weights["order_trend"] * inputs["order_trend"].to_numpy(),
            {"recent": orders_recent, "previous": orders_previous, "days": np.full(n, TREND_DAYS)},
            {},
        ),
        _Candidate(
            "complaint",
            complaints > 0,
            constant(weights["complaint"]),
            {"count": complaints},
            {"since": signals["complaint_since"].to_numpy(dtype=object)},
        ),
        _Candidate(
            "grade_fell",
            fell,
            constant(weights["grade_fell"] + weights["grade_poor"]),
            {},
            {"old": signals["grade_before"].to_numpy(dtype=object), "new": grade_now},
        ),
        _Candidate(
            "grade_poor",
            (inputs["grade_poor"].to_numpy() > 0) & ~fell,
            constant(weights["grade_poor"]),
            {},
            {"grade": grade_now},
        ),
    ]


def _festival_candidate(purchases, inputs, weights, as_of, festival):
    """ "Usually orders before 中秋; last year on 2025-09-20": the festival missed."""
    days = purchases["last_window_recency"].to_numpy()
    last_year = np.datetime64(as_of, "D") - np.maximum(days, 0).astype("timedelta64[D]")
    return _Candidate(
        "festival_missed",
        inputs["missed_festival"].to_numpy() > 0,
        weights["missed_festival"] * inputs["missed_festival"].to_numpy(),
        {},
        {
            "festival": np.full(len(days), festival, dtype=object),
            "last_year": np.datetime_as_string(last_year).astype(object),
        },
    )


def parse_reasons(text):
    """The stored reasons as a list of {"code", "params"}; [] for anything unreadable."""
    if isinstance(text, list):
        return text
    try:
        reasons = json.loads(text or "[]")
    except (TypeError, ValueError):
        return []
    return reasons if isinstance(reasons, list) else []


@dataclass(frozen=True)
class Scored:
    """What `score_customers` computed, row for row with the order statistics."""

    purchases: pd.DataFrame
    inputs: pd.DataFrame
    risk: np.ndarray
    params: bgnbd.BgNbdParams

    def p_alive(self):
        p = self.purchases
        return bgnbd.p_alive(self.params, p["x"], p["t_x"], p["T"])


def score_customers(
    stats: pd.DataFrame, signals: pd.DataFrame, weights=None, *, horizon_days=HORIZON_DAYS
) -> Scored:
    """Fit BG/NBD to the customers' purchases and score each of them."""
    purchases = purchase_features(stats)
    params = bgnbd.fit(purchases["x"], purchases["t_x"], purchases["T"])
    inputs = model_inputs(purchases, signals, params, horizon_days)
    return Scored(purchases, inputs, churn_risk(inputs, weights), params)


# --- what the customer would still buy -------------------------------------------

# The expected value covers this many days ahead.
VALUE_DAYS = 365
# Bounds of the shrinkage towards the base's mean order value, in orders (see
# order_value): from a customer's own mean mostly, to the base's mostly.
SHRINK_ORDERS = (0.5, 50.0)


def shrink_orders(orders, spend_total, spend_squares):
    """How many orders' worth of weight the base's mean order value gets against a
    customer's own mean (empirical Bayes, method of moments): the spread of order values
    within customers over the spread of the customers' true means."""
    orders = np.asarray(orders, dtype=float)
    several = orders >= 2
    if several.sum() < 10:
        return SHRINK_ORDERS[1]
    n, total, squares = orders[several], spend_total[several], spend_squares[several]
    means = total / n
    within = np.maximum(squares - n * means**2, 0.0) / (n - 1)
    noise = float(np.mean(within / n))
    between = float(np.var(means)) - noise
    if between <= 0:
        return SHRINK_ORDERS[1]
    return float(np.clip(np.mean(within) / between, *SHRINK_ORDERS))


def order_value(purchases):
    """Each customer's expected order value: their mean order, shrunk towards the base's
    by `shrink_orders` (a customer with one order of 10,000 is not yet a 10,000 customer)."""
    orders = purchases["orders"].to_numpy(dtype=float)
    total = purchases["spend_total"].to_numpy(dtype=float)
    squares = purchases["spend_squares"].to_numpy(dtype=float)
    total = np.maximum(np.nan_to_num(total, nan=0.0), 0.0)
    base_mean = total.sum() / orders.sum() if orders.sum() > 0 else 0.0
    k = shrink_orders(orders, total, np.nan_to_num(squares, nan=0.0))
    return (total + k * base_mean) / (orders + k)


def expected_value(scored: Scored, days=VALUE_DAYS):
    """The value the customer is expected to buy in the next `days`: BG/NBD expected
    orders × expected order value; never negative, never NaN."""
    p = scored.purchases
    orders = bgnbd.expected_purchases(scored.params, p["x"], p["t_x"], p["T"], days)
    return np.nan_to_num(np.maximum(orders * order_value(p), 0.0))
