"""Retained or won back (客户再生): what each run changes in the churn episodes.

An episode opens when a customer is flagged high risk, or is found lost
without having been flagged (no order for more than `lost_after_intervals`
of their usual interval, and at least `lost_after_days`). It ends with the
customer's next order: *retained* if that order came before they counted as
lost, *won back* if after. The plan credited is the customer's latest plan
made between their last order and that next order.

Pure functions over DataFrames; dates are numpy datetime64 / pandas Timestamps.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

EPISODE_COLUMNS = ["customer_id", "flagged_on", "flagged_risk", "last_order_on", "lost_from"]


@dataclass(frozen=True)
class LostRule:
    intervals: float = 2.0
    days: int = 180


def lost_from(last_order, interval, rule: LostRule):
    """The first day on which a customer without a new order counts as lost: more than
    max(rule.intervals × interval, rule.days) days after their last order."""
    interval = np.asarray(interval, dtype=float)
    window = np.fmax(rule.intervals * np.where(np.isfinite(interval), interval, 0.0), rule.days)
    days = np.ceil(window).astype("int64") + 1
    return pd.to_datetime(last_order).to_numpy() + days.astype("timedelta64[D]")


def episodes_ended(open_episodes, next_orders, plans):
    """Open episodes whose customer ordered again: id, ended_on, outcome, plan_id.

    `open_episodes`: id, customer_id, last_order_on, lost_from;
    `next_orders`: episode_id, next_order (the first order after last_order_on);
    `plans`: id, customer_id, created_on (plans not cancelled).
    """
    ended = open_episodes.merge(
        next_orders.rename(columns={"episode_id": "id"}), on="id", how="inner"
    )
    ended = ended[ended["next_order"].notna()].copy()
    ended["ended_on"] = pd.to_datetime(ended["next_order"])
    won_back = ended["ended_on"] >= pd.to_datetime(ended["lost_from"])
    ended["outcome"] = np.where(won_back, "won_back", "retained")
    ended["plan_id"] = _preceding_plans(ended, plans)
    return ended[["id", "customer_id", "ended_on", "outcome", "plan_id"]].reset_index(drop=True)


def _preceding_plans(ended, plans):
    """The latest plan for each ended episode's customer made from its last order to its end."""
    if ended.empty or plans.empty:
        return pd.Series(pd.NA, index=ended.index, dtype="Int64")
    candidates = ended[["id", "customer_id", "last_order_on", "ended_on"]].merge(
        plans.rename(columns={"id": "plan_id"}), on="customer_id"
    )
    created = pd.to_datetime(candidates["created_on"])
    inside = (created >= pd.to_datetime(candidates["last_order_on"])) & (
        created <= candidates["ended_on"]
    )
    latest = (
        candidates[inside]
        .sort_values(["id", "created_on", "plan_id"])
        .drop_duplicates("id", keep="last")
        .set_index("id")["plan_id"]
    )
    return ended["id"].map(latest).astype("Int64")


def episodes_opened(customers, still_open, as_of, rule: LostRule):
    """New episodes (EPISODE_COLUMNS) for customers flagged high risk or found lost who
    have no open episode left. `customers`: customer_id, band, risk, recency, interval;
    `still_open`: customer ids with an open episode after this run's endings."""
    as_of = pd.Timestamp(as_of)
    last_order = as_of - pd.to_timedelta(customers["recency"].to_numpy(), unit="D")
    lost = lost_from(last_order, customers["interval"], rule)
    flagged = (customers["band"].to_numpy() == "high") | (lost <= as_of.to_datetime64())
    fresh = flagged & ~customers["customer_id"].isin(list(still_open)).to_numpy()
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[fresh],
            "flagged_on": as_of,
            "flagged_risk": customers["risk"].to_numpy()[fresh],
            "last_order_on": np.asarray(last_order)[fresh],
            "lost_from": lost[fresh],
        },
        columns=EPISODE_COLUMNS,
    )
