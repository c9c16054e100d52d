"""Likely duplicates in a customer import, reported as warnings: the rows are written.

A row looks like a duplicate when its phone, or its normalised name in its region
(customers.duplicate_keys), matches an earlier row of the file with another reference,
or a customer already recorded under another reference. The file is remembered as
hashes of those keys, a few numbers a row, so that a million-row file costs little;
the database is asked chunk by chunk, through the key indexes.

A customer the importing user may not see is counted, never named.
"""

import numpy as np
import pandas as pd
from django.db.models import BooleanField, Q, Value
from django.utils.translation import gettext as _

from customers.access import can_see_all_customers
from customers.duplicate_keys import name_keys, phone_keys
from customers.imports.readers import LINE
from customers.imports.validation import combine, row_hashes
from customers.models import Customer

# Keys asked of the database per query (SQLite allows some 32,000 parameters).
LOOKUP_BATCH = 2000


def keys_of(clean) -> pd.DataFrame:
    """The duplicate keys of clean customer rows: line, customer_ref, phone_key, name_key
    (empty when the file gives no phone or name) and region."""

    def column(name):
        if name in clean.columns:
            return clean[name].fillna("").astype(str)
        return pd.Series("", index=clean.index)

    return pd.DataFrame(
        {
            LINE: clean[LINE].to_numpy(),
            "customer_ref": column("customer_ref").to_numpy(),
            "phone_key": phone_keys(column("phone")).to_numpy(),
            "name_key": name_keys(column("name")).to_numpy(),
            "region": column("region").str.strip().to_numpy(),
        }
    )


def key_hashes(keys) -> pd.DataFrame:
    """What the file-wide check keeps of a chunk's keys: line and hashes of the reference,
    the phone, and the name with the region (0 where there is no key)."""
    has_name = (keys["name_key"] != "").to_numpy()
    has_phone = (keys["phone_key"] != "").to_numpy()
    return pd.DataFrame(
        {
            LINE: keys[LINE].to_numpy(),
            "ref": row_hashes(keys, ["customer_ref"]),
            "phone": np.where(has_phone, row_hashes(keys, ["phone_key"]), 0),
            "name": np.where(has_name, row_hashes(keys, ["name_key", "region"]), 0),
        }
    )


def within_file(hashes) -> pd.DataFrame:
    """Warnings for rows whose phone, or name in the region, is on an earlier line of the
    file under another reference."""
    warnings = []
    for key, column, reason in (
        ("phone", "phone", _("Same phone as line %(line)s, another customer.")),
        ("name", "name", _("Same name in the same region as line %(line)s, another customer.")),
    ):
        keyed = hashes.loc[hashes[key] != 0].sort_values(LINE, kind="stable")
        first = keyed.groupby(key, sort=False)[[LINE, "ref"]].transform("first")
        mask = (first["ref"] != keyed["ref"]).to_numpy()
        texts = pd.Series([reason % {"line": line} for line in first[LINE][mask]])
        warnings.append(
            pd.DataFrame({LINE: keyed[LINE][mask].to_numpy(), "column": column, "reason": texts})
        )
    return combine(warnings)


def against_database(keys, *, by) -> pd.DataFrame:
    """Warnings for rows whose phone, or name in the region, is a recorded customer's under
    another reference. Customers `by` may not see are counted, not named (no `by`: all)."""
    if by is None or can_see_all_customers(by):
        visible_ids = None
    else:
        visible_ids = Customer.objects.visible_to(by).values("pk")
    warnings = []
    for key, column, fields in (
        ("phone_key", "phone", ["phone_key"]),
        ("name_key", "name", ["name_key", "region"]),
    ):
        wanted = keys.loc[keys[key] != ""]
        found = _recorded(wanted[key].unique(), key, visible_ids)
        if found.empty:
            continue
        matched = wanted.merge(found, on=fields, suffixes=("", "_recorded"))
        matched = matched.loc[matched["customer_ref"] != matched["customer_ref_recorded"]]
        if matched.empty:
            continue
        reasons = matched.groupby(LINE, sort=True).apply(
            lambda rows, column=column: _reason(rows, column), include_groups=False
        )
        warnings.append(
            pd.DataFrame({LINE: reasons.index.to_numpy(), "column": column, "reason": reasons})
        )
    return combine(warnings)


def _recorded(values, key, visible_ids) -> pd.DataFrame:
    """The recorded customers holding one of `values` as `key`: reference, name key,
    region, phone key, name (blank when not visible)."""
    frames = []
    for start in range(0, len(values), LOOKUP_BATCH):
        batch = list(values[start : start + LOOKUP_BATCH])
        visible = Value(True, BooleanField()) if visible_ids is None else Q(pk__in=visible_ids)
        rows = Customer.objects.filter(**{f"{key}__in": batch}).annotate(visible=visible)
        frames.append(
            pd.DataFrame.from_records(
                rows.values_list("external_ref", "name_key", "region", "phone_key", "visible"),
                columns=["customer_ref_recorded", "name_key", "region", "phone_key", "visible"],
            )
        )
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame()
    found = pd.concat(frames, ignore_index=True)
    other = "name_key" if key == "phone_key" else "phone_key"
    return found.drop(columns=[other])


def _reason(rows, column) -> str:
    """The warning of one line, naming the visible customers it matches (a few)."""
    named = rows.loc[rows["visible"].astype(bool), "customer_ref_recorded"].tolist()
    hidden = int((~rows["visible"].astype(bool)).sum())
    if column == "phone":
        text = _("Same phone as a recorded customer")
    else:
        text = _("Same name in the same region as a recorded customer")
    parts = []
    if named:
        parts.append(", ".join(named[:5]) + ("…" if len(named) > 5 else ""))
    if hidden:
        parts.append(_("%(count)s you cannot see") % {"count": hidden})
    return f"{text}: {'; '.join(parts)}."
