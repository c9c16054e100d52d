"""The rules of RFM scoring and of the 80/20 value tiers (价值分层), as pure functions.

They take and return DataFrames or arrays: no ORM, no I/O. Input is one row per
customer who ordered at least once up to the as-of date (customers who never
ordered get no score at all): `customer_id`, `last_order` (the last order on or
before the as-of date, however old), `frequency` (orders in the window) and
`monetary_cents` (spend in the window, in cents so that shares are exact; never
negative). A customer whose orders all precede the window still gets recency,
with frequency 0 and spend 0.

Scores 1–5 by quintile. Customers are put in ascending order of the value —
for R of recency reversed, so that the most recent buyers score 5 — and ties are
broken by customer id: of two equal customers the one with the lower id (the
longer-standing one) ranks higher. The customer at position i (0-based) of n
gets ⌊(2i + 1)·5 / 2n⌋ + 1: five groups of equal size (differing by at most
one customer), and with fewer than five customers the scores spread evenly
around 3 (a single customer scores 3, two score 2 and 4). All-equal values
therefore still fill the five groups, in customer-id order.

Named segments from the R×F grid (R rows, F columns):

    R\\F  1               2                    3                    4          5
    5    new             potential loyalists  potential loyalists  champions  champions
    4    promising       potential loyalists  potential loyalists  loyal      loyal
    3    about to sleep  about to sleep       need attention       loyal      loyal
    2    hibernating     hibernating          at risk              at risk    can't lose
    1    lost            lost                 at risk              at risk    can't lose

Value tiers by the Pareto rule: customers with spend in the window are ranked
by it, highest first, ties by customer id (lower id first); `value_rank` is that
rank. A customer with no spend in the window has no value rank. Walking down the
ranking, a customer is key (重点客户) while the revenue of the customers ranked
above them is still below the key share (80 %), so the key customers are exactly
those needed to make 80 %: the one whose cumulative share reaches exactly 80 %
is key and the next is not, and the one whose spend crosses 80 % is key too.
Ordinary (普通客户) continues the same way up to the ordinary share (95 %); the
rest are small (小客户), as is every customer with no spend in the window.

This is the one definition of "the customers who make 80 % of revenue": the
dashboard's sentence counts the key customers and the revenue they bring, for
every viewer, so that it always agrees with the tier table beside it.
"""

from fractions import Fraction

import numpy as np
import pandas as pd

from segmentation.models import Segment, ValueTier

SCORES = 5
CURVE_POINTS = 100
# "Top 20 % of customers": the curve's point 20 of 100.
TOP_STEP = 20

