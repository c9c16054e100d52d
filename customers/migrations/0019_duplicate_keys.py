from django.db import migrations, models

from customers import duplicate_keys
from customers.bulk import read_frame, update_rows

BATCH = 20_000


def fill_keys(apps, schema_editor):
    """Give every customer its duplicate keys, a batch of ids at a time."""
    Customer = apps.get_model("customers", "Customer")
    table = Customer._meta.db_table
    last = 0
    while True:
        frame = read_frame(
            f"SELECT id, name, phone FROM {table} WHERE id > %s ORDER BY id LIMIT {BATCH}",
            [last],
            ["id", "name", "phone"],
        )
        if frame.empty:
            return
        keys = frame[["id"]].assign(
            name_key=duplicate_keys.name_keys(frame["name"]).fillna(""),
            phone_key=duplicate_keys.phone_keys(frame["phone"]).fillna(""),
        )
        update_rows(table, keys)
        last = int(frame["id"].iloc[-1])


class Migration(migrations.Migration):
    """The stored keys of the duplicate check (customers.duplicate_keys), filled for the
    customers already recorded before their indexes are built."""

    dependencies = [
        ("customers", "0018_customer_number_sequence"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="name_key",
            field=models.CharField(blank=True, db_default="", default="", editable=False, max_length=200, verbose_name="name as compared"),
        ),
        migrations.AddField(
            model_name="customer",
            name="phone_key",
            field=models.CharField(blank=True, db_default="", default="", editable=False, max_length=30, verbose_name="phone as compared"),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["name_key", "region"], name="customer_name_key_idx"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["phone_key"], name="customer_phone_key_idx"),
        ),
    ]
