"""One importer per kind of file, driven by the two passes of `services`.

`validate(chunk) → (clean, errors)` is chunk-local; `remember()`,
`repeated_key_lines()` and `file_errors()` serve the first pass's file-wide
checks; `prepare()`, `write()` and `finish()` are the second pass's writes,
inside one transaction, with the `staging` tables (name → columns) created
around them.
"""

import numpy as np
import pandas as pd
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import people, records, services
from customers.access import can_see_all_customers
from customers.duplicate_keys import name_keys, phone_keys
from customers.imports import likely_duplicates, lookups, validation, writers
from customers.imports.readers import LINE
from customers.imports.validation import no_errors, row_hashes


class Import:
    kind = ""
    required = ()
    # Optional columns every chunk gets (empty when the file lacks them).
    optional = ()
    # Optional columns used only when the file has them.
    other_columns = ()
    staging = {}
    # The column naming a row: the same value on two lines with other data is an error.
    key_column = None
    content_columns = ()

    def __init__(self):
        self.key_hashes = []
        # The file's header → the column it names (see headers.column_names).
        self.column_names = {}

    @classmethod
    def known_columns(cls):
        """Every column a file of this kind may have, required ones first."""
        return [*cls.required, *cls.optional, *cls.other_columns]

    def remember(self, chunk, clean):
        """Keep what the file-wide checks need from a validated chunk."""
        if self.key_column:
            keyed = clean.loc[clean[self.key_column] != ""]
            self.key_hashes.append(_hashes(keyed, [self.key_column]))

    def repeated_key_lines(self):
        """The lines of clean rows whose key hash is on more than one line."""
        hashes = _concat(self.key_hashes, [LINE, "hash"])
        return validation.repeated(hashes)[LINE].to_numpy()

    def file_errors(self, errors):
        """Errors that only the whole file shows, given the others."""
        return no_errors()

    def file_warnings(self, errors):
        """What the rows to be written may get wrong without being refused."""
        return no_errors()

    def prepare(self, rejected, report):
        """Get ready to write; `rejected` are the lines that will not be written."""

    def finish(self, report):
        """Complete the writes once every chunk is written."""


