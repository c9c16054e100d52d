"""Search at a million customers (PostgreSQL only; SQLite scans, which is fine
at its sizes).

Names are searched by substring, often with two Chinese characters ("锦江"),
which trigram indexes cannot serve. A full-text index over the name's
character bigrams can: every substring of two or more characters contains the
bigrams it is made of, and the LIKE condition beside it removes the rest. A
pattern index serves phone prefixes; with the unique reference, one search ORs
its three conditions over three indexes.
"""

from django.db import migrations

BIGRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION crm_bigrams(value text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT array_to_tsvector(ARRAY(
        SELECT DISTINCT substr(upper(value), i, 2)
        FROM generate_series(1, char_length(value) - 1) AS i
    ))
$$
"""

INDEXES = [
    ("customer_name_bigram_idx", "customers_customer", "gin (crm_bigrams(name))"),
    ("customer_phone_prefix_idx", "customers_customer", "btree (phone varchar_pattern_ops)"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(BIGRAMS_FUNCTION)
    for name, table, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {expression}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("DROP FUNCTION IF EXISTS crm_bigrams(text)")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
