"""One row of scores per customer, for `export_scores`.

The core writes the reference and the credit grade first: `credit_grade` is the
grade in force (for a customer without credit history, the grade they are
treated as). Analytics apps add their columns after it by calling
`register(...)` from `AppConfig.ready()` with a loader that takes a batch of
customer ids and returns their values. Columns added later go last, so that
every column keeps its place: `credit_history` says whether the last run found
invoices in the look-back window (or the mark of refusing to pay); `false` is
shown as no credit history unless an admin locked the grade, and it is empty
before the customer's first grading.
"""

from collections.abc import Callable
from dataclasses import dataclass

BATCH = 5000
CORE_HEADER = ["customer_ref", "credit_grade", "suggested_grade", "grade_locked"]
TRAILING_HEADER = ["credit_history"]


def credit_history_cell(credit_grade, has_credit_history):
    """The `credit_history` value of exports: unknown (empty) until the customer is graded."""
    return has_credit_history if credit_grade else ""


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
    extensions = [name for columns in _extensions() for name in columns.headers]
    return CORE_HEADER + extensions + TRAILING_HEADER


def rows(customers):
    """Score rows for a queryset of customers, read in batches by primary key."""
    extensions = _extensions()
    last_pk = 0
    while True:
        batch = list(
            customers.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list(
                "pk",
                "external_ref",
                "credit_grade",
                "suggested_grade",
                "grade_locked",
                "has_credit_history",
            )[:BATCH]
        )
        if not batch:
            return
        ids = [row[0] for row in batch]
        loaded = [(columns, columns.load(ids)) for columns in extensions]
        for pk, ref, grade, suggested, locked, history in batch:
            extra = []
            for columns, values in loaded:
                extra.extend(values.get(pk, ("",) * len(columns.headers)))
            yield [ref, grade, suggested, locked, *extra, credit_history_cell(grade, history)]
        last_pk = ids[-1]
