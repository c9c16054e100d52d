"""Moments PostgreSQL stores but Python cannot hold or shift by a time zone.

PostgreSQL keeps timestamps from 4713 BC to 294276 AD; Python's from year 1 to
9999, and a page shifts each into the site's time zone before showing it. A
moment stored before the range checks existed (a contact logged on 0001-01-01
is 0001-12-31 BC in UTC) would make every read of its row fail, so the pages
listing it would answer 500. Such moments are read as the nearest day Python
can hold and shift: pages show them (as in year 1 or 9999) and whoever edits the
row is asked for a real date.
"""

import datetime as dt

EARLIEST = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)
TIMESTAMP_OIDS = {"timestamptz": 1184, "timestamp": 1114}


def clamped(moment):
    """`moment` moved into [EARLIEST, LATEST] (compared naive when it is naive)."""
    low, high = EARLIEST, LATEST
    if moment.tzinfo is None:
        low, high = EARLIEST.replace(tzinfo=None), LATEST.replace(tzinfo=None)
    return min(max(moment, low), high)


def _reader(parse, aware):
    def read(value, cursor):
        if value is None:
            return None
        try:
            return clamped(parse(value, cursor))
        except ValueError:
            # Out of Python's years: before year 1 (BC) or after 9999.
            moment = EARLIEST if value.endswith("BC") else LATEST
            return moment if aware else moment.replace(tzinfo=None)

    return read


def register():
    """Read timestamps through `clamped` on every PostgreSQL connection of the process."""
    try:
        from psycopg2 import extensions
    except ImportError:
        return
    for name, parse, aware in [
        ("timestamptz", extensions.PYDATETIMETZ, True),
        ("timestamp", extensions.PYDATETIME, False),
    ]:
        oid = TIMESTAMP_OIDS[name]
        caster = extensions.new_type((oid,), f"CRM_{name.upper()}", _reader(parse, aware))
        extensions.register_type(caster)
