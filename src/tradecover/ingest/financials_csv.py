"""Buyers' yearly financial statements from a CSV that credit managers fill in.

Why: the risk grade needs a few balance-sheet and income-statement figures
per buyer and fiscal year, and most insureds have them in a spreadsheet. The
layout is ours and documented here (and downloadable as
:data:`FINANCIALS_TEMPLATE`):

* one header row; columns matched by name, case-insensitively, in any order;
* the buyer: ``siren``, or ``identifier_kind`` + ``identifier`` (``siren``,
  ``siret``, ``vat_fr``, ``vat``, ``lei``, ``duns``) — never both layouts; a
  SIREN whose leading zeros a spreadsheet dropped is padded back to 9 digits;
* ``fiscal_year_end``: the closing date, ``YYYY-MM-DD``;
* ``currency``: ISO 4217 code, optional, ``EUR`` when absent or empty;
* amounts, in the currency's units: ``total_assets`` (required, never
  negative) and, optional, ``equity``, ``turnover``, ``ebit``,
  ``net_income``, ``working_capital``, ``retained_earnings``,
  ``current_assets``, ``current_liabilities``, ``total_liabilities``. A
  decimal point or a French decimal comma; spaces or no-break spaces as
  thousands separators; a leading minus (or parentheses) for negatives; an
  empty cell means "not known", never zero;
* separator ``,`` or ``;`` (what French spreadsheets write), detected from
  the header; UTF-8 (with or without byte-order mark), or Windows-1252 as
  saved by older Excel versions.

Unlike the reference feeds, this file is typed by people: every problem on
every line is reported at once (file, line, column, message) so that it can
be fixed in one pass, rather than one error per upload. Amounts are Decimal,
never float.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from tradecover.domain.errors import InvalidInput
from tradecover.domain.financials import STATEMENT_FIELDS
from tradecover.domain.identifiers import parse_identifier
from tradecover.domain.money import currency as checked_currency

__all__ = [
    "AMOUNT_COLUMNS",
    "FINANCIALS_TEMPLATE",
    "MAX_FINANCIALS_BYTES",
    "MAX_REPORTED_ERRORS",
    "StatementRow",
    "parse_amount",
    "parse_financials_csv",
]

#: Largest file accepted: tens of thousands of statements fit in a few MB.
MAX_FINANCIALS_BYTES = 20_000_000

#: Errors reported before giving up on a file that is plainly not this layout.
MAX_REPORTED_ERRORS = 1_000

#: Amount columns, in template order; ``total_assets`` is the one required.
AMOUNT_COLUMNS: tuple[str, ...] = STATEMENT_FIELDS
_REQUIRED_AMOUNT = "total_assets"
_KNOWN_COLUMNS = frozenset({"siren", "identifier_kind", "identifier", "fiscal_year_end", "currency", *AMOUNT_COLUMNS})
_DEFAULT_CURRENCY = "EUR"

#: A header and one example line, ready to download and fill in.
FINANCIALS_TEMPLATE = (
    "siren,fiscal_year_end,currency," + ",".join(AMOUNT_COLUMNS) + "\n"
    "732829320,2024-12-31,EUR,1250000.00,420000.00,3100000.00,185000.00,120000.00,"
    "230000.00,300000.00,780000.00,550000.00,830000.00\n"
)


@dataclass(frozen=True)
class StatementRow:
    """One buyer's figures for one fiscal year, as typed (no ratio computed here).

    ``identifier_kind``/``identifier`` are canonical (see
    :func:`tradecover.domain.identifiers.parse_identifier`); ``amounts`` has
    every key of :data:`AMOUNT_COLUMNS`, None where the cell was empty or the
    column absent.
    """

    line: int
    identifier_kind: str
    identifier: str
    fiscal_year_end: date
    currency: str
    amounts: dict[str, Decimal | None]


def _problem(name: str, line: int, field: str | None, message: str, code: str) -> InvalidInput:
    where = f"{name}, line {line}" + (f", field {field}" if field else "")
    return InvalidInput(f"{where}: {message}", code=code, field=field, context={"file": name, "line": line})


def _file_problem(name: str, message: str, code: str, field: str | None = None) -> InvalidInput:
    return InvalidInput(f"{name}: {message}", code=code, field=field, context={"file": name})


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_THOUSANDS = re.compile(r"[ \u00a0\u202f]")
_PLAIN_NUMBER = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,6})?")


def parse_amount(raw: str) -> Decimal:
    """A typed amount as an exact Decimal; ValueError says what is wrong.

    ``1 234 567,89``, ``1234567.89``, ``-12,5`` and ``(12,5)`` are accepted;
    ``1,234.56`` and ``1.234,56`` are refused as ambiguous (only spaces
    separate thousands), as are exponents, ``NaN`` and ``Infinity``.
    """
    text = _THOUSANDS.sub("", raw.strip())
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    elif text[:1] in ("-", "\u2212", "+"):
        negative, text = text[0] != "+", text[1:]
    if "," in text and "." in text:
        raise ValueError(f"{raw!r} mixes ',' and '.': use one decimal mark and spaces for thousands")
    if text.count(",") > 1 or text.count(".") > 1:
        raise ValueError(f"{raw!r} has several decimal marks: use spaces for thousands")
    text = text.replace(",", ".")
    if not _PLAIN_NUMBER.fullmatch(text):
        raise ValueError(f"{raw!r} is not an amount (digits, one decimal mark, at most 6 decimals)")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only lets decimals through
        raise ValueError(f"{raw!r} is not an amount") from None
    return -value if negative else value


def _decode(data: bytes) -> str:
    """UTF-8 first (BOM tolerated); otherwise the Windows-1252 older Excel writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


