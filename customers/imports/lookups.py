"""The database facts that import checks need, each read with one set-wise query.

Lookups by reference return pandas Series (reference → id) so that a chunk of
half a million rows is mapped with one vectorised `Series.map`.
"""

import pandas as pd
from django.contrib.auth import get_user_model

from customers.bulk import is_postgresql, read_frame
from customers.models import Customer, Invoice, Team

# SQLite allows a limited number of parameters per statement.
SQLITE_BATCH = 500


def customer_ids(*, visible_to=None) -> pd.Series:
    """Every customer's id by external_ref (a million customers take a second or two); with
    `visible_to`, only those of the customers that user may see."""
    if visible_to is not None:
        query = Customer.objects.visible_to(visible_to).values_list("external_ref", "id").query
        sql, params = query.sql_with_params()
        return _by_ref(read_frame(sql, params, columns=["ref", "id"]))
    table = Customer._meta.db_table
    frame = read_frame(f"SELECT external_ref, id FROM {table}", columns=["ref", "id"])
    return _by_ref(frame)


def customer_parents() -> pd.DataFrame:
    """customer_ref and parent_ref of every customer that has a supplier."""
    table = Customer._meta.db_table
    return read_frame(
        f"SELECT c.external_ref, p.external_ref FROM {table} c JOIN {table} p ON p.id = c.parent_id",
        columns=["customer_ref", "parent_ref"],
    )


def customer_ids_for(refs) -> pd.Series:
    """The ids of the customers with these references, by external_ref."""
    table = Customer._meta.db_table
    sql = f"SELECT external_ref, id FROM {table} WHERE external_ref {{match}}"
    return _by_ref(_read_for_refs(sql, refs, ["ref", "id"]))


def user_ids() -> pd.Series:
    """Every user's id by username."""
    User = get_user_model()
    pairs = User.objects.values_list(User.USERNAME_FIELD, "pk")
    return _by_ref(pd.DataFrame(list(pairs), columns=["ref", "id"]))


def team_ids() -> pd.Series:
    """Every team's id by name."""
    return _by_ref(
        pd.DataFrame(list(Team.objects.values_list("name", "pk")), columns=["ref", "id"])
    )


def invoices_for(refs) -> pd.DataFrame:
    """The recorded invoices with these references: invoice_ref, invoice_id, customer_id,
    customer_ref."""
    sql = (
        f"SELECT i.external_ref, i.id, i.customer_id, c.external_ref "
        f"FROM {Invoice._meta.db_table} i JOIN {Customer._meta.db_table} c ON c.id = i.customer_id "
        f"WHERE i.external_ref {{match}}"
    )
    columns = ["invoice_ref", "invoice_id", "customer_id", "customer_ref"]
    return _read_for_refs(sql, refs, columns)


def _read_for_refs(sql, refs, columns):
    """Run `sql`, whose `{match}` stands for "is one of `refs`", in batches on SQLite."""
    refs = pd.unique(pd.Series(refs, dtype=str))
    # No stored reference holds a NUL (PostgreSQL cannot even be asked about one): such
    # rows are reported by the checks as a control character.
    refs = [ref for ref in refs if "\x00" not in ref]
    if is_postgresql():
        return read_frame(sql.format(match="= ANY(%s)"), [refs], columns)
    batches = [refs[start : start + SQLITE_BATCH] for start in range(0, len(refs), SQLITE_BATCH)]
    frames = [
        read_frame(sql.format(match=f"IN ({', '.join(['%s'] * len(batch))})"), batch, columns)
        for batch in batches
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _by_ref(frame):
    # An object index: its lookups are faster than those of pandas' string index.
    refs = pd.Index(frame["ref"].to_numpy(dtype=object), dtype=object)
    return pd.Series(frame["id"].to_numpy(dtype="int64"), index=refs)
