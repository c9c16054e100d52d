"""Set-wise writes of imported rows through temporary staging tables.

Rows go into a staging table with `copy_rows` (COPY on PostgreSQL, batched
INSERTs elsewhere), then one INSERT ... SELECT adds the rows whose reference is
new: ON CONFLICT (external_ref) DO NOTHING skips the known ones with the probe
of the unique index that the insert makes anyway. Unlike SQLite's INSERT OR
IGNORE it ignores nothing else, so any other broken constraint still fails.
The same SQL runs on PostgreSQL and on SQLite (3.35 or later).
"""

from contextlib import contextmanager

import pandas as pd
from django.db import connection
from django.utils import timezone

from customers import history
from customers.bulk import copy_rows, is_postgresql
from customers.models import Customer, Tag

CUSTOMER_STAGING = {
    "external_ref": "varchar(64)",
    "name": "varchar(200)",
    "kind": "varchar(20)",
    "channel_role": "varchar(30)",
    "terminal_type": "varchar(30)",
    "region": "varchar(50)",
    "address": "varchar(255)",
    "phone": "varchar(30)",
    "email": "varchar(254)",
    "source": "varchar(20)",
    "notes": "text",
    "owner_id": "bigint",
    "team_id": "bigint",
    "parent_ref": "varchar(64)",
    # Derived from the name and phone (customers.duplicate_keys).
    "name_key": "varchar(200)",
    "phone_key": "varchar(30)",
}
# Customer columns an import sets; NULL in the staging table means "not given".
CUSTOMER_VALUES = [column for column in CUSTOMER_STAGING if column != "parent_ref"]
TAG_STAGING = {"external_ref": "varchar(64)", "tag": "varchar(50)"}


@contextmanager
def staging_table(name, columns):
    """A temporary table `name` with `columns` (name → SQL type) inside the block.

    Use it inside a transaction: on an error the rollback removes the table."""
    definition = ", ".join(f"{quote(column)} {kind}" for column, kind in columns.items())
    on_commit = " ON COMMIT DROP" if is_postgresql() else ""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE {quote(name)} ({definition}){on_commit}")
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {quote(name)}")


def stage(staging, frame, *, replace=True):
    """Put the frame's rows into the staging table (after emptying it when `replace`)."""
    with connection.cursor() as cursor:
        if replace:
            cursor.execute(f"DELETE FROM {quote(staging)}")
        copy_rows(staging, frame)
        if is_postgresql():
            # Temporary tables are never analysed automatically; without statistics the
            # planner may scan the whole target table instead of probing its index.
            cursor.execute(f"ANALYZE {quote(staging)}")


def insert_new(
    table, staging, values, *, params=(), returning=("id",), order_by=(), exclude_known=False
) -> pd.DataFrame:
    """Insert the staged rows whose external_ref `table` does not hold yet; `values` maps
    each target column to an SQL expression over the staging row `s`. Returns the new
    rows' `returning` columns.

    `order_by`: insert in this order, so that the indexes led by these columns are written
    page after page rather than at random. `exclude_known`: first drop the known references
    with one anti-join (which spends no ids on them): right for one statement per file,
    wrong per chunk against ten million orders, where it would scan them all each time."""
    columns = ", ".join(quote(column) for column in values)
    expressions = ", ".join(values.values())
    known = f"SELECT 1 FROM {quote(table)} t WHERE t.external_ref = s.external_ref"
    where = f"NOT EXISTS ({known})" if exclude_known else "1 = 1"
    order = (
        f" ORDER BY {', '.join(f's.{quote(column)}' for column in order_by)}" if order_by else ""
    )
    sql = (
        f"INSERT INTO {quote(table)} ({columns}) SELECT {expressions} FROM {quote(staging)} s "
        f"WHERE {where}{order} ON CONFLICT (external_ref) DO NOTHING "
        f"RETURNING {', '.join(returning)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=list(returning))


def insert_staged(table, staging, columns, *, returning=("id",), order_by=()) -> pd.DataFrame:
    """`insert_new` for a staging table whose columns are the target's `columns`."""
    values = {column: f"s.{quote(column)}" for column in columns}
    return insert_new(table, staging, values, returning=returning, order_by=order_by)


def customers_update(staging, *, now) -> int:
    """Set the staged values on the customers already recorded; a NULL (blank cell or
    column not in the file) keeps the current value. Returns how many were matched."""
    table = Customer._meta.db_table
    assignments = ", ".join(
        f"{quote(column)} = COALESCE(s.{quote(column)}, t.{quote(column)})"
        for column in CUSTOMER_VALUES
        if column != "external_ref"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(table)} AS t SET {assignments}, updated_at = %s "
            f"FROM {quote(staging)} AS s WHERE t.external_ref = s.external_ref",
            [_db_datetime(now)],
        )
        return cursor.rowcount