class _Collector:
    """Errors of one file, capped so that a wrong file does not produce a million."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.errors: list[InvalidInput] = []
        self.full = False

    def add(self, line: int, field: str | None, message: str, code: str = "ingest.bad_field") -> None:
        if self.full:
            return
        if len(self.errors) >= MAX_REPORTED_ERRORS:
            self.full = True
            self.errors.append(
                _problem(
                    self.name,
                    line,
                    None,
                    f"more than {MAX_REPORTED_ERRORS} errors, stopped checking",
                    "ingest.too_many_errors",
                )
            )
            return
        self.errors.append(_problem(self.name, line, field, message, code))


def _header(cells: list[str], name: str) -> tuple[dict[str, int], list[InvalidInput]]:
    """Column positions, and the file-level problems of the header (one error each)."""
    problems: list[InvalidInput] = []
    positions: dict[str, int] = {}
    for position, cell in enumerate(cells):
        column = cell.strip().lstrip("\ufeff").casefold()
        if not column:
            continue
        if column not in _KNOWN_COLUMNS:
            known = ", ".join(sorted(_KNOWN_COLUMNS))
            problems.append(
                _problem(name, 1, column, f"unknown column {column!r} (known: {known})", "ingest.unknown_column")
            )
        elif column in positions:
            problems.append(_problem(name, 1, column, f"column {column!r} appears twice", "ingest.bad_line"))
        else:
            positions[column] = position
    by_siren = "siren" in positions
    by_kind = "identifier_kind" in positions or "identifier" in positions
    if by_siren and by_kind:
        problems.append(
            _file_problem(name, "use either 'siren' or 'identifier_kind' + 'identifier', not both", "ingest.bad_line")
        )
    identity = ["identifier_kind", "identifier"] if by_kind else ["siren"]
    for column in [*identity, "fiscal_year_end", _REQUIRED_AMOUNT]:
        if column not in positions:
            problems.append(_file_problem(name, f"missing column {column!r}", "ingest.missing_column", field=column))
    return positions, problems


def _identifier(cells: list[str], positions: dict[str, int], line: int, errors: _Collector) -> tuple[str, str] | None:
    if "siren" in positions:
        kind_text, column = "siren", "siren"
    else:
        kind_text, column = cells[positions["identifier_kind"]].strip().lower(), "identifier"
        if not kind_text:
            errors.add(line, "identifier_kind", "missing identifier kind")
            return None
    raw = cells[positions[column]].strip()
    if not raw:
        errors.add(line, column, "missing identifier")
        return None
    if kind_text == "siren" and raw.isascii() and raw.isdigit() and 5 <= len(raw) < 9:
        # A spreadsheet read the SIREN as a number and dropped its leading
        # zeros; the check digit still guards the padded value.
        raw = raw.zfill(9)
    try:
        identifier = parse_identifier(kind_text, raw)
    except InvalidInput as error:
        field = "identifier_kind" if error.code == "identifier.unknown_kind" else column
        errors.add(line, field, error.message)
        return None
    return identifier.kind.value, identifier.value


def _fiscal_year_end(raw: str, line: int, errors: _Collector) -> date | None:
    text = raw.strip()
    if not text:
        errors.add(line, "fiscal_year_end", "missing date")
        return None
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    errors.add(line, "fiscal_year_end", f"{text!r} is not a date YYYY-MM-DD")
    return None


def _currency(raw: str | None, line: int, errors: _Collector) -> str | None:
    text = (raw or "").strip().upper()
    if not text:
        return _DEFAULT_CURRENCY
    try:
        return checked_currency(text)
    except InvalidInput as error:
        errors.add(line, "currency", error.message)
        return None


def _amounts(
    cells: list[str], positions: dict[str, int], line: int, errors: _Collector
) -> dict[str, Decimal | None] | None:
    amounts: dict[str, Decimal | None] = {}
    valid = True
    for column in AMOUNT_COLUMNS:
        position = positions.get(column)
        raw = cells[position].strip() if position is not None else ""
        if not raw:
            amounts[column] = None
            if column == _REQUIRED_AMOUNT:
                errors.add(line, column, "missing amount (required)")
                valid = False
            continue
        try:
            amounts[column] = parse_amount(raw)
        except ValueError as error:
            errors.add(line, column, str(error))
            valid = False
            continue
        if column == _REQUIRED_AMOUNT and (value := amounts[column]) is not None and value < 0:
            errors.add(line, column, f"{raw!r}: total assets cannot be negative")
            valid = False
    return amounts if valid else None


def parse_financials_csv(path: str | Path) -> tuple[list[StatementRow], list[InvalidInput]]:
    """Read every statement of the file and every problem in it.

    Returns the good rows and the errors; the caller refuses the file when
    there are errors (the rows are returned anyway so that a preview can show
    what was understood). A missing required column is one error for the
    whole file. Two rows for the same buyer and fiscal year are an error on
    the second.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        return [], [_file_problem(name, "not a regular file", "ingest.not_a_file")]
    with path.open("rb") as handle:
        data = handle.read(MAX_FINANCIALS_BYTES + 1)
    if len(data) > MAX_FINANCIALS_BYTES:
        return [], [_file_problem(name, f"larger than {MAX_FINANCIALS_BYTES} bytes", "ingest.too_large")]
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    errors = _Collector(name)
    try:
        header = next(reader, None)
    except csv.Error as error:
        return [], [_problem(name, 1, None, f"unreadable header ({error})", "ingest.bad_line")]
    if not header or not any(cell.strip() for cell in header):
        return [], [_file_problem(name, "empty file, no header", "ingest.missing_column")]
    positions, header_problems = _header(header, name)
    if header_problems:
        return [], header_problems

    rows: list[StatementRow] = []
    seen: dict[tuple[str, str, date], int] = {}
    while not errors.full:
        try:
            cells = next(reader, None)
        except csv.Error as error:
            errors.add(reader.line_num, None, f"unreadable line ({error})", "ingest.bad_line")
            break
        if cells is None:
            break
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        if len(cells) != len(header):
            errors.add(line, None, f"{len(cells)} fields, the header has {len(header)}", "ingest.bad_line")
            continue
        identifier = _identifier(cells, positions, line, errors)
        year_end = _fiscal_year_end(cells[positions["fiscal_year_end"]], line, errors)
        position = positions.get("currency")
        money_code = _currency(cells[position] if position is not None else None, line, errors)
        amounts = _amounts(cells, positions, line, errors)
        if identifier is None or year_end is None or money_code is None or amounts is None:
            continue
        key = (identifier[0], identifier[1], year_end)
        if key in seen:
            errors.add(
                line,
                "fiscal_year_end",
                f"second statement for {identifier[1]} closing {year_end.isoformat()} (first on line {seen[key]})",
                "ingest.duplicate",
            )
            continue
        seen[key] = line
        rows.append(StatementRow(line, identifier[0], identifier[1], year_end, money_code, amounts))
    return rows, errors.errors
