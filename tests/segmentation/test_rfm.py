"""The RFM and 80/20 rules as pure functions, with hand-computed expectations."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from segmentation import charts
from segmentation.rfm import (
    curve_positions,
    pareto_curve,
    quintile_scores,
    rfm_scores,
    rfm_segment,
    run_figures,
    segment_sizes,
    top_share,
    value_tiers,
)
from segmentation.selectors import trend_runs

AS_OF = dt.date(2026, 6, 30)


def totals(rows):
    """A frame as read_order_totals returns: (customer_id, days ago, frequency, cents)."""
    return pd.DataFrame(
        {
            "customer_id": [row[0] for row in rows],
            "last_order": pd.to_datetime([AS_OF - dt.timedelta(days=row[1]) for row in rows]),
            "frequency": [row[2] for row in rows],
            "monetary_cents": [row[3] for row in rows],
        }
    )


@pytest.mark.parametrize(
    ("values", "ids", "scores"),
    [
        # Five distinct values: one per score.
        ([10, 20, 30, 40, 50], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]),
        # Order of the rows does not matter, only the values.
        ([50, 10, 40, 20, 30], [1, 2, 3, 4, 5], [5, 1, 4, 2, 3]),
        # Ten customers: two per score.
        (list(range(10)), list(range(1, 11)), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
        # All equal: still five equal groups, the lower id ranking higher.
        ([7] * 10, list(range(1, 11)), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]),
        # One customer sits in the middle.
        ([100], [42], [3]),
        # Fewer than five spread symmetrically around 3.
        ([1, 2], [1, 2], [2, 4]),
        ([1, 2, 3], [1, 2, 3], [1, 3, 5]),
        ([1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 4, 5]),
        # A tie across a group boundary is cut by customer id.
        ([1, 2, 2, 2, 3], [1, 9, 3, 5, 2], [1, 2, 4, 3, 5]),
        # Seven customers: group sizes 1, 2, 1, 2, 1.
        (list(range(7)), list(range(1, 8)), [1, 2, 2, 3, 4, 4, 5]),
    ],
)
def test_quintile_scores(values, ids, scores):
    assert quintile_scores(values, ids).tolist() == scores


def test_quintile_scores_of_nobody_is_empty():
    assert quintile_scores([], []).tolist() == []


def test_recency_scores_the_most_recent_buyer_highest():
    frame = rfm_scores(
        totals(
            [(1, 300, 1, 100), (2, 0, 1, 100), (3, 30, 1, 100), (4, 90, 1, 100), (5, 5, 1, 100)]
        ),
        AS_OF,
    )
    assert frame["recency_days"].tolist() == [300, 0, 30, 90, 5]
    assert frame["r_score"].tolist() == [1, 5, 3, 2, 4]


def test_frequency_and_monetary_score_higher_for_more():
    frame = rfm_scores(
        totals([(1, 1, 9, 100), (2, 1, 1, 900), (3, 1, 5, 500), (4, 1, 0, 0), (5, 1, 3, 300)]),
        AS_OF,
    )
    assert frame["f_score"].tolist() == [5, 2, 4, 1, 3]
    assert frame["m_score"].tolist() == [2, 5, 4, 1, 3]


def test_monetary_ties_go_to_the_lower_customer_id():
    frame = rfm_scores(totals([(8, 1, 1, 500), (3, 1, 1, 500)]), AS_OF)
    assert dict(zip(frame["customer_id"], frame["m_score"], strict=True)) == {3: 4, 8: 2}


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "champions"),
        (5, 4, "champions"),
        (4, 5, "loyal"),
        (3, 4, "loyal"),
        (5, 2, "potential_loyalists"),
        (4, 3, "potential_loyalists"),
        (5, 1, "new"),
        (4, 1, "promising"),
        (3, 3, "need_attention"),
        (3, 1, "about_to_sleep"),
        (3, 2, "about_to_sleep"),
        (2, 3, "at_risk"),
        (1, 4, "at_risk"),
        (2, 5, "cant_lose"),
        (1, 5, "cant_lose"),
        (2, 1, "hibernating"),
        (2, 2, "hibernating"),
        (1, 1, "lost"),
        (1, 2, "lost"),
    ],
)
def test_segment_grid(r, f, segment):
    assert rfm_segment([r], [f]).tolist() == [segment]


def test_every_cell_of_the_grid_has_a_segment_and_all_eleven_are_used():
    cells = [(r, f) for r in range(1, 6) for f in range(1, 6)]
    segments = rfm_segment([r for r, _ in cells], [f for _, f in cells])
    assert all(segments) and len(set(segments)) == 11


def tiers_of(cents, key_share="0.80", ordinary_share="0.95", ids=None):
    ids = ids or list(range(1, len(cents) + 1))
    frame = pd.DataFrame({"customer_id": ids, "monetary_cents": cents})
    result = value_tiers(frame, Decimal(key_share), Decimal(ordinary_share))
    return result["value_tier"].tolist(), result["value_rank"].tolist()


@pytest.mark.parametrize(
    ("cents", "tiers"),
    [
        # Exactly 80 % with the first customer: key; the next starts at 80 %: ordinary.
        ([8000, 1500, 500], ["key", "ordinary", "small"]),
        # Exactly 80 % after two customers: both key.
        ([5000, 3000, 1500, 500], ["key", "key", "ordinary", "small"]),
        # The customer who crosses 80 % (70 % → 90 %) is key; crossing 95 % is ordinary.
        ([7000, 2000, 600, 400], ["key", "key", "ordinary", "small"]),
        # One cent past 80 % before the second customer: the second is not key.
        ([8001, 1499, 500], ["key", "ordinary", "small"]),
        # No spend is always small, even when nobody spent anything.
        ([10000, 0], ["key", "small"]),
        ([0, 0], ["small", "small"]),
        # One customer makes all the revenue.
        ([123], ["key"]),
        # Equal spend: ranks by customer id, the cut falls inside the tie.
        ([100] * 10, ["key"] * 8 + ["ordinary"] * 2),
    ],
)
def test_value_tier_cut_points(cents, tiers):
    assert tiers_of(cents)[0] == tiers


def test_value_rank_is_by_spend_then_customer_id():
    tiers, ranks = tiers_of([100, 300, 100, 200], ids=[7, 2, 5, 9])
    assert ranks == [4, 1, 3, 2]


def test_no_spend_no_value_rank():
    tiers, ranks = tiers_of([100, 0, 900, 0], ids=[7, 2, 5, 9])
    assert tiers == ["ordinary", "small", "key", "small"]
    assert [None if pd.isna(rank) else rank for rank in ranks] == [2, None, 1, None]
    _tiers, ranks = tiers_of([0, 0])
    assert all(pd.isna(rank) for rank in ranks)


def test_customers_without_spend_are_the_flat_end_of_the_curve():
    frame = rfm_scores(
        totals([(1, 1, 1, 8000), (2, 2, 1, 2000), (3, 3, 0, 0), (4, 4, 0, 0)]), AS_OF
    )
    figures = run_figures(value_tiers(frame, Decimal("0.8"), Decimal("0.95")))
    assert figures["customers"] == 4 and figures["pareto_customers"] == 1
    # The top 20 % of four customers is 0.8 of the first one's ¥80 of ¥100.
    assert figures["top20_share"] == 0.64
    assert figures["curve"][50] == 1.0 and figures["curve"][25] == 0.8
    assert figures["tiers"]["small"] == {"customers": 2, "cents": 0}


def test_cut_points_follow_the_settings():
    assert tiers_of([5000, 2000, 2000, 1000], "0.50", "0.70")[0] == [
        "key",
        "ordinary",
        "small",
        "small",
    ]


def test_value_tiers_of_nobody_is_empty():
    assert tiers_of([]) == ([], [])


def test_run_figures_add_up_and_the_key_customers_make_the_key_share():
    frame = rfm_scores(
        totals([(i, i, i % 4, cents) for i, cents in enumerate([8000, 1000, 500, 300, 200], 1)]),
        AS_OF,
    )
    figures = run_figures(value_tiers(frame, Decimal("0.8"), Decimal("0.95")))
    assert figures["customers"] == 5 and figures["total_cents"] == 10000
    assert figures["tiers"] == {
        "key": {"customers": 1, "cents": 8000},
        "ordinary": {"customers": 2, "cents": 1500},
        "small": {"customers": 2, "cents": 500},
    }
    assert figures["pareto_customers"] == 1
    # The top 20 % of five customers is the first one: 80 %.
    assert figures["top20_share"] == 0.8
    assert figures["curve"][0] == 0.0 and figures["curve"][-1] == 1.0
    assert len(figures["curve"]) == 101
    assert sum(figures["segments"].values()) == 5 == sum(map(sum, figures["grid"]))


def test_top_20_percent_interpolates_between_customers():
    # Three customers: 20 % of them is 0.6 of the first, who has half of the revenue.
    curve = pareto_curve([1, 2, 3], [50, 80, 100], 3, 100)
    assert top_share(curve) == 0.3


def test_the_curve_from_sampled_ranks_equals_the_curve_from_all_ranks():
    cents = sorted([97, 5, 33, 1, 0, 12, 12, 250, 8, 41, 3, 77, 19], reverse=True)
    cumulative = pd.Series(cents).cumsum().tolist()
    full = pareto_curve(range(1, len(cents) + 1), cumulative, len(cents), cumulative[-1])
    positions = curve_positions(len(cents)).tolist()
    sampled = pareto_curve(
        positions, [cumulative[p - 1] for p in positions], len(cents), cumulative[-1]
    )
    assert sampled == full


def test_curve_without_revenue_is_flat():
    assert set(pareto_curve([1, 2], [0, 0], 2, 0)) == {0.0}


def test_segment_sizes_count_every_segment_from_the_grid():
    grid = [[1, 0, 0, 0, 2], [0, 0, 0, 0, 0], [0, 0, 3, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 4, 5]]
    sizes = segment_sizes(grid)
    assert sizes["lost"] == 1 and sizes["cant_lose"] == 2 and sizes["need_attention"] == 3
    assert sizes["champions"] == 9 and sum(sizes.values()) == 15 and len(sizes) == 11


@pytest.mark.parametrize(
    ("curve", "path"),
    [
        ([0.0, 1.0], "M0,200 L200,0"),
        ([0.0, 0.8, 1.0], "M0,200 L100,40 L200,0"),
        ([0.0], ""),
    ],
)
def test_pareto_path(curve, path):
    assert charts.pareto_path(curve) == path


@pytest.mark.parametrize(
    ("values", "points"),
    [
        ([1, 3, 2], "0,20 50,0 100,10"),
        ([5, 5], "0,10 100,10"),
        ([4], "0,10 100,10"),
        ([], ""),
    ],
)
def test_sparkline(values, points):
    assert charts.sparkline(values) == points


def test_sparkline_of_shares_uses_the_whole_scale():
    assert charts.sparkline([0.5, 1.0], bounds=(0, 1)) == "0,10 100,0"


@pytest.mark.parametrize(("count", "highest", "heat"), [(0, 0, 0.0), (5, 10, 0.5), (10, 10, 1.0)])
def test_heat(count, highest, heat):
    assert charts.heat(count, highest) == heat


@pytest.mark.parametrize(
    ("kept", "most", "picked"),
    [
        (30, 6, [0, 1, 7, 14, 22, 29]),
        (7, 6, [0, 1, 2, 3, 4, 6]),
        (6, 6, [0, 1, 2, 3, 4, 5]),
        (3, 6, [0, 1, 2]),
        (1, 6, [0]),
        (3, 2, [0, 1]),
    ],
)
def test_live_trend_spreads_its_runs_over_the_kept_ones(kept, most, picked):
    assert trend_runs(list(range(kept)), most) == picked
