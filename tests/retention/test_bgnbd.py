import math

import numpy as np
import pytest

from retention import bgnbd


def simulate(customers, params, *, observed_days, seed):
    """Order histories drawn from BG/NBD itself: (x, t_x, T) per customer."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params.r, 1 / params.alpha, customers)
    dropout = rng.beta(params.a, params.b, customers)
    age = rng.uniform(observed_days / 3, observed_days, customers)
    x, t_x, clock = np.zeros(customers), np.zeros(customers), np.zeros(customers)
    alive = np.ones(customers, dtype=bool)
    while alive.any():
        rows = np.flatnonzero(alive)
        clock[rows] += rng.exponential(1 / rate[rows])
        past_age = clock[rows] > age[rows]
        alive[rows[past_age]] = False
        rows = rows[~past_age]
        x[rows] += 1
        t_x[rows] = clock[rows]
        alive[rows[rng.random(len(rows)) < dropout[rows]]] = False
    return x, t_x, age


@pytest.mark.parametrize(
    ("params", "x", "t_x", "T", "expected"),
    [
        # No repeat order: only "alive and silent", (α / (α + T))^r.
        ((2.0, 3.0, 1.0, 1.0), 0, 0, 5, 2 * math.log(3 / 8)),
        # By hand: B(1,2)/B(1,1)·1/(1+2)^2 + B(2,1)/B(1,1)·1/(1+1)^2 = 1/18 + 1/8 = 13/72.
        ((1.0, 1.0, 1.0, 1.0), 1, 1, 2, math.log(13 / 72)),
    ],
)
def test_log_likelihood_matches_hand_computed_values(params, x, t_x, T, expected):
    assert bgnbd.log_likelihood(params, [x], [t_x], [T])[0] == pytest.approx(expected)


def test_p_alive_matches_the_likelihood_split_and_is_one_without_repeat_orders():
    params = bgnbd.BgNbdParams(r=1.0, alpha=1.0, a=1.0, b=1.0)
    # The "alive" share of 13/72 above is (1/18) / (13/72) = 4/13.
    assert bgnbd.p_alive(params, [1], [1], [2])[0] == pytest.approx(4 / 13)
    assert bgnbd.p_alive(params, [0], [0], [400])[0] == 1.0


def test_a_longer_silence_makes_a_customer_less_likely_alive():
    params = bgnbd.BgNbdParams(r=1.0, alpha=30.0, a=1.0, b=10.0)
    last_order_ages = np.array([10, 100, 300])
    alive = bgnbd.p_alive(params, [5, 5, 5], 400 - last_order_ages, [400, 400, 400])
    assert alive[0] > alive[1] > alive[2]


def test_no_order_chance_is_a_probability_shrinking_as_the_horizon_grows():
    params = bgnbd.BgNbdParams(r=1.0, alpha=30.0, a=1.0, b=10.0)
    chances = [bgnbd.p_no_order(params, [3], [200], [260], horizon)[0] for horizon in (30, 90, 365)]
    assert all(0 <= chance <= 1 for chance in chances)
    assert chances[0] > chances[1] > chances[2]


def test_fit_recovers_the_parameters_of_simulated_histories():
    truth = bgnbd.BgNbdParams(r=0.8, alpha=40.0, a=0.9, b=4.0)
    x, t_x, T = simulate(20_000, truth, observed_days=700, seed=1)
    fitted = bgnbd.fit(x, t_x, T)
    assert fitted.r == pytest.approx(truth.r, rel=0.1)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.15)
    assert fitted.a == pytest.approx(truth.a, rel=0.2)
    assert fitted.b == pytest.approx(truth.b, rel=0.3)


def test_fit_on_a_sample_is_deterministic():
    truth = bgnbd.BgNbdParams(r=0.8, alpha=40.0, a=0.9, b=4.0)
    x, t_x, T = simulate(3000, truth, observed_days=700, seed=2)
    assert bgnbd.fit(x, t_x, T, sample=1000) == bgnbd.fit(x, t_x, T, sample=1000)


@pytest.mark.parametrize(
    ("x", "t_x", "T"),
    [
        ([], [], []),  # nobody ordered
        ([0, 0, 0], [0, 0, 0], [10, 50, 300]),  # nobody ordered twice
    ],
)
def test_fit_without_repeat_orders_falls_back_to_the_defaults(x, t_x, T):
    assert bgnbd.fit(x, t_x, T) == bgnbd.DEFAULT_PARAMS


def test_fit_of_identical_dates_and_new_customers_stays_finite():
    # Several orders on one day (t_x = 0), and customers whose first order is today (T = 0).
    params = bgnbd.fit([3, 0, 2, 1], [0, 0, 0, 40], [100, 0, 0, 90])
    assert all(np.isfinite(list(params.as_dict().values())))
    chances = bgnbd.p_no_order(params, [3, 0, 2], [0, 0, 0], [100, 0, 0], 180)
    assert np.isfinite(chances).all()
