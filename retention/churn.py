"""Churn risk (流失预警): from per-customer order statistics to a score in [0, 1]
with its reasons. Pure functions over DataFrames; no ORM, no I/O.

The score is a logistic combination of
- the BG/NBD chance that the customer orders nothing in the next HORIZON_DAYS
  (fitted to the whole order history of the run, see retention.bgnbd);
- how late the customer is against their own rhythm: days since the last order
  over their usual interval between orders;
- the trend of spend and of orders: the last 90 days against the 90 before;
- how often they bought in the last year;
- an open complaint, a credit grade of C or D, a grade that fell recently.
The weights are fitted by `fit_weights` on a time split of the demo history
(see WEIGHTS), never on the period the evaluation scores.
"""

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, logit

from customers.models import Grade
from retention import bgnbd
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
    "spend_trend",
    "order_trend",
    "frequency",
    "complaint",
    "grade_poor",
    "grade_fell",
)

# Fitted by `evaluate_churn --cutoff 2025-10-31 --horizon-days 182 --fit` on the demo
# data (`seed_demo --customers 50000 --seed 7 --today 2026-10-31`): scored from the
# history up to a year before its end, labelled by the six months after that cut-off
# only, so the evaluation at 2026-05-01 never sees its own future. In words: the
# BG/NBD chance of no order carries most of the score; being late against one's own
# rhythm, and having bought only once, add to it; many orders in the last year take
# from it; an open complaint adds a little. In the demo data a customer's basket and
# payments do not change before they drop out, so the fit gives the trends and the
# grades no weight; theirs here are policy floors (a falling trend or a worse grade
# always raises the risk a little), which cost 0.0004 of AUC on the evaluation split.
WEIGHTS = {
    "intercept": 0.0861,
    "bgnbd": 0.9295,
    "lateness": 0.2971,
    "single": 0.2608,
    "spend_trend": -0.1,
    "order_trend": -0.1,
    "frequency": -0.1999,
    "complaint": 0.0623,
    "grade_poor": 0.2,
    "grade_fell": 0.3,
}


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
    orders_previous (the last TREND_DAYS and the TREND_DAYS before), orders_year.
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
        }
    )


def _trend(recent, previous):
    """(recent − previous) / (recent + previous): −1 stopped, 0 steady, 1 new; 0 with neither."""
    total = recent + previous
    return np.where(total > 0, (recent - previous) / np.where(total > 0, total, 1.0), 0.0)


def model_inputs(purchases, signals, params: bgnbd.BgNbdParams) -> pd.DataFrame:
    """The score's inputs (FEATURES) for each customer of `purchases`.

    `signals` (indexed like `purchases`) holds open_complaints, grade_now and
    grade_before (the grade GRADE_WINDOW_DAYS ago; empty when unknown).
    """
    p_no_order = bgnbd.p_no_order(
        params, purchases["x"], purchases["t_x"], purchases["T"], HORIZON_DAYS
    )
    interval = purchases["interval"].to_numpy()
    # Without a rhythm of their own, customers are measured against the typical one.
    typical = np.nanmedian(interval) if np.isfinite(interval).any() else float(HORIZON_DAYS)
    usual = np.where(np.isfinite(interval), interval, typical)
    ranks = Grade.ranks()
    rank_now = signals["grade_now"].map(ranks)
    rank_before = signals["grade_before"].map(ranks)
    return pd.DataFrame(
        {
            "bgnbd": logit(np.clip(p_no_order, 1e-4, 1 - 1e-4)),
            "lateness": np.log1p(purchases["recency"].to_numpy() / np.maximum(usual, 1.0)),
            "single": (~np.isfinite(interval)).astype(float),
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
# complaint or a worse grade (weights ≥ 0), a falling trend (the trends run from −1,
# stopped, to 1: weights ≤ 0).
NON_NEGATIVE = ("complaint", "grade_poor", "grade_fell")
NON_POSITIVE = ("spend_trend", "order_trend")


def fit_weights(inputs: pd.DataFrame, churned, *, l2=1e-3) -> dict:
    """Logistic-regression weights for FEATURES on one time split (with a little ridge
    penalty, so that a feature that never varies gets 0 rather than any value)."""
    design = np.column_stack([np.ones(len(inputs)), inputs[list(FEATURES)].to_numpy()])
    y = np.asarray(churned, dtype=float)

    def loss(w):
        z = design @ w
        value = np.mean(np.logaddexp(0.0, z) - y * z) + l2 * np.sum(w[1:] ** 2)
        gradient = design.T @ (expit(z) - y) / len(y)
        gradient[1:] += 2 * l2 * w[1:]
        return value, gradient

    bounds = [(None, None)] + [
        (0, None) if name in NON_NEGATIVE else (None, 0) if name in NON_POSITIVE else (None, None)
        for name in FEATURES
    ]
    result = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds)
    names = ["intercept", *FEATURES]
    return {name: round(float(value), 4) for name, value in zip(names, result.x, strict=True)}


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


def reasons_json(purchases, signals, inputs, weights=None) -> np.ndarray:
    """Each customer's top reasons as JSON text: [{"code": …, "params": {…}}, …],
    the strongest first (by their share of the score)."""
    candidates = _reason_candidates(purchases, signals, inputs, weights or WEIGHTS)
    n = len(purchases)
    if n == 0:
        return np.array([], dtype=object)
    strength = np.column_stack([c.strength for c in candidates])
    applies = np.column_stack([c.applies for c in candidates])
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
    rhythm_strength = (
        weights["bgnbd"] * (inputs["bgnbd"] - inputs["bgnbd"].median())
        + weights["lateness"] * (inputs["lateness"] - np.log(2))
        + weights["single"] * inputs["single"]
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


def score_customers(stats: pd.DataFrame, signals: pd.DataFrame, weights=None) -> Scored:
    """Fit BG/NBD to the customers' purchases and score each of them."""
    purchases = purchase_features(stats)
    params = bgnbd.fit(purchases["x"], purchases["t_x"], purchases["T"])
    inputs = model_inputs(purchases, signals, params)
    return Scored(purchases, inputs, churn_risk(inputs, weights), params)
