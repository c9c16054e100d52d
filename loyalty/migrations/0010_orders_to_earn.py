"""The catch-up's queue: the orders it has still to look at, filled by triggers so that
every way an order reaches the database counts (the ORM, bulk imports by COPY, SQL by
hand), joins or becomes active again (or is dated back), and filled once here with every order owed points today, so that nothing missed
before the queue existed is lost."""

import django.db.models.deletion
from django.db import migrations, models

QUEUE = "loyalty_ordertoearn"

POSTGRESQL = f"""
CREATE FUNCTION loyalty_queue_inserted_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {QUEUE} (order_id) SELECT id FROM new_orders ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER loyalty_queue_inserted_orders AFTER INSERT ON customers_order
    REFERENCING NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_queue_inserted_orders();

CREATE FUNCTION loyalty_queue_moved_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {QUEUE} (order_id)
    SELECT n.id FROM new_orders n JOIN old_orders o ON o.id = n.id
    WHERE n.customer_id <> o.customer_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER loyalty_queue_moved_orders AFTER UPDATE ON customers_order
    REFERENCING OLD TABLE AS old_orders NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_queue_moved_orders();

CREATE FUNCTION loyalty_queue_member_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {QUEUE} (order_id)
    SELECT id FROM customers_order
    WHERE customer_id = NEW.customer_id AND status = 'recorded' AND order_date >= NEW.joined_on
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER loyalty_queue_member_joined AFTER INSERT ON loyalty_membership
    FOR EACH ROW WHEN (NEW.status = 'active')
    EXECUTE FUNCTION loyalty_queue_member_orders();
CREATE TRIGGER loyalty_queue_member_active AFTER UPDATE OF status, joined_on
    ON loyalty_membership
    FOR EACH ROW WHEN (
        NEW.status = 'active' AND (OLD.status <> 'active' OR NEW.joined_on < OLD.joined_on)
    )
    EXECUTE FUNCTION loyalty_queue_member_orders();
"""

POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS loyalty_queue_inserted_orders ON customers_order;
DROP TRIGGER IF EXISTS loyalty_queue_moved_orders ON customers_order;
DROP TRIGGER IF EXISTS loyalty_queue_member_joined ON loyalty_membership;
DROP TRIGGER IF EXISTS loyalty_queue_member_active ON loyalty_membership;
DROP FUNCTION IF EXISTS loyalty_queue_inserted_orders();
DROP FUNCTION IF EXISTS loyalty_queue_moved_orders();
DROP FUNCTION IF EXISTS loyalty_queue_member_orders();
"""

MEMBER_ORDERS = (
    f"INSERT OR IGNORE INTO {QUEUE} (order_id) SELECT id FROM customers_order "
    "WHERE customer_id = NEW.customer_id AND status = 'recorded' "
    "AND order_date >= NEW.joined_on;"
)

SQLITE = [
    "CREATE TRIGGER loyalty_queue_inserted_orders AFTER INSERT ON customers_order "
    f"BEGIN INSERT OR IGNORE INTO {QUEUE} (order_id) VALUES (NEW.id); END",
    "CREATE TRIGGER loyalty_queue_moved_orders AFTER UPDATE OF customer_id ON customers_order "
    "WHEN NEW.customer_id <> OLD.customer_id "
    f"BEGIN INSERT OR IGNORE INTO {QUEUE} (order_id) VALUES (NEW.id); END",
    "CREATE TRIGGER loyalty_queue_member_joined AFTER INSERT ON loyalty_membership "
    f"WHEN NEW.status = 'active' BEGIN {MEMBER_ORDERS} END",
    "CREATE TRIGGER loyalty_queue_member_active "
    "AFTER UPDATE OF status, joined_on ON loyalty_membership "
    "WHEN NEW.status = 'active' AND (OLD.status <> 'active' OR NEW.joined_on < OLD.joined_on) "
    f"BEGIN {MEMBER_ORDERS} END",
]

TRIGGERS = [
    "loyalty_queue_inserted_orders",
    "loyalty_queue_moved_orders",
    "loyalty_queue_member_joined",
    "loyalty_queue_member_active",
]

# Every order owed points now: recorded, of an active member, dated from the join date on,
# without an earning.
OWED = f"""
INSERT INTO {QUEUE} (order_id)
SELECT o.id FROM customers_order o
JOIN loyalty_membership m ON m.customer_id = o.customer_id
WHERE o.status = 'recorded' AND m.status = 'active' AND o.order_date >= m.joined_on
  AND NOT EXISTS (
      SELECT 1 FROM loyalty_pointentry e WHERE e.order_id = o.id AND e.kind = 'earn'
  )
"""


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)
    schema_editor.execute(OWED)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD)
    elif vendor == "sqlite":
        for name in TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0021_import_jobs"),
        ("loyalty", "0009_ledger_time_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="OrderToEarn",
            fields=[
                (
                    "order",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="customers.order",
                        verbose_name="order",
                    ),
                ),
            ],
            options={
                "verbose_name": "order to earn for",
                "verbose_name_plural": "orders to earn for",
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
