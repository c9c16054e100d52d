"""The BG/NBD model of repeat buying (Fader, Hardie & Lee, 2005), in days.

While alive a customer orders at a Poisson rate λ ~ Gamma(r, α); after each
repeat order they drop out with probability p ~ Beta(a, b). From a customer's
repeat orders x, the age of their last order t_x and their age T (days since
their first order) the model gives the chance they are still alive and, with
the rate's posterior, the chance they order nothing in the next h days.

Pure numpy/scipy: arrays in, arrays out.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

# The optimiser works on log-parameters within these bounds: wide enough for any
# real order history, narrow enough that exp() never overflows.
LOG_BOUNDS = (-9.0, 9.0)
FIT_SAMPLE = 50_000


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self):
        return {name: round(float(value), 6) for name, value in self.__dict__.items()}


# Used when there is too little history to fit: about one order a month, a
# modest chance of dropping out after each.
DEFAULT_PARAMS = BgNbdParams(r=1.0, alpha=30.0, a=1.0, b=10.0)


def _terms(params, x, t_x, T):
    """The likelihood's parts: a common factor, and the log-weights of "still alive at T"
    and "dropped out right after the last order" (impossible without a repeat order)."""
    r, alpha, a, b = params
    repeat = x > 0
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    still_alive = -(r + x) * np.log(alpha + T)
    dropped = np.full_like(x, -np.inf)
    dropped[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return common, still_alive, dropped


def log_likelihood(params, x, t_x, T):
    """Each customer's log-likelihood of (x, t_x, T) under `params` (r, alpha, a, b)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common, still_alive, dropped = _terms(params, x, t_x, T)
    return common + np.logaddexp(still_alive, dropped)


def _mean_log_likelihood_and_gradient(log_params, x, t_x, T):
    """The mean log-likelihood and its gradient in the log-parameters."""
    r, alpha, a, b = params = np.exp(log_params)
    common, still_alive, dropped = _terms(params, x, t_x, T)
    ll = common + np.logaddexp(still_alive, dropped)
    # Share of each customer's likelihood that says "dropped out".
    w = np.exp(dropped - ll + common)
    repeat = x > 0
    b_x1 = np.where(repeat, b + x - 1, 1.0)
    d_r = (
        digamma(r + x) - digamma(r) + np.log(alpha)
        - (1 - w) * np.log(alpha + T) - w * np.log(alpha + t_x)
    )  # fmt: skip
    d_alpha = r / alpha - (r + x) * ((1 - w) / (alpha + T) + w / (alpha + t_x))
    d_a = digamma(a + b) - digamma(a + b + x) + w / a
    d_b = digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b) - w / b_x1
    gradient = np.array([d.mean() for d in (d_r, d_alpha, d_a, d_b)]) * params
    return ll.mean(), gradient


def fit(x, t_x, T, *, sample=FIT_SAMPLE, seed=0) -> BgNbdParams:
    """Maximum-likelihood parameters, on a random sample of at most `sample` customers.
    Falls back to DEFAULT_PARAMS when nobody has a repeat order or the fit fails."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if len(x) > sample:
        rows = np.random.default_rng(seed).choice(len(x), size=sample, replace=False)
        x, t_x, T = x[rows], t_x[rows], T[rows]
    if len(x) == 0 or not (x > 0).any():
        return DEFAULT_PARAMS

    def objective(log_params):
        value, gradient = _mean_log_likelihood_and_gradient(log_params, x, t_x, T)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return 1e12, np.zeros(4)
        return -value, -gradient

    start = np.log([1.0, max(float(np.mean(T)), 1.0) / max(float(np.mean(x)), 1.0), 1.0, 5.0])
    result = minimize(
        objective,
        np.clip(start, *LOG_BOUNDS),
        jac=True,
        method="L-BFGS-B",
        bounds=[LOG_BOUNDS] * 4,
    )
    if not np.all(np.isfinite(result.x)) or result.fun >= 1e12:
        return DEFAULT_PARAMS
    return BgNbdParams(*np.exp(result.x).tolist())


def _log_dropped_odds(params, x, t_x, T):
    """log of P(dropped out after the last order) / P(alive); -inf without repeat orders."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    odds = np.full_like(x, -np.inf)
    repeat = x > 0
    xr = x[repeat]
    odds[repeat] = (
        np.log(a)
        - np.log(b + xr - 1)
        + (r + xr) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat]))
    )
    return odds


def p_alive(params: BgNbdParams, x, t_x, T):
    """P(the customer is still alive at T); 1 for customers without a repeat order."""
    return expit(-_log_dropped_odds(params, x, t_x, T))


def p_no_order(params: BgNbdParams, x, t_x, T, horizon):
    """P(no order in the next `horizon` days): dropped out, or alive and silent that long."""
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    alive = p_alive(params, x, t_x, T)
    # Given alive, λ ~ Gamma(r + x, α + T), so P(silent for h) = ((α+T)/(α+T+h))^(r+x).
    silent = np.exp(
        (params.r + x) * (np.log(params.alpha + T) - np.log(params.alpha + T + horizon))
    )
    return np.clip(1.0 - alive * (1.0 - silent), 0.0, 1.0)


def expected_purchases(params: BgNbdParams, x, t_x, T, horizon):
    """E[number of orders in the next `horizon` days | x, t_x, T] (Fader, Hardie & Lee
    2005, eq. 10); never negative, never NaN."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    r, alpha, b = params.r, params.alpha, params.b
    # The closed form divides by a − 1: keep a just off 1.
    a = params.a if abs(params.a - 1.0) > 1e-6 else 1.0 + 1e-6
    z = horizon / (alpha + T + horizon)
    ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + horizon)))
    head = (a + b + x - 1) / (a - 1)
    # The series may overflow for very active customers: those fall back to the bound.
    with np.errstate(invalid="ignore", over="ignore"):
        body = 1.0 - ratio * hyp2f1(r + x, b + x, a + b + x - 1, z)
        odds = np.exp(np.clip(_log_dropped_odds(params, x, t_x, T), -700, 700))
        value = head * body / (1.0 + odds)
    # Where the series does not converge numerically, the rate of a live customer
    # times P(alive) is the bound the expectation stays under.
    bound = (r + x) / (alpha + T) * horizon * p_alive(params, x, t_x, T)
    value = np.where(np.isfinite(value) & (value >= 0), value, bound)
    return np.minimum(value, bound)
