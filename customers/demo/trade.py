"""How each customer buys and pays: orders (进货) that follow a BG/NBD-like process
with the seasons, invoices for those on credit, and payments (回款) by payer type."""

import numpy as np
import pandas as pd

from customers.demo.common import pick, refs, words
from customers.demo.network import per_segment

CATEGORIES = ("白酒", "啤酒", "饮料", "乳制品", "休闲食品", "粮油", "调味品")
# Price of one case (箱) in yuan.
CASE_PRICES = np.array([880.0, 72.0, 54.0, 66.0, 118.0, 159.0, 86.0])


PAYMENT_TERMS = np.array([30, 45, 60])

# 春节 and 中秋节: demand peaks before them; shops close in the first week of the Spring Festival.
SPRING_FESTIVALS = np.array(
    words(
        "2018-02-16 2019-02-05 2020-01-25 2021-02-12 2022-02-01 2023-01-22 2024-02-10 "
        "2025-01-29 2026-02-17 2027-02-06 2028-01-26 2029-02-13 2030-02-03 2031-01-23 "
        "2032-02-11 2033-01-31 2034-02-19 2035-02-08"
    ),
    dtype="datetime64[D]",
)
MID_AUTUMN_FESTIVALS = np.array(
    words(
        "2018-09-24 2019-09-13 2020-10-01 2021-09-21 2022-09-10 2023-09-29 2024-09-17 "
        "2025-10-06 2026-09-25 2027-09-15 2028-10-03 2029-09-22 2030-09-12 2031-10-01 "
        "2032-09-19 2033-09-08 2034-09-27 2035-09-16"
    ),
    dtype="datetime64[D]",
)

# Payment behaviour of customers on credit, with their shares.
PAYERS = ("on_time", "within_grace", "beyond_grace", "arrears", "stopped")
PAYER_SHARES = (0.6, 0.22, 0.1, 0.05, 0.03)


def season_factor(days: np.ndarray) -> np.ndarray:
    """Relative demand on each date: a peak in the fortnight before 春节, a
    dip in its first week, a smaller peak before 中秋节."""
    factor = np.ones(len(days))
    for festival in SPRING_FESTIVALS:
        delta = (days - festival).astype(int)
        factor += 0.7 * np.exp(-0.5 * ((delta + 14) / 9.0) ** 2)
        factor -= 0.7 * ((delta >= 0) & (delta < 7))
    for festival in MID_AUTUMN_FESTIVALS:
        delta = (days - festival).astype(int)
        factor += 0.35 * np.exp(-0.5 * ((delta + 10) / 6.0) ** 2)
    return np.clip(factor, 0.2, None)


def top_share(revenue: pd.Series, top: float = 0.2) -> float:
    """Share of the total that the `top` fraction of customers with revenue bring."""
    values = np.sort(revenue[revenue > 0].to_numpy())[::-1]
    if values.sum() == 0:
        return 0.0
    count = max(1, round(len(values) * top))
    return float(values[:count].sum() / values.sum())


def categories(rng, segment):
    """A product category for each row, drawn with the weights of its segment."""
    weights = per_segment("category_weights", segment).astype(float)
    cumulative = np.cumsum(weights / weights.sum(axis=1)[:, None], axis=1)
    drawn = (rng.random(len(segment))[:, None] > cumulative).sum(axis=1)
    return np.minimum(drawn, len(CATEGORIES) - 1)


def buying_profiles(rng, network):
    """Per-customer parameters of buying and paying (not written anywhere)."""
    n = len(network)
    seg = network["segment"].to_numpy()
    shape = per_segment("rate_shape", seg)
    rate = rng.gamma(shape, per_segment("orders_a_year", seg) / shape) / 365.0
    dropout = per_segment("dropout", seg)
    basket = per_segment("basket", seg) * np.exp(rng.normal(0.0, per_segment("basket_sigma", seg)))
    credit = rng.random(n) < per_segment("credit_share", seg)
    # Distributors get longer terms.
    terms = np.where(
        per_segment("key", seg) == "distributor",
        PAYMENT_TERMS[pick(rng, [0.2, 0.3, 0.5], n)],
        PAYMENT_TERMS[pick(rng, [0.6, 0.25, 0.15], n)],
    )
    return pd.DataFrame(
        {
            "segment": seg,
            "prospect": network["prospect"].to_numpy(),
            "joined": network["joined"].to_numpy(),
            "rate": rate,
            "dropout": rng.beta(dropout[:, 0], dropout[:, 1]),
            "basket": basket,
            "credit": credit,
            "terms": terms,
            "payer": pick(rng, PAYER_SHARES, n),
            "trouble_from": rng.integers(-420, -45, n),
            "favourite": categories(rng, seg),
        }
    )


