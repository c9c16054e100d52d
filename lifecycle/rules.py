"""The five-stage lifecycle rule (客户生命周期), as pure functions over DataFrames.

Every customer is in exactly one stage as of a date; the first rule that holds wins:

1. potential (潜在客户期) — no order yet;
2. termination (客户终止期) — lost: no order for more than
   max(`lost_after_intervals` × their own usual interval between orders,
   `lost_after_days`) days. This is the one "lost" rule of the product;
3. development (客户开发期) — the relationship started within the last
   `new_days` days (the first order, or the last win-back), or fewer than
   `repeat_orders` repeat orders so far;
4. maturity (客户成熟期) — at least `mature_days` since the first order, orders
   in at least `mature_quarters` of the last eight quarters, a key or ordinary
   value tier, and spend of the last year not below `mature_spend_share` of the
   year before;
5. growth (客户成长期) — every other repeat buyer.

A customer in termination who orders again re-enters development: a win-back
(客户再生), whatever the rule would say otherwise. A stage locked by hand until
a date stays as set while the lock holds (on the lock's date included).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

POTENTIAL = "potential"
DEVELOPMENT = "development"
GROWTH = "growth"
MATURITY = "maturity"
TERMINATION = "termination"
STAGES = (POTENTIAL, DEVELOPMENT, GROWTH, MATURITY, TERMINATION)
# Quarters looked back over for the maturity rule's "orders in most quarters".
QUARTERS_SEEN = 8
QUARTER_DAYS = 91
MATURE_TIERS = ("key", "ordinary")

# history: one row per customer (those without orders too): customer_id, orders (0 for none),
# tenure (days since the first order), recency (days since the last order), quarters
# (quarters of the last QUARTERS_SEEN with an order), spend_year, spend_previous_year, value_tier
# ("" when the RFM step did not rank them).
HISTORY_COLUMNS = [
    "customer_id",
    "orders",
    "tenure",
    "recency",
    "quarters",
    "spend_year",
    "spend_previous_year",
    "value_tier",
]
# live: the stage each customer is in now: customer_id, stage ("" for none yet), since (the
# as-of date it was entered), locked_until (NaT for none), restarted (NaT, or the date of the
# last win-back).
LIVE_COLUMNS = ["customer_id", "stage", "since", "locked_until", "restarted"]


@dataclass(frozen=True)
class Rules:
    new_days: int = 180
    repeat_orders: int = 2
    mature_days: int = 730
    mature_quarters: int = 6
    mature_spend_share: float = 0.8
    lost_after_intervals: float = 2.0
    lost_after_days: int = 180


def usual_interval(orders, tenure, recency):
    """Each customer's usual days between orders: the span from first to last order over
    the repeat orders; NaN without a repeat order on a later day."""
    orders = np.asarray(orders, dtype=float)
    span = np.maximum(np.asarray(tenure, dtype=float) - np.asarray(recency, dtype=float), 0.0)
    repeat = np.where(span > 0, np.maximum(orders - 1, 0.0), 0.0)
    return np.where(repeat > 0, span / np.where(repeat > 0, repeat, 1.0), np.nan)


def lost_after(interval, rules: Rules):
    """Days without an order after which a customer counts as lost: more than
    max(rules.lost_after_intervals × interval, rules.lost_after_days)."""
    interval = np.asarray(interval, dtype=float)
    own = rules.lost_after_intervals * np.where(np.isfinite(interval), interval, 0.0)
    return np.ceil(np.fmax(own, rules.lost_after_days)).astype("int64")


def lost_from(last_order, interval, rules: Rules):
    """The first day on which a customer without a new order since `last_order` counts as
    lost."""
    days = lost_after(interval, rules) + 1
    return pd.to_datetime(last_order).to_numpy() + days.astype("timedelta64[D]")


def rule_stages(history, rules: Rules, *, restarted_days=None):
    """The stage the rule gives each customer of `history` (HISTORY_COLUMNS), as an object
    array. `restarted_days`: days since each customer's last win-back (NaN for none)."""
    orders = history["orders"].to_numpy(dtype=float)
    tenure = history["tenure"].to_numpy(dtype=float)
    recency = history["recency"].to_numpy(dtype=float)
    interval = usual_interval(orders, tenure, recency)
    ordered = orders > 0
    lost = ordered & (recency > lost_after(interval, rules))
    started = tenure
    if restarted_days is not None:
        restarted_days = np.asarray(restarted_days, dtype=float)
        started = np.where(np.isfinite(restarted_days), np.fmin(tenure, restarted_days), tenure)
    new = (started <= rules.new_days) | (np.maximum(orders - 1, 0) < rules.repeat_orders)
    spend_year = history["spend_year"].to_numpy(dtype=float)
    spend_before = history["spend_previous_year"].to_numpy(dtype=float)
    mature = (
        (tenure >= rules.mature_days)
        & (history["quarters"].to_numpy(dtype=float) >= rules.mature_quarters)
        & (spend_year >= rules.mature_spend_share * spend_before)
        & np.isin(history["value_tier"].fillna("").to_numpy(dtype=object), MATURE_TIERS)
    )
    return np.select(
        [~ordered, lost, new, mature],
        [POTENTIAL, TERMINATION, DEVELOPMENT, MATURITY],
        default=GROWTH,
    ).astype(object)


def plan_stages(history, live, as_of, rules: Rules):
    """Each customer's stage as of `as_of` and what changed.

    Returns a DataFrame in the order of `history`: customer_id, rule_stage (what the rule
    alone says), stage (after win-backs and locks), old_stage (the live one, "" for none),
    won_back (termination → development by an order placed since the customer entered
    termination), changed (stage differs from a live
    stage, or the customer had none), restarted (the date of the last win-back, NaT for none),
    value_tier (as read).
    """
    as_of = pd.Timestamp(as_of)
    merged = history.merge(live, on="customer_id", how="left")
    old = merged["stage"].fillna("").to_numpy(dtype=object)
    locked_until = pd.to_datetime(merged["locked_until"])
    restarted = pd.to_datetime(merged["restarted"])
    restarted_days = (as_of - restarted).dt.days.to_numpy(dtype=float)
    ruled = rule_stages(merged, rules, restarted_days=restarted_days)
    locked = (locked_until >= as_of).to_numpy() & (old != "")
    since_days = (as_of - pd.to_datetime(merged["since"])).dt.days.to_numpy(dtype=float)
    ordered_since = merged["recency"].to_numpy(dtype=float) < np.nan_to_num(since_days, nan=0.0)
    won_back = (
        ~locked
        & (old == TERMINATION)
        & ordered_since
        & (ruled != TERMINATION)
        & (ruled != POTENTIAL)
    )
    stage = np.where(won_back, DEVELOPMENT, ruled)
    stage = np.where(locked, old, stage).astype(object)
    restarted = restarted.where(~won_back, as_of)
    return pd.DataFrame(
        {
            "customer_id": merged["customer_id"].to_numpy(),
            "rule_stage": ruled,
            "stage": stage,
            "old_stage": old,
            "won_back": won_back,
            "changed": stage != old,
            "restarted": restarted.to_numpy(),
            "value_tier": merged["value_tier"].fillna("").to_numpy(dtype=object),
        }
    )
