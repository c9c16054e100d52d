"""Migration operations of the core, for tables that already hold years of rows.

Rows stored before a range rule existed are kept: the rule applies to new and
changed rows (pages read odd old values defensively). PostgreSQL holds such a
rule as a NOT VALID constraint; SQLite, which copies every row whenever it
rebuilds a table, copies the stored rows with its check constraints off.
"""

import logging
from contextlib import contextmanager

from django.db import IntegrityError, migrations, transaction

logger = logging.getLogger(__name__)


@contextmanager
def stored_rows_unchecked(connection):
    """Within the block, SQLite's table rebuilds copy rows without checking them."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints")
        (before,) = cursor.fetchone()
        cursor.execute("PRAGMA ignore_check_constraints = ON")
        try:
            yield
        finally:
            cursor.execute(f"PRAGMA ignore_check_constraints = {int(before)}")


class AddCheckConstraint(migrations.AddConstraint):
    """Add a check constraint that new and changed rows must pass, keeping stored rows.

    On PostgreSQL the constraint is added NOT VALID, which takes the table's exclusive
    lock only for an instant, then validated while writes go on; if stored rows break
    the rule it stays NOT VALID and a warning names it.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        connection = schema_editor.connection
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(connection.alias, model):
            return
        if connection.vendor == "postgresql":
            self._add_not_valid_then_validate(model, schema_editor)
            return
        with stored_rows_unchecked(connection):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def _add_not_valid_then_validate(self, model, schema_editor):
        quote = schema_editor.quote_name
        # create_sql returns interpolated SQL: no parameters to escape.
        schema_editor.execute(f"{self.constraint.create_sql(model, schema_editor)} NOT VALID", None)
        validate = (
            f"ALTER TABLE {quote(model._meta.db_table)} "
            f"VALIDATE CONSTRAINT {quote(self.constraint.name)}"
        )
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                schema_editor.execute(validate, None)
        except IntegrityError:
            logger.warning(
                "Rows of %s stored earlier break %s; it checks new and changed rows only.",
                model._meta.db_table,
                self.constraint.name,
            )


class KeepStoredRows(migrations.SeparateDatabaseAndState):
    """`operations` as usual, except that the table rebuilds they cause on SQLite keep the
    stored rows that break a check constraint added earlier."""

    def __init__(self, operations):
        super().__init__(database_operations=operations, state_operations=operations)

    def deconstruct(self):
        return (self.__class__.__qualname__, [], {"operations": self.database_operations})

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        with stored_rows_unchecked(schema_editor.connection):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        with stored_rows_unchecked(schema_editor.connection):
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return "; ".join(operation.describe() for operation in self.database_operations)
