"""Pure checks of import rows, vectorised over pandas frames.

Inputs are chunks from `readers` (string cells and a `line` column) and the
database facts the checks need, passed in as Series (reference → id) or frames.
Problems come back as an errors frame with one row per problem: line, column,
reason (in words a sales admin understands, translated). Nothing here reads
files or the database, so every rule can be tested with a hand-written frame.

Speed matters (ten million orders go through here twice): values already in
their canonical form take a fast path, and only the others are taken apart
to say what is wrong with them.
"""

import hashlib
import re

import numpy as np
import pandas as pd
from django.utils.translation import gettext_lazy as _

from customers import network, ranges
from customers.imports import headers
from customers.imports.readers import LINE
from customers.models import Customer

ERROR_COLUMNS = [LINE, "column", "reason"]

# Amounts are stored as numeric(14, 2): at most 12 digits before the point.
AMOUNT_INT_DIGITS = 12
MAX_QUANTITY = 2_147_483_647
CANONICAL_AMOUNT = r"(?:0|[1-9]\d{0,11})\.\d\d"
AMOUNT_PATTERN = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
CANONICAL_QUANTITY = r"[1-9]\d{0,8}"
QUANTITY_PATTERN = r"\+?\d+(?:\.0*)?"
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
TAG_SEPARATOR = r"\s*[;|]\s*"
# Control characters (Unicode Cc) cannot be stored (NUL) or shown; free text may hold
# tabs and line breaks.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_IN_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
FREE_TEXT_COLUMNS = {"notes"}

CUSTOMER_LENGTHS = {
    "customer_ref": 64,
    "name": 200,
    "region": 50,
    "address": 255,
    "phone": 30,
    "email": 254,
    "parent_ref": 64,
}
CUSTOMER_CHOICES = {
    "kind": Customer.Kind.values,
    "channel_role": Customer.ChannelRole.values,
    "terminal_type": Customer.TerminalType.values,
    "source": Customer.Source.values,
}
TAG_LENGTH = 50
# The cells taken as text (the others are parsed strictly: dates, amounts, choices).
CUSTOMER_TEXT = [
    "customer_ref",
    "name",
    "parent_ref",
    "region",
    "address",
    "phone",
    "email",
    "owner",
    "team",
    "tags",
    "notes",
]
ORDER_TEXT = ["customer_ref", "order_ref", "category"]
INVOICE_TEXT = ["customer_ref", "invoice_ref"]
PAYMENT_TEXT = ["customer_ref", "invoice_ref"]

REQUIRED = _("This value is required.")
TOO_LONG = _("Too long: at most %(limit)s characters.")
NOT_A_DATE = _("“%(value)s” is not a date; write dates as YYYY-MM-DD, e.g. 2026-01-31.")
DATE_OUT_OF_RANGE = _("“%(value)s” is out of range: enter a date between %(first)s and %(last)s.")
CONTROL_CHARACTER_FOUND = _(
    "Contains a control character (%(code)s), which cannot be stored; remove it."
)
NOT_AN_AMOUNT = _(
    "“%(value)s” is not an amount; write it like 1234.50, "
    "without thousands separators or currency signs."
)
NEGATIVE_AMOUNT = _("The amount cannot be negative.")
AMOUNT_NOT_POSITIVE = _("The amount must be greater than zero.")
TOO_MANY_DECIMALS = _("An amount has at most 2 decimal places.")
AMOUNT_TOO_LARGE = _("The amount is too large.")
BAD_QUANTITY = _("The quantity must be a whole number greater than zero.")
QUANTITY_TOO_LARGE = _("The quantity is too large.")
NOT_ALLOWED = _("“%(value)s” is not allowed here; use one of: %(allowed)s.")
NOT_AN_EMAIL = _("“%(value)s” is not an email address.")
UNKNOWN_USER = _("No user has the username “%(value)s”.")
UNKNOWN_TEAM = _("No team is named “%(value)s”.")
UNKNOWN_CUSTOMER = _("No customer with reference “%(value)s” exists.")
UNKNOWN_PARENT = _(
    "No customer with reference “%(value)s” exists, in the database or in this file."
)
REJECTED_PARENT = _("The supplying customer “%(value)s” has errors in this file.")
OWN_PARENT = _("A customer cannot be supplied by itself.")
TAG_TOO_LONG = _("A tag has at most %(limit)s characters.")
UNKNOWN_INVOICE = _("No invoice with reference “%(value)s” exists; import the invoices first.")
OTHER_CUSTOMERS_INVOICE = _(
    "Invoice “%(invoice)s” belongs to customer “%(owner)s”, not to “%(customer)s”."
)
OTHER_HIDDEN_CUSTOMERS_INVOICE = _(
    "Invoice “%(invoice)s” belongs to another customer, not to “%(customer)s”."
)
# Imports limited to the customers the uploader may see (the site's import page).
HIDDEN_CUSTOMER = _("The customer “%(value)s” is handled by others; your import cannot change it.")
OWNER_NOT_YOURS = _("“%(value)s” is not one of the people you may hand customers to.")
TEAM_NOT_YOURS = _("“%(value)s” is not one of your teams.")
DUE_BEFORE_ISSUE = _("The due date is before the issue date.")
CONFLICTING_DUPLICATE = _("The same %(column)s is already on line %(line)s with different data.")


