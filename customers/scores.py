"""One row of scores per customer, for `export_scores`.

The core writes the reference and the credit grade; analytics apps add their
columns by calling `register(...)` from `AppConfig.ready()` with a loader that
takes a batch of customer ids and returns their values.
"""

from collections.abc import Callable
from dataclasses import dataclass

BATCH = 5000
CORE_HEADER = ["customer_ref", "credit_grade", "suggested_grade", "grade_locked"]


@dataclass(frozen=True)
class ScoreColumns:
    key: str
    headers: list[str]
    load: Callable[[list[int]], dict[int, tuple]]
    order: int


_registry: dict[str, ScoreColumns] = {}


def register(*, key, headers, load, order=100):
    """Add columns; `load(ids)` returns {customer_id: tuple of values in header order}."""
    _registry[key] = ScoreColumns(key=key, headers=list(headers), load=load, order=order)


def _extensions():
    return sorted(_registry.values(), key=lambda columns: (columns.order, columns.key))


def header():
    return CORE_HEADER + [name for columns in _extensions() for name in columns.headers]


def rows(customers):
    """Score rows for a queryset of customers, read in batches by primary key."""
    extensions = _extensions()
    last_pk = 0
    while True:
        batch = list(
            customers.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "external_ref", "credit_grade", "suggested_grade", "grade_locked")[
                :BATCH
            ]
        )
        if not batch:
            return
        ids = [row[0] for row in batch]
        loaded = [(columns, columns.load(ids)) for columns in extensions]
        for pk, *core in batch:
            extra = []
            for columns, values in loaded:
                extra.extend(values.get(pk, ("",) * len(columns.headers)))
            yield [*core, *extra]
        last_pk = ids[-1]
