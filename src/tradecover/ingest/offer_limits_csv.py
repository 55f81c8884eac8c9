"""The limits an insurer offers per buyer, as a CSV: ``identifier,amount`` (issue 10).

Layout: one header row, columns matched by name case-insensitively: ``identifier``
(required: a SIREN, SIRET, VAT number, LEI or D-U-N-S, its kind detected from its
shape), ``identifier_kind`` (optional: ``siren``, ``siret``, ``vat_fr``, ``vat``,
``lei``, ``duns``, when the shape is ambiguous), ``amount`` (required, the limit
the insurer would grant, ``>= 0``, decimal point or French comma), ``name``
(optional, only shown). Separator ``,`` or ``;``; UTF-8 or Windows-1252.

An offer is all or nothing: every problem of every line is reported at once
(file, line, field, stable code ``offer_limits_csv.*``) and a file with any
problem is refused whole.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import CompanyIdentifier, detect_identifier, parse_identifier
from tradecover.ingest.financials_csv import parse_amount
from tradecover.ingest.ledger_csv import decode_text
from tradecover.ingest.ledger_records import LineProblem, Source, file_problem, line_problem

__all__ = ["MAX_LIMITS_BYTES", "MAX_LIMIT_ROWS", "OfferedLimitRow", "parse_identifier_text", "parse_offer_limits_csv"]

MAX_LIMITS_BYTES = 2_000_000
MAX_LIMIT_ROWS = 10_000
_COLUMNS = frozenset({"identifier", "identifier_kind", "amount", "name"})
_MAX_AMOUNT = Decimal("1e15")


@dataclass(frozen=True)
class OfferedLimitRow:
    source: Source
    identifier: CompanyIdentifier
    amount: Decimal


def parse_identifier_text(raw: str, kind: str | None = None) -> CompanyIdentifier:
    """An identifier as typed: its kind given, or detected from its shape."""
    return parse_identifier(kind, raw) if kind else detect_identifier(raw)


def parse_offer_limits_csv(data: bytes, name: str) -> list[OfferedLimitRow]:
    """Every line, or :class:`InvalidInput` listing every problem (``context['problems']``)."""
    if len(data) > MAX_LIMITS_BYTES:
        raise file_problem(name, f"larger than {MAX_LIMITS_BYTES} bytes", "offer_limits_csv.too_large")
    text = decode_text(data, name, "cp1252", "offer_limits_csv")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        raise file_problem(name, "the file is empty", "offer_limits_csv.empty") from None
    unknown = [c for c in header if c not in _COLUMNS]
    if unknown:
        raise file_problem(
            name,
            f"line 1: unknown column {unknown[0]!r} (known: amount, identifier, identifier_kind, name)",
            "offer_limits_csv.unknown_column",
            field=unknown[0],
        )
    for required in ("identifier", "amount"):
        if required not in header:
            raise file_problem(
                name, f"line 1: the column {required!r} is required", "offer_limits_csv.missing_column", required
            )
    rows: list[OfferedLimitRow] = []
    problems: list[LineProblem] = []
    seen: dict[CompanyIdentifier, int] = {}
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) + len(problems) >= MAX_LIMIT_ROWS:
            raise file_problem(name, f"more than {MAX_LIMIT_ROWS} lines", "offer_limits_csv.too_large")
        source = Source(name, number)
        row = {column: (cells[i].strip() if i < len(cells) else "") for i, column in enumerate(header)}
        try:
            identifier = parse_identifier_text(row["identifier"], row.get("identifier_kind") or None)
        except InvalidInput as error:
            problems.append(line_problem(source, "identifier", error.message, "offer_limits_csv.invalid_identifier"))
            continue
        try:
            amount = parse_amount(row["amount"])
        except ValueError as error:
            problems.append(line_problem(source, "amount", str(error), "offer_limits_csv.invalid_amount"))
            continue
        if amount < 0 or amount >= _MAX_AMOUNT:
            problems.append(
                line_problem(
                    source, "amount", "a limit is at least 0 and below 10^15", "offer_limits_csv.invalid_amount"
                )
            )
            continue
        if identifier in seen:
            problems.append(
                line_problem(
                    source,
                    "identifier",
                    f"{identifier.value} already has a limit on line {seen[identifier]}",
                    "offer_limits_csv.duplicate_buyer",
                )
            )
            continue
        seen[identifier] = number
        rows.append(OfferedLimitRow(source, identifier, amount))
    if problems:
        shown = "; ".join(p.text() for p in problems[:20])
        raise InvalidInput(
            shown,
            code=problems[0].code,
            field=problems[0].field,
            context={
                "file": name,
                "line": problems[0].source.line,
                "problems": [
                    {"line": p.source.line, "field": p.field, "code": p.code, "message": p.message} for p in problems
                ],
            },
        )
    return rows