# Building blocks ---------------------------------------------------------------------------


def no_errors() -> pd.DataFrame:
    """An empty errors frame."""
    return pd.DataFrame({LINE: pd.Series(dtype="int64"), "column": [], "reason": []})


def row_errors(frame, mask, column, reason) -> pd.DataFrame:
    """Errors for the rows of `frame` under `mask`; `reason` is one text or a Series of texts
    indexed like `frame` (it may hold only the rows in error)."""
    if not mask.any():
        return no_errors()
    if isinstance(reason, pd.Series):
        reasons = reason.reindex(frame.index[mask]).to_numpy()
    else:
        reasons = str(reason)
    return pd.DataFrame(
        {LINE: frame.loc[mask, LINE].to_numpy(), "column": column, "reason": reasons}
    )


def with_value(template, values, **extra) -> pd.Series:
    """`template` % {"value": v, **extra} for each value (used only on the rows in error);
    control characters in the value are shown as escapes."""
    return pd.Series(
        [template % {"value": _shown(value), **extra} for value in values],
        index=values.index,
        dtype=str,
    )


def _shown(value):
    return CONTROL_CHARACTER.sub(lambda found: f"\\x{ord(found.group()):02x}", str(value))


def combine(errors) -> pd.DataFrame:
    """One errors frame from several, in line order (checks keep their order within a line)."""
    errors = [frame for frame in errors if not frame.empty]
    if not errors:
        return no_errors()
    return pd.concat(errors, ignore_index=True).sort_values(LINE, kind="stable", ignore_index=True)


def without_errors(frame, errors) -> pd.DataFrame:
    """The rows of `frame` whose line has no error."""
    return frame.loc[~frame[LINE].isin(errors[LINE])]


def missing_columns(columns, required) -> list[str]:
    """The required column names absent from `columns`."""
    return [column for column in required if column not in columns]


def lookup(values, known) -> pd.Series:
    """The id of each value in `known` (Series: reference → id); NA where unknown or blank."""
    ids = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if len(known):
        positions = known.index.get_indexer(values.to_numpy(dtype=object))
        found = positions >= 0
        ids[found] = known.to_numpy()[positions[found]]
    return ids


# Checks of one column ----------------------------------------------------------------------


def check_required(frame, columns) -> pd.DataFrame:
    """An error for every empty cell of the required columns."""
    return combine(row_errors(frame, frame[column] == "", column, REQUIRED) for column in columns)


def check_max_length(frame, column, limit) -> pd.DataFrame:
    """An error for every cell longer than `limit` characters."""
    too_long = frame[column].str.len() > limit
    return row_errors(frame, too_long, column, TOO_LONG % {"limit": limit})


def check_choice(frame, column, allowed) -> pd.DataFrame:
    """An error for every filled cell that is not one of the `allowed` values, naming them."""
    values = frame[column]
    bad = (values != "") & ~values.isin(allowed)
    reasons = with_value(NOT_ALLOWED, values[bad], allowed=", ".join(allowed))
    return row_errors(frame, bad, column, reasons)


