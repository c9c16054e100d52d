"""Import services: `import_customers`, `import_orders`, `import_invoices`, `import_payments`.

Each reads the file twice. The first pass validates every chunk and keeps, per
row, only what file-wide checks need (a hash of its key, of its data for
identical rows, the references of parents defined further down); a key seen
on several lines is then compared in full on just those lines. If any row is
bad, nothing is written unless `skip_invalid`. The second pass, in one
transaction, validates each chunk again (cheaper than holding ten million rows
in memory) and writes its good rows set-wise. Re-importing a file adds nothing:
customers are matched by customer_ref and updated; orders, invoices and
payments are facts, matched by reference and skipped when already recorded.
A `dry_run` does all of it and rolls back. A `progress(stage, rows)` callable hears
after each chunk how many rows were checked (stage CHECKING) and then written
(stage WRITING), then once more (stage COMMITTING) inside the transaction just
before it commits, where it may still raise to write nothing: that is how a
background job reports how far it got, and refuses to commit once it was closed.
"""

import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import NamedTuple

import pandas as pd
from django.db import transaction
from django.utils.translation import gettext as _

from customers.imports import headers, validation, writers
from customers.imports.importers import CustomerImport, InvoiceImport, OrderImport, PaymentImport
from customers.imports.readers import LINE, ImportFileError, read_chunks, read_columns
from customers.imports.validation import combine, no_errors

IMPORTERS = {
    "customers": CustomerImport,
    "orders": OrderImport,
    "invoices": InvoiceImport,
    "payments": PaymentImport,
}
KINDS = tuple(IMPORTERS)
CHECKING, WRITING, COMMITTING = "checking", "writing", "committing"
Progress = Callable[[str, int], None]

logger = logging.getLogger(__name__)


class RowError(NamedTuple):
    line: int
    column: str
    reason: str


@dataclass
class ImportReport:
    """What an import read, wrote (or would write, in a dry run) and rejected."""

    kind: str
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    already_present: int = 0
    customers_created: int = 0
    error_frame: pd.DataFrame = field(default_factory=no_errors)
    # Rows written all the same, with what looks wrong (likely duplicates): line, column, reason.
    warning_frame: pd.DataFrame = field(default_factory=no_errors)
    imported: bool = False
    dry_run: bool = False

    @property
    def rejected(self) -> int:
        """How many rows have at least one error."""
        return self.error_frame[LINE].nunique()

    @property
    def errors(self) -> list[RowError]:
        return [RowError(*row) for row in self.error_frame.itertuples(index=False, name=None)]

    @property
    def warnings(self) -> list[RowError]:
        return [RowError(*row) for row in self.warning_frame.itertuples(index=False, name=None)]

    @property
    def warned(self) -> int:
        """How many rows have at least one warning."""
        return self.warning_frame[LINE].nunique()


