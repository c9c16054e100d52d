"""The customer's owner, team and supplier lose their single-column indexes: the
composite ones (owner, name, id), (team, name, id) and (parent, id) serve the same
lookups, and every write to the table rewrote three indexes fewer. Only the indexes
are dropped (SQLite would otherwise rebuild the whole table to alter the fields)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = {
    "customers_customer_owner_id_fbb2798e": "owner_id",
    "customers_customer_parent_id_7e55028b": "parent_id",
    "customers_customer_team_id_677425ba": "team_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0026_cross_region_supplies"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}",
                    reverse_sql=f"CREATE INDEX {name} ON customers_customer ({column})",
                )
                for name, column in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="owned_customers",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="parent",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="The distributor or wholesaler this customer buys through.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="children",
                        to="customers.customer",
                        verbose_name="supplied by",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="customers",
                        to="customers.team",
                        verbose_name="team",
                    ),
                ),
            ],
        ),
    ]