def check_email(frame, column) -> pd.DataFrame:
    """An error for every filled cell that does not look like an email address."""
    values = frame[column]
    bad = (values != "") & ~values.str.fullmatch(EMAIL_PATTERN)
    return row_errors(frame, bad, column, with_value(NOT_AN_EMAIL, values[bad]))


def check_known(frame, column, ids, template) -> pd.DataFrame:
    """An error for every filled cell whose looked-up id (`ids`, see `lookup`) is NA."""
    values = frame[column]
    bad = (values != "") & ids.isna().to_numpy()
    return row_errors(frame, bad, column, with_value(template, values[bad]))


def check_text(frame, columns) -> pd.DataFrame:
    """An error for every cell of these text columns that holds a control character
    (tabs and line breaks are allowed in free text such as notes)."""
    errors = []
    for column in columns:
        if column not in frame.columns:
            continue
        pattern = CONTROL_IN_FREE_TEXT if column in FREE_TEXT_COLUMNS else CONTROL_CHARACTER
        values = frame[column]
        # One search over the whole column first: nearly every file has none.
        if not pattern.search("".join(values.tolist())):
            continue
        found = values.map(pattern.search)
        bad = found.notna()
        reasons = pd.Series(
            [CONTROL_CHARACTER_FOUND % {"code": f"U+{ord(hit.group()):04X}"} for hit in found[bad]],
            index=values.index[bad],
            dtype=str,
        )
        errors.append(row_errors(frame, bad.to_numpy(), column, reasons))
    return combine(errors)


def check_date_range(frame, column, dates) -> pd.DataFrame:
    """An error for every date (canonical text, see `parse_dates`) outside the business
    dates: from ranges.FIRST_DAY to ranges.YEARS_AHEAD years after today."""
    first, last = ranges.FIRST_DAY.isoformat(), ranges.latest_day().isoformat()
    bad = dates.notna() & ((dates < first) | (dates > last))
    reasons = with_value(DATE_OUT_OF_RANGE, dates[bad], first=first, last=last)
    return row_errors(frame, bad.to_numpy(), column, reasons)


def parse_business_dates(frame, column) -> tuple[pd.Series, pd.DataFrame]:
    """`parse_dates`, with the dates out of range as errors too."""
    dates, errors = parse_dates(frame, column)
    return dates, combine([errors, check_date_range(frame, column, dates)])


CANONICAL_DATE = r"\d{4}-\d\d-\d\d"
# Year first, as people type it: 2026/11/21, 2026-1-5, 2026.1.5, 2026年11月21日, 20261121;
# a time of day after it (a spreadsheet's date cell saved as text) is dropped.
TYPED_DATE = re.compile(
    r"(?P<year>\d{4})(?:\s*[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*日?"
    r"|(?P<month2>\d\d)(?P<day2>\d\d))"
    r"(?:[ T]\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?)?"
)


def parse_dates(frame, column) -> tuple[pd.Series, pd.DataFrame]:
    """Dates as canonical texts (YYYY-MM-DD); errors for the filled cells that are not real
    dates. Besides 2026-01-05, the forms of TYPED_DATE are read."""
    values = frame[column]
    texts = values.where(values.str.fullmatch(CANONICAL_DATE))
    rest = values[texts.isna() & (values != "")]
    if len(rest):
        parts = rest.str.extract(f"^{TYPED_DATE.pattern}$")
        month = parts["month"].fillna(parts["month2"]).str.zfill(2)
        day = parts["day"].fillna(parts["day2"]).str.zfill(2)
        texts[rest.index] = parts["year"] + "-" + month + "-" + day
    parsed = pd.to_datetime(texts, format="%Y-%m-%d", errors="coerce")
    bad = (values != "") & parsed.isna()
    dates = texts.where(parsed.notna())
    return dates, row_errors(frame, bad, column, with_value(NOT_A_DATE, values[bad]))


