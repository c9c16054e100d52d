"""Demo data (演示数据): a distribution network with three years of history.

`demo_dataset(customers=, seed=, today=)` is pure: numpy and pandas only, no
ORM, no clock, one `numpy.random.default_rng(seed)`, so the same arguments give
the same frames. Rows refer to each other by position (`customer` is a row of
`customers`, `invoice` a row of `invoices`); the seed_demo command gives them
database ids and writes them.

Purchases follow a BG/NBD-like process: while a customer is active, orders
arrive at their own gamma-distributed rate (thinned by the season: stocking up
before the Spring Festival, closed shops in its first week); after each order
the customer drops out with their own beta-distributed probability. Nobody is
flagged as churned: a churn score has to read it from the rhythm of orders.
Order value is lognormal around each customer's typical basket, so a fifth of
the customers bring roughly three quarters of the revenue.

The contact log is written from the records it speaks of: an order is confirmed
a few days before it comes, reminders and collection calls stop once the invoice
is paid, a complaint is about a delivery of the days before; other contacts fit
the stretch of the customer's life (courting before the first order, keeping in
touch while they buy, asking why after they stopped), and an outcome that
promises an order is said only when one follows.
"""

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from customers.demo.common import HISTORY_YEARS, dated
from customers.demo.contact_log import complaints, interactions, issues
from customers.demo.customer_file import TAG_NAMES, contact_people, customer_frame, tags
from customers.demo.network import MIN_CUSTOMERS, distribution_network
from customers.demo.staff import DEFAULT_PASSWORD, STAFF, TEAMS
from customers.demo.trade import (
    buying_profiles,
    invoices_for,
    payments_for,
    priced_orders,
    purchase_days,
    season_factor,
    top_share,
)

__all__ = [
    "DEFAULT_PASSWORD",
    "MIN_CUSTOMERS",
    "STAFF",
    "TAG_NAMES",
    "TEAMS",
    "DemoData",
    "demo_dataset",
    "season_factor",
    "top_share",
]


@dataclass(frozen=True)
class DemoData:
    """The demo dataset; frames refer to each other by row position."""

    today: date
    customers: pd.DataFrame
    tags: pd.DataFrame
    contacts: pd.DataFrame
    orders: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    interactions: pd.DataFrame
    complaints: pd.DataFrame
    issues: pd.DataFrame


def demo_dataset(*, customers: int, seed: int, today: date) -> DemoData:
    """Generate the whole demo dataset; same arguments, same frames."""
    if customers < MIN_CUSTOMERS:
        raise ValueError(f"at least {MIN_CUSTOMERS} customers are needed, not {customers}")
    rng = np.random.default_rng(seed)
    today_d = np.datetime64(today, "D")
    start = -365 * HISTORY_YEARS
    season = season_factor(today_d + np.arange(start, 1))
    network = distribution_network(rng, customers, start)
    profile = buying_profiles(rng, network)
    order_rows = purchase_days(rng, profile, season)
    orders = priced_orders(rng, order_rows, profile, season)
    invoices = invoices_for(rng, orders, profile)
    payments = payments_for(rng, invoices, profile)
    frame = customer_frame(rng, network, today_d)
    complaint_frame = complaints(rng, network, order_rows, today_d)
    return DemoData(
        today=today,
        customers=frame,
        tags=tags(rng, network, profile, order_rows),
        contacts=contact_people(rng, network),
        orders=dated(orders, today_d, order_date="day"),
        invoices=dated(invoices, today_d, issue_date="issue_day", due_date="due_day"),
        payments=dated(payments, today_d, paid_date="day"),
        interactions=interactions(
            rng, network, orders, invoices, payments, complaint_frame, today_d
        ),
        complaints=complaint_frame,
        issues=issues(rng, network, today_d),
    )
