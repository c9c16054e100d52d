"""Score every customer as of a date, with weights learned from the history before it.

The one path the nightly step and `evaluate_churn` share, so that an evaluation at a
cut-off scores exactly as a run on that day would:
1. the calendar as of the date (retention.calendar) and the order statistics up to it,
   with those up to a year earlier in the same pass over the orders;
2. the backtest (retention.churn.backtest_date): the statistics as of an earlier day,
   labelled from the orders up to the date itself, never after it: with the backtest a
   year back, churned = no order in the season ahead a year ago (orders_ahead); with
   it a horizon back, churned = no order in the last horizon (recency);
3. weights learned on the backtest (retention.churn.learn), or the defaults;
4. the score as of the date with those weights.
Complaints and grades are not replayed for the backtest: the learned weights keep
their default weights (retention.churn.SIGNAL_FEATURES).
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retention import calendar, churn, reading
from retention.models import Festival


@dataclass(frozen=True)
class RunScores:
    as_of: dt.date
    horizon_days: int
    season: calendar.Season
    stats: pd.DataFrame
    signals: pd.DataFrame
    scored: churn.Scored
    learned: churn.Learned
    backtest_on: dt.date | None

    def reasons(self):
        return churn.reasons_json(
            self.scored.purchases,
            self.signals,
            self.scored.inputs,
            self.learned.weights,
            as_of=self.as_of,
            festival=self.season.festival,
        )


def quiet_signals(stats):
    """No complaints, grades unknown: the signals of the backtest."""
    return pd.DataFrame(
        {
            "customer_id": stats["customer_id"].to_numpy(),
            "open_complaints": np.zeros(len(stats), dtype="int64"),
            "complaint_since": "",
            "grade_now": "",
            "grade_before": "",
        },
        index=stats.index,
    )


def backtest_labels(stats, backtest_stats, backtest_on, as_of, horizon_days):
    """Churned (no order in the horizon after `backtest_on`) for each row of
    `backtest_stats`, from the statistics as of `as_of` only."""
    if backtest_on == as_of - calendar.YEAR:
        ordered = stats["orders_ahead"].to_numpy() > 0
    else:
        ordered = stats["recency"].to_numpy() < horizon_days
    by_customer = pd.Series(ordered, index=stats["customer_id"].to_numpy())
    return ~by_customer.reindex(
        backtest_stats["customer_id"].to_numpy(), fill_value=False
    ).to_numpy()


def learn_weights(stats, as_of, horizon_days, festivals, read_stats, year_before_stats=None):
    """(learned, backtest date) for a run as of `as_of` whose statistics are `stats`;
    `year_before_stats`, when given, are those as of a year earlier (read with them)."""
    tenure = stats["tenure"].to_numpy()
    first_order = as_of - dt.timedelta(days=int(tenure.max())) if len(tenure) else None
    backtest_on = churn.backtest_date(
        as_of, horizon_days, first_order, int((tenure >= calendar.YEAR.days).sum())
    )
    if backtest_on is None:
        return churn.short_history(), None
    if backtest_on == as_of - calendar.YEAR and year_before_stats is not None:
        backtest_stats = year_before_stats
    else:
        season = calendar.season(festivals, backtest_on, horizon_days)
        backtest_stats = read_stats(backtest_on, season)
    churned = backtest_labels(stats, backtest_stats, backtest_on, as_of, horizon_days)
    scored = churn.score_customers(
        backtest_stats, quiet_signals(backtest_stats), horizon_days=horizon_days
    )
    learned = churn.learn(scored.inputs, churned, backtest_stats["recency"].to_numpy())
    return learned, backtest_on


@dataclass(frozen=True)
class Prepared:
    """What scoring as of a date needs that only the orders and the calendar give: the
    run's statistics and the weights learned on its backtest (steps 1 to 3)."""

    as_of: dt.date
    horizon_days: int
    season: calendar.Season
    stats: pd.DataFrame
    learned: churn.Learned
    backtest_on: dt.date | None


def learn_as_of(as_of, horizon_days, *, festivals=None, read_stats=None) -> Prepared:
    """Steps 1 to 3 for a run as of `as_of`: from the orders and the calendar only."""
    festivals = Festival.calendar() if festivals is None else festivals
    season = calendar.season(festivals, as_of, horizon_days)
    year_before = as_of - calendar.YEAR
    year_before_season = calendar.season(festivals, year_before, horizon_days)
    if read_stats is None:
        # The run's statistics and those a year back in one pass over the orders (looked
        # up here, not bound at import: the bench times the module's functions).
        read_stats = reading.read_order_stats
        stats, year_before_stats = reading.read_order_stats_with_backtest(
            as_of, season, year_before, year_before_season
        )
    else:
        stats = read_stats(as_of, season)
        year_before_stats = read_stats(year_before, year_before_season)
    learned, backtest_on = learn_weights(
        stats, as_of, horizon_days, festivals, read_stats, year_before_stats
    )
    return Prepared(as_of, horizon_days, season, stats, learned, backtest_on)


def score_prepared(prepared: Prepared, read_signals) -> RunScores:
    """Step 4: every customer of `prepared` scored with its weights; `read_signals(stats)`
    gives their complaints and grades as of its date."""
    stats, learned = prepared.stats, prepared.learned
    signals = read_signals(stats)
    scored = churn.score_customers(
        stats, signals, learned.weights, horizon_days=prepared.horizon_days
    )
    return RunScores(
        prepared.as_of,
        prepared.horizon_days,
        prepared.season,
        stats,
        signals,
        scored,
        learned,
        prepared.backtest_on,
    )


def score_as_of(as_of, horizon_days, read_signals, *, festivals=None, read_stats=None):
    """Every customer with an order up to `as_of`, scored as a run that day scores them;
    `read_signals(stats)` gives their complaints and grades as of `as_of`."""
    prepared = learn_as_of(as_of, horizon_days, festivals=festivals, read_stats=read_stats)
    return score_prepared(prepared, read_signals)
