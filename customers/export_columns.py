"""One row of scores per customer, for `export_scores`.

The core writes the reference and the credit grade first: `credit_grade` is the
grade in force (for a customer without credit history, the grade they are
treated as). Analytics apps add their columns after it by calling
`register(...)` from `AppConfig.ready()` with a loader that takes a batch of
customer ids and returns their values. Columns added later go last, so that
every column keeps its place. The headers are codes for machines; with `in_words` the
export names its columns and choice values in the active language (客户编号, 信用等级,
是/否, 重点客户 …) from the labels and choices each registration gives.
`credit_history` says whether the last run found
invoices in the look-back window (or the mark of refusing to pay); `false` is
shown as no credit history unless an admin locked the grade, and it is empty
before the customer's first grading.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

BATCH = 5000
CORE_HEADER = ["customer_ref", "credit_grade", "suggested_grade", "grade_locked"]
TRAILING_HEADER = ["credit_history"]
CORE_LABELS = {
    "customer_ref": _("Customer number"),
    "credit_grade": _("Credit grade"),
    "suggested_grade": _("Suggested grade"),
    "grade_locked": _("Grade locked"),
    "credit_history": _("Has credit history"),
}


def credit_history_cell(credit_grade, has_credit_history):
    """The `credit_history` value of exports: unknown (empty) until the customer is graded."""
    return has_credit_history if credit_grade else ""


@dataclass(frozen=True)
class ScoreColumns:
    key: str
    headers: list[str]
    load: Callable[[list[int]], dict[int, tuple]]
    order: int
    labels: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)
    load_words: Callable[[list[int]], dict[int, tuple]] | None = None


_registry: dict[str, ScoreColumns] = {}


def register(*, key, headers, load, order=100, labels=None, choices=None, load_words=None):
    """Add columns; `load(ids)` returns {customer_id: tuple of values in header order}.

    For exports in words: `labels` {header: label}, `choices` {header: model choices} to
    name coded values, `load_words(ids)` in place of `load` where a value is text that
    has its own wording (reasons)."""
    _registry[key] = ScoreColumns(
        key=key,
        headers=list(headers),
        load=load,
        order=order,
        labels=dict(labels or {}),
        choices={name: dict(values) for name, values in (choices or {}).items()},
        load_words=load_words,
    )


def _extensions():
    return sorted(_registry.values(), key=lambda columns: (columns.order, columns.key))


def header(*, in_words=False):
    """The column names: codes, or with `in_words` labels in the active language."""
    extensions = [name for columns in _extensions() for name in columns.headers]
    codes = CORE_HEADER + extensions + TRAILING_HEADER
    if not in_words:
        return codes
    labels = dict(CORE_LABELS)
    for columns in _extensions():
        labels.update(columns.labels)
    return [str(labels.get(name, name)) for name in codes]


def _in_words(value, names):
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if names and value in names:
        return str(names[value])
    return value


def rows(customers, *, in_words=False):
    """Score rows for a queryset of customers, read in batches by primary key; with
    `in_words`, coded values and yes/no in the active language."""
    extensions = _extensions()
    named = [columns.choices.get(name) for columns in extensions for name in columns.headers]
    named = [None] * len(CORE_HEADER) + named + [None]
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
        loaded = [(columns, _loader(columns, in_words)(ids)) for columns in extensions]
        for pk, ref, grade, suggested, locked, history in batch:
            extra = []
            for columns, values in loaded:
                extra.extend(values.get(pk, ("",) * len(columns.headers)))
            row = [ref, grade, suggested, locked, *extra, credit_history_cell(grade, history)]
            if in_words:
                row = [_in_words(value, names) for value, names in zip(row, named, strict=True)]
            yield row
        last_pk = ids[-1]


def _loader(columns, in_words):
    return columns.load_words if in_words and columns.load_words else columns.load
