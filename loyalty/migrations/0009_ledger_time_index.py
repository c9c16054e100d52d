"""The ledger by time (PostgreSQL only): the nightly expiry reads the entries earned on the
days that fell out of the expiry window since the night before, a thin slice of a ledger of
tens of millions of rows. Entries are only ever appended, stamped as they are written, so
the table's physical order follows `created_at` and a BRIN index (a few pages, cheap to
keep up) narrows the scan to the blocks of those days. SQLite scans, which is fine at its
sizes."""

from django.db import migrations

INDEX = "pointentry_created_brin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON loyalty_pointentry USING brin (created_at)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0008_spend_bonuses")]

    operations = [migrations.RunPython(create_index, drop_index)]
