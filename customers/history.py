"""The customer history (变更记录): who changed what on the file, when, why; old → new.

django-simple-history writes a row per save of a customer, as the customer then is.
Customers written in bulk (demo data, COPY loads) have no row until their first
change, so that change had nothing to be compared against. `baseline_record` and
`baselines_record` write that missing row, the file as it stands, just before the
first change: every change then shows old → new, and loading in bulk costs nothing
more (bench/bench_history.py measures both ways).

The grade (with its lock) and the figures the nightly run keeps current are not
tracked here: the grade trail is GradeChange, and a set-wise rewrite by the run
would otherwise be claimed by the next person who edits the file."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.utils import formats, timezone
from django.utils.translation import gettext

from customers.models import Customer
from customers.people import display_name


def _quote(name):
    return connection.ops.quote_name(name)


def _tracked_columns():
    return [
        field.column
        for field in Customer.history.model._meta.concrete_fields
        if not field.name.startswith("history_")
    ]


def records_insert(
    *, where, where_params=(), date_sql, date_params=(), type_sql, type_params=(), reason, by
) -> int:
    """Add a history row for every customer matching the SQL condition `where` (on the
    customer table as `c`), as it now is, dated `date_sql`, of type `type_sql` (SQL with
    their parameters), with `reason`, by the user `by`. Returns how many it added."""
    columns = _tracked_columns()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_quote(Customer.history.model._meta.db_table)} "
            f"({', '.join(_quote(column) for column in columns)}, history_date, "
            f"history_change_reason, history_type, history_user_id) "
            f"SELECT {', '.join(f'c.{_quote(column)}' for column in columns)}, "
            f"{date_sql}, %s, {type_sql}, %s "
            f"FROM {_quote(Customer._meta.db_table)} c WHERE {where}",
            [*date_params, reason, *type_params, getattr(by, "pk", None), *where_params],
        )
        return cursor.rowcount


def baselines_record(where, params=()) -> int:
    """Give every customer matching `where` (SQL on alias `c`) that has no history row
    one: the file as it stands, dated at its creation, by nobody. Call it before
    changing them. Returns how many rows it wrote."""
    history = _quote(Customer.history.model._meta.db_table)
    return records_insert(
        where=f"({where}) AND NOT EXISTS (SELECT 1 FROM {history} h WHERE h.id = c.id)",
        where_params=params,
        date_sql="c.created_at",
        type_sql="'+'",
        reason=None,
        by=None,
    )


def baseline_record(customer) -> None:
    """`baselines_record` for one customer about to be saved, its row locked first so
    that two first edits at once write one baseline."""
    Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk").first()
    baselines_record("c.id = %s", [customer.pk])


def entries(records, *, older=None):
    """Each history record (newest first) with its changes against the record before it
    (`older` is the one before the last, None if there is none), in words:
    [{"record", "changes": [{"label", "old", "new"}], "reason", "earlier_unrecorded"}]."""
    records = list(records)
    pairs = list(zip(records, [*records[1:], older], strict=False))
    diffs = [newer.diff_against(before).changes if before else [] for newer, before in pairs]
    related = _related_names(change for diff in diffs for change in diff)
    return [
        {
            "record": record,
            "changes": [
                {
                    "label": Customer._meta.get_field(change.field).verbose_name,
                    "old": value_shown(change.field, change.old, related),
                    "new": value_shown(change.field, change.new, related),
                }
                for change in diff
            ],
            "reason": record.history_change_reason or "",
            # Recorded before baselines existed: what came before is unknown.
            "earlier_unrecorded": before is None and record.history_type == "~",
        }
        for (record, before), diff in zip(pairs, diffs, strict=True)
    ]


def _related_names(changes):
    """The display names of the related rows in `changes`: one query per related model."""
    wanted = {}
    for change in changes:
        field = Customer._meta.get_field(change.field)
        if field.is_relation and field.many_to_one:
            ids = wanted.setdefault(field.related_model, set())
            ids.update(pk for pk in (change.old, change.new) if pk is not None)
    names = {}
    for model, ids in wanted.items():
        for obj in model._default_manager.filter(pk__in=ids):
            is_user = model is get_user_model()
            names[(model, obj.pk)] = display_name(obj) if is_user else str(obj)
    return names


def value_shown(name, value, related):
    """A tracked field's value as people read it: related rows by name, choices by label,
    yes/no, local dates; "" when empty."""
    field = Customer._meta.get_field(name)
    if value is None or value == "":
        return ""
    if field.is_relation:
        return related.get((field.related_model, value), f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value), "Y-m-d H:i")
    if isinstance(value, dt.date):
        return formats.date_format(value, "Y-m-d")
    return str(value)
