"""The portfolio loss model's book file: one row per obligor, CSV or Parquet.

Why: ``tradecover portfolio loss --book FILE`` reads an insurer's whole book,
up to millions of obligors, exported by a spreadsheet or a data pipeline. The
layout:

* columns ``obligor_id``, ``ead``, ``pd``, ``lgd``, ``sector``, ``country``,
  matched by name (trimmed, case-insensitive), in any order; other columns
  are ignored;
* ``ead``: exposure at default in the book's currency units, a finite number
  ≥ 0; ``pd`` and ``lgd``: fractions in [0, 1] (0.02, never 2 %);
* ``obligor_id``, ``sector`` and ``country``: non-empty text (trimmed);
  obligor ids are unique; country codes are not checked further;
* CSV (``.csv``): UTF-8 with or without byte-order mark, a header line, the
  separator ``,`` or ``;`` detected from the header; in a ``;`` file a
  decimal comma (``0,45``) is accepted, as French spreadsheets write it;
  blank lines are skipped; Parquet (``.parquet``): numbers or text columns.

The file is outside input, so it is read defensively: a size and a row limit,
strict UTF-8, and every problem reported with the file, the line (CSV, as a
text editor numbers it: the header is line 1) or row (Parquet, 1-based) and
the column — the first :data:`MAX_REPORTED_PROBLEMS` of them at once, so that
a file can be fixed in one pass. Parsing and checks are vectorised with
polars: a million-row book loads in about a second.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import polars as pl

from tradecover.domain.errors import InvalidInput
from tradecover.risk.portfolio_book import PortfolioBook

__all__ = [
    "BOOK_COLUMNS",
    "MAX_BOOK_BYTES",
    "MAX_BOOK_ROWS",
    "MAX_REPORTED_PROBLEMS",
    "BookFileError",
    "BookProblem",
    "read_book",
    "write_book",
]

#: The columns of a book file, in the order they are written and reported.
BOOK_COLUMNS: tuple[str, ...] = ("obligor_id", "ead", "pd", "lgd", "sector", "country")
_TEXT_COLUMNS = ("obligor_id", "sector", "country")
_NUMBER_COLUMNS = ("ead", "pd", "lgd")

#: Default size limit of a book file (a 20-million-row CSV is about 1 GB).
MAX_BOOK_BYTES = 2_000_000_000
#: Default limit on data rows.
MAX_BOOK_ROWS = 20_000_000
#: Problems listed in one error; the rest are only counted.
MAX_REPORTED_PROBLEMS = 20

_SUFFIXES = (".csv", ".parquet")
_BOM = codecs.BOM_UTF8
_HEADER_PROBE_BYTES = 1 << 20
_CHUNK_BYTES = 1 << 24
_INDEX = "__index"

# Per cell, the problem found (0: none); one per column, the first of this order.
_EMPTY, _NOT_A_NUMBER, _NOT_FINITE, _OUT_OF_RANGE, _DUPLICATE = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class BookProblem:
    """One problem of a book file.

    ``line`` is the CSV line (header = line 1) or the Parquet data row
    (first = row 1), as ``unit`` says; None for a problem of the whole file.
    ``column`` is None when the problem is not in one column.
    """

    file: str
    line: int | None
    column: str | None
    message: str
    unit: Literal["line", "row"] = "line"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} {self.unit} {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class BookFileError(InvalidInput, ValueError):
    """A book file that cannot be used, with its first problems.

    ``problems`` lists up to :data:`MAX_REPORTED_PROBLEMS` problems in file
    order; ``total`` counts all those found. ``line``, ``column`` and
    ``message`` are the first problem's; ``str()`` gives one problem a line,
    e.g. ``book.csv line 7, column pd: 1.3 is outside [0, 1]``.
    """

    code = "portfolio_book.invalid"

    def __init__(self, path: Path, problems: Sequence[BookProblem], *, total: int | None = None) -> None:
        if not problems:
            raise ValueError("a BookFileError needs at least one problem")
        first = problems[0]
        self.path = path
        self.problems: tuple[BookProblem, ...] = tuple(problems)
        self.total = max(total or 0, len(self.problems))
        self.line = first.line
        self.unit = first.unit
        super().__init__(
            first.message,
            field=first.column,
            context={"file": first.file, "line": first.line, "problems": self.total},
        )
        self.column = first.column

    def __str__(self) -> str:
        lines = [str(problem) for problem in self.problems]
        if self.total > len(self.problems):
            lines.append(f"… and {self.total - len(self.problems)} more problems")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data["problems"] = [str(problem) for problem in self.problems]
        return data


def _fail(
    path: Path, message: str, *, line: int | None = None, column: str | None = None, unit: str = "line"
) -> NoReturn:
    raise BookFileError(path, [BookProblem(path.name, line, column, message, "row" if unit == "row" else "line")])


# -- reading -------------------------------------------------------------------


def read_book(path: Path, *, max_bytes: int = MAX_BOOK_BYTES, max_rows: int = MAX_BOOK_ROWS) -> PortfolioBook:
    """Read and check a book file (``.csv`` or ``.parquet``) into a :class:`PortfolioBook`.

    Sectors and countries are coded by their sorted distinct names. Raises
    :class:`BookFileError` naming the file, line or row and column of each
    problem found (up to :data:`MAX_REPORTED_PROBLEMS`).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "book.csv").write_text("obligor_id;ead;pd;lgd;sector;country\\nB1;1000;0,02;0,45;S01;FR\\n")
    >>> read_book(folder / "book.csv").pd.tolist()
    [0.02]
    >>> _ = (folder / "bad.csv").write_text("obligor_id,ead,pd,lgd,sector,country\\nB1,1000,1.3,0.45,S01,FR\\n")
    >>> read_book(folder / "bad.csv")
    Traceback (most recent call last):
    ...
    tradecover.ingest.portfolio_book.BookFileError: bad.csv line 2, column pd: 1.3 is outside [0, 1]
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        _fail(path, f"unknown book format {path.suffix or '(no suffix)'!r}: expected a .csv or .parquet file")
    try:
        if not path.is_file():
            _fail(path, "no such file" if not path.exists() else "not a regular file")
        size = path.stat().st_size
    except OSError as error:
        _fail(path, f"cannot read the file ({error.strerror or error})")
    if size > max_bytes:
        _fail(path, f"file too big: {size:,} bytes, the limit is {max_bytes:,}")
    if size == 0:
        _fail(path, "empty file: expected one line or row per obligor")
    if suffix == ".csv":
        frame, decimal_comma, locate = _read_csv(path, max_rows)
        unit: Literal["line", "row"] = "line"
    else:
        frame = _read_parquet(path, max_rows)
        decimal_comma, locate, unit = False, _parquet_rows, "row"
    return _checked_book(path, frame, decimal_comma=decimal_comma, locate=locate, unit=unit)


