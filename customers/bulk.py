"""Set-wise reads and writes for the nightly steps and bulk imports: the one module
that speaks COPY.

PostgreSQL gets COPY (about six times faster than batched INSERTs at a million
rows); other databases fall back to batched statements through the same calls.

- In, text: `copy_rows` (a DataFrame as CSV; any database), `copy_text` (columns
  already formatted as text, tab-separated; PostgreSQL), and `update_rows` /
  `update_unchanged_rows` through a staging table.
- In, binary: `copy_binary` (numeric and few-valued text columns encoded with numpy
  by customers.pgbinary; PostgreSQL).
- Out: `read_frame` (any database), `read_rows` (CSV into pandas on PostgreSQL,
  `read_frame` elsewhere), `read_binary` (fixed-width non-null columns; PostgreSQL).
"""

import csv
import io
import itertools
from contextlib import contextmanager

import pandas as pd
from django.db import OperationalError, connection, transaction

from customers import pgbinary
from customers.pgbinary import Column  # noqa: F401  (re-exported: steps describe columns)
from customers.threads import connection_threads

# Enough for a million groups in memory; PostgreSQL's default (4 MB) spills to disk.
AGGREGATION_WORK_MEM = "256MB"

# A write that rewrites at least this share of a table's rows sets its secondary indexes
# aside and builds them again (see indexes_set_aside): a row rewritten in place adds an
# entry to every index of the table, one random page at a time, while a build sorts
# once. Under the customers' 22 indexes at 1M, 155,000 rows rewritten in place took 70 s
# and building the indexes takes about 50 s: the two cost the same near an eighth
# (bench/README.md).
REWRITE_SHARE = 0.125
REWRITE_MIN_ROWS = 100_000
# How long the rewrite waits for the table's readers before keeping its indexes instead.
REWRITE_LOCK_TIMEOUT = "10s"
INDEX_BUILD_MEM = "256MB"


def is_postgresql():
    return connection.vendor == "postgresql"


def cents_sql(amount):
    """SQL for the whole cents of the amount expression `amount`, exact on every database
    (SQLite keeps amounts as floating point, so it rounds first)."""
    if is_postgresql():
        return f"CAST({amount} * 100 AS BIGINT)"
    return f"CAST(ROUND({amount} * 100) AS INTEGER)"


def read_frame(sql, params=(), columns=None):
    """Run one query and return its rows as a DataFrame."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = columns or [col[0] for col in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=names)


def _set_work_mem(cursor, work_mem):
    if work_mem:
        # LOCAL: only for the caller's transaction.
        cursor.execute(f"SET LOCAL work_mem = '{work_mem}'")


def read_rows(sql, params, columns, *, work_mem=AGGREGATION_WORK_MEM):
    """The query's rows as a DataFrame with `columns`; on PostgreSQL through COPY … TO
    STDOUT as CSV read by pandas, several times faster than fetching a million tuples.
    `work_mem` is set for the rest of the transaction (PostgreSQL)."""
    if not is_postgresql():
        return read_frame(sql, params, columns=columns)
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        _set_work_mem(cursor, work_mem)
        query = cursor.mogrify(sql, params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
    if not buffer.tell():
        return pd.DataFrame({column: [] for column in columns})
    buffer.seek(0)
    return pd.read_csv(buffer, names=columns, keep_default_na=False, na_values=[""])


def read_binary(sql, params, fields, *, work_mem=AGGREGATION_WORK_MEM):
    """The query's rows through binary COPY … TO STDOUT (PostgreSQL), as a DataFrame:
    `fields` is [(name, "int4" | "int8" | "date")], every value NOT NULL (see
    customers.pgbinary.decode_rows). `work_mem` as for read_rows."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        _set_work_mem(cursor, work_mem)
        query = cursor.mogrify(sql, params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    return pgbinary.decode_rows(buffer.getbuffer(), fields)


def copy_binary(table, frame, columns):
    """Append the frame's rows to `table` (PostgreSQL) by binary COPY, `columns` being
    customers.pgbinary.Column per table column; returns the row count."""
    if frame.empty:
        return 0
    columns = pgbinary.wire_order(columns)
    quote = connection.ops.quote_name
    names = ", ".join(quote(column.name) for column in columns)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {quote(table)} ({names}) FROM STDIN WITH (FORMAT binary)",
            pgbinary.binary_stream(frame, columns),
        )
    return len(frame)