def import_customers(
    *,
    source: Path,
    skip_invalid: bool = False,
    rejects: Path | None = None,
    by=None,
    scope=None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Create or update customers by customer_ref; blank cells keep the current value and
    listed tags are added. History rows record the import, by `by`. With `scope` (a user),
    only what that user may change (see CustomerImport)."""
    importer = CustomerImport(by=by, scope=scope)
    return _run(importer, source, skip_invalid, rejects, dry_run, progress)


def import_orders(
    *,
    source: Path,
    skip_invalid: bool = False,
    create_missing_customers: bool = False,
    rejects: Path | None = None,
    scope=None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Record the orders not recorded yet and announce them with `orders_recorded`;
    with `create_missing_customers`, unknown customer_refs become minimal customers. With
    `scope` (a user), only for the customers that user may see."""
    importer = OrderImport(create_missing_customers=create_missing_customers, scope=scope)
    return _run(importer, source, skip_invalid, rejects, dry_run, progress)


def import_invoices(
    *,
    source: Path,
    skip_invalid: bool = False,
    rejects: Path | None = None,
    scope=None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Record the invoices not recorded yet and refresh their customers' balances; with
    `scope` (a user), only for the customers that user may see."""
    return _run(InvoiceImport(scope=scope), source, skip_invalid, rejects, dry_run, progress)


def import_payments(
    *,
    source: Path,
    skip_invalid: bool = False,
    rejects: Path | None = None,
    scope=None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Record the payments not recorded yet against their invoices and refresh the
    customers' outstanding and overdue amounts; with `scope` (a user), only for the
    customers that user may see."""
    return _run(PaymentImport(scope=scope), source, skip_invalid, rejects, dry_run, progress)


def run_import(kind: str, **options) -> ImportReport:
    """The import service of `kind` (one of KINDS) called with `options`."""
    services = {
        "customers": import_customers,
        "orders": import_orders,
        "invoices": import_invoices,
        "payments": import_payments,
    }
    return services[kind](**options)


def file_columns(kind: str, source: Path) -> dict[str, str]:
    """The file's headers → the documented columns they name: the first check of an import,
    which reads only the header. ImportFileError for a header that names no column of this
    kind or a required column missing."""
    importer = IMPORTERS[kind]
    names = headers.column_names(read_columns(source), importer.known_columns())
    missing = validation.missing_columns(names.values(), importer.required)
    if missing:
        raise ImportFileError(
            _("The file lacks the required columns %(missing)s (it needs %(required)s).")
            % {"missing": ", ".join(missing), "required": ", ".join(importer.required)}
        )
    return names


def write_rejects(source: Path, errors: pd.DataFrame, path: Path) -> None:
    """Write each rejected row of `source` to the CSV `path`: its cells, then its line,
    column and reason (several errors of one row joined with "; ")."""
    by_line = errors.groupby(LINE, sort=True).agg(
        column=("column", "; ".join), reason=("reason", "; ".join)
    )
    header = True
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        for chunk in read_chunks(source):
            rejected = chunk.join(by_line, on=LINE, how="inner")
            if rejected.empty:
                continue
            cells = [column for column in chunk.columns if column != LINE]
            rejected[[*cells, LINE, "column", "reason"]].to_csv(out, index=False, header=header)
            header = False


def _run(importer, source, skip_invalid, rejects, dry_run, progress):
    progress = progress or _no_progress
    source = Path(source)
    report = ImportReport(kind=importer.kind, dry_run=dry_run)
    started = perf_counter()
    report.error_frame = _check_file(importer, source, report, progress)
    logger.info(
        "Import of %s from %s: %d rows checked in %.1f s, %d rejected",
        importer.kind,
        source.name,
        report.rows_read,
        perf_counter() - started,
        report.rejected,
    )
    if rejects is not None and not report.error_frame.empty:
        write_rejects(source, report.error_frame, Path(rejects))
    if report.error_frame.empty or skip_invalid:
        started = perf_counter()
        with transaction.atomic():
            written = _write_file(importer, source, report, progress)
            progress(COMMITTING, written)
            report.imported = True
            if dry_run:
                transaction.set_rollback(True)
        logger.info(
            "Import of %s from %s: %d new, %d updated, %d already recorded; written in %.1f s",
            importer.kind,
            source.name,
            report.created,
            report.updated,
            report.already_present,
            perf_counter() - started,
        )
    return report


def _check_file(importer, source, report, progress):
    """First pass: every row's errors, chunk by chunk, then those of the whole file."""
    importer.column_names = file_columns(importer.kind, source)
    errors = []
    for chunk in _read_chunks(importer, source):
        report.rows_read += len(chunk)
        clean, chunk_errors = importer.validate(_with_columns(chunk, importer.optional))
        importer.remember(chunk, clean)
        errors.append(chunk_errors)
        progress(CHECKING, report.rows_read)
    errors = combine(errors)
    candidates = importer.repeated_key_lines()
    if len(candidates):
        rows = _clean_rows_at(importer, source, candidates)
        key = importer.key_column
        duplicates = validation.conflicting_duplicates(rows, key, importer.content_columns)
        errors = combine([errors, duplicates])
    errors = combine([errors, importer.file_errors(errors)])
    report.warning_frame = importer.file_warnings(errors)
    # Errors and warnings name the columns as the file does.
    headers_of = {column: header for header, column in importer.column_names.items()}
    for frame in (errors, report.warning_frame):
        frame["column"] = frame["column"].map(lambda column: headers_of.get(column, column))
    return errors


def _clean_rows_at(importer, source, lines):
    """The clean rows at these lines, read again (only rows whose key repeats come here)."""
    rows = []
    for chunk in _read_chunks(importer, source):
        wanted = chunk.loc[chunk[LINE].isin(lines)]
        if not wanted.empty:
            rows.append(importer.validate(_with_columns(wanted, importer.optional))[0])
    return pd.concat(rows, ignore_index=True)


def _write_file(importer, source, report, progress):
    """Second pass, inside the transaction: write the good rows chunk by chunk; returns how
    many."""
    rejected = report.error_frame[LINE].unique()
    with ExitStack() as stack:
        for name, columns in importer.staging.items():
            stack.enter_context(writers.staging_table(name, columns))
        importer.prepare(rejected, report)
        written = 0
        progress(WRITING, written)
        for chunk in _read_chunks(importer, source):
            clean, _errors = importer.validate(_with_columns(chunk, importer.optional))
            good = clean.loc[~clean[LINE].isin(rejected)]
            importer.write(good, report)
            written += len(good)
            progress(WRITING, written)
        importer.finish(report)
    return written


def _no_progress(stage, rows):
    pass


def _read_chunks(importer, source):
    """The file's chunks with its columns under their documented names."""
    for chunk in read_chunks(source):
        yield chunk.rename(columns=importer.column_names)


def _with_columns(chunk, columns):
    """The chunk with every optional column, empty where the file lacks it."""
    for column in columns:
        if column not in chunk.columns:
            chunk[column] = ""
    return chunk