def _header_positions(path: Path, names: Sequence[str], *, line: int | None, unit: str) -> dict[str, int]:
    """Position of each book column among ``names``; every missing or doubled column is a problem."""
    positions: dict[str, int] = {}
    problems: list[BookProblem] = []
    kind: Literal["line", "row"] = "row" if unit == "row" else "line"
    for position, raw in enumerate(names):
        name = raw.strip().lstrip("\ufeff").strip().casefold()
        if name not in BOOK_COLUMNS:
            continue
        if name in positions:
            problems.append(
                BookProblem(
                    path.name,
                    line,
                    name,
                    f"the column appears twice (header fields {positions[name] + 1} and {position + 1})",
                    kind,
                )
            )
        else:
            positions[name] = position
    shown = ", ".join(repr(_show(name.strip())) for name in names[:12]) + (", …" if len(names) > 12 else "")
    for name in BOOK_COLUMNS:
        if name not in positions:
            problems.append(
                BookProblem(
                    path.name, line, name, f"missing column {name!r} (the header has: {shown or 'nothing'})", kind
                )
            )
    if problems:
        raise BookFileError(path, problems)
    return positions


def _read_csv(path: Path, max_rows: int) -> tuple[pl.DataFrame, bool, Callable[[Iterable[int]], dict[int, int]]]:
    """The six book columns as text, in file order, with the index of each record (blank lines included)."""
    with path.open("rb") as handle:
        probe = handle.read(_HEADER_PROBE_BYTES)
    if b"\x00" in probe:
        _fail(path, "not a text file (NUL bytes): expected a UTF-8 CSV file")
    start = len(_BOM) if probe.startswith(_BOM) else 0
    end = probe.find(b"\n", start)
    if end < 0:
        if len(probe) == _HEADER_PROBE_BYTES:
            _fail(path, f"the header line is longer than {_HEADER_PROBE_BYTES:,} bytes", line=1)
        end = len(probe)
    try:
        header_text = probe[start:end].rstrip(b"\r").decode("utf-8")
    except UnicodeDecodeError as error:
        _fail(path, f"invalid UTF-8 byte 0x{probe[start + error.start]:02x}: save the file as UTF-8", line=1)
    if not header_text.strip():
        _fail(path, "empty header line: the first line must name the columns", line=1)
    separator = ";" if header_text.count(";") > header_text.count(",") else ","
    try:
        header = next(csv.reader([header_text], delimiter=separator, strict=True))
    except csv.Error as error:
        _fail(path, f"unreadable header ({error})", line=1)
    positions = _header_positions(path, header, line=1, unit="line")
    try:
        raw = pl.read_csv(
            path,
            has_header=True,
            separator=separator,
            quote_char='"',
            infer_schema=False,
            n_rows=max_rows + 1,
            encoding="utf8",
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as error:
        raise _diagnose_csv(path, separator, header, error) from None
    if raw.width != len(header):
        _fail(path, f"the header has {len(header)} fields but the file reads as {raw.width} columns", line=1)
    if raw.height > max_rows:
        _fail(path, f"more than {max_rows:,} data lines")
    frame = raw.select(pl.col(raw.columns[positions[name]]).alias(name) for name in BOOK_COLUMNS)
    frame = frame.with_row_index(_INDEX)

    def locate(indices: Iterable[int]) -> dict[int, int]:
        return _csv_lines(path, separator, raw.height, indices)

    return frame, separator == ";", locate


def _csv_lines(path: Path, separator: str, records: int, indices: Iterable[int]) -> dict[int, int]:
    """The line (header = 1) where each data record of the given 0-based indices starts.

    A record is one line unless a quoted value spans lines; only then are the
    records walked, and only up to the last one asked for.
    """
    wanted = sorted(set(indices))
    if not wanted:
        return {}
    newlines, last = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    lines = newlines + (0 if last == b"\n" else 1)
    if lines == records + 1:
        return {index: index + 2 for index in wanted}
    found: dict[int, int] = {}
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as text:
        reader = csv.reader(text, delimiter=separator)
        next(reader, None)
        previous_end = reader.line_num
        targets = iter(wanted)
        target = next(targets)
        for index, _ in enumerate(reader):
            if index == target:
                found[index] = previous_end + 1
                target = next(targets, -1)
                if target < 0:
                    break
            previous_end = reader.line_num
    return found


def _diagnose_csv(path: Path, separator: str, header: Sequence[str], error: BaseException) -> BookFileError:
    """The lines behind a polars parse failure: bad UTF-8, too many fields, an unterminated quote."""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if "utf-8" in reason.lower() or "utf8" in reason.lower():
        located = _bad_utf8(path, separator)
        if located is not None:
            line, byte, field = located
            column = None
            if field < len(header):
                name = header[field].strip().lstrip("\ufeff").strip()
                column = name.casefold() if name.casefold() in BOOK_COLUMNS else name
            message = f"invalid UTF-8 byte 0x{byte:02x}: save the file as UTF-8"
            return BookFileError(path, [BookProblem(path.name, line, column, message)])
    problems: list[BookProblem] = []
    total = 0
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as text:
        reader = csv.reader(text, delimiter=separator, strict=True)
        previous_end = 0
        while True:
            try:
                cells = next(reader, None)
            except csv.Error as problem:
                total += 1
                if len(problems) < MAX_REPORTED_PROBLEMS:
                    message = f"malformed CSV ({problem}), e.g. a quote not closed"
                    problems.append(BookProblem(path.name, previous_end + 1, None, message))
                break
            if cells is None:
                break
            start, previous_end = previous_end + 1, reader.line_num
            if start > 1 and len(cells) > len(header):
                total += 1
                if len(problems) < MAX_REPORTED_PROBLEMS:
                    message = f"{len(cells)} fields, the header has {len(header)}"
                    problems.append(BookProblem(path.name, start, None, message))
    if not problems:
        problems.append(BookProblem(path.name, None, None, f"malformed CSV file ({reason})"))
    return BookFileError(path, problems, total=total)


def _bad_utf8(path: Path, separator: str) -> tuple[int, int, int] | None:
    """(line, byte, 0-based field) of the first byte that is not UTF-8, or None if all is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    tail = b""  # the current line so far (bounded), the decoder's pending bytes included
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_CHUNK_BYTES)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                data = tail + chunk
                bad = len(tail) - len(pending) + error.start
                before = data[:bad]
                line_start = before.rfind(b"\n") + 1
                field = before[line_start:].count(separator.encode())
                return lines_before + before.count(b"\n") + 1, data[bad], field
            if not chunk:
                return None
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                lines_before += (tail + chunk[: newline + 1]).count(b"\n")
                tail = chunk[newline + 1 :]
            else:
                tail += chunk
            tail = tail[-_HEADER_PROBE_BYTES:]


def _read_parquet(path: Path, max_rows: int) -> pl.DataFrame:
    try:
        schema = pl.scan_parquet(path).collect_schema()
        names = list(schema.names())
        positions = _header_positions(path, names, line=None, unit="row")
        rows = int(pl.scan_parquet(path).select(pl.len()).collect().item())
        if rows > max_rows:
            _fail(path, f"more than {max_rows:,} rows ({rows:,})", unit="row")
        if rows == 0:
            _fail(path, "no data rows: expected one row per obligor", unit="row")
        raw = pl.read_parquet(path, columns=[names[positions[name]] for name in BOOK_COLUMNS])
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise BookFileError(path, [BookProblem(path.name, None, None, f"unreadable Parquet file ({reason})")]) from None
    frame = raw.select(pl.col(names[positions[name]]).alias(name) for name in BOOK_COLUMNS)
    return frame.with_row_index(_INDEX)


def _parquet_rows(indices: Iterable[int]) -> dict[int, int]:
    return {index: index + 1 for index in indices}


# -- checking ------------------------------------------------------------------


def _text(path: Path, frame: pl.DataFrame, name: str) -> pl.Expr:
    """A text column, trimmed, empty as null."""
    dtype = frame.schema[name]
    column = pl.col(name)
    if dtype == pl.String:
        trimmed = column.str.strip_chars()
    elif dtype.is_integer() or dtype in (pl.Categorical, pl.Enum, pl.Null):
        trimmed = column.cast(pl.String).str.strip_chars()
    else:
        _fail(path, f"the column holds {dtype} values, expected text", column=name, unit="row")
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


def _number(path: Path, frame: pl.DataFrame, name: str, *, decimal_comma: bool) -> tuple[pl.Expr, pl.Expr]:
    """(the value as Float64 or null, whether the cell is empty)."""
    dtype = frame.schema[name]
    column = pl.col(name)
    if dtype == pl.String:
        trimmed = column.str.strip_chars()
        if decimal_comma:
            trimmed = (
                pl.when(trimmed.str.contains(".", literal=True))
                .then(trimmed)
                .otherwise(trimmed.str.replace(",", ".", literal=True))
            )
        return trimmed.cast(pl.Float64, strict=False), (trimmed.str.len_bytes() == 0).fill_null(True)
    if dtype.is_numeric() or dtype == pl.Null:
        return column.cast(pl.Float64), column.is_null()
    _fail(path, f"the column holds {dtype} values, expected numbers", column=name, unit="row")


def _checked_book(
    path: Path,
    frame: pl.DataFrame,
    *,
    decimal_comma: bool,
    locate: Callable[[Iterable[int]], dict[int, int]],
    unit: Literal["line", "row"],
) -> PortfolioBook:
    cleaned: list[pl.Expr] = [pl.col(_INDEX)]
    for name in BOOK_COLUMNS:
        if name in _TEXT_COLUMNS:
            cleaned.append(_text(path, frame, name).alias(name))
        else:
            number, empty = _number(path, frame, name, decimal_comma=decimal_comma)
            cleaned += [number.alias(name), empty.alias(f"{name}__empty")]
    checked = frame.select(cleaned)
    if unit == "line":  # blank lines, or lines of separators only (spreadsheets write them), are skipped
        blank = pl.all_horizontal(
            *(pl.col(name).is_null() for name in _TEXT_COLUMNS), *(pl.col(f"{name}__empty") for name in _NUMBER_COLUMNS)
        )
        if checked.select(blank.any()).item():
            checked = checked.filter(~blank)
    if checked.height == 0:
        _fail(path, f"no data {unit}s: expected one {unit} per obligor")

    # The common case first: one cheap pass of counts says whether anything is wrong.
    flaws = [pl.col(name).null_count().alias(name) for name in _TEXT_COLUMNS]
    flaws += [
        (pl.col(name).null_count() + (~pl.col(name).is_finite() | _out_of_range(name)).sum()).alias(name)
        for name in _NUMBER_COLUMNS
    ]
    *counts, distinct = checked.select(*flaws, pl.col("obligor_id").n_unique().alias("distinct")).row(0)
    if any(counts) or distinct != checked.height:
        raise _problems(path, frame, checked, locate, unit)

    sectors = tuple(sorted(checked.get_column("sector").unique().to_list()))
    countries = tuple(sorted(checked.get_column("country").unique().to_list()))
    return PortfolioBook(
        obligor_id=tuple(checked.get_column("obligor_id").to_list()),
        ead=np.array(checked.get_column("ead").to_numpy(), dtype=np.float64),
        pd=np.array(checked.get_column("pd").to_numpy(), dtype=np.float64),
        lgd=np.array(checked.get_column("lgd").to_numpy(), dtype=np.float64),
        sector=_codes(checked.get_column("sector"), sectors),
        country=_codes(checked.get_column("country"), countries),
        sectors=sectors,
        countries=countries,
    )


def _codes(values: pl.Series, names: tuple[str, ...]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The index of each value in ``names`` (sorted, distinct, holding every value)."""
    return np.array(values.cast(pl.Enum(list(names))).to_physical().to_numpy(), dtype=np.int64)


def _show(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _out_of_range(name: str) -> pl.Expr:
    number = pl.col(name)
    return number < 0 if name == "ead" else (number < 0) | (number > 1)


def _problem_code(name: str) -> pl.Expr:
    """The problem of each cell of a cleaned column (0: none); the first that applies of this order."""
    value = pl.col(name)
    if name == "obligor_id":
        return pl.when(value.is_null()).then(_EMPTY).when(~value.is_first_distinct()).then(_DUPLICATE).otherwise(0)
    if name in _TEXT_COLUMNS:
        return pl.when(value.is_null()).then(_EMPTY).otherwise(0)
    return (
        pl.when(pl.col(f"{name}__empty"))
        .then(_EMPTY)
        .when(value.is_null())
        .then(_NOT_A_NUMBER)
        .when(~value.is_finite())
        .then(_NOT_FINITE)
        .when(_out_of_range(name))
        .then(_OUT_OF_RANGE)
        .otherwise(0)
    )


def _problems(
    path: Path,
    raw: pl.DataFrame,
    cleaned: pl.DataFrame,
    locate: Callable[[Iterable[int]], dict[int, int]],
    unit: Literal["line", "row"],
) -> BookFileError:
    """The first problems in file order (vectorised down to the few offending rows), and their count."""
    codes = [f"{name}__problem" for name in BOOK_COLUMNS]
    checked = cleaned.with_columns(
        _problem_code(name).cast(pl.UInt8).alias(f"{name}__problem") for name in BOOK_COLUMNS
    )
    total = int(sum(checked.select(pl.col(code).gt(0).sum() for code in codes).row(0)))
    offending = checked.filter(pl.any_horizontal(pl.col(code) > 0 for code in codes)).head(MAX_REPORTED_PROBLEMS)
    shown = raw.join(offending.select(_INDEX), on=_INDEX, how="semi").sort(_INDEX)
    texts = shown.select(
        pl.col(_INDEX), *(pl.col(name).cast(pl.String).str.strip_chars().alias(name) for name in BOOK_COLUMNS)
    )
    duplicated = offending.filter(pl.col("obligor_id__problem") == _DUPLICATE).get_column("obligor_id")
    first_seen: dict[str, int] = {}
    if duplicated.len():
        firsts = (
            checked.filter(pl.col("obligor_id").is_in(duplicated.implode()))
            .group_by("obligor_id")
            .agg(pl.col(_INDEX).min())
        )
        first_seen = dict(
            zip(firsts.get_column("obligor_id").to_list(), firsts.get_column(_INDEX).to_list(), strict=True)
        )
    indices = offending.get_column(_INDEX).to_list()
    lines = locate([*indices, *first_seen.values()])
    text_by_index: Mapping[int, dict[str, Any]] = {row[_INDEX]: row for row in texts.iter_rows(named=True)}
    problems: list[BookProblem] = []
    for row in offending.iter_rows(named=True):
        index = row[_INDEX]
        line = lines.get(index)
        for name in BOOK_COLUMNS:
            code = row[f"{name}__problem"]
            if not code or len(problems) >= MAX_REPORTED_PROBLEMS:
                continue
            text = _show(text_by_index[index][name])
            if code == _EMPTY:
                message = "empty value"
            elif code == _NOT_A_NUMBER:
                message = f"{text!r} is not a number"
            elif code == _NOT_FINITE:
                message = f"{text} is not a finite number"
            elif code == _OUT_OF_RANGE:
                message = f"{text} is negative: an exposure is ≥ 0" if name == "ead" else f"{text} is outside [0, 1]"
            else:
                first = lines.get(first_seen[row["obligor_id"]])
                message = f"duplicate obligor_id {text!r}, first on {unit} {first}"
            problems.append(BookProblem(path.name, line, name, message, unit))
    return BookFileError(path, problems, total=total)


# -- writing -------------------------------------------------------------------


def write_book(book: PortfolioBook, path: Path) -> None:
    """Write ``book`` as CSV (comma-separated, UTF-8, no BOM) or Parquet, by the suffix of ``path``.

    What :func:`read_book` reads back identically (floats are written in
    their shortest exact form).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        _fail(path, f"unknown book format {path.suffix or '(no suffix)'!r}: expected a .csv or .parquet file")
    frame = pl.DataFrame(
        {
            "obligor_id": pl.Series(book.obligor_id, dtype=pl.String),
            "ead": pl.Series(book.ead, dtype=pl.Float64),
            "pd": pl.Series(book.pd, dtype=pl.Float64),
            "lgd": pl.Series(book.lgd, dtype=pl.Float64),
            "sector": pl.Series(book.sectors, dtype=pl.String).gather(pl.Series(book.sector)),
            "country": pl.Series(book.countries, dtype=pl.String).gather(pl.Series(book.country)),
        }
    )
    if suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