class CustomerImport(Import):
    kind = "customers"
    required = ("customer_ref", "name")
    staging = {
        "import_customers": writers.CUSTOMER_STAGING,
        "import_customer_tags": writers.TAG_STAGING,
    }
    key_column = "customer_ref"
    # A missing column, like a blank cell, leaves the customer's value as it is.
    other_columns = (
        "kind",
        "channel_role",
        "terminal_type",
        "parent_ref",
        "region",
        "address",
        "phone",
        "email",
        "source",
        "owner",
        "team",
        "tags",
        "notes",
    )

    def __init__(self, *, by, scope=None):
        super().__init__()
        self.by = by
        self.scope = limited_to(scope)
        self.customer_ids = lookups.customer_ids()
        self.user_ids = lookups.user_ids()
        self.team_ids = lookups.team_ids()
        self.refs, self.parents, self.suppliers = [], [], []
        self.duplicate_hashes, self.duplicate_warnings = [], []
        if self.scope is not None:
            self._limit_to(self.scope)

    def _limit_to(self, user):
        """Within a scope, rows may change only the customers `user` may see, hand them only
        to the people and teams `user` may, and name only visible suppliers; a new customer
        without an owner or team is the user's, in the user's team, as on the site's form."""
        self.recorded_ids = self.customer_ids
        # Suppliers are looked up among the visible customers: the others read as unknown.
        self.customer_ids = lookups.customer_ids(visible_to=user)
        self.owner_ids = {user.pk, *people.assignable_users(user).values_list("pk", flat=True)}
        self.allowed_team_ids = set(people.visible_teams(user).values_list("pk", flat=True))
        team = services.team_of(user)
        self.new_owner_id, self.new_team_id = user.pk, team.pk if team else None

    def validate(self, chunk):
        clean, errors = validation.validate_customers(
            chunk, customer_ids=self.customer_ids, user_ids=self.user_ids, team_ids=self.team_ids
        )
        if self.scope is None:
            return clean, errors
        outside = validation.scope_errors(
            clean,
            recorded=self.recorded_ids,
            visible=self.customer_ids,
            owner_ids=self.owner_ids,
            team_ids=self.allowed_team_ids,
        )
        clean = validation.without_errors(clean, outside).copy()
        new = ~clean["customer_ref"].isin(self.recorded_ids.index)
        clean["owner_id"] = clean["owner_id"].where(
            ~(new & clean["owner_id"].isna()), self.new_owner_id
        )
        if self.new_team_id is not None:
            clean["team_id"] = clean["team_id"].where(
                ~(new & clean["team_id"].isna()), self.new_team_id
            )
        return clean, validation.combine([errors, outside])

    def remember(self, chunk, clean):
        super().remember(chunk, clean)
        # Repeats are compared on every cell the file has.
        self.content_columns = [column for column in chunk.columns if column != LINE]
        # Every row's reference, rejected or not: a child must learn that its parent is bad.
        self.refs.append(chunk.loc[chunk["customer_ref"] != "", [LINE, "customer_ref"]])
        if "parent_ref" in clean.columns:
            self.parents.append(clean.loc[~clean["parent_known"], [LINE, "parent_ref"]])
            named = clean.loc[clean["parent_ref"] != "", [LINE, "customer_ref", "parent_ref"]]
            self.suppliers.append(named)
        keys = likely_duplicates.keys_of(clean)
        self.duplicate_hashes.append(likely_duplicates.key_hashes(keys))
        self.duplicate_warnings.append(likely_duplicates.against_database(keys, by=self.by))

    def file_warnings(self, errors):
        hashes = _concat(self.duplicate_hashes, [LINE, "ref", "phone", "name"])
        warnings = validation.combine(
            [likely_duplicates.within_file(hashes), *self.duplicate_warnings]
        )
        return warnings.loc[~warnings[LINE].isin(errors[LINE])].reset_index(drop=True)

    def file_errors(self, errors):
        if not self.parents:
            return no_errors()
        suppliers = _concat(self.suppliers, [LINE, "customer_ref", "parent_ref"])
        cycles = no_errors()
        if not suppliers.empty:
            cycles = validation.supplier_cycles(suppliers, lookups.customer_parents())
        # A row in a loop is rejected, and so are the rows it would supply.
        unresolved = validation.unresolved_parents(
            _concat(self.parents, [LINE, "parent_ref"]),
            _concat(self.refs, [LINE, "customer_ref"]),
            pd.concat([errors[LINE], cycles[LINE]], ignore_index=True),
        )
        return validation.combine([cycles, unresolved])

    def prepare(self, rejected, report):
        self.now = timezone.now()

    def write(self, clean, report):
        # Rows are only staged here: a parent may come after its children in the file.
        clean = clean.drop_duplicates("customer_ref", keep="last")
        writers.stage("import_customers", customer_rows(clean), replace=False)
        if "tag_list" in clean.columns:
            tags = clean[["customer_ref", "tag_list"]].explode("tag_list").dropna()
            tags.columns = ["external_ref", "tag"]
            writers.stage("import_customer_tags", tags, replace=False)

    def finish(self, report):
        writers.customers_record_baselines("import_customers")
        report.updated = writers.customers_update("import_customers", now=self.now)
        report.created = writers.customers_insert("import_customers", now=self.now)
        writers.customers_link_parents("import_customers")
        writers.customers_add_tags("import_customer_tags")
        writers.customers_record_history(
            "import_customers", now=self.now, by=self.by, reason=_("Imported from a file")
        )


# Stored keys derived from a column: NULL (keep) where that column is.
DERIVED_KEYS = {"name_key": ("name", name_keys), "phone_key": ("phone", phone_keys)}


