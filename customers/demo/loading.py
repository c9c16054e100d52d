"""Writing the demo dataset into the database: the demo logins and their teams, then
every frame in bulk (COPY on PostgreSQL) with database ids. The only module of the
package that touches the database."""

from contextlib import contextmanager

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.db.models.deletion import get_candidate_relations_to_delete
from django.test.utils import override_settings
from django.utils import timezone

from customers import bulk, contact_log
from customers.bulk import copy_rows, is_postgresql
from customers.demo import STAFF, TAG_NAMES, TEAMS, DemoData
from customers.duplicate_keys import name_keys, phone_keys
from customers.models import (
    Complaint,
    Contact,
    Customer,
    Interaction,
    Invoice,
    OpenIssue,
    Order,
    Payment,
    Tag,
    Team,
)
from customers.receivables import receivables_refresh


def demo_data_load(data: DemoData, *, password: str, reset: bool) -> dict:
    """Write `data` and the demo logins in one transaction, deleting every existing
    customer first when `reset`; returns the users by username."""
    with transaction.atomic():
        users = seed_staff(password)
        with indexes_rebuilt_after(WRITTEN):
            if reset:
                delete_customers()
            customer_ids = write_dataset(data, users)
            analyze(WRITTEN)
            # Cheaper while the indexes on the balances are away.
            receivables_refresh(customer_ids=customer_ids, as_of=data.today)
    return users


WRITTEN = (Customer, Customer.tags.through, Contact, Order, Invoice, Payment, Interaction,
           Complaint, OpenIssue)  # fmt: skip


@contextmanager
def indexes_rebuilt_after(written):
    """On PostgreSQL, drop the foreign keys and non-unique indexes of the tables for
    the load and add them back after it: one validating join and one index build per
    table instead of a check and an index insert per row. At 100,000 customers the
    per-row foreign key checks alone took 90 s at commit; the rebuild takes 20 s.
    Elsewhere, nothing."""
    if not is_postgresql():
        yield
        return
    tables = [model._meta.db_table for model in written]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        run_deferred_checks(cursor)
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [tables],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) AND NOT indisunique AND NOT indisprimary",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
    yield
    with connection.cursor() as cursor:
        run_deferred_checks(cursor)
        # Index builds sort in memory when they may; the default spills to disk early.
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


def analyze(written):
    """Fresh statistics on PostgreSQL, or the planner takes the loaded tables for empty ones."""
    for model in written:
        bulk.analyze(model._meta.db_table)


