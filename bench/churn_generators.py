"""Order histories of differently shaped customer bases, for measuring the churn score.

Each generator returns a `History`: the orders (customer_id, order_date, amount)
from its first day to the end of the held-out future, and the cut-off at which
the score is measured. Only the orders before the cut-off are ever scored or
learned from; the ones after it only label who churned. Shapes, not real data:

- consumer_retail: cohorts joining over a year, most customers buying once or
  twice, a few loyal ones, heavy-tailed spend (log-normal baskets, Pareto
  customers); the chance of dropping out grows as novelty wears off.
- b2b_distribution: terminals, wholesalers, restaurants and supermarkets, each
  role with its own regular rhythm; the base grows; customers who stop first
  slow down and shrink their orders for a few months.
- festival: many customers buying mostly in the weeks before 春节 and 中秋 (some
  also before 元旦), the others on a monthly rhythm; measured in June, far from
  the last festival, with 中秋 inside the horizon.

`order_stats` computes, from such orders, what retention.reading reads from the
database as of a day, so that the bench scores exactly what a nightly run would.
"""

import datetime as dt
import importlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

# 春节 and 中秋 of the years the generators cover (the shipped calendar has the same).
SPRING = {
    2021: "2021-02-12", 2022: "2022-02-01", 2023: "2023-01-22", 2024: "2024-02-10",
    2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06",
}  # fmt: skip
MID_AUTUMN = {
    2021: "2021-09-21", 2022: "2022-09-10", 2023: "2023-09-29", 2024: "2024-09-17",
    2025: "2025-10-06", 2026: "2026-09-25", 2027: "2027-09-15",
}  # fmt: skip


@dataclass(frozen=True)
class History:
    name: str
    orders: pd.DataFrame
    cutoff: dt.date
    horizon_days: int


def _frame(customer, day, amount, start):
    dates = pd.Timestamp(start) + pd.to_timedelta(np.asarray(day, dtype=int), unit="D")
    frame = pd.DataFrame(
        {"customer_id": np.asarray(customer) + 1, "order_date": dates.date, "amount": amount}
    )
    return frame.sort_values(["customer_id", "order_date"]).reset_index(drop=True)


def _renewal(rng, joined, days, gap, alive_after, amount, customers):
    """Orders from each customer's first day on: the next after `gap(i, k)` days, while
    `alive_after(i, k)` (k orders so far) holds and before `days`."""
    t = joined.astype(float).copy()
    alive = np.ones(len(t), dtype=bool)
    count = np.zeros(len(t), dtype=int)
    out_c, out_t, out_a = [], [], []
    while alive.any():
        idx = np.flatnonzero(alive & (t < days))
        if not len(idx):
            break
        out_c.append(customers[idx])
        out_t.append(t[idx].astype(int))
        out_a.append(amount(idx, count[idx]))
        count[idx] += 1
        alive[idx] = alive_after(idx, count[idx])
        t[idx] += gap(idx, count[idx])
        alive &= t < days
    return np.concatenate(out_c), np.concatenate(out_t), np.concatenate(out_a)


def consumer_retail(seed=11, customers=30_000):
    rng = np.random.default_rng(seed)
    start, cutoff, horizon = dt.date(2024, 1, 1), dt.date(2026, 3, 1), 180
    days = (cutoff - start).days + horizon
    # A fifth from earlier years, the rest in monthly cohorts over 2025, growing.
    old = rng.random(customers) < 0.2
    joined = np.where(
        old,
        rng.integers(0, 366, customers),
        366 + np.minimum(rng.exponential(200, customers), 420).astype(int),
    )
    loyal = rng.random(customers) < 0.12
    rate = np.where(loyal, rng.gamma(2.0, 1 / 40, customers), rng.gamma(0.6, 1 / 90, customers))
    drop = np.where(loyal, rng.beta(1, 12, customers), rng.beta(3, 2.5, customers))
    basket = np.exp(rng.normal(4.5, 0.9, customers)) * (1 + rng.pareto(2.5, customers))

    def gap(i, k):
        return np.ceil(rng.exponential(1 / rate[i]))

    def alive_after(i, k):
        # Novelty wears off: the chance of leaving grows over the first orders.
        return rng.random(len(i)) >= np.minimum(drop[i] * (0.6 + 0.2 * np.minimum(k, 4)), 0.95)

    def amount(i, k):
        return np.round(basket[i] * np.exp(rng.normal(0, 0.5, len(i))), 2)

    c, t, a = _renewal(rng, joined, days, gap, alive_after, amount, np.arange(customers))
    return History("consumer_retail", _frame(c, t, a, start), cutoff, horizon)