# The R×F grid of the module docstring, by R.
_GRID_ROWS = {
    5: ["new", "potential_loyalists", "potential_loyalists", "champions", "champions"],
    4: ["promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
    1: ["lost", "lost", "at_risk", "at_risk", "cant_lose"],
}
SEGMENTS = Segment.values
TIERS = ValueTier.values  # key, ordinary, small: the codes 0, 1, 2
_KEY, _ORDINARY, _SMALL = range(3)
# Segments and tiers are pandas Categoricals: integer codes, compared and counted fast.
# _SEGMENT_GRID[r, f] is a segment's code; row and column 0 are unused so that scores index.
_SEGMENT_GRID = np.full((SCORES + 1, SCORES + 1), -1, dtype=np.int8)
for _r, _row in _GRID_ROWS.items():
    _SEGMENT_GRID[_r, 1:] = [SEGMENTS.index(code) for code in _row]


def _sort_order(keys, ids, *, higher_id_first):
    """Positions that sort `keys` ascending, equal keys by customer id (two stable sorts:
    what np.lexsort does, faster on a million rows)."""
    by_id = np.argsort(-ids if higher_id_first else ids, kind="stable")
    return by_id[np.argsort(keys[by_id], kind="stable")]


def quintile_scores(values, customer_ids):
    """Scores 1–5 in equal-count groups, higher value → higher score, ties to the lower id."""
    values = np.asarray(values)
    ids = np.asarray(customer_ids, dtype=np.int64)
    count = len(values)
    # Among equal values the lower id comes last, with the higher score.
    order = _sort_order(values, ids, higher_id_first=True)
    positions = np.empty(count, dtype=np.int64)
    positions[order] = np.arange(count, dtype=np.int64)
    return ((2 * positions + 1) * SCORES // (2 * max(count, 1)) + 1).astype(np.int8)


def rfm_segment(r_scores, f_scores):
    """The segment of each (R, F) pair, vectorised, as a Categorical of segment codes."""
    codes = _SEGMENT_GRID[
        np.asarray(r_scores, dtype=np.int64), np.asarray(f_scores, dtype=np.int64)
    ]
    return pd.Categorical.from_codes(codes, categories=SEGMENTS)


def rfm_scores(frame, as_of):
    """Add recency_days, r_score, f_score, m_score and segment to the customers' totals."""
    last_order = pd.to_datetime(frame["last_order"])
    recency = (pd.Timestamp(as_of) - last_order).dt.days.to_numpy(dtype=np.int64)
    ids = frame["customer_id"].to_numpy(dtype=np.int64)
    r_score = quintile_scores(-recency, ids)
    f_score = quintile_scores(frame["frequency"].to_numpy(dtype=np.int64), ids)
    return frame.assign(
        recency_days=recency,
        r_score=r_score,
        f_score=f_score,
        m_score=quintile_scores(frame["monetary_cents"].to_numpy(dtype=np.int64), ids),
        segment=rfm_segment(r_score, f_score),
    )


def _share_bound(share, total):
    """The least integer b with: x < b ⇔ x < share × total, for integer x (exact)."""
    share = Fraction(str(share))
    return -(-share.numerator * total // share.denominator)


def value_tiers(frame, key_share, ordinary_share):
    """Add value_rank (nullable: none without spend) and value_tier (key / ordinary / small)
    from monetary_cents."""
    value = frame["monetary_cents"].to_numpy(dtype=np.int64)
    ids = frame["customer_id"].to_numpy(dtype=np.int64)
    order = _sort_order(-value, ids, higher_id_first=False)
    ranked = value[order]
    before = np.cumsum(ranked) - ranked
    total = int(ranked.sum())
    tier_in_rank_order = np.full(len(value), _SMALL, dtype=np.int8)
    tier_in_rank_order[(ranked > 0) & (before < _share_bound(ordinary_share, total))] = _ORDINARY
    tier_in_rank_order[(ranked > 0) & (before < _share_bound(key_share, total))] = _KEY
    rank = np.empty(len(value), dtype=np.int64)
    rank[order] = np.arange(1, len(value) + 1)
    tier = np.empty(len(value), dtype=np.int8)
    tier[order] = tier_in_rank_order
    return frame.assign(
        value_rank=pd.arrays.IntegerArray(rank, mask=value == 0),
        value_tier=pd.Categorical.from_codes(tier, categories=TIERS),
    )


def curve_positions(customers, points=CURVE_POINTS):
    """Ranks (1 … customers) whose cumulative spend fixes the curve at k / points, k = 0 …
    points: the two customers around each point, between which the curve is a straight line."""
    scaled = np.arange(points + 1, dtype=np.int64) * customers
    positions = np.unique(np.concatenate([scaled // points, -(-scaled // points)]))
    return positions[positions > 0]


def pareto_curve(positions, cumulative, customers, total, points=CURVE_POINTS):
    """Share of revenue of the top k / points of customers, k = 0 … points (the Lorenz curve
    of the ranking), from the cumulative spend at ranks `positions` (ascending). Exact at the
    points whose curve_positions are among them."""
    if customers == 0 or total <= 0:
        return [0.0] * (points + 1)
    x = np.concatenate([[0.0], np.asarray(positions, dtype=np.float64) / customers])
    y = np.concatenate([[0.0], np.asarray(cumulative, dtype=np.float64) / float(total)])
    grid = np.arange(points + 1, dtype=np.float64) / points
    return [round(float(share), 4) for share in np.interp(grid, x, y)]


def top_share(curve):
    """Revenue share of the top TOP_STEP % of customers, read off a pareto_curve."""
    return curve[TOP_STEP]


def run_figures(scored):
    """The figures of a run over all its scored customers (the frame from value_tiers)."""
    value = scored["monetary_cents"].to_numpy(dtype=np.int64)
    customers = len(value)
    # Spend in rank order, from the ranks value_tiers gave: no second sort. The customers
    # without spend (and rank) make the curve's flat end.
    ranks = scored["value_rank"]
    ranked_rows = ranks.notna().to_numpy()
    ranked = np.zeros(customers, dtype=np.int64)
    ranked[ranks[ranked_rows].to_numpy(dtype=np.int64) - 1] = value[ranked_rows]
    cumulative = np.cumsum(ranked)
    total = int(cumulative[-1]) if customers else 0
    curve = pareto_curve(np.arange(1, customers + 1), cumulative, customers, total)
    tier_codes = pd.Categorical(scored["value_tier"], categories=TIERS).codes
    tiers = {
        tier: {
            "customers": int((tier_codes == code).sum()),
            "cents": int(value[tier_codes == code].sum()),
        }
        for code, tier in enumerate(TIERS)
    }
    r_index = scored["r_score"].to_numpy(dtype=np.int64) - 1
    f_index = scored["f_score"].to_numpy(dtype=np.int64) - 1
    cells = np.bincount(r_index * SCORES + f_index, minlength=SCORES * SCORES)
    grid = cells.reshape(SCORES, SCORES)
    return {
        "customers": customers,
        "total_cents": total,
        "tiers": tiers,
        "top20_share": top_share(curve),
        # The key customers are by definition those that make the key share.
        "pareto_customers": tiers[TIERS[_KEY]]["customers"],
        "segments": segment_sizes(grid),
        "grid": grid.tolist(),
        "curve": curve,
    }


def segment_sizes(grid):
    """Customers per segment (every segment, in display order) from R×F grid counts."""
    sizes = dict.fromkeys(SEGMENTS, 0)
    for r in range(1, SCORES + 1):
        for f in range(1, SCORES + 1):
            sizes[segment_of(r, f)] += int(grid[r - 1][f - 1])
    return sizes


def segment_of(r_score, f_score):
    """The segment code of one (R, F) cell."""
    return SEGMENTS[_SEGMENT_GRID[r_score, f_score]]