def customers_insert(staging, *, now) -> int:
    """Insert the staged customers not recorded yet; every value not given is the model's
    default, as the ORM would store it. Returns how many were created."""
    values, params = {}, []
    for field in Customer._meta.concrete_fields:
        if field.primary_key:
            continue
        default = _db_default(field, now)
        if field.column in CUSTOMER_VALUES:
            values[field.column] = f"s.{quote(field.column)}"
            if default is not None:
                values[field.column] = f"COALESCE(s.{quote(field.column)}, %s)"
                params.append(default)
        elif default is not None or not field.null:
            values[field.column] = "%s"
            params.append(default)
    table = Customer._meta.db_table
    return len(insert_new(table, staging, values, params=params, exclude_known=True))


def customers_link_parents(staging) -> int:
    """Point each staged customer with a parent_ref at that parent."""
    table = quote(Customer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET parent_id = p.parent_id FROM ("
            f"SELECT s.external_ref, c.id AS parent_id FROM {quote(staging)} s "
            f"JOIN {table} c ON c.external_ref = s.parent_ref"
            f") AS p WHERE t.external_ref = p.external_ref"
        )
        return cursor.rowcount


def customers_add_tags(tag_staging) -> None:
    """Create the staged tags that do not exist and add them to their customers;
    tags a customer already has stay."""
    tags, through = quote(Tag._meta.db_table), Customer.tags.through
    staged = quote(tag_staging)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {tags} (name) SELECT DISTINCT s.tag FROM {staged} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {tags} t WHERE t.name = s.tag) "
            f"ON CONFLICT (name) DO NOTHING"
        )
        cursor.execute(
            f"INSERT INTO {quote(through._meta.db_table)} (customer_id, tag_id) "
            f"SELECT DISTINCT c.id, t.id FROM {staged} s "
            f"JOIN {quote(Customer._meta.db_table)} c ON c.external_ref = s.external_ref "
            f"JOIN {tags} t ON t.name = s.tag WHERE 1 = 1 "
            f"ON CONFLICT (customer_id, tag_id) DO NOTHING"
        )


def customers_record_baselines(staging) -> None:
    """Give the staged customers already recorded without any history row their
    baseline (see customers.history), before the import changes them."""
    history.baselines_record(f"c.external_ref IN (SELECT external_ref FROM {quote(staging)})")


def customers_record_history(staging, *, now, by, reason) -> None:
    """Add a history row for every staged customer as it now is: 'created' for those
    this import created (they carry its timestamp), else 'changed'."""
    now_value = _db_datetime(now)
    history.records_insert(
        where=f"c.external_ref IN (SELECT external_ref FROM {quote(staging)})",
        date_sql="%s",
        date_params=[now_value],
        type_sql="CASE WHEN c.created_at = %s THEN '+' ELSE '~' END",
        type_params=[now_value],
        reason=reason[:100],
        by=by,
    )


def quote(name):
    return connection.ops.quote_name(name)


def _db_default(field, now):
    """The value the ORM would store for `field` in a row created at `now`."""
    if getattr(field, "auto_now", False) or field.default is timezone.now:
        value = now
    else:
        value = field.get_default()
    value = field.get_db_prep_save(value, connection)
    # Choices' enum members are plain strings to the database drivers.
    return str(value) if isinstance(value, str) else value


def _db_datetime(value):
    """A datetime as the backend stores it (SQLite keeps text in UTC)."""
    return connection.ops.adapt_datetimefield_value(value or timezone.now())
