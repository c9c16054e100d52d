"""Search at a million customers: a trigram index for substrings of the name and
a pattern index for phone prefixes (PostgreSQL only; SQLite scans, which is fine
at its sizes). Together with the unique reference they let one search OR its
three conditions over three indexes."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = [
    ("customer_name_trgm_idx", "customers_customer", "gin (UPPER(name) gin_trgm_ops)"),
    ("customer_phone_prefix_idx", "customers_customer", "btree (phone varchar_pattern_ops)"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {expression}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
