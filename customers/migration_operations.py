"""Migration operations of the core, for tables that already hold years of rows."""

import logging

from django.db import IntegrityError, migrations, transaction

logger = logging.getLogger(__name__)


class AddCheckConstraint(migrations.AddConstraint):
    """Add a check constraint that new and changed rows must pass, without failing on
    rows stored before the rule existed (pages read those defensively).

    On PostgreSQL the constraint is added NOT VALID, which takes the table's exclusive
    lock only for an instant, then validated while writes go on; if stored rows break
    the rule it stays NOT VALID and a warning names it. On SQLite, which rebuilds the
    table to add it, the stored rows are copied without the check.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        connection = schema_editor.connection
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(connection.alias, model):
            return
        if connection.vendor == "postgresql":
            self._add_not_valid_then_validate(model, schema_editor)
        elif connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints = ON")
                try:
                    super().database_forwards(app_label, schema_editor, from_state, to_state)
                finally:
                    cursor.execute("PRAGMA ignore_check_constraints = OFF")
        else:
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
