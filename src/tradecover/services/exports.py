"""Tables to CSV and XLSX, safe to open in a spreadsheet.

Why the care: names in a ledger come from customers' own documents; a name
such as ``=HYPERLINK(...)`` would run as a formula in the credit manager's
spreadsheet (CSV/formula injection). Text cells that a spreadsheet would read
as a formula get a leading apostrophe in CSV and are stored as plain strings
in XLSX; amounts stay numbers (Decimal, written exactly).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

Cell = str | int | Decimal | date | None

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Cell]], *, separator: str = ";") -> bytes:
    """UTF-8 with a byte-order mark and ``;`` separators, as French spreadsheets open them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    writer.writerow([safe_text(h) for h in header])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(sheet: str, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = sheet[:31]
    ws.append(list(header))
    for row in rows:
        ws.append([None if v is None else v for v in row])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
    for index, name in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(name) + 2))
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