def copy_text(table, columns, *, parts=1):
    """Append rows to `table` (PostgreSQL) from `columns`, {table column: object array of
    the values already as text}, joined column-wise into COPY's text format: for a million
    rows, pandas' CSV writer takes seconds that this saves. The values must hold no tab,
    newline or backslash (they are not escaped). Returns the row count.

    With `parts` > 1 the rows are cut into that many runs of consecutive rows, written at
    once: the first on this connection, in its transaction, each other one in a thread on
    a connection of its own (one COPY keeps one core of the server busy maintaining the
    table's indexes). Those parts commit on their own whatever this transaction does
    afterwards: only for rows that no reader takes until something else says so (a run's
    snapshot rows, read once the run is published; a failed run's are pruned)."""
    names, texts = list(columns), list(columns.values())
    if not texts or not len(texts[0]):
        return 0
    if parts > 1:
        return _copy_text_in_parts(table, columns, parts)
    lines = texts[0]
    for text in texts[1:]:
        lines = lines + "\t" + text
    # Bytes: a StringIO would hold the text at four bytes a character.
    payload = io.BytesIO(("\n".join(lines.tolist()) + "\n").encode())
    del lines
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {quote(table)} ({', '.join(quote(name) for name in names)}) FROM STDIN",
            payload,
        )
    return len(texts[0])


def _copy_text_in_parts(table, columns, parts):
    rows = len(next(iter(columns.values())))
    bounds = [rows * part // parts for part in range(parts + 1)]
    cut = [
        {name: text[start:end] for name, text in columns.items()}
        for start, end in itertools.pairwise(bounds)
    ]
    with connection_threads(parts - 1) as pool:
        others = [pool.submit(_copy_text_apart, table, part) for part in cut[1:]]
        written = copy_text(table, cut[0])
        return written + sum(other.result() for other in others)


def _copy_text_apart(table, columns):
    """copy_text on the pool thread's own connection, committed."""
    with transaction.atomic():
        return copy_text(table, columns)


def _csv_buffer(frame):
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N", quoting=csv.QUOTE_MINIMAL)
    buffer.seek(0)
    return buffer


def copy_rows(table, frame):
    """Append the frame's rows to `table`; its columns name the table's columns."""
    if frame.empty:
        return 0
    columns = list(frame.columns)
    if is_postgresql():
        quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
        with connection.cursor() as cursor:
            cursor.copy_expert(
                f"COPY {connection.ops.quote_name(table)} ({quoted}) "
                "FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                _csv_buffer(frame),
            )
    else:
        placeholders = ", ".join(["%s"] * len(columns))
        quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
        rows = _python_rows(frame)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) "
                f"VALUES ({placeholders})",
                rows,
            )
    return len(frame)


@transaction.atomic
def update_rows(table, frame, key="id"):
    """Set the frame's columns on the rows of `table` whose `key` matches."""
    # Atomic because the PostgreSQL staging table lives until the end of the transaction.
    if frame.empty:
        return 0
    if is_postgresql():
        _update_from_staging(table, frame, key=key, read={})
        return len(frame)
    quote = connection.ops.quote_name
    values = [column for column in frame.columns if column != key]
    assignments = ", ".join(f"{quote(c)} = %s" for c in values)
    rows = _python_rows(frame[[*values, key]])
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {quote(table)} SET {assignments} WHERE {quote(key)} = %s", rows)
    return len(frame)


@transaction.atomic
def update_unchanged_rows(table, frame, *, read, key="id"):
    """Set the frame's columns on the rows of `table` whose `key` matches, but only where
    the live columns named in `read` (live column → frame column holding the value read
    earlier) still hold what was read, so that a change made meanwhile wins. Returns the
    keys of the rows written."""
    if frame.empty:
        return []
    return _update_from_staging(table, frame, key=key, read=read)


