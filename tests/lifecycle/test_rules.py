"""The lifecycle rule at its boundaries, with hand-computed expectations."""

import numpy as np
import pandas as pd
import pytest

from lifecycle import rules
from lifecycle.rules import DEVELOPMENT, GROWTH, MATURITY, POTENTIAL, TERMINATION

RULES = rules.Rules()
AS_OF = pd.Timestamp(2026, 6, 30)


def history(**overrides):
    row = {
        "customer_id": 1,
        "orders": 10,
        "tenure": 400,
        "recency": 20,
        "quarters": 4,
        "spend_year": 1000.0,
        "spend_previous_year": 1000.0,
        "value_tier": "small",
    }
    row.update(overrides)
    return pd.DataFrame([row], columns=rules.HISTORY_COLUMNS)


def stage_of(**overrides):
    return rules.rule_stages(history(**overrides), RULES)[0]


def live(stage="", since=None, locked_until=None, restarted=None):
    return pd.DataFrame(
        [
            {
                "customer_id": 1,
                "stage": stage,
                "since": since,
                "locked_until": locked_until,
                "restarted": restarted,
            }
        ],
        columns=rules.LIVE_COLUMNS,
    )


MATURE = {"tenure": 730, "quarters": 6, "value_tier": "key", "recency": 10}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"orders": 0, "tenure": np.nan, "recency": np.nan}, POTENTIAL),
        # First order 180 days ago: still new; 181: no longer.
        ({"tenure": 180}, DEVELOPMENT),
        ({"tenure": 181}, GROWTH),
        # Two repeat orders make a repeat buyer; one does not.
        ({"orders": 2, "tenure": 300, "recency": 10}, DEVELOPMENT),
        ({"orders": 3, "tenure": 300, "recency": 10}, GROWTH),
        (MATURE, MATURITY),
        ({**MATURE, "tenure": 729}, GROWTH),
        ({**MATURE, "quarters": 5}, GROWTH),
        ({**MATURE, "value_tier": "small"}, GROWTH),
        ({**MATURE, "value_tier": "ordinary"}, MATURITY),
        ({**MATURE, "spend_year": 800.0}, MATURITY),
        ({**MATURE, "spend_year": 799.0}, GROWTH),
    ],
)
def test_rule_at_its_boundaries(overrides, expected):
    assert stage_of(**overrides) == expected


def test_lost_after_the_floor_of_days_for_a_frequent_buyer():
    # 10 orders over 360 days: every 40 days; 2 × 40 = 80 < 180, so 180 days hold.
    assert stage_of(tenure=540, recency=180) == GROWTH
    assert stage_of(tenure=541, recency=181) == TERMINATION


def test_lost_after_twice_their_own_rhythm_for_a_rare_buyer():
    # 3 orders over 400 days: every 200 days; lost after more than 400 days.
    assert stage_of(orders=3, tenure=800, recency=400) == GROWTH
    assert stage_of(orders=3, tenure=801, recency=401) == TERMINATION


def test_one_order_long_ago_is_lost_after_the_floor():
    assert stage_of(orders=1, tenure=180, recency=180) == DEVELOPMENT
    assert stage_of(orders=1, tenure=181, recency=181) == TERMINATION


def test_lost_from_is_the_day_after_the_window():
    lost = rules.lost_from(pd.Series([pd.Timestamp(2026, 1, 1)]), [100.0], RULES)
    assert pd.Timestamp(lost[0]) == pd.Timestamp(2026, 1, 1) + pd.Timedelta(days=201)
    lost = rules.lost_from(pd.Series([pd.Timestamp(2026, 1, 1)]), [np.nan], RULES)
    assert pd.Timestamp(lost[0]) == pd.Timestamp(2026, 1, 1) + pd.Timedelta(days=181)


def test_first_assignment_is_marked_changed_from_no_stage():
    plan = rules.plan_stages(history(), live().iloc[:0], AS_OF, RULES)
    assert plan.loc[0, "old_stage"] == "" and plan.loc[0, "stage"] == GROWTH
    assert bool(plan.loc[0, "changed"]) and not bool(plan.loc[0, "won_back"])


def test_order_after_termination_is_a_win_back_into_development():
    since = AS_OF - pd.Timedelta(days=30)
    plan = rules.plan_stages(
        history(orders=11, tenure=900, recency=5), live(TERMINATION, since=since), AS_OF, RULES
    )
    assert plan.loc[0, "rule_stage"] == GROWTH
    assert plan.loc[0, "stage"] == DEVELOPMENT
    assert bool(plan.loc[0, "won_back"])
    assert pd.Timestamp(plan.loc[0, "restarted"]) == AS_OF


def test_won_back_customer_stays_in_development_for_the_new_days_then_grows():
    restarted = AS_OF - pd.Timedelta(days=180)
    kept = rules.plan_stages(
        history(tenure=900, recency=5), live(DEVELOPMENT, restarted=restarted), AS_OF, RULES
    )
    assert kept.loc[0, "stage"] == DEVELOPMENT and not bool(kept.loc[0, "changed"])
    restarted = AS_OF - pd.Timedelta(days=181)
    grown = rules.plan_stages(
        history(tenure=900, recency=5), live(DEVELOPMENT, restarted=restarted), AS_OF, RULES
    )
    assert grown.loc[0, "stage"] == GROWTH and not bool(grown.loc[0, "won_back"])


def test_termination_by_hand_without_a_new_order_is_no_win_back():
    since = AS_OF - pd.Timedelta(days=10)
    plan = rules.plan_stages(history(recency=20), live(TERMINATION, since=since), AS_OF, RULES)
    assert plan.loc[0, "stage"] == GROWTH and not bool(plan.loc[0, "won_back"])


def test_lock_holds_up_to_and_including_its_date():
    held = rules.plan_stages(history(), live(MATURITY, locked_until=AS_OF), AS_OF, RULES)
    assert held.loc[0, "stage"] == MATURITY and not bool(held.loc[0, "changed"])
    expired = AS_OF - pd.Timedelta(days=1)
    moved = rules.plan_stages(history(), live(MATURITY, locked_until=expired), AS_OF, RULES)
    assert moved.loc[0, "stage"] == GROWTH and bool(moved.loc[0, "changed"])


def test_locked_termination_is_no_win_back_while_the_lock_holds():
    since = AS_OF - pd.Timedelta(days=30)
    locked_until = AS_OF + pd.Timedelta(days=30)
    plan = rules.plan_stages(
        history(recency=5), live(TERMINATION, since=since, locked_until=locked_until), AS_OF, RULES
    )
    assert plan.loc[0, "stage"] == TERMINATION and not bool(plan.loc[0, "won_back"])


def test_empty_history_plans_nothing():
    empty = pd.DataFrame(columns=rules.HISTORY_COLUMNS)
    plan = rules.plan_stages(empty, live().iloc[:0], AS_OF, RULES)
    assert plan.empty