def purchase_days(rng, profile, season):
    """Order days per customer: Poisson arrivals thinned by the season while
    active, a coin with the customer's dropout chance after each order.
    `season` holds the demand factor of each day of the history, up to today."""
    start = 1 - len(season)
    peak = season.max()
    rate = profile["rate"].to_numpy()
    dropout = profile["dropout"].to_numpy()
    joined = profile["joined"].to_numpy()
    # Those who joined within the history place a first order a couple of weeks later.
    t = np.maximum(joined, start).astype(float)
    first = joined >= start
    t[first] += rng.exponential(12.0, first.sum())
    active = ~profile["prospect"].to_numpy() & (t < 1)
    customers, order_days = [], []
    pending_first = first & active
    while active.any():
        rows = np.flatnonzero(active)
        gaps = rng.exponential(1.0 / (rate[rows] * peak))
        t[rows] += np.where(pending_first[rows], 0.0, gaps)
        pending = pending_first[rows]
        pending_first[rows] = False
        ended = t[rows] >= 1
        active[rows[ended]] = False
        rows, pending = rows[~ended], pending[~ended]
        day = np.floor(t[rows]).astype(int)
        bought = pending | (rng.random(len(rows)) < season[day - start] / peak)
        rows, day = rows[bought], day[bought]
        customers.append(rows)
        order_days.append(day)
        active[rows[rng.random(len(rows)) < dropout[rows]]] = False
    frame = pd.DataFrame(
        {
            "customer": np.concatenate(customers) if customers else np.array([], dtype=int),
            "day": np.concatenate(order_days) if order_days else np.array([], dtype=int),
        }
    )
    return frame.sort_values(["day", "customer"], kind="stable").reset_index(drop=True)


def priced_orders(rng, rows, profile, season):
    """Amount, quantity and category of each order around the customer's basket."""
    n = len(rows)
    customer = rows["customer"].to_numpy()
    drawn = categories(rng, profile["segment"].to_numpy()[customer])
    category = np.where(rng.random(n) < 0.55, profile["favourite"].to_numpy()[customer], drawn)
    day_season = season[rows["day"].to_numpy() - 1 + len(season)]
    target = profile["basket"].to_numpy()[customer] * (0.5 + 0.5 * day_season)
    target *= np.exp(rng.normal(0.0, 0.35, n))
    price_cents = np.round(CASE_PRICES[category] * rng.uniform(0.92, 1.08, n) * 100)
    quantity = np.maximum(1, np.round(target * 100 / price_cents)).astype(int)
    return pd.DataFrame(
        {
            "customer": customer,
            "external_ref": refs("XS", n, 9),
            "day": rows["day"].to_numpy(),
            "amount_cents": (quantity * price_cents).astype(np.int64),
            "quantity": quantity,
            "category": np.array(CATEGORIES, dtype=object)[category],
        }
    )


def invoices_for(rng, orders, profile):
    """Customers on credit get an invoice for most orders, due after their payment terms."""
    credit = profile["credit"].to_numpy()[orders["customer"].to_numpy()]
    invoiced = orders[credit & (rng.random(len(orders)) < 0.95)]
    terms = profile["terms"].to_numpy()[invoiced["customer"].to_numpy()]
    return pd.DataFrame(
        {
            "customer": invoiced["customer"].to_numpy(),
            "external_ref": refs("FP", len(invoiced), 9),
            "issue_day": invoiced["day"].to_numpy(),
            "due_day": invoiced["day"].to_numpy() + terms,
            "amount_cents": invoiced["amount_cents"].to_numpy(),
        }
    )


def payments_for(rng, invoices, profile):
    """回款 by payer type; unpaid invoices of customers in arrears or who stopped
    paying stay open; payments still in the future are left out."""
    n = len(invoices)
    customer = invoices["customer"].to_numpy()
    payer = np.array(PAYERS)[profile["payer"].to_numpy()[customer]]
    trouble = profile["trouble_from"].to_numpy()[customer]
    issue, due = invoices["issue_day"].to_numpy(), invoices["due_day"].to_numpy()
    early = -rng.integers(0, (due - issue) // 2 + 1)
    grace_late = rng.integers(1, 16, n)
    long_late = rng.integers(20, 121, n)
    u = rng.random(n)
    delay = np.select(
        [
            payer == "on_time",
            payer == "within_grace",
            payer == "beyond_grace",
            payer == "stopped",
        ],
        [
            early,
            np.where(u < 0.45, grace_late, early),
            np.where(u < 0.3, grace_late, long_late),
            np.where(u < 0.5, grace_late, early),
        ],
        default=np.where(u < 0.4, grace_late, long_late),
    )
    paid_day = due + delay
    unpaid = np.isin(payer, ["arrears", "stopped"]) & (issue >= trouble)
    partly = unpaid & (payer == "arrears") & (rng.random(n) < 0.35)
    amount = invoices["amount_cents"].to_numpy()
    share = rng.uniform(0.2, 0.7, n)
    split = ~unpaid & (rng.random(n) < 0.08)
    first_cents = np.where(split | partly, np.round(amount * share), amount).astype(np.int64)
    first_day = np.where(split, np.maximum(issue, paid_day - rng.integers(7, 31, n)), paid_day)
    first_day = np.where(partly, due + rng.integers(0, 30, n), first_day)
    first = pd.DataFrame(
        {"invoice": np.arange(n), "day": first_day, "amount_cents": first_cents, "part": 1}
    )[~unpaid | partly]
    second = pd.DataFrame(
        {"invoice": np.arange(n), "day": paid_day, "amount_cents": amount - first_cents, "part": 2}
    )[split]
    payments = pd.concat([first, second], ignore_index=True)
    payments = payments[payments["day"] <= 0].sort_values(["invoice", "part"], kind="stable")
    invoice_refs = invoices["external_ref"].to_numpy()[payments["invoice"].to_numpy()]
    return pd.DataFrame(
        {
            "invoice": payments["invoice"].to_numpy(),
            "customer": customer[payments["invoice"].to_numpy()],
            "external_ref": [
                f"HK{ref[2:]}-{part}"
                for ref, part in zip(invoice_refs, payments["part"], strict=True)
            ],
            "day": payments["day"].to_numpy(),
            "amount_cents": payments["amount_cents"].to_numpy(),
        }
    )
