"""Columns and the two file formats.

CSV: UTF-8 with a byte-order mark (Excel otherwise reads UTF-8 as the local code page and
garbles accented donor names), comma-separated, header on the first line. The period is
NOT a comment line above the header: Excel, LibreOffice, pandas and accounting imports
(Xero, QuickBooks) all take line 1 as the header, and a preamble becomes a bogus data row
or breaks the import. Instead every row carries `period_start`, `period_end` (inclusive
dates) and `time_zone`, so the range travels with any rows copied elsewhere, and the
file name states it too.

XLSX (openpyxl, write-only): sheet "Receipts" is the same table (header row first, so
Excel's filters and pivot tables work), and sheet "About" states the period, the time
zone, the filters and when the file was made. Amounts are numbers (so they add up in
Excel) shown as 0.00, written from Decimals built from integer minor units; openpyxl
prints them with 16 significant digits, exact for any amount under 10^13, so the file
holds "23.97", never a float's "23.969999...". Dates are real dates in the
organisation's time zone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from lib.text import clean_text
from receipts.exports.filters import ExportFilters, organisation_zone
from receipts.exports.query import (
    AMOUNT_COLUMNS,
    DATETIME_COLUMNS,
    DONOR_TEXT_COLUMNS,
    FORMULA_STARTS,
    RAW_COLUMNS,
    minor_unit_exponent,
)

TRAILER_COLUMNS = ("period_start", "period_end", "time_zone")
HEADER = RAW_COLUMNS + TRAILER_COLUMNS
BOM = "\ufeff".encode()
CURRENCY_INDEX = RAW_COLUMNS.index("currency")
AMOUNT_INDEXES = tuple(i for i, c in enumerate(RAW_COLUMNS) if c in AMOUNT_COLUMNS)
DATETIME_INDEXES = tuple(i for i, c in enumerate(RAW_COLUMNS) if c in DATETIME_COLUMNS)
DONOR_TEXT_INDEXES = tuple(i for i, c in enumerate(RAW_COLUMNS) if c in DONOR_TEXT_COLUMNS)
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def trailer(filters: ExportFilters, time_zone: str) -> list[str]:
    return [filters.date_from.isoformat(), filters.date_to.isoformat(), time_zone]


def csv_header() -> bytes:
    return BOM + (",".join(HEADER) + "\n").encode()


def amount_text(minor: int, currency: str) -> str:
    """25.00 from 2500 (usd), 2500 from 2500 (jpy): integer arithmetic, never a float."""
    exponent = minor_unit_exponent(currency)
    if exponent == 0:
        return str(minor)
    whole, part = divmod(abs(minor), 10**exponent)
    return f"{'-' if minor < 0 else ''}{whole}.{part:0{exponent}d}"


def amount_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_unit_exponent(currency))


def local_datetime(value: dt.datetime | str) -> dt.datetime:
    """A stored instant as a naive date-time in the organisation's zone (SQLite hands
    back naive UTC, PostgreSQL aware values)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(organisation_zone()).replace(tzinfo=None)


def defuse(text: str) -> str:
    """A donor-typed value a spreadsheet would run as a formula gets a leading quote."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def text_row(row: tuple, trailer_values: list[str]) -> list[str]:
    """A raw row as the CSV prints it: the same bytes COPY would produce."""
    out: list = list(row)
    currency = out[CURRENCY_INDEX]
    for i in AMOUNT_INDEXES:
        if out[i] is not None:
            out[i] = amount_text(out[i], currency)
    for i in DATETIME_INDEXES:
        if out[i] is not None:
            out[i] = local_datetime(out[i]).strftime("%Y-%m-%d %H:%M:%S")
    for i in DONOR_TEXT_INDEXES:
        if out[i]:
            out[i] = defuse(out[i])
    out[CURRENCY_INDEX] = currency.upper()
    return [("" if value is None else value) for value in out] + trailer_values


def csv_chunks(
    rows: Iterable[tuple], trailer_values: list[str], *, chunk_rows: int = 2_000
) -> Iterator[tuple[bytes, int]]:
    """(CSV bytes, rows in them) for raw rows, in chunks of `chunk_rows`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    count = 0
    for row in rows:
        writer.writerow(text_row(row, trailer_values))
        count += 1
        if count == chunk_rows:
            yield buffer.getvalue().encode(), count
            buffer.seek(0)
            buffer.truncate()
            count = 0
    if count:
        yield buffer.getvalue().encode(), count


def write_xlsx(
    rows: Iterable[tuple],
    out: IO[bytes],
    *,
    filters: ExportFilters,
    time_zone: str,
    generated_at: dt.datetime,
    on_progress=None,
    progress_every: int = 5_000,
) -> int:
    """Write the workbook to `out`; returns the number of rows. Memory stays flat:
    openpyxl's write-only sheets spool rows to a temporary file, not to memory."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Receipts")
    sheet.freeze_panes = "A2"
    sheet.append(list(HEADER))
    trailer_values = [filters.date_from, filters.date_to, time_zone]
    count = 0
    for row in rows:
        sheet.append(_xlsx_row(sheet, row, trailer_values))
        count += 1
        if on_progress and count % progress_every == 0:
            on_progress(count)
    about = workbook.create_sheet("About")
    about.append(["Receipts and gifts", ""])
    about.append(["Period (inclusive)", filters.describe()])
    about.append(["Dates are in", time_zone])
    about.append(["Filters", _describe_filters(filters)])
    about.append(["Rows", count])
    about.append(
        ["Generated", generated_at.astimezone(organisation_zone()).strftime("%Y-%m-%d %H:%M:%S")]
    )
    workbook.properties.title = f"Receipts {filters.describe()}"
    workbook.save(out)
    return count


def _xlsx_row(sheet, row: tuple, trailer_values: list) -> list:
    out: list = list(row)
    currency = out[CURRENCY_INDEX]
    for i in AMOUNT_INDEXES:
        if out[i] is not None:
            cell = WriteOnlyCell(sheet, amount_decimal(out[i], currency))
            cell.number_format = "#,##0.00" if minor_unit_exponent(currency) == 2 else "General"
            out[i] = cell
    for i in DATETIME_INDEXES:
        if out[i] is not None:
            cell = WriteOnlyCell(sheet, local_datetime(out[i]))
            cell.number_format = XLSX_DATETIME_FORMAT
            out[i] = cell
    for i in DONOR_TEXT_INDEXES:
        # openpyxl refuses control characters (IllegalCharacterError): a name from an older
        # row or from Stripe may carry one.
        value = out[i] = clean_text(out[i]) if out[i] else out[i]
        if value and value.startswith("="):
            # openpyxl would store this as a formula; a string cell is never evaluated.
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"
            out[i] = cell
    out[CURRENCY_INDEX] = currency.upper()
    return out + trailer_values


def _describe_filters(filters: ExportFilters) -> str:
    parts = [
        f"status: {', '.join(filters.statuses) or 'all'}",
        f"jurisdiction: {', '.join(filters.jurisdictions) or 'all'}",
        f"kind: {', '.join(filters.kinds) or 'all'}",
    ]
    return "; ".join(parts)
