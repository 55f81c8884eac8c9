"""INSEE SIRENE legal units (``StockUniteLegale``) as plain records, streamed.

Why: a buyer is only coverable while its legal unit is active, and its NAF
code and legal category feed the risk grade. The INSEE stock file is large
(tens of millions of lines, gigabytes), so units are yielded one at a time
from the ``csv`` module, never loaded whole.

The column set changes by vintage (2025 added
``activitePrincipaleNAF25UniteLegale``): columns are found by header name,
case-insensitively, never by position. Only ``siren`` and
``etatAdministratifUniteLegale`` are required; every other column is optional.

A line that cannot be trusted (a SIREN failing its check digit, an unknown
state, a malformed date or code) raises :class:`InvalidInput` naming the
file, the line and the column: a stock file is applied whole or not at all,
and a corrupt line usually means a corrupt file. Errors surface on iteration,
as the file is only opened when the first unit is asked for.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import IdentifierKind, parse_identifier

__all__ = ["MAX_SIRENE_BYTES", "SireneUnit", "parse_sirene_csv"]

#: Largest stock file accepted. The full ``StockUniteLegale`` is a few GB
#: uncompressed and is streamed, so the limit only stops runaway input.
MAX_SIRENE_BYTES = 10_000_000_000

#: Longest physical line accepted (a real line is well under 2 000 characters).
MAX_LINE_CHARS = 100_000

_SIREN = "siren"
_STATE = "etatAdministratifUniteLegale"
_SINCE = "dateDebut"
_NAF = "activitePrincipaleUniteLegale"
_NAF_NOMENCLATURE = "nomenclatureActivitePrincipaleUniteLegale"
_LEGAL_CATEGORY = "categorieJuridiqueUniteLegale"
_DENOMINATION = "denominationUniteLegale"
_USUAL_DENOMINATION = "denominationUsuelle1UniteLegale"
_FIRST_NAME = "prenom1UniteLegale"
_USUAL_FIRST_NAME = "prenomUsuelUniteLegale"
_LAST_NAME = "nomUniteLegale"
_USED_LAST_NAME = "nomUsageUniteLegale"

_COLUMNS = (
    _SIREN,
    _STATE,
    _SINCE,
    _NAF,
    _NAF_NOMENCLATURE,
    _LEGAL_CATEGORY,
    _DENOMINATION,
    _USUAL_DENOMINATION,
    _FIRST_NAME,
    _USUAL_FIRST_NAME,
    _LAST_NAME,
    _USED_LAST_NAME,
)
_REQUIRED = (_SIREN, _STATE)

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NAF_CODE = re.compile(r"([0-9]{2})\.?([0-9]{2})([A-Z])")
#: SIRENE marks values hidden at the unit's request (statut de diffusion partielle).
_UNDISCLOSED = "[ND]"


@dataclass(frozen=True)
class SireneUnit:
    """One legal unit: its SIREN, whether it still exists, and what it does.

    ``naf_code`` is a NAF rév. 2 sub-class ``NN.NNX`` — None when the unit is
    classified in an older nomenclature (NAP, NAF 1993…), whose codes would
    collide with NAF rév. 2 ones. ``ceased_on`` is the start of the current
    period (``dateDebut``) of a ceased unit, None for an active one.
    """

    line: int
    siren: str
    active: bool
    name: str | None
    naf_code: str | None
    legal_category: str | None
    ceased_on: date | None


def _problem(name: str, line: int, field: str | None, message: str, code: str) -> InvalidInput:
    where = f"{name}, line {line}" + (f", field {field}" if field else "")
    return InvalidInput(f"{where}: {message}", code=code, field=field, context={"file": name, "line": line})


def _detect_delimiter(header_line: str) -> str:
    """INSEE ships commas; some re-exports use semicolons. The header tells which."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


class _Row:
    """A data line read through the header's column positions."""

    def __init__(self, cells: list[str], positions: dict[str, int], name: str, line: int) -> None:
        self.cells = cells
        self.positions = positions
        self.name = name
        self.line = line

    def get(self, column: str) -> str | None:
        position = self.positions.get(column)
        if position is None:
            return None
        value = self.cells[position].strip()
        return value if value and value != _UNDISCLOSED else None

    def error(self, column: str, message: str) -> InvalidInput:
        return _problem(self.name, self.line, column, message, "ingest.bad_field")


def _unit(row: _Row) -> SireneUnit:
    raw_siren = row.get(_SIREN) or ""
    if not (len(raw_siren) == 9 and raw_siren.isascii() and raw_siren.isdigit()):
        raise row.error(_SIREN, f"{raw_siren!r} is not a 9-digit SIREN")
    try:
        siren = parse_identifier(IdentifierKind.SIREN, raw_siren).value
    except InvalidInput as error:
        raise row.error(_SIREN, error.message) from None

    state = (row.get(_STATE) or "").upper()
    if state not in ("A", "C"):
        raise row.error(_STATE, f"{state!r} is not a state (A active, C ceased)")

    since: date | None = None
    raw_since = row.get(_SINCE)
    if raw_since is not None:
        if not _ISO_DATE.fullmatch(raw_since):
            raise row.error(_SINCE, f"{raw_since!r} is not a date YYYY-MM-DD")
        try:
            since = date.fromisoformat(raw_since)
        except ValueError:
            raise row.error(_SINCE, f"{raw_since!r} is not a date YYYY-MM-DD") from None

    return SireneUnit(
        line=row.line,
        siren=siren,
        active=state == "A",
        name=_name(row),
        naf_code=_naf(row),
        legal_category=_legal_category(row),
        ceased_on=since if state == "C" else None,
    )