def parse_amounts(frame, column, *, negative=AMOUNT_NOT_POSITIVE) -> tuple[pd.Series, pd.DataFrame]:
    """Amounts as canonical texts ('1234.50'); errors for the filled cells that are not an
    amount greater than zero with at most 2 decimals below 10^12 (`negative`: the reason
    given for a negative one)."""
    values = frame[column]
    amounts = values.where(values.str.fullmatch(CANONICAL_AMOUNT))
    rest = values[amounts.isna() & (values != "")]
    reasons = pd.Series(np.nan, index=frame.index, dtype=object)
    if len(rest):
        rest_amounts, rest_reasons = _diagnose_amounts(rest, negative=negative)
        amounts[rest.index] = rest_amounts
        reasons[rest.index] = rest_reasons
    zero = amounts == "0.00"
    reasons[zero] = str(AMOUNT_NOT_POSITIVE)
    amounts[zero] = np.nan
    bad = reasons.notna()
    return amounts, row_errors(frame, bad, column, reasons)


def _diagnose_amounts(values, *, negative):
    """Canonical texts of the valid non-canonical amounts ("12.5", "+3"), reasons for the rest."""
    number = values.str.fullmatch(AMOUNT_PATTERN)
    parts = values.str.extract(r"^[+-]?(\d*)(?:\.(\d*))?$").fillna("")
    digits, decimals = parts[0].str.lstrip("0"), parts[1].str.rstrip("0")
    zero = (digits == "") & (decimals == "")
    checks = [
        (~number, with_value(NOT_AN_AMOUNT, values[~number])),
        (values.str.startswith("-") & ~zero, negative),
        (decimals.str.len() > 2, TOO_MANY_DECIMALS),
        (digits.str.len() > AMOUNT_INT_DIGITS, AMOUNT_TOO_LARGE),
    ]
    reasons = _first_reason(values.index, checks)
    canonical = digits.replace("", "0") + "." + decimals.str.pad(2, side="right", fillchar="0")
    return canonical.where(reasons.isna()), reasons


def parse_quantities(frame, column) -> tuple[pd.Series, pd.DataFrame]:
    """Quantities as integers; errors for the filled cells that are not whole numbers from 1
    to 2,147,483,647 (3.0 and +3 are read as 3)."""
    values = frame[column]
    canonical = values.str.fullmatch(CANONICAL_QUANTITY)
    quantities = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    quantities[canonical] = pd.to_numeric(values[canonical]).astype("int64")
    rest = values[~canonical & (values != "")]
    if rest.empty:
        return quantities, no_errors()
    whole = rest.str.fullmatch(QUANTITY_PATTERN)
    digits = rest.str.extract(r"^\+?(\d*)")[0].fillna("").str.lstrip("0")
    number = pd.to_numeric(digits.str.slice(0, 11).replace("", "0"))
    too_large = (digits.str.len() > 10) | (number > MAX_QUANTITY)
    reasons = _first_reason(
        rest.index, [(~whole | (digits == ""), BAD_QUANTITY), (too_large, QUANTITY_TOO_LARGE)]
    )
    quantities[rest.index[reasons.isna()]] = number[reasons.isna()].astype("int64")
    return quantities, row_errors(frame, frame.index.isin(reasons.dropna().index), column, reasons)


def _first_reason(index, checks) -> pd.Series:
    """For each row, the reason of the first of `checks` (mask, reason) that fails, else NaN."""
    reasons = pd.Series(np.nan, index=index, dtype=object)
    for mask, reason in checks:
        mask = mask.to_numpy() & reasons.isna().to_numpy()
        if isinstance(reason, pd.Series):
            reasons[mask] = reason.reindex(index[mask]).to_numpy()
        else:
            reasons[mask] = str(reason)
    return reasons


def split_tags(values) -> pd.Series:
    """Each cell's tags as a list, split on ';' or '|', blanks dropped."""
    return values.str.split(TAG_SEPARATOR, regex=True).map(
        lambda tags: [tag for tag in tags if tag] if isinstance(tags, list) else []
    )


# Keys, duplicates and derived references ---------------------------------------------------


def row_hashes(frame, columns) -> np.ndarray:
    """A 64-bit hash of the `columns` of each row: equal rows, equal hashes. Python's
    hash: fast, and stable within one process, which is all one import needs."""
    rows = zip(*(frame[column].to_numpy(dtype=object) for column in columns), strict=True)
    return np.fromiter(map(hash, rows), dtype=np.int64, count=len(frame))