def run_deferred_checks(cursor):
    """Run the foreign key checks deferred so far: a table with pending checks cannot
    be altered. Later checks are deferred to the commit again."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def delete_customers():
    """Delete all customers and, through the cascades, everything recorded against them."""
    doomed = wholly_deleted_with(Customer)
    if is_postgresql() and doomed:
        # Set-wise: the deletion collector works through 100 rows at a time and takes
        # minutes at 100,000 customers. Keys go on from where they were.
        tables = sorted(connection.ops.quote_name(model._meta.db_table) for model in doomed)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
        return
    # A deletion row in the change history for each of thousands of demo customers would
    # make the reset slow and the history useless.
    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        Customer.objects.all().delete()


def wholly_deleted_with(model):
    """The models all of whose rows go when every row of `model` is deleted through the
    ORM (non-null CASCADE chains), or None if that deletion would also change rows that
    stay (SET_NULL, PROTECT, nullable CASCADE…): then emptying the tables is no substitute."""
    doomed, pending, relations = {model}, [model], []
    while pending:
        for relation in get_candidate_relations_to_delete(pending.pop()._meta):
            relations.append(relation)
            field, related = relation.field, relation.related_model
            cascades = field.remote_field.on_delete is models.CASCADE and not field.null
            if cascades and related not in doomed:
                doomed.add(related)
                pending.append(related)
    for relation in relations:
        field = relation.field
        untouched = field.remote_field.on_delete is models.DO_NOTHING and not field.db_constraint
        if relation.related_model not in doomed and not untouched:
            return None
    return doomed


def seed_staff(password):
    """Create or update the demo logins and their teams; returns users by username."""
    # One hash for all: hashing is slow by design, and the demo password is shared anyway.
    hashed = make_password(password)
    users = {}
    for member in STAFF:
        admin = member.role == "admin"
        users[member.username], _created = get_user_model().objects.update_or_create(
            username=member.username,
            defaults={
                "first_name": member.first_name,
                "last_name": member.last_name,
                "email": f"{member.username}@example.com",
                "is_staff": admin,
                "is_superuser": admin,
                "is_active": True,
                "password": hashed,
            },
        )
    for name in TEAMS:
        team, _created = Team.objects.get_or_create(name=name)
        in_team = [m for m in STAFF if m.team == name]
        team.managers.add(*(users[m.username] for m in in_team if m.role == "manager"))
        team.members.add(*(users[m.username] for m in in_team if m.role == "rep"))
    return users


def write_dataset(data: DemoData, users) -> list[int]:
    """Write the frames with database ids; returns the ids of the customers."""
    user_ids = pd.Series({name: user.pk for name, user in users.items()})
    team_ids = pd.Series({team.name: team.pk for team in Team.objects.filter(name__in=TEAMS)})
    tag_ids = pd.Series({name: Tag.objects.get_or_create(name=name)[0].pk for name in TAG_NAMES})
    first_customer = reserve_ids(Customer, len(data.customers))
    customer_ids = first_customer + np.arange(len(data.customers))

    def with_customer(frame):
        return frame.assign(customer_id=customer_ids[frame["customer"]]).drop(columns="customer")

    customers = data.customers
    parent = customers["parent"].to_numpy()
    customers = customers.assign(
        id=customer_ids,
        parent_id=pd.Series(first_customer + parent).where(parent >= 0).astype("Int64"),
        owner_id=customers["owner"].map(user_ids),
        team_id=customers["team"].map(team_ids),
        updated_at=customers["created_at"],
        name_key=name_keys(customers["name"]).fillna(""),
        phone_key=phone_keys(customers["phone"]).fillna(""),
    ).drop(columns=["parent", "owner", "team"])
    write(Customer, customers)
    tags = with_customer(data.tags).assign(tag_id=lambda f: f["tag"].map(tag_ids))
    copy_rows(Customer.tags.through._meta.db_table, tags[["customer_id", "tag_id"]])
    write(Contact, with_customer(data.contacts))
    write(Order, with_customer(data.orders))
    first_invoice = reserve_ids(Invoice, len(data.invoices))
    write(
        Invoice,
        with_customer(data.invoices).assign(id=first_invoice + np.arange(len(data.invoices))),
    )
    payments = with_customer(data.payments)
    payments["invoice"] += first_invoice
    write(Payment, payments.rename(columns={"invoice": "invoice_id"}))
    staff = {
        "staff": "staff_id",
        "received_by": "received_by_id",
        "resolved_by": "resolved_by_id",
        "opened_by": "opened_by_id",
        "closed_by": "closed_by_id",
    }
    for model, frame in (
        (Interaction, data.interactions),
        (Complaint, data.complaints),
        (OpenIssue, data.issues),
    ):
        frame = with_customer(frame)
        for column in set(staff) & set(frame.columns):
            frame[staff[column]] = frame.pop(column).map(user_ids).astype("Int64")
        write(model, frame)
    # The contact log was written around its write path: each customer's last contact.
    contact_log.refresh_all_last_contacts()
    return customer_ids.tolist()


def write(model, frame):
    """Append the frame's rows to the model's table: amounts from cents, dates and
    local date-times in the database's form, other columns at their defaults."""
    frame = frame.copy()
    for column in [c for c in frame.columns if c.endswith("_cents")]:
        frame[column.removesuffix("_cents")] = frame.pop(column) / 100
    fields = {field.column: field for field in model._meta.concrete_fields}
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = database_times(frame[column], fields[column])
    for column, field in fields.items():
        if column not in frame.columns and not field.primary_key:
            frame[column] = field.get_default()
    copy_rows(model._meta.db_table, frame[[c for c in fields if c in frame.columns]])


def database_times(values, field):
    """Dates as YYYY-MM-DD; naive local date-times as UTC the way Django stores them."""
    if not isinstance(field, models.DateTimeField):
        return values.dt.strftime("%Y-%m-%d")
    utc = values.dt.tz_localize(
        timezone.get_current_timezone(), ambiguous=False, nonexistent="shift_forward"
    ).dt.tz_convert("UTC")
    # SQLite compares the text Django writes: naive UTC; PostgreSQL reads the offset.
    return utc.dt.strftime("%Y-%m-%d %H:%M:%S+00:00" if is_postgresql() else "%Y-%m-%d %H:%M:%S")


def reserve_ids(model, count):
    """The first of `count` fresh primary keys for rows written with explicit ids.
    Keys are never reused, so old change history cannot attach to new customers."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            cursor.execute(
                "SELECT setval(seq::regclass, nextval(seq::regclass) + %s - 1) "
                "FROM pg_get_serial_sequence(%s, 'id') AS seq",
                [count, model._meta.db_table],
            )
            return cursor.fetchone()[0] - count + 1
        # SQLite: AUTOINCREMENT keeps the highest key ever used in sqlite_sequence.
        cursor.execute(
            f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0))",
            [model._meta.db_table],
        )
        return cursor.fetchone()[0] + 1