def _name(row: _Row) -> str | None:
    """A company's denomination, or a person's ``first-name last-name``."""
    denomination = row.get(_DENOMINATION)
    if denomination is not None:
        return " ".join(denomination.split())
    last = row.get(_USED_LAST_NAME) or row.get(_LAST_NAME)
    if last is not None:
        first = row.get(_FIRST_NAME) or row.get(_USUAL_FIRST_NAME)
        return " ".join(" ".join(part for part in (first, last) if part).split())
    usual = row.get(_USUAL_DENOMINATION)
    return " ".join(usual.split()) if usual is not None else None


def _naf(row: _Row) -> str | None:
    code = row.get(_NAF)
    if code is None:
        return None
    nomenclature = row.get(_NAF_NOMENCLATURE)
    if nomenclature is not None and nomenclature.upper() != "NAFREV2":
        return None  # NAP / NAF 1993 / NAF rév. 1 codes are not NAF rév. 2 codes
    match = _NAF_CODE.fullmatch(code.upper())
    if match is None:
        raise row.error(_NAF, f"{code!r} is not a NAF rév. 2 code NN.NNX")
    return f"{match[1]}.{match[2]}{match[3]}"


def _legal_category(row: _Row) -> str | None:
    category = row.get(_LEGAL_CATEGORY)
    if category is None:
        return None
    if not (len(category) == 4 and category.isascii() and category.isdigit()):
        raise row.error(_LEGAL_CATEGORY, f"{category!r} is not a 4-digit legal category")
    return category


def _positions(header: list[str], name: str) -> dict[str, int]:
    """Column name → position, matched case-insensitively; required columns checked."""
    by_folded: dict[str, int] = {}
    for position, column in enumerate(header):
        by_folded.setdefault(column.strip().lstrip("\ufeff").casefold(), position)
    positions = {column: by_folded[column.casefold()] for column in _COLUMNS if column.casefold() in by_folded}
    for column in _REQUIRED:
        if column not in positions:
            hint = ""
            if "etatadministratifetablissement" in by_folded:
                hint = " (this looks like a StockEtablissement file, not StockUniteLegale)"
            raise InvalidInput(
                f"{name}: missing column {column!r}{hint}",
                code="ingest.missing_column",
                field=column,
                context={"file": name},
            )
    return positions


def _bounded_lines(handle: IO[str], name: str) -> Iterator[str]:
    """The file's physical lines, refusing one longer than any SIRENE line can be.

    ``csv`` only bounds a field once the whole line is in memory: a hostile
    file without line breaks would otherwise be read whole.
    """
    number = 0
    while True:
        line = handle.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise _problem(name, number, None, f"line longer than {MAX_LINE_CHARS} characters", "ingest.bad_line")
        yield line


def _units(handle: IO[str], name: str) -> Iterator[SireneUnit]:
    lines = _bounded_lines(handle, name)
    header_line = next(lines, "")
    reader = csv.reader(itertools.chain([header_line], lines), delimiter=_detect_delimiter(header_line))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise _problem(name, 1, None, f"unreadable header ({error})", "ingest.bad_line") from None
    if not header:
        raise InvalidInput(f"{name}: empty file, no header", code="ingest.missing_column", context={"file": name})
    positions = _positions(header, name)
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:
            raise _problem(name, reader.line_num, None, f"unreadable line ({error})", "ingest.bad_line") from None
        if cells is None:
            return
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        line = reader.line_num
        if len(cells) != len(header):
            raise _problem(name, line, None, f"{len(cells)} fields, the header has {len(header)}", "ingest.bad_line")
        yield _unit(_Row(cells, positions, name, line))


def parse_sirene_csv(path: str | Path) -> Iterator[SireneUnit]:
    """Stream the legal units of a SIRENE ``StockUniteLegale`` CSV.

    UTF-8, with or without a byte-order mark. Raises :class:`InvalidInput`
    (on iteration) for a file over :data:`MAX_SIRENE_BYTES`, a missing
    required column (naming it), or a bad line (naming line and column).
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InvalidInput(f"{name}: not a regular file", code="ingest.not_a_file", context={"file": name})
    if path.stat().st_size > MAX_SIRENE_BYTES:
        raise InvalidInput(
            f"{name}: larger than {MAX_SIRENE_BYTES} bytes", code="ingest.too_large", context={"file": name}
        )
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            yield from _units(handle, name)
        except UnicodeDecodeError as error:
            raise InvalidInput(
                f"{name}: not UTF-8 (byte {error.start} of a read block)",
                code="ingest.bad_encoding",
                context={"file": name},
            ) from None
