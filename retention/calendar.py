"""The festival calendar as the churn score sees it: pure date arithmetic, no ORM.

Many terminals and wholesalers buy mostly in the weeks before 春节 and 中秋 (and
元旦). For a run's date the calendar gives
- the pre-festival days (the PRE_FESTIVAL_DAYS before each festival, and its day)
  up to that date: a customer's share of orders in them is their seasonal pattern;
- the last festival passed and the same festival a year before: a customer who
  ordered before it last year and not this year has missed their season;
- the season ahead a year ago, (as_of − 1 year, as_of − 1 year + horizon]: a
  customer who bought then is likely to buy in the coming horizon too.
"""

import datetime as dt
from dataclasses import dataclass

# Days before a festival counted as its buying season (the festival's day included).
PRE_FESTIVAL_DAYS = 28
# Only the festivals of this many years before the run's date make the seasonal
# pattern: enough for a pattern, few enough dates for one aggregation.
PATTERN_YEARS = 3
# The same festival a year before lies this many days back (lunar dates wander).
SAME_FESTIVAL_DAYS = (320, 410)
YEAR = dt.timedelta(days=365)


@dataclass(frozen=True)
class Season:
    """What the calendar says as of one date; date ranges are inclusive."""

    festive: tuple  # (first, last) runs of pre-festival days in the PATTERN_YEARS up to as_of
    festival: str  # kind of the last festival passed ("" when none)
    this_window: tuple  # (first, last) pre-festival days of that festival
    last_window: tuple  # the same festival's a year before
    ahead: tuple  # (first, last) of the season ahead, a year ago

    @property
    def has_festival(self):
        return bool(self.festival)


def window(day):
    return (day - dt.timedelta(days=PRE_FESTIVAL_DAYS), day)


def season(festivals, as_of, horizon_days) -> Season:
    """The calendar as of `as_of`; `festivals` is [(kind, date)] in any order."""
    since = as_of - PATTERN_YEARS * YEAR
    festive = set()
    for _kind, day in festivals:
        if since < day <= as_of + dt.timedelta(days=PRE_FESTIVAL_DAYS):
            first, last = window(day)
            festive.update(
                first + dt.timedelta(days=i)
                for i in range((last - first).days + 1)
                if since < first + dt.timedelta(days=i) <= as_of
            )
    passed = sorted(
        ((day, kind) for kind, day in festivals if day <= as_of),
        reverse=True,
    )
    festival, this_window, last_window = "", (as_of, as_of), (as_of, as_of)
    for day, kind in passed:
        before = [
            other
            for other_kind, other in festivals
            if other_kind == kind
            and SAME_FESTIVAL_DAYS[0] <= (day - other).days <= SAME_FESTIVAL_DAYS[1]
        ]
        if before:
            festival, this_window, last_window = kind, window(day), window(before[0])
        break
    ahead = (
        as_of - YEAR + dt.timedelta(days=1),
        min(as_of - YEAR + dt.timedelta(days=horizon_days), as_of),
    )
    return Season(_ranges(sorted(festive)), festival, this_window, last_window, ahead)


def _ranges(days):
    """Sorted days as the fewest (first, last) runs of consecutive days."""
    runs = []
    for day in days:
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return tuple(runs)
