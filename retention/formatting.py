"""Numbers as text, a million at a time: for the reasons' JSON and the snapshot's COPY.

Formatting each value in Python (or with pandas' CSV writer) costs seconds at a
million rows; look-up tables of the digits cost a fraction of that.
"""

import numpy as np

# Integers below this are formatted by table look-up.
TABLE_SIZE = 100_000


def int_text(values):
    """Integers as text (an object array)."""
    values = np.asarray(values).astype(np.int64)
    if len(values) and values.min() >= 0 and values.max() < TABLE_SIZE:
        return np.array([str(i) for i in range(int(values.max()) + 1)], dtype=object)[values]
    return values.astype(str).astype(object)


def fixed_text(values, decimals):
    """Non-negative numbers rounded to `decimals` places, as text like "1234.50"."""
    scale = 10**decimals
    scaled = np.rint(np.asarray(values, dtype=float) * scale).astype(np.int64)
    if len(scaled) and scaled.min() < 0:
        return np.char.mod(f"%.{decimals}f", np.asarray(values, dtype=float)).astype(object)
    fractions = np.array([str(i).zfill(decimals) for i in range(scale)], dtype=object)
    return int_text(scaled // scale) + "." + fractions[scaled % scale]
