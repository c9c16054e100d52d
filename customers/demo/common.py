"""Small helpers shared by the demo generator's modules. Days are counted relative
to the history's last day ("today"): 0 is today, negative days are in the past."""

import numpy as np
import pandas as pd

HISTORY_YEARS = 3


def words(text):
    return tuple(text.split())


def pick(rng, weights, size):
    """`size` indices drawn with the given (unnormalised) weights."""
    weights = np.asarray(weights, dtype=float)
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def refs(prefix, count, width):
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def timestamps(today_d, day, minute):
    """Naive local date-times: `day` relative to today, `minute` after midnight."""
    return pd.to_datetime(today_d + np.asarray(day)) + pd.to_timedelta(minute, unit="min")


def dated(frame, today_d, **columns):
    """Replace day offsets by dates (the new column names map to the old)."""
    frame = frame.copy()
    for name, day_column in columns.items():
        frame[name] = pd.to_datetime(today_d + frame[day_column].to_numpy())
    return frame.drop(columns=sorted(set(columns.values())))