@contextmanager
def indexes_set_aside(table, rows):
    """Around a write of `rows` rows of `table`: on PostgreSQL, when that is at least
    REWRITE_SHARE of the table and REWRITE_MIN_ROWS (a first grading of every customer,
    say), the table's secondary indexes are dropped before and built again after, in the
    caller's transaction, so a failure leaves them as they were. Meanwhile the table is locked
    against reads too; if its readers do not let go within REWRITE_LOCK_TIMEOUT, the write
    goes ahead with the indexes kept. Indexes that back a constraint (the primary key,
    unique constraints) are always kept. Smaller writes, and other databases, run as they
    are."""
    if not is_postgresql() or rows < max(REWRITE_MIN_ROWS, REWRITE_SHARE * _estimated_rows(table)):
        yield
        return
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        indexes = _secondary_indexes(cursor, table) if _locked(cursor, table) else []
        if indexes:
            # An index is not built over rows with checks still pending (rows inserted
            # earlier in the transaction): the deferred constraints are checked as they go
            # from here to the end of the transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
        yield
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEM}'")
        for _name, definition in indexes:
            cursor.execute(definition)


def analyze(table):
    """Fresh planner statistics of `table` after a bulk write (PostgreSQL; SQLite plans
    without). A night's write can change a table's counts wholesale before autovacuum
    looks at it (if it is on): without them a new run's rows look like a handful, and the
    pages scan or hash what they should probe."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _estimated_rows(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return max(cursor.fetchone()[0], 0)


def _locked(cursor, table):
    """Whether the table could be locked for the rewrite before REWRITE_LOCK_TIMEOUT."""
    cursor.execute(f"SET LOCAL lock_timeout = '{REWRITE_LOCK_TIMEOUT}'")
    try:
        with transaction.atomic():
            cursor.execute(
                f"LOCK TABLE {connection.ops.quote_name(table)} IN ACCESS EXCLUSIVE MODE"
            )
        return True
    except OperationalError:
        return False
    finally:
        cursor.execute("SET LOCAL lock_timeout TO DEFAULT")


def _secondary_indexes(cursor, table):
    """(name, definition) of the table's indexes that back no constraint."""
    cursor.execute(
        "SELECT ix.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class ix ON ix.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
        "ORDER BY ix.relname",
        [table],
    )
    return cursor.fetchall()


def _update_from_staging(table, frame, *, key, read):
    """One UPDATE from a temporary table holding the frame (COPY on PostgreSQL); with `read`
    (see update_unchanged_rows), only where the live values are still those read. Returns
    the keys of the rows written. A rewrite of most of the table sets its indexes aside
    meanwhile (indexes_set_aside)."""
    with indexes_set_aside(table, len(frame)):
        return _staged_update(table, frame, key=key, read=read)


def _staged_update(table, frame, *, key, read):
    quote = connection.ops.quote_name
    values = [c for c in frame.columns if c != key and c not in read.values()]
    staging = f"_staging_{table}"
    # Staging columns typed as the live ones, including those that hold the values read.
    typed = [quote(key), *(quote(c) for c in values)]
    typed += [f"{quote(live)} AS {quote(column)}" for live, column in read.items()]
    same = "IS NOT DISTINCT FROM" if is_postgresql() else "IS"
    conditions = [f"t.{quote(key)} = s.{quote(key)}"]
    conditions += [f"t.{quote(live)} {same} s.{quote(c)}" for live, c in read.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE {quote(staging)} "
            + ("ON COMMIT DROP " if is_postgresql() else "")
            + f"AS SELECT {', '.join(typed)} FROM {quote(table)} LIMIT 0"
        )
        copy_rows(staging, frame[[key, *values, *read.values()]])
        assignments = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in values)
        # SQLite's RETURNING sees only the updated table, and no alias of it.
        returned = f"t.{quote(key)}" if is_postgresql() else quote(key)
        cursor.execute(
            f"UPDATE {quote(table)} AS t SET {assignments} FROM {quote(staging)} AS s "
            f"WHERE {' AND '.join(conditions)} RETURNING {returned}"
        )
        written = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"DROP TABLE {quote(staging)}")
    return written


def _python_rows(frame):
    """Rows as plain Python values (numpy scalars and NaN become int/float/None)."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return [
        tuple(value.item() if hasattr(value, "item") else value for value in row)
        for row in cleaned.itertuples(index=False, name=None)
    ]