def repeated(hashes) -> pd.DataFrame:
    """The rows of `hashes` (line, hash) whose hash occurs more than once."""
    return hashes.loc[hashes["hash"].duplicated(keep=False)]


def conflicting_duplicates(rows, key, content) -> pd.DataFrame:
    """Errors for rows whose `key` is on an earlier line with other `content` columns.

    `rows` are clean rows, in line order; identical repeats are no error."""
    rows = rows.loc[rows[key].duplicated(keep=False)]
    content = [column for column in content if column != key]
    if rows.empty:
        return no_errors()
    firsts = rows.drop_duplicates(key).set_index(key)
    first_rows = firsts.loc[rows[key], content].set_axis(rows.index)
    differs = (rows[content].astype(str) != first_rows.astype(str)).any(axis=1)
    first_lines = firsts.loc[rows.loc[differs, key], LINE]
    reasons = [CONFLICTING_DUPLICATE % {"column": key, "line": line} for line in first_lines]
    return pd.DataFrame(
        {LINE: rows.loc[differs, LINE].to_numpy(), "column": key, "reason": reasons}
    )


def repeat_numbers(hashes) -> pd.Series:
    """For each row identical to earlier rows, how many came before it (line → n ≥ 1).

    `hashes` has line and hash (of the row's data), in line order."""
    candidates = repeated(hashes)
    counts = candidates.groupby("hash", sort=False).cumcount()
    later = (counts > 0).to_numpy()
    return pd.Series(counts.to_numpy()[later], index=candidates[LINE].to_numpy()[later])


def derived_refs(frame, columns, repeats) -> pd.Series:
    """A stable reference for rows without one: 'auto-' and a hash of the row's data and
    of how many identical rows came before it in the file, so a re-import matches it."""
    texts = frame[LINE].map(repeats).fillna(0).astype("int64").astype(str)
    for column in reversed(columns):
        texts = frame[column].astype(str) + "\x1f" + texts
    return pd.Series(
        ["auto-" + hashlib.sha1(text.encode()).hexdigest()[:24] for text in texts],
        index=frame.index,
        dtype=str,
    )


# Rows of each kind -------------------------------------------------------------------------


def validate_customers(frame, *, customer_ids, user_ids, team_ids):
    """Check customer rows → (clean, errors). Clean rows carry owner_id, team_id and
    tag_list for the columns given, and parent_known (False: the parent is in this file)."""
    columns = set(frame.columns)
    frame = frame.assign(
        **{
            column: headers.choices_as_codes(frame[column], column)
            for column in CUSTOMER_CHOICES
            if column in columns
        }
    )
    owners = lookup(frame["owner"], user_ids) if "owner" in columns else None
    teams = lookup(frame["team"], team_ids) if "team" in columns else None
    checks = [check_required(frame, ["customer_ref", "name"]), check_text(frame, CUSTOMER_TEXT)]
    checks += [
        check_max_length(frame, column, limit)
        for column, limit in CUSTOMER_LENGTHS.items()
        if column in columns
    ]
    checks += [
        check_choice(frame, column, allowed)
        for column, allowed in CUSTOMER_CHOICES.items()
        if column in columns
    ]
    optional = {
        "email": lambda: check_email(frame, "email"),
        "owner": lambda: check_known(frame, "owner", owners, UNKNOWN_USER),
        "team": lambda: check_known(frame, "team", teams, UNKNOWN_TEAM),
        "tags": lambda: _check_tags(frame),
        "parent_ref": lambda: _check_own_parent(frame),
    }
    checks += [check() for column, check in optional.items() if column in columns]
    errors = combine(checks)
    clean = frame.assign(owner_id=owners, team_id=teams)
    clean = without_errors(clean, errors).copy()
    if "tags" in columns:
        clean["tag_list"] = split_tags(clean["tags"])
    if "parent_ref" in columns:
        parent = clean["parent_ref"]
        clean["parent_known"] = (parent == "") | parent.isin(customer_ids.index)
    return clean, errors


