"""Below the ORM, on PostgreSQL: the points ledger refuses UPDATE and DELETE.

TRUNCATE (a test database being emptied) stays possible; on other databases the
model and its queryset refuse the change instead (SQLite empties test tables with
DELETE, which a trigger would block)."""

from django.db import migrations

TABLE = "loyalty_pointentry"

FORWARD = f"""
CREATE FUNCTION loyalty_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'points ledger entries are never changed or deleted (' || TG_OP || ')',
        ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER loyalty_ledger_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION loyalty_ledger_append_only();
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS loyalty_ledger_append_only ON {TABLE};
DROP FUNCTION IF EXISTS loyalty_ledger_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
