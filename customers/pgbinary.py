"""PostgreSQL's binary row format, built and read with numpy (the statements that
send and receive it are in customers.bulk: copy_binary, read_binary).

Text rows (customers.bulk.copy_rows) format every number as text in Python and
the server parses it again; at a million snapshot rows that was most of the
step's time. Here the rows are built in the wire format directly: the
fixed-width fields (integers as big-endian words, amounts as NUMERIC from whole
cents) as one numpy record per row, followed by the text fields, which must
have few distinct values (segment, tier): each row's text part is looked up
from the distinct combinations. An integer column may be nullable: a NULL is
written in the row's slot and its value bytes are then left out. Rows keep
their order.

Reading the other way (decode_rows) works for rows of fixed-width, non-null
values: one np.frombuffer instead of parsing CSV.

The format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary
Format"): a header, then per row a 16-bit field count and per field a 32-bit
length and the value's bytes, then a 16-bit -1.
"""

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
TRAILER = b"\xff\xff"
# Rows encoded at a time: bounds the temporary arrays to some tens of MB.
CHUNK_ROWS = 200_000
# NUMERIC from cents: five base-10000 digits, four before the point (weight 3) and one
# after it (dscale 2); the server drops leading zero digits. Amounts below 10^16 units.
_DIGITS = 5


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "int2", "int4", "int8", "bool", "cents" (→ NUMERIC with 2 decimals) or "text"
    nullable: bool = False  # integers only: missing values (NaN, NA) are written as NULL


# Bytes of each fixed-width kind on the wire.
_WIDTHS = {"int2": 2, "int4": 4, "int8": 8, "bool": 1}


def _value_fields(column, index):
    if column.kind in _WIDTHS:
        return [(f"v{index}", f">i{_WIDTHS[column.kind]}")]
    if column.kind == "cents":
        header = [(f"v{index}_{part}", ">i2") for part in ("ndigits", "weight", "sign", "dscale")]
        return header + [(f"v{index}_d{digit}", ">i2") for digit in range(_DIGITS)]
    raise ValueError(f"unknown column kind {column.kind!r}")


def wire_order(columns):
    """The columns as they go on the wire (and in the COPY statement): text ones last."""
    return [c for c in columns if c.kind != "text"] + [c for c in columns if c.kind == "text"]


def _fixed_part(frame, columns, field_count):
    """(rows, width) bytes: the field count and every fixed-width field of each row; and
    for each nullable column (byte offset, width, rows where it is NULL): the value bytes
    to leave out."""
    fields = [("count", ">i2")]
    for index, column in enumerate(columns):
        fields += [(f"n{index}", ">i4"), *_value_fields(column, index)]
    records = np.empty(len(frame), dtype=np.dtype(fields))
    records["count"] = field_count
    nulls = []
    for index, column in enumerate(columns):
        values = frame[column.name]
        if column.kind == "cents":
            records[f"n{index}"] = 2 * (4 + _DIGITS)
            _numeric_from_cents(records, index, values.to_numpy())
            continue
        width = _WIDTHS[column.kind]
        records[f"n{index}"] = width
        if column.nullable:
            missing = values.isna().to_numpy()
            records[f"n{index}"][missing] = -1
            values = values.fillna(0)
            nulls.append((records.dtype.fields[f"v{index}"][1], width, missing))
        records[f"v{index}"] = values.to_numpy(dtype=np.int64)
    return records.view(np.uint8).reshape(len(frame), -1), nulls


def _numeric_from_cents(records, index, cents):
    cents = np.asarray(cents, dtype=np.int64)
    if len(cents) and cents.min() < 0:
        raise ValueError("negative amounts are not encoded")
    units, fraction = np.divmod(cents, 100)
    records[f"v{index}_ndigits"] = _DIGITS
    records[f"v{index}_weight"] = _DIGITS - 2
    records[f"v{index}_sign"] = 0
    records[f"v{index}_dscale"] = 2
    for digit in range(_DIGITS - 1):
        records[f"v{index}_d{digit}"] = units // 10_000 ** (_DIGITS - 2 - digit) % 10_000
    records[f"v{index}_d{_DIGITS - 1}"] = fraction * 100