def unresolved_parents(parents, customers, rejected_lines) -> pd.DataFrame:
    """Errors for rows whose parent is neither in the database nor imported from this
    file, repeated until stable since a rejected parent rejects its children.

    `parents`: line and parent_ref of the rows whose parent is not in the database;
    `customers`: line and customer_ref of every row of the file."""
    defined = parents["parent_ref"].isin(customers["customer_ref"]).to_numpy()
    rejected = pd.Index(rejected_lines)
    errors = []
    while True:
        imported = customers.loc[~customers[LINE].isin(rejected), "customer_ref"]
        failing = ~parents["parent_ref"].isin(imported) & ~parents[LINE].isin(rejected)
        if not failing.any():
            return combine(errors)
        rows = parents.loc[failing]
        reasons = [
            (REJECTED_PARENT if known else UNKNOWN_PARENT) % {"value": ref}
            for ref, known in zip(rows["parent_ref"], defined[failing.to_numpy()], strict=True)
        ]
        errors.append(
            pd.DataFrame({LINE: rows[LINE].to_numpy(), "column": "parent_ref", "reason": reasons})
        )
        rejected = rejected.append(pd.Index(rows[LINE]))


def supplier_cycles(suppliers, known_parents) -> pd.DataFrame:
    """Errors for the rows whose supplier, once the file is written, leads back to the
    customer itself (through the file's rows or the recorded network).

    `suppliers`: line, customer_ref and parent_ref of the clean rows naming a supplier;
    `known_parents`: customer_ref and parent_ref of the recorded customers with one."""
    # A customer's last row is the one written.
    written = suppliers.drop_duplicates("customer_ref", keep="last")
    looping = network.import_cycles(written[["customer_ref", "parent_ref"]], known_parents)
    bad = suppliers["customer_ref"].isin(looping)
    return row_errors(suppliers, bad, "parent_ref", network.SUPPLIER_CYCLE)


def validate_orders(frame, *, customer_ids, create_missing):
    """Check order rows → (clean, errors). Clean rows carry customer_id (NA for a customer
    to create when `create_missing`), canonical order_date and amount, integer quantity."""
    dates, date_errors = parse_business_dates(frame, "order_date")
    amounts, amount_errors = parse_amounts(frame, "amount", negative=NEGATIVE_AMOUNT)
    quantities, quantity_errors = parse_quantities(frame, "quantity")
    ids = lookup(frame["customer_ref"], customer_ids)
    checks = [
        check_required(frame, ["customer_ref", "order_date", "amount", "quantity"]),
        check_max_length(frame, "customer_ref", CUSTOMER_LENGTHS["customer_ref"]),
        check_max_length(frame, "order_ref", 80),
        check_max_length(frame, "category", 50),
        check_text(frame, ORDER_TEXT),
        date_errors,
        amount_errors,
        quantity_errors,
    ]
    if not create_missing:
        checks.append(check_known(frame, "customer_ref", ids, UNKNOWN_CUSTOMER))
    errors = combine(checks)
    clean = frame.assign(customer_id=ids, order_date=dates, amount=amounts, quantity=quantities)
    return without_errors(clean, errors), errors


def validate_invoices(frame, *, customer_ids, invoices):
    """Check invoice rows → (clean, errors); `invoices` (invoice_ref, customer_ref) are the
    ones already recorded, which must stay with their customer."""
    issued, issue_errors = parse_business_dates(frame, "issue_date")
    due, due_errors = parse_business_dates(frame, "due_date")
    amounts, amount_errors = parse_amounts(frame, "amount")
    ids = lookup(frame["customer_ref"], customer_ids)
    early = issued.notna() & due.notna() & (due < issued)
    errors = combine(
        [
            check_required(
                frame, ["customer_ref", "invoice_ref", "issue_date", "due_date", "amount"]
            ),
            check_max_length(frame, "invoice_ref", 80),
            check_text(frame, INVOICE_TEXT),
            issue_errors,
            due_errors,
            row_errors(frame, early, "due_date", DUE_BEFORE_ISSUE),
            amount_errors,
            check_known(frame, "customer_ref", ids, UNKNOWN_CUSTOMER),
            _check_invoice_customer(frame, invoices, "invoice_ref", customer_ids.index),
        ]
    )
    clean = frame.assign(customer_id=ids, issue_date=issued, due_date=due, amount=amounts)
    return without_errors(clean, errors), errors


