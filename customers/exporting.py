"""Spreadsheet exports that are safe to open: no cell is read as a formula."""

import csv
import io
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from openpyxl import Workbook

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_ROW_LIMIT = 1_048_575


def safe_cell(value):
    """The value as text, with a leading quote if a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_cell(value):
    """A value as CSV text: booleans as true/false, formulas neutralised."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_cell(value)


def xlsx_cell(value):
    """A value for a worksheet: numbers stay numbers, text is neutralised."""
    if isinstance(value, bool):
        return csv_cell(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return safe_cell(value)


def write_csv(handle, header, rows):
    """Write the header and rows to an open text file; returns how many rows."""
    writer = csv.writer(handle)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        count += 1
    return count


def write_xlsx(target, header, rows):
    """Write the header and rows as one worksheet to a path or file; returns how many rows.
    Rows past what a worksheet holds are left out."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(header))
    count = 0
    for row in rows:
        if count == XLSX_ROW_LIMIT:
            break
        sheet.append([xlsx_cell(value) for value in row])
        count += 1
    workbook.save(target)
    return count


class _Echo:
    def write(self, value):
        return value


def csv_response(filename, header, rows):
    """Stream rows as UTF-8 CSV (with a BOM so that Excel reads Chinese correctly)."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_response(filename, header, rows):
    """Rows as an XLSX workbook; numbers stay numbers, text is neutralised."""
    buffer = io.BytesIO()
    write_xlsx(buffer, header, rows)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
