"""Customer numbers (客户编号): KH and six digits or more, KH000001, KH000002, …

Customers created on the site or in the admin without a number get the next one,
after the highest KH number in use. Imports keep the numbers in their files: the
number is how a file names a customer, and importing the same file twice must find
the same customers. Numbers of other forms (an older `C-…` scheme, other systems')
are left as they are.

On PostgreSQL the numbers come from a database sequence, `customer_ref_seq`. Numbers
can also be written by imports, the demo data and bulk loads, so each draw first
moves the sequence up to the highest KH number stored (never down) and then takes
`nextval`, both under a short advisory lock held for those two statements only, not
until commit: two saves at once get two different numbers without waiting for each
other's transactions, and a rolled-back save leaves a gap rather than a repeat. The
highest number is read from a partial expression index (`customer_number_idx`), one
index probe at a million customers. On SQLite, used for development and tests, it is
the highest KH number plus one: SQLite lets one transaction write at a time, and the
unique constraint on the number refuses a repeat.
"""

import re

from django.db import connection
from django.db.models import BigIntegerField, Max
from django.db.models.functions import Cast, Substr

PREFIX = "KH"
WIDTH = 6
SEQUENCE = "customer_ref_seq"
PATTERN = r"^KH[0-9]{6,18}$"
# The SQL of the number and of the rows that have one, as the index has them.
NUMBER = "(substring(external_ref from 3)::bigint)"
IS_NUMBER = f"external_ref ~ '{PATTERN}'"
# An arbitrary constant naming the advisory lock taken while a number is drawn.
LOCK = 0x4B48_5345


def format_number(number):
    return f"{PREFIX}{number:0{WIDTH}d}"


def highest_number():
    """The highest KH number in use, 0 if none."""
    from customers.models import Customer

    if connection.vendor == "postgresql":
        table = Customer._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT max({NUMBER}) FROM {table} WHERE {IS_NUMBER}")
            return cursor.fetchone()[0] or 0
    found = (
        Customer.objects.filter(external_ref__regex=PATTERN)
        .annotate(number=Cast(Substr("external_ref", len(PREFIX) + 1), BigIntegerField()))
        .aggregate(highest=Max("number"))["highest"]
    )
    return found or 0


def next_reference():
    """The next customer number, e.g. KH000142."""
    if connection.vendor != "postgresql":
        return format_number(highest_number() + 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK])
        try:
            cursor.execute(
                f"SELECT setval(%s, GREATEST((SELECT last_value FROM {SEQUENCE}), %s))",
                [SEQUENCE, highest_number()],
            )
            cursor.execute("SELECT nextval(%s)", [SEQUENCE])
            return format_number(cursor.fetchone()[0])
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK])


def is_customer_number(reference):
    return bool(re.match(PATTERN, reference or ""))


def create_sequence(apps, schema_editor):
    """Migration step: the index of the numbers and the sequence (PostgreSQL only)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("customers", "Customer")._meta.db_table
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS customer_number_idx ON {table} ({NUMBER}) WHERE {IS_NUMBER}"
    )
    schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} MINVALUE 0 START 0")
    schema_editor.execute(
        f"SELECT setval('{SEQUENCE}', COALESCE((SELECT max({NUMBER}) FROM {table} "
        f"WHERE {IS_NUMBER}), 0))"
    )


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
        schema_editor.execute("DROP INDEX IF EXISTS customer_number_idx")
