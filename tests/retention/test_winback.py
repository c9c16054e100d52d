import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lifecycle.rules import Rules, lost_from
from retention import winback

RULES = Rules(lost_after_intervals=2.0, lost_after_days=180)
D = dt.date


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (30.0, D(2026, 7, 1)),  # twice 30 is under the 180-day floor: 181 days after
        (120.0, D(2026, 8, 30)),  # twice 120 = 240 days: lost from day 241
        (np.nan, D(2026, 7, 1)),  # no rhythm yet: the floor
    ],
)
def test_lost_from_is_the_first_day_beyond_the_longer_of_two_intervals_and_the_floor(
    interval, expected
):
    lost = lost_from(pd.Series([pd.Timestamp(2026, 1, 1)]), [interval], RULES)
    assert pd.Timestamp(lost[0]).date() == expected


def test_an_order_that_took_the_customer_out_of_termination_wins_back_others_retain():
    open_episodes = pd.DataFrame(
        [
            (1, 101, D(2026, 1, 1), D(2026, 7, 1)),
            (2, 102, D(2025, 6, 1), D(2025, 11, 29)),
            (3, 103, D(2025, 6, 1), D(2025, 11, 29)),
            (4, 104, D(2026, 1, 1), D(2026, 7, 1)),
            (5, 105, D(2026, 1, 1), D(2026, 7, 1)),
        ],
        columns=["id", "customer_id", "last_order_on", "lost_from"],
    )
    next_orders = pd.DataFrame(
        [
            (1, D(2026, 3, 10)),
            (2, D(2026, 2, 1)),
            # Episode 3's customer has not ordered again: no row.
            (4, D(2026, 6, 30)),  # ordered before the lifecycle called them lost
            (5, D(2026, 7, 1)),  # ordered after: the lifecycle counted a win-back
        ],
        columns=["episode_id", "next_order"],
    )
    plans = pd.DataFrame(
        [
            (7, 101, D(2026, 2, 1)),  # between the last order and the next: credited
            (8, 101, D(2025, 12, 1)),  # before the last order: an older story
            (9, 102, D(2026, 3, 1)),  # after the order: did not precede it
        ],
        columns=["id", "customer_id", "created_on"],
    )
    # The lifecycle's win-backs of the run; 103 did not order, so it stays open.
    ended = winback.episodes_ended(open_episodes, next_orders, plans, {102, 105, 103})
    assert ended["id"].tolist() == [1, 2, 4, 5]
    assert ended["outcome"].tolist() == ["retained", "won_back", "retained", "won_back"]
    assert [d.date() for d in ended["ended_on"]] == [
        D(2026, 3, 10),
        D(2026, 2, 1),
        D(2026, 6, 30),
        D(2026, 7, 1),
    ]
    assert ended["plan_id"].tolist() == [7, pd.NA, pd.NA, pd.NA]


def test_flagged_and_lost_customers_open_episodes_unless_one_is_open():
    customers = pd.DataFrame(
        [
            (1, "high", 0.8, 40, 30.0, False),  # flagged
            (2, "low", 0.2, 400, 30.0, True),  # never flagged, but in termination
            (3, "high", 0.9, 90, 20.0, False),  # flagged, with an episode open already
            (4, "medium", 0.4, 10, 30.0, False),  # neither
            # Phased out by hand: in termination although the rule would not call them lost.
            (5, "low", 0.1, 20, 30.0, True),
        ],
        columns=["customer_id", "band", "risk", "recency", "interval", "terminated"],
    )
    opened = winback.episodes_opened(customers, {3}, D(2026, 3, 31), RULES)
    assert opened["customer_id"].tolist() == [1, 2, 5]
    assert [d.date() for d in opened["last_order_on"]] == [
        D(2026, 2, 19),
        D(2025, 2, 24),
        D(2026, 3, 11),
    ]
    assert [d.date() for d in opened["lost_from"]] == [
        D(2026, 8, 19),
        D(2025, 8, 24),
        D(2026, 9, 8),
    ]
    assert opened["flagged_risk"].tolist() == [0.8, 0.2, 0.1]