def customer_rows(clean):
    """Staging rows for clean customer rows; a blank cell becomes NULL (keep or default)."""
    rows = pd.DataFrame(index=clean.index)
    for column in writers.CUSTOMER_STAGING:
        source = {"external_ref": "customer_ref"}.get(column, column)
        if column in DERIVED_KEYS:
            continue
        if column in ("owner_id", "team_id"):
            ids = clean[column] if column in clean.columns else None
            rows[column] = pd.Series(ids, index=clean.index, dtype="Int64")
        elif source in clean.columns:
            rows[column] = clean[source].where(clean[source] != "")
        else:
            rows[column] = None
    for column, (source, keys) in DERIVED_KEYS.items():
        rows[column] = keys(rows[source])
    return rows


def create_customers(refs, *, now):
    """Create minimal customers named by their references; returns how many."""
    rows = customer_rows(pd.DataFrame({"customer_ref": refs, "name": refs}))
    with writers.staging_table("import_new_customers", writers.CUSTOMER_STAGING):
        writers.stage("import_new_customers", rows)
        created = writers.customers_insert("import_new_customers", now=now)
        writers.customers_record_history(
            "import_new_customers", now=now, by=None, reason=_("Created by an order import")
        )
    return created


class FactImport(Import):
    """Orders, invoices and payments: rows are recorded once, through the records services
    (which announce them after commit), and never updated."""

    def __init__(self, *, scope=None):
        super().__init__()
        # Rows may name only the customers the scope's user may see: the others read as unknown.
        self.customer_ids = lookups.customer_ids(visible_to=limited_to(scope))
        self.affected_customers = []

    @staticmethod
    def record_bulk(*, rows, staging):
        """The records service recording a batch of this kind."""
        raise NotImplementedError

    def insert(self, rows, report):
        """Record the rows with a new reference; returns their id and customer_id."""
        (staging,) = self.staging
        # One batch (and one signal) per chunk bounds each receiver's batch.
        new = self.record_bulk(rows=rows, staging=staging)
        report.created += len(new)
        report.already_present += len(rows) - len(new)
        self.affected_customers.append(new["customer_id"].to_numpy(dtype="int64"))
        return new

    def refresh_receivables(self):
        """Bring the balances of the customers with new rows up to date, once for the file."""
        ids = np.unique(np.concatenate([np.zeros(0, dtype="int64"), *self.affected_customers]))
        records.balances_refresh(customer_ids=ids.tolist())


# Rows without their own reference get one derived from these (see derived_refs).
ORDER_IDENTITY = ["customer_ref", "order_date", "amount", "quantity"]


class OrderImport(FactImport):
    kind = "orders"
    required = ("customer_ref", "order_date", "amount", "quantity")
    optional = ("order_ref", "category")
    record_bulk = staticmethod(records.orders_record_bulk)
    staging = {
        "import_orders": {
            "customer_id": "bigint",
            "external_ref": "varchar(80)",
            "order_date": "date",
            "amount": "numeric(14, 2)",
            "quantity": "integer",
            "category": "varchar(50)",
        }
    }
    key_column = "order_ref"
    content_columns = [*ORDER_IDENTITY, "category"]

    def __init__(self, *, create_missing_customers, scope=None):
        # A customer created for a reference would belong to no one the scope allows.
        assert not (create_missing_customers and limited_to(scope)), "not within a scope"
        super().__init__(scope=scope)
        self.create_missing = create_missing_customers
        self.identities, self.missing = [], []

    def validate(self, chunk):
        return validation.validate_orders(
            chunk, customer_ids=self.customer_ids, create_missing=self.create_missing
        )

    def remember(self, chunk, clean):
        super().remember(chunk, clean)
        self.identities.append(_hashes(clean.loc[clean["order_ref"] == ""], ORDER_IDENTITY))
        if self.create_missing:
            self.missing.append(clean.loc[clean["customer_id"].isna(), [LINE, "customer_ref"]])

    def file_errors(self, errors):
        self.repeats = validation.repeat_numbers(_concat(self.identities, [LINE, "hash"]))
        return no_errors()

    def prepare(self, rejected, report):
        missing = _concat(self.missing, [LINE, "customer_ref"])
        refs = missing.loc[~missing[LINE].isin(rejected), "customer_ref"].unique()
        if len(refs):
            report.customers_created = create_customers(refs, now=timezone.now())
            self.customer_ids = pd.concat([self.customer_ids, lookups.customer_ids_for(refs)])

    def write(self, clean, report):
        refs = clean["order_ref"].copy()
        derive = (refs == "").to_numpy()
        refs[derive] = validation.derived_refs(clean[derive], ORDER_IDENTITY, self.repeats)
        rows = pd.DataFrame(
            {
                "customer_id": clean["customer_id"],
                "external_ref": refs,
                "order_date": clean["order_date"],
                "amount": clean["amount"],
                "quantity": clean["quantity"],
                "category": clean["category"],
            }
        )
        self.insert(rows, report)