def _codes(series):
    """(code per row, distinct values as str): a Categorical's own, else factorized."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), [str(value) for value in series.cat.categories]
    codes, values = pd.factorize(series.astype(str))
    return codes, [str(value) for value in values]


def _text_part(frame, columns):
    """Per row, the index of its combination of text values, and each combination's bytes."""
    combination = np.zeros(len(frame), dtype=np.int64)
    tails = [b""]
    for column in columns:
        codes, values = _codes(frame[column.name])
        encoded = [value.encode() for value in values]
        fields = [len(value).to_bytes(4, "big") + value for value in encoded]
        combination = combination * len(fields) + codes
        tails = [tail + field for tail in tails for field in fields]
    return combination, tails


def encode_rows(frame, columns):
    """The rows' part of the binary COPY stream as a uint8 array (no header or trailer), fields
    in the order of `columns`, which must be wire_order(columns)."""
    fixed_columns = [c for c in columns if c.kind != "text"]
    text_columns = [c for c in columns if c.kind == "text"]
    if columns != fixed_columns + text_columns:
        raise ValueError("text columns go last: pass wire_order(columns)")
    fixed, nulls = _fixed_part(frame, fixed_columns, len(columns))
    combination, tails = _text_part(frame, text_columns)
    longest = max(len(tail) for tail in tails)
    table = np.zeros((len(tails), longest), dtype=np.uint8)
    for index, tail in enumerate(tails):
        table[index, : len(tail)] = np.frombuffer(tail, np.uint8)
    lengths = np.array([len(tail) for tail in tails])
    # Rows padded to the longest, then the padding masked out: row order is kept and no
    # per-byte index arrays are built.
    padded = np.empty((len(frame), fixed.shape[1] + longest), dtype=np.uint8)
    padded[:, : fixed.shape[1]] = fixed
    padded[:, fixed.shape[1] :] = table[combination]
    keep = np.arange(padded.shape[1]) < (fixed.shape[1] + lengths[combination])[:, None]
    for offset, width, missing in nulls:
        keep[missing, offset : offset + width] = False
    return padded[keep]


def binary_stream(frame, columns, chunk_rows=CHUNK_ROWS):
    """The whole binary COPY stream, encoded in chunks to bound the temporary arrays."""
    stream = io.BytesIO()
    stream.write(HEADER)
    for start in range(0, len(frame), chunk_rows):
        stream.write(encode_rows(frame.iloc[start : start + chunk_rows], columns))
    stream.write(TRAILER)
    stream.seek(0)
    return stream


_OUT_TYPES = {"int4": ">i4", "int8": ">i8", "date": ">i4", "days": ">i4"}
# PostgreSQL's binary dates count days from 2000-01-01.
_EPOCH = np.datetime64("2000-01-01", "D")
# Days from 1970-01-01 to 2000-01-01.
_EPOCH_DAYS = int(_EPOCH.astype(np.int64))


def decode_rows(data, fields):
    """The rows of a binary stream as a DataFrame: `fields` is [(name, "int4" | "int8" |
    "date" | "days")], every value NOT NULL, so rows have one fixed layout and are read
    with one np.frombuffer (no text to parse). A "date" reads as datetime64, "days" as
    the int64 days since 1970-01-01 of a date column. The columns are not copied into
    one block: a read of ten million rows holds each value once."""
    layout = [("count", ">i2")]
    for name, kind in fields:
        layout += [(f"{name}_length", ">i4"), (name, _OUT_TYPES[kind])]
    row = np.dtype(layout)
    body = len(data) - len(HEADER) - len(TRAILER)
    if bytes(data[: len(HEADER)]) != HEADER or body % row.itemsize:
        raise ValueError("unexpected binary COPY layout")
    records = np.frombuffer(data, dtype=row, count=body // row.itemsize, offset=len(HEADER))
    if len(records) and (records["count"] != len(fields)).any():
        raise ValueError("unexpected field count in binary COPY")
    columns = {}
    for name, kind in fields:
        if len(records) and (records[f"{name}_length"] != row[name].itemsize).any():
            raise ValueError(f"{name}: NULL or unexpected width in binary COPY")
        values = records[name].astype(np.int64)
        if kind == "date":
            values = _EPOCH + values.astype("timedelta64[D]")
        elif kind == "days":
            values += _EPOCH_DAYS
        columns[name] = values
    return pd.DataFrame(columns, copy=False)
