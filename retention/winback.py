"""Retained or won back (客户再生): what each run changes in the churn episodes.

An episode opens when a customer is flagged high risk, or is found lost
without having been flagged (in the termination stage of the lifecycle, whose
one "lost" rule is lifecycle.rules). It ends with the customer's next order:
*won back* if that order took the customer from termination back to
development in the lifecycle (the win-back the lifecycle counts once),
*retained* otherwise. The plan credited is the customer's latest plan made
between their last order and that next order.

Pure functions over DataFrames; dates are numpy datetime64 / pandas Timestamps.
"""

import numpy as np
import pandas as pd

from lifecycle.rules import Rules, lost_from

EPISODE_COLUMNS = ["customer_id", "flagged_on", "flagged_risk", "last_order_on", "lost_from"]


def episodes_ended(open_episodes, next_orders, plans, won_back):
    """Open episodes whose customer ordered again: id, ended_on, outcome, plan_id.

    `open_episodes`: id, customer_id, last_order_on, lost_from;
    `next_orders`: episode_id, next_order (the first order after last_order_on);
    `plans`: id, customer_id, created_on (plans not cancelled);
    `won_back`: the customers the lifecycle took from termination back to development.
    """
    ended = open_episodes.merge(
        next_orders.rename(columns={"episode_id": "id"}), on="id", how="inner"
    )
    ended = ended[ended["next_order"].notna()].copy()
    ended["ended_on"] = pd.to_datetime(ended["next_order"])
    ended["outcome"] = np.where(ended["customer_id"].isin(list(won_back)), "won_back", "retained")
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


def episodes_opened(customers, still_open, as_of, rules: Rules):
    """New episodes (EPISODE_COLUMNS) for customers flagged high risk or in termination who
    have no open episode left. `customers`: customer_id, band, risk, recency, interval,
    terminated (in the termination stage); `still_open`: customer ids with an open episode
    after this run's endings. `lost_from` is when the lifecycle's rule calls them lost."""
    as_of = pd.Timestamp(as_of)
    last_order = as_of - pd.to_timedelta(customers["recency"].to_numpy(), unit="D")
    lost = lost_from(last_order, customers["interval"], rules)
    flagged = (customers["band"].to_numpy() == "high") | customers["terminated"].to_numpy(
        dtype=bool
    )
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