class InvoiceImport(FactImport):
    kind = "invoices"
    required = ("customer_ref", "invoice_ref", "issue_date", "due_date", "amount")
    record_bulk = staticmethod(records.invoices_record_bulk)
    staging = {
        "import_invoices": {
            "customer_id": "bigint",
            "external_ref": "varchar(80)",
            "issue_date": "date",
            "due_date": "date",
            "amount": "numeric(14, 2)",
        }
    }
    key_column = "invoice_ref"
    content_columns = ["customer_ref", "issue_date", "due_date", "amount"]

    def validate(self, chunk):
        invoices = lookups.invoices_for(chunk["invoice_ref"])
        return validation.validate_invoices(
            chunk, customer_ids=self.customer_ids, invoices=invoices
        )

    def write(self, clean, report):
        rows = clean[["customer_id", "invoice_ref", "issue_date", "due_date", "amount"]]
        self.insert(rows.rename(columns={"invoice_ref": "external_ref"}), report)

    def finish(self, report):
        self.refresh_receivables()


# Payments carry no reference of their own; theirs is derived from these.
PAYMENT_IDENTITY = ["invoice_ref", "paid_date", "amount"]


class PaymentImport(FactImport):
    kind = "payments"
    required = ("customer_ref", "invoice_ref", "paid_date", "amount")
    record_bulk = staticmethod(records.payments_record_bulk)
    staging = {
        "import_payments": {
            "invoice_id": "bigint",
            "customer_id": "bigint",
            "external_ref": "varchar(120)",
            "paid_date": "date",
            "amount": "numeric(14, 2)",
        }
    }

    def __init__(self, *, scope=None):
        super().__init__(scope=scope)
        self.identities = []

    def validate(self, chunk):
        invoices = lookups.invoices_for(chunk["invoice_ref"])
        return validation.validate_payments(
            chunk, customer_ids=self.customer_ids, invoices=invoices
        )

    def remember(self, chunk, clean):
        self.identities.append(_hashes(clean, PAYMENT_IDENTITY))

    def file_errors(self, errors):
        self.repeats = validation.repeat_numbers(_concat(self.identities, [LINE, "hash"]))
        return no_errors()

    def write(self, clean, report):
        rows = pd.DataFrame(
            {
                "invoice_id": clean["invoice_id"],
                "customer_id": clean["customer_id"],
                "external_ref": validation.derived_refs(clean, PAYMENT_IDENTITY, self.repeats),
                "paid_date": clean["paid_date"],
                "amount": clean["amount"],
            }
        )
        self.insert(rows, report)

    def finish(self, report):
        self.refresh_receivables()


def limited_to(scope):
    """The user whose customers bound an import, or None when the import is not bounded
    (no scope given, or a user who sees every customer)."""
    if scope is None or can_see_all_customers(scope):
        return None
    return scope


def _hashes(frame, columns):
    return pd.DataFrame({LINE: frame[LINE].to_numpy(), "hash": row_hashes(frame, columns)})


def _concat(frames, columns):
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