ROLES = {
    # role: (share, days between orders, regularity (gamma shape), basket)
    "terminal": (0.45, 10, 6.0, 800.0),
    "wholesaler": (0.15, 21, 8.0, 12_000.0),
    "restaurant": (0.25, 7, 4.0, 1_500.0),
    "supermarket": (0.15, 14, 10.0, 5_000.0),
}


def b2b_distribution(seed=23, customers=8_000):
    rng = np.random.default_rng(seed)
    start, cutoff, horizon = dt.date(2023, 1, 1), dt.date(2026, 1, 1), 180
    days = (cutoff - start).days + horizon
    names = list(ROLES)
    role = rng.choice(len(names), customers, p=[ROLES[n][0] for n in names])
    interval = np.array([ROLES[n][1] for n in names])[role] * rng.lognormal(0, 0.35, customers)
    shape = np.array([ROLES[n][2] for n in names])[role]
    basket = np.array([ROLES[n][3] for n in names])[role] * rng.lognormal(0, 0.6, customers)
    # Growth: more customers join each year.
    joined = (days * np.sqrt(rng.random(customers)) * 0.95).astype(int)
    # A third stop at some point; a few months before, they slow down and shrink.
    stops = rng.random(customers) < 0.06 * days / 365
    stop_at = np.where(stops, joined + rng.uniform(60, days, customers), np.inf)
    fade = rng.uniform(60, 150, customers)
    # A few just pause for a couple of months and come back.
    pause_at = np.where(rng.random(customers) < 0.1, rng.uniform(0, days, customers), np.inf)
    now = joined.astype(float)

    def progress(i):
        return np.clip((now[i] - (stop_at[i] - fade[i])) / fade[i], 0, 1)

    def gap(i, k):
        slow = 1 + 2.5 * progress(i)
        paused = (now[i] >= pause_at[i]) & (now[i] < pause_at[i] + interval[i] * 2)
        g = rng.gamma(shape[i], interval[i] / shape[i]) * slow + paused * rng.uniform(
            30, 70, len(i)
        )
        now[i] += np.maximum(np.round(g), 1)
        return np.maximum(np.round(g), 1)

    def alive_after(i, k):
        return now[i] < stop_at[i]

    def amount(i, k):
        growth = 1 + 0.15 * now[i] / 365
        shrink = 1 - 0.6 * progress(i)
        return np.round(basket[i] * growth * shrink * rng.lognormal(0, 0.25, len(i)), 2)

    c, t, a = _renewal(rng, joined, days, gap, alive_after, amount, np.arange(customers))
    return History("b2b_distribution", _frame(c, t, a, start), cutoff, horizon)


def festival(seed=37, customers=10_000):
    rng = np.random.default_rng(seed)
    start, cutoff, horizon = dt.date(2022, 7, 1), dt.date(2026, 6, 15), 180
    end = cutoff + dt.timedelta(days=horizon)
    days = (end - start).days
    festive = rng.random(customers) < 0.6
    joined = rng.integers(0, days - 200, customers)
    parts = []
    # Festival buyers: in the four weeks before 春节 and 中秋 (a third also before 元旦),
    # each time with their own probability; they leave for good at some festival.
    also_new_year = rng.random(customers) < 0.33
    keen = rng.beta(8, 2, customers)
    leave = rng.random(customers) < 0.7
    left_at = np.where(leave, joined + rng.exponential(900, customers), np.inf)
    basket = rng.lognormal(8, 0.7, customers)
    dates = []
    for year in range(2022, 2028):
        dates.append((pd.Timestamp(SPRING[year]) - pd.Timestamp(start)).days)
        dates.append((pd.Timestamp(MID_AUTUMN[year]) - pd.Timestamp(start)).days)
        dates.append((pd.Timestamp(f"{year}-01-01") - pd.Timestamp(start)).days)
    for number, day in enumerate(dates):
        new_year = number % 3 == 2
        buys = festive & (rng.random(customers) < keen) & (joined <= day) & (left_at > day)
        if new_year:
            buys &= also_new_year
        idx = np.flatnonzero(buys)
        when = day - rng.integers(3, 28, len(idx))
        parts.append((idx, when, basket[idx] * rng.lognormal(0, 0.3, len(idx))))
        # Now and then an order between festivals.
        extra = idx[rng.random(len(idx)) < 0.15]
        parts.append((extra, day + rng.integers(20, 90, len(extra)), basket[extra] * 0.4))
    # The others: a monthly rhythm with dropout.
    regular = np.flatnonzero(~festive)
    rate = rng.gamma(3, 1 / 90, len(regular))
    drop = rng.beta(1, 20, len(regular))

    def gap(i, k):
        return np.ceil(rng.exponential(1 / rate[i]))

    def alive_after(i, k):
        return rng.random(len(i)) >= drop[i]

    def amount(i, k):
        return np.round(rng.lognormal(7, 0.6, len(i)), 2)

    c, t, a = _renewal(
        rng, joined[regular], days, gap, alive_after, amount, np.arange(len(regular))
    )
    parts.append((regular[c], t, a))
    customer = np.concatenate([p[0] for p in parts])
    day = np.concatenate([p[1] for p in parts])
    amount_all = np.round(np.concatenate([p[2] for p in parts]), 2)
    keep = (day >= 0) & (day < days)
    return History(
        "festival", _frame(customer[keep], day[keep], amount_all[keep], start), cutoff, horizon
    )