def validate_payments(frame, *, customer_ids, invoices):
    """Check payment rows → (clean, errors); each must name a recorded invoice of its
    customer (`invoices`: invoice_ref, invoice_id, customer_id, customer_ref)."""
    dates, date_errors = parse_business_dates(frame, "paid_date")
    amounts, amount_errors = parse_amounts(frame, "amount")
    by_ref = invoices.set_index("invoice_ref")
    invoice_ids = lookup(frame["invoice_ref"], by_ref["invoice_id"])
    errors = combine(
        [
            check_required(frame, ["customer_ref", "invoice_ref", "paid_date", "amount"]),
            check_text(frame, PAYMENT_TEXT),
            date_errors,
            amount_errors,
            check_known(
                frame, "customer_ref", lookup(frame["customer_ref"], customer_ids), UNKNOWN_CUSTOMER
            ),
            check_known(frame, "invoice_ref", invoice_ids, UNKNOWN_INVOICE),
            _check_invoice_customer(frame, invoices, "customer_ref", customer_ids.index),
        ]
    )
    clean = frame.assign(
        invoice_id=invoice_ids,
        customer_id=lookup(frame["invoice_ref"], by_ref["customer_id"]),
        paid_date=dates,
        amount=amounts,
    )
    return without_errors(clean, errors), errors


def _check_invoice_customer(frame, invoices, column, known_refs):
    """Errors where the row's invoice is recorded for another customer than the row's; that
    customer is named only if its reference is among `known_refs` (those the import sees)."""
    owners = frame["invoice_ref"].map(invoices.set_index("invoice_ref")["customer_ref"])
    bad = (frame["customer_ref"] != "") & owners.notna() & (owners != frame["customer_ref"])

    def reason(invoice, owner, customer):
        template = (
            OTHER_CUSTOMERS_INVOICE if owner in known_refs else OTHER_HIDDEN_CUSTOMERS_INVOICE
        )
        return template % {"invoice": invoice, "owner": owner, "customer": customer}

    reasons = pd.Series(
        [
            reason(invoice, owner, customer)
            for invoice, owner, customer in zip(
                frame.loc[bad, "invoice_ref"],
                owners[bad],
                frame.loc[bad, "customer_ref"],
                strict=True,
            )
        ],
        index=frame.index[bad],
        dtype=str,
    )
    return row_errors(frame, bad, column, reasons)


def scope_errors(clean, *, recorded, visible, owner_ids, team_ids) -> pd.DataFrame:
    """Errors of clean customer rows that would reach beyond what the uploader may touch: a
    recorded customer they may not see (`recorded`, `visible`: reference → id), an owner
    outside `owner_ids` or a team outside `team_ids` (sets of ids)."""
    refs = clean["customer_ref"]
    hidden = refs.isin(recorded.index) & ~refs.isin(visible.index)
    errors = [row_errors(clean, hidden, "customer_ref", with_value(HIDDEN_CUSTOMER, refs[hidden]))]
    for column, allowed, template in (
        ("owner", owner_ids, OWNER_NOT_YOURS),
        ("team", team_ids, TEAM_NOT_YOURS),
    ):
        if column not in clean.columns:
            continue
        ids = clean[f"{column}_id"]
        outside = ids.notna() & ~ids.isin(list(allowed))
        errors.append(
            row_errors(clean, outside, column, with_value(template, clean.loc[outside, column]))
        )
    return combine(errors)


def _check_tags(frame):
    too_long = split_tags(frame["tags"]).map(
        lambda tags: any(len(tag) > TAG_LENGTH for tag in tags)
    )
    return row_errors(frame, too_long.astype(bool), "tags", TAG_TOO_LONG % {"limit": TAG_LENGTH})


def _check_own_parent(frame):
    parent = frame["parent_ref"]
    own = (parent != "") & (parent == frame["customer_ref"])
    return row_errors(frame, own, "parent_ref", OWN_PARENT)
