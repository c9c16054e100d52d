"""Reading import files: CSV (UTF-8, with or without BOM) or XLSX, as chunks of strings.

Every chunk has the file's columns (names stripped and lower-cased), every cell
a stripped string ("" when empty), and a `line` column: the row's number as a
spreadsheet shows it, the header being line 1. Blank rows are skipped but still
counted, so line numbers match what the user sees when opening the file.
"""

import csv
import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
from django.utils.translation import gettext as _
from openpyxl.utils.exceptions import InvalidFileException

LINE = "line"
CHUNK_ROWS = 500_000
EXTENSIONS = (".csv", ".xlsx")


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message tells the user why."""


def file_format(path: Path) -> str:
    """'csv' or 'xlsx' from the file name; anything else is an ImportFileError."""
    extension = Path(path).suffix.lower()
    if extension not in EXTENSIONS:
        raise ImportFileError(_("Only .csv and .xlsx files can be imported."))
    return extension[1:]


def read_columns(path: Path) -> list[str]:
    """The file's column names; an empty file is an ImportFileError."""
    for chunk in read_chunks(path, chunk_rows=1):
        return [column for column in chunk.columns if column != LINE]
    raise ImportFileError(_("The file has no rows to import."))


def read_head(path: Path, *, rows: int = 20) -> pd.DataFrame:
    """The first `rows` data rows, for a preview."""
    for chunk in read_chunks(path, chunk_rows=rows):
        return chunk
    return pd.DataFrame(columns=[LINE])


def read_chunks(path: Path, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield the data rows in frames of at most `chunk_rows` rows (see the module docstring)."""
    if file_format(path) == "csv":
        chunks = _csv_chunks(path, chunk_rows)
    else:
        chunks = _xlsx_chunks(path, chunk_rows)
    for chunk in chunks:
        chunk = _tidy(chunk)
        if not chunk.empty:
            yield chunk


def _csv_chunks(path, chunk_rows):
    try:
        reader = pd.read_csv(
            path,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            chunksize=chunk_rows,
        )
        with reader:
            for chunk in reader:
                # Record 0 is the header's next line: line 2.
                chunk.insert(0, LINE, chunk.index + 2)
                yield chunk
    except UnicodeDecodeError:
        raise ImportFileError(
            _(
                "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8”, "
                "or upload the .xlsx workbook itself."
            )
        ) from None
    except pd.errors.EmptyDataError:
        raise ImportFileError(_("The file is empty.")) from None
    except (pd.errors.ParserError, csv.Error) as error:
        raise ImportFileError(
            _("The file is not valid CSV: %(detail)s") % {"detail": error}
        ) from None


def _xlsx_chunks(path, chunk_rows):
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ImportFileError(_("The file is not a readable Excel (.xlsx) workbook.")) from None
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = _unique_names([_cell_text(value) for value in next(rows, ())])
        if not any(header):
            raise ImportFileError(_("The file is empty."))
        batch, line = [], 1
        for values in rows:
            line += 1
            cells = [_cell_text(value) for value in values[: len(header)]]
            batch.append([line, *cells, *[""] * (len(header) - len(cells))])
            if len(batch) == chunk_rows:
                yield pd.DataFrame(batch, columns=[LINE, *header])
                batch = []
        if batch:
            yield pd.DataFrame(batch, columns=[LINE, *header])
    finally:
        workbook.close()


def _cell_text(value) -> str:
    """A spreadsheet cell as the text the user typed: dates as YYYY-MM-DD, 3.0 as 3."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unique_names(names):
    """Header cells made unique the way pandas does for CSV: a, a.1, a.2."""
    seen, unique = {}, []
    for name in names:
        count = seen.get(name, 0)
        unique.append(name if count == 0 else f"{name}.{count}")
        seen[name] = count + 1
    return unique


def _tidy(chunk):
    """Lower-case stripped column names, stripped string cells, blank rows dropped."""
    chunk.columns = [LINE, *(str(name).strip().lower() for name in chunk.columns[1:])]
    cells = chunk.columns[1:]
    for column in cells:
        chunk[column] = chunk[column].astype(str).str.strip()
    blank = (chunk[cells] == "").all(axis=1) if len(cells) else chunk[LINE].notna()
    return chunk.loc[~blank].reset_index(drop=True) if blank.any() else chunk