GENERATORS = {
    "consumer_retail": consumer_retail,
    "b2b_distribution": b2b_distribution,
    "festival": festival,
}


def shipped_festivals():
    """The festival calendar as the migrations ship it: [(kind, date)]."""
    migration = importlib.import_module("retention.migrations.0006_festival_calendar")
    return list(migration.festivals())


def order_stats(orders, as_of, season=None, trend_days=90):
    """What retention.reading.read_order_stats reads as of `as_of`, from an orders frame."""
    from retention import calendar

    season = season or calendar.season([], as_of, 180)
    seen = orders[orders["order_date"] <= as_of]
    dates = pd.to_datetime(seen["order_date"]).to_numpy().astype("datetime64[D]")
    day = np.datetime64(as_of, "D")
    age = (day - dates).astype(int)
    frame = pd.DataFrame(
        {"customer_id": seen["customer_id"].to_numpy(), "age": age, "amount": seen["amount"]}
    )

    def within(first, last):
        return (dates >= np.datetime64(first, "D")) & (dates <= np.datetime64(last, "D"))

    recent = frame["age"] < trend_days
    previous = (frame["age"] >= trend_days) & (frame["age"] < 2 * trend_days)
    year = frame["age"] < 365
    festive = np.zeros(len(frame), dtype=bool)
    for first, last in season.festive:
        festive |= within(first, last)
    if season.has_festival:
        this, last_window = within(*season.this_window), within(*season.last_window)
    else:
        this = last_window = np.zeros(len(frame), dtype=bool)
    frame["spend_recent"] = frame["amount"].where(recent, 0.0)
    frame["spend_previous"] = frame["amount"].where(previous, 0.0)
    frame["spend_year"] = frame["amount"].where(year, 0.0)
    frame["orders_recent"] = recent.astype(int)
    frame["orders_previous"] = previous.astype(int)
    frame["orders_year"] = year.astype(int)
    frame["squares"] = frame["amount"] ** 2
    frame["festive"] = festive.astype(int)
    frame["ahead"] = within(*season.ahead).astype(int)
    frame["this"] = this.astype(int)
    frame["last"] = last_window.astype(int)
    frame["last_age"] = np.where(last_window, age, 10**9)
    stats = (
        frame.groupby("customer_id")
        .agg(
            orders=("age", "size"),
            recency=("age", "min"),
            tenure=("age", "max"),
            spend_recent=("spend_recent", "sum"),
            spend_previous=("spend_previous", "sum"),
            spend_year=("spend_year", "sum"),
            orders_recent=("orders_recent", "sum"),
            orders_previous=("orders_previous", "sum"),
            orders_year=("orders_year", "sum"),
            spend_total=("amount", "sum"),
            spend_squares=("squares", "sum"),
            orders_festive=("festive", "sum"),
            orders_ahead=("ahead", "sum"),
            orders_this_window=("this", "sum"),
            orders_last_window=("last", "sum"),
            last_window_recency=("last_age", "min"),
        )
        .reset_index()
    )
    stats.loc[stats["last_window_recency"] >= 10**9, "last_window_recency"] = -1
    return stats


def buyers_between(orders, start, end):
    """Customers with an order from `start` up to, not including, `end`."""
    dates = orders["order_date"]
    return set(orders.loc[(dates >= start) & (dates < end), "customer_id"])
