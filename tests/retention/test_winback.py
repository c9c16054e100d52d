import datetime as dt

import numpy as np
import pandas as pd
import pytest

from retention import winback

RULE = winback.LostRule(intervals=2.0, days=180)
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
    lost = winback.lost_from(pd.Series([pd.Timestamp(2026, 1, 1)]), [interval], RULE)
    assert pd.Timestamp(lost[0]).date() == expected


def test_an_order_before_counting_as_lost_retains_and_after_it_wins_back():
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
            (4, D(2026, 6, 30)),  # the last day before counting as lost
            (5, D(2026, 7, 1)),  # the first day counted as lost
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
    ended = winback.episodes_ended(open_episodes, next_orders, plans)
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
            (1, "high", 0.8, 40, 30.0),  # flagged
            (2, "low", 0.2, 400, 30.0),  # never flagged, but lost: 400 days > 180
            (3, "high", 0.9, 90, 20.0),  # flagged, with an episode open already
            (4, "medium", 0.4, 10, 30.0),  # neither
        ],
        columns=["customer_id", "band", "risk", "recency", "interval"],
    )
    opened = winback.episodes_opened(customers, {3}, D(2026, 3, 31), RULE)
    assert opened["customer_id"].tolist() == [1, 2]
    assert [d.date() for d in opened["last_order_on"]] == [D(2026, 2, 19), D(2025, 2, 24)]
    assert [d.date() for d in opened["lost_from"]] == [D(2026, 8, 19), D(2025, 8, 24)]
    assert opened["flagged_risk"].tolist() == [0.8, 0.2]
