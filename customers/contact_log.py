"""The contact log's one write path, and the customer's last contact that it keeps.

Every entry of the log (customers.Interaction) is written, edited or deleted through
`interaction_save` / `interaction_delete` (the site's form, the admin, a follow-up plan
carried out); a merge moves entries and then refreshes the survivor, bulk loads refresh
the customers they wrote. Each refreshes `Customer.last_contact_at` and
`last_contact_channel` from the log itself with one set-wise UPDATE, so the stored values
are always the latest entry's (by time, then id), whatever was added, moved or removed.
"""

from contextlib import nullcontext

from django.db import connection, transaction

from customers.models import Customer, Interaction

_REFRESH_SQL = """
UPDATE {customer} SET
    last_contact_at = (
        SELECT i.occurred_at FROM {interaction} i WHERE i.customer_id = {customer}.id
        ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1),
    last_contact_channel = COALESCE((
        SELECT i.channel FROM {interaction} i WHERE i.customer_id = {customer}.id
        ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1), '')
"""


def refresh_sql():
    """The UPDATE of every customer's last contact from the log (a WHERE may follow):
    one probe of the log's (customer, date) index per customer."""
    quote = connection.ops.quote_name
    return _REFRESH_SQL.format(
        customer=quote(Customer._meta.db_table), interaction=quote(Interaction._meta.db_table)
    )


def refresh_last_contact(customer_ids):
    """Set the stored last contact of the customers from their log entries: one query."""
    ids = sorted({int(pk) for pk in customer_ids if pk is not None})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        placeholders = ", ".join(["%s"] * len(ids))
        cursor.execute(f"{refresh_sql()} WHERE id IN ({placeholders})", ids)
        return cursor.rowcount


# On PostgreSQL, every customer at once: one sort of the log and a join, no probe per
# customer (bulk loads run it before the log's indexes are rebuilt).
_REFRESH_ALL_SQL = """
UPDATE {customer} c SET last_contact_at = x.occurred_at, last_contact_channel = x.channel
FROM (SELECT DISTINCT ON (customer_id) customer_id, occurred_at, channel
      FROM {interaction} ORDER BY customer_id, occurred_at DESC, id DESC) x
WHERE c.id = x.customer_id
  AND (c.last_contact_at IS DISTINCT FROM x.occurred_at
       OR c.last_contact_channel IS DISTINCT FROM x.channel)
"""


def refresh_all_last_contacts(cursor=None):
    """Every customer's last contact, set-wise (bulk loads, the migration's backfill); only
    customers with entries in the log are written, the others keep none."""
    quote = connection.ops.quote_name
    tables = {
        "customer": quote(Customer._meta.db_table),
        "interaction": quote(Interaction._meta.db_table),
    }
    sql = (
        _REFRESH_ALL_SQL.format(**tables)
        if connection.vendor == "postgresql"
        else f"{refresh_sql()} WHERE id IN (SELECT customer_id FROM {tables['interaction']})"
    )
    with nullcontext(cursor) if cursor is not None else connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


@transaction.atomic
def interaction_save(interaction: Interaction) -> Interaction:
    """Write a new or edited entry of the log; its customer's last contact follows (and the
    previous customer's, when an edit moved the entry to another one)."""
    previous = None
    if interaction.pk is not None:
        previous = (
            Interaction.objects.filter(pk=interaction.pk)
            .values_list("customer_id", flat=True)
            .first()
        )
    interaction.save()
    refresh_last_contact([interaction.customer_id, previous])
    return interaction


@transaction.atomic
def interaction_delete(interactions) -> int:
    """Delete entries of the log (an instance or a queryset); their customers' last
    contact goes back to the latest entry left."""
    if isinstance(interactions, Interaction):
        interactions = Interaction.objects.filter(pk=interactions.pk)
    customer_ids = set(interactions.values_list("customer_id", flat=True))
    deleted, _counts = interactions.delete()
    refresh_last_contact(customer_ids)
    return deleted
