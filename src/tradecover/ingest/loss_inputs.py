"""The loss model's other input files: a factor correlation matrix (CSV) and a scenario file (YAML or JSON).

Why: ``tradecover portfolio loss`` takes, besides the book, the correlations between its systematic
factors and the stress and reinsurance to apply. Both come from risk managers' spreadsheets and text
editors, so they are read as outside input: a size limit, strict UTF-8, and every problem reported
with the file, the line and the column (CSV) or key (scenario file).

**Correlation matrix** (``.csv``), e.g.::

    factor,sector:S01,sector:S02,country:FR
    sector:S01,1,0.5,0.3
    sector:S02,0.5,1,0.3
    country:FR,0.3,0.3,1

* the first header field is ``factor``; the others name the factors, ``sector:<name>`` or
  ``country:<code>`` as the book spells them, each once;
* then one line per factor, in the header's order, starting with the factor's name, then its
  correlations: a symmetric matrix with 1 on the diagonal, every value in [-1, 1], positive definite;
* separator ``,`` or ``;`` (detected from the header); in a ``;`` file a decimal comma is accepted.

**Scenario file** (``.yaml``, ``.yml`` or ``.json``), both sections optional::

    stress:
      name: recession 2027                # default: the file's name
      sector_pd_multipliers: {S01: 2.0}   # PD × 2 in sector S01
      country_pd_multipliers: {FR: 1.5}
      asset_correlation_multiplier: 1.2   # ρ × 1.2
      factor_correlation_shift: 0.25      # factor correlations a quarter of the way to 1
    reinsurance:
      quota_share_rate: 0.3               # ceded share, 0..1
      xol_retention: 500000               # per buyer, in the book's currency
      xol_limit: 2000000                  # optional: unlimited without
      stop_loss_attachment: 20000000      # on the year's retained total
      stop_loss_limit: 10000000

Numbers may be written as numbers or as text (``"1e6"``); YAML reads some bare words as booleans
(``NO``, ``ON``…), so a country or sector key that is not text is refused with a hint to quote it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import yaml

from tradecover.domain.errors import InvalidInput
from tradecover.risk.factor_model import FactorCorrelation, FactorCorrelationError
from tradecover.risk.reinsurance import Reinsurance
from tradecover.risk.stress import Stress

__all__ = [
    "MAX_CORRELATION_BYTES",
    "MAX_FACTORS",
    "MAX_SCENARIO_BYTES",
    "LossInputError",
    "read_factor_correlation",
    "read_scenario_file",
]

#: Size limit of a correlation file (2,000 factors at about 10 bytes a value).
MAX_CORRELATION_BYTES = 50_000_000
#: Factors in one correlation matrix.
MAX_FACTORS = 2_000
#: Size limit of a scenario file.
MAX_SCENARIO_BYTES = 1_000_000

_FACTOR_PREFIXES = ("sector:", "country:")
_STRESS_KEYS = (
    "name",
    "sector_pd_multipliers",
    "country_pd_multipliers",
    "asset_correlation_multiplier",
    "factor_correlation_shift",
)
_REINSURANCE_KEYS = ("quota_share_rate", "xol_retention", "xol_limit", "stop_loss_attachment", "stop_loss_limit")
_SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_MAX_NAME = 200


class LossInputError(InvalidInput, ValueError):
    """A correlation or scenario file that cannot be used.

    ``file`` is the file's name, ``line`` its line (1 = the first) when known, ``column`` the CSV
    column or the scenario key (``stress.sector_pd_multipliers.S01``); ``str()`` says all of it,
    e.g. ``corr.csv line 3, column sector:S02: 'abc' is not a number``.
    """

    code = "portfolio_loss.invalid_file"

    def __init__(
        self, file: str, message: str, *, line: int | None = None, column: str | None = None, key: str | None = None
    ) -> None:
        super().__init__(message, field=column or key, context={"file": file, "line": line})
        self.file = file
        self.line = line
        self.column = column
        self.key = key

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        if self.key is not None:
            where += f", key {self.key}"
        return f"{where}: {self.message}"


def _read_bytes(path: Path, max_bytes: int, suffixes: Sequence[str], kind: str) -> bytes:
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        expected = " or ".join(suffixes)
        raise LossInputError(path.name, f"unknown {kind} format {path.suffix or '(no suffix)'!r}: expected {expected}")
    try:
        if not path.is_file():
            raise LossInputError(path.name, "no such file" if not path.exists() else "not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise LossInputError(path.name, f"file too big: {size:,} bytes, the limit is {max_bytes:,}")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise LossInputError(path.name, f"cannot read the file ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise LossInputError(path.name, f"file too big: more than {max_bytes:,} bytes")
    if not data.strip():
        raise LossInputError(path.name, f"empty file: expected a {kind}")
    if b"\x00" in data:
        raise LossInputError(path.name, f"not a text file (NUL bytes): expected a UTF-8 {kind}")
    return data


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        offset = error.start
        line = data.count(b"\n", 0, offset) + 1
        raise LossInputError(
            name, f"invalid UTF-8 byte 0x{data[offset]:02x}: save the file as UTF-8", line=line
        ) from None


# -- the correlation matrix ----------------------------------------------------


def read_factor_correlation(
    path: Path, *, max_bytes: int = MAX_CORRELATION_BYTES, max_factors: int = MAX_FACTORS
) -> FactorCorrelation:
    """Read and check a factor correlation matrix CSV (see the module doc).

    Raises :class:`LossInputError` naming the file, the line and the column (the factor) of the
    first problem: a malformed cell, a row out of order, or a matrix that is not symmetric, not of
    unit diagonal, out of [-1, 1] or not positive definite.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "corr.csv").write_text("factor,sector:S01,country:FR\\nsector:S01,1,0.3\\ncountry:FR,0.3,1\\n")
    >>> read_factor_correlation(folder / "corr.csv").names
    ('sector:S01', 'country:FR')
    >>> _ = (folder / "bad.csv").write_text("factor,sector:S01,country:FR\\nsector:S01,1,0.3\\ncountry:FR,0.4,1\\n")
    >>> read_factor_correlation(folder / "bad.csv")
    Traceback (most recent call last):
    ...
    tradecover.ingest.loss_inputs.LossInputError: bad.csv line 2, column country:FR: 0.3 differs from its mirror 0.4
    """
    path = Path(path)
    name = path.name
    text = _decode(name, _read_bytes(path, max_bytes, (".csv",), "correlation matrix CSV"))
    header_text = io.StringIO(text, newline="").readline()
    separator = ";" if header_text.count(";") > header_text.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    records: list[tuple[int, list[str]]] = []
    previous_end = 0
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            records.append((start, [cell.strip() for cell in cells]))
            if len(records) == 1 and len(cells) - 1 > max_factors:
                raise LossInputError(name, f"{len(cells) - 1:,} factors, the limit is {max_factors:,}", line=start)
            if len(records) > max_factors + 1:
                raise LossInputError(name, f"more than {max_factors:,} factors", line=start)
    except csv.Error as error:
        raise LossInputError(name, f"malformed CSV ({error}), e.g. a quote not closed", line=previous_end + 1) from None
    if not records:
        raise LossInputError(name, "empty file: expected a header line and one line per factor")
    header_line, header = records[0]
    if header[0].lstrip("\ufeff").strip().casefold() != "factor":
        raise LossInputError(
            name,
            f"the first header field must be 'factor', not {_show(header[0])!r}",
            line=header_line,
            column="factor",
        )
    names = header[1:]
    if not names:
        raise LossInputError(name, "the header names no factor after 'factor'", line=header_line)
    seen: dict[str, int] = {}
    for position, factor in enumerate(names, start=2):
        if not factor:
            raise LossInputError(name, f"header field {position} is empty: name the factor", line=header_line)
        if not factor.startswith(_FACTOR_PREFIXES) or factor.endswith(":") or len(factor) > _MAX_NAME:
            raise LossInputError(
                name,
                f"factor {_show(factor)!r} must be named 'sector:<name>' or 'country:<code>'",
                line=header_line,
                column=_show(factor),
            )
        if factor in seen:
            raise LossInputError(
                name, f"factor {factor!r} named twice (header fields {seen[factor]} and {position})", line=header_line
            )
        seen[factor] = position
    rows = records[1:]
    if len(rows) != len(names):
        line = rows[len(names)][0] if len(rows) > len(names) else None
        raise LossInputError(
            name, f"{len(rows)} factor lines for the {len(names)} factors of the header: one line per factor", line=line
        )
    decimal_comma = separator == ";"
    matrix = np.empty((len(names), len(names)), dtype=np.float64)
    row_line: dict[str, int] = {}
    for i, (line, cells) in enumerate(rows):
        if len(cells) != len(header):
            raise LossInputError(name, f"{len(cells)} fields, the header has {len(header)}", line=line)
        if cells[0] != names[i]:
            raise LossInputError(
                name,
                f"the line is for {_show(cells[0])!r}, expected {names[i]!r}: the lines follow the header's order",
                line=line,
                column="factor",
            )
        row_line[names[i]] = line
        for j, cell in enumerate(cells[1:]):
            value = _number(cell, decimal_comma=decimal_comma)
            if value is None:
                message = "empty value" if not cell else f"{_show(cell)!r} is not a number"
                raise LossInputError(name, message, line=line, column=names[j])
            matrix[i, j] = value
    try:
        return FactorCorrelation.from_labelled(names, matrix)
    except FactorCorrelationError as error:
        where = ", ".join(
            part for part in (error.row and f"row {error.row}", error.column and f"column {error.column}") if part
        )
        message = str(error).removeprefix(f"correlation matrix {where}: " if where else "correlation matrix: ")
        line = row_line.get(error.row) if error.row is not None else None
        raise LossInputError(name, message, line=line, column=error.column) from None


def _number(text: str, *, decimal_comma: bool = False) -> float | None:
    """A finite float from a cell, or None."""
    cleaned = text.strip()
    if decimal_comma and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not _NUMBER.match(cleaned):
        return None
    value = float(cleaned)
    return value if math.isfinite(value) else None


def _show(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "…"


# -- the scenario file ---------------------------------------------------------


class _Positions:
    """The line of each key path of a YAML document, looked up along the path (never a whole walk)."""

    def __init__(self, text: str) -> None:
        try:
            self._root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except (yaml.YAMLError, RecursionError):
            self._root = None

    def line(self, path: Sequence[str]) -> int | None:
        node = self._root
        found: int | None = None if node is None else node.start_mark.line + 1
        for key in path:
            if not isinstance(node, yaml.MappingNode):
                return found
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    node, found = value_node, key_node.start_mark.line + 1
                    break
            else:
                return found
        return found


class _Scenario:
    def __init__(self, name: str, positions: _Positions) -> None:
        self.name = name
        self.positions = positions

    def fail(self, path: Sequence[str], message: str) -> NoReturn:
        raise LossInputError(self.name, message, line=self.positions.line(path), key=".".join(path) or None)

    def mapping(self, value: Any, path: Sequence[str], allowed: Sequence[str] | None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a mapping of keys to values, not {_kind(value)}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                hint = " (YAML reads NO, YES, ON, OFF… as booleans)" if isinstance(key, bool) else ""
                self.fail(path, f"key {key!r} is not text: quote it{hint}")
            if allowed is not None and key not in allowed:
                self.fail([*path, key], f"unknown key {_show(key)!r}: expected {', '.join(allowed)}")
            out[key] = item
        return out

    def number(self, value: Any, path: Sequence[str]) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(path, f"expected a number, not {_kind(value)}")
        number = _number(value) if isinstance(value, str) else float(value)
        if number is None or not math.isfinite(number):
            self.fail(path, f"{_show(value)!r} is not a finite number")
        return number

    def optional_number(self, value: Any, path: Sequence[str]) -> float | None:
        return None if value is None else self.number(value, path)

    def multipliers(self, value: Any, path: Sequence[str]) -> dict[str, float]:
        entries = self.mapping(value, path, None)
        return {key: self.number(item, [*path, key]) for key, item in entries.items()}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{_show(value)!r}"


def read_scenario_file(path: Path, *, max_bytes: int = MAX_SCENARIO_BYTES) -> tuple[Stress | None, Reinsurance | None]:
    """Read a scenario file (see the module doc) into its stress and its reinsurance, either possibly None.

    Raises :class:`LossInputError` naming the file, the line and the key of the first problem.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "crisis.yaml").write_text("stress:\\n  sector_pd_multipliers: {S01: 2}\\n")
    >>> stress, reinsurance = read_scenario_file(folder / "crisis.yaml")
    >>> stress.name, dict(stress.sector_pd_multipliers), reinsurance
    ('crisis', {'S01': 2.0}, None)
    >>> _ = (folder / "bad.yaml").write_text("reinsurance:\\n  quota_share: 0.3\\n")
    >>> read_scenario_file(folder / "bad.yaml")
    Traceback (most recent call last):
    ...
    tradecover.ingest.loss_inputs.LossInputError: bad.yaml line 2, key reinsurance.quota_share: unknown key \
'quota_share': expected quota_share_rate, xol_retention, xol_limit, stop_loss_attachment, stop_loss_limit
    """
    path = Path(path)
    name = path.name
    text = _decode(name, _read_bytes(path, max_bytes, _SCENARIO_SUFFIXES, "scenario file (YAML or JSON)"))
    data = _load(name, text, json_file=path.suffix.lower() == ".json")
    scenario = _Scenario(name, _Positions(text))
    top = scenario.mapping(data, [], ("stress", "reinsurance"))
    if not top:
        scenario.fail([], "nothing to apply: expected a 'stress' or a 'reinsurance' section")
    stress = _stress(scenario, top["stress"], path.stem) if "stress" in top else None
    reinsurance = _reinsurance(scenario, top["reinsurance"]) if "reinsurance" in top else None
    return stress, reinsurance


def _load(name: str, text: str, *, json_file: bool) -> Any:
    if json_file:
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            raise LossInputError(
                name, f"invalid JSON: {error.msg} (character {error.colno})", line=error.lineno
            ) from None
        except RecursionError:
            raise LossInputError(name, "invalid JSON: nested too deeply") from None
        except ValueError as error:
            raise LossInputError(name, f"invalid JSON: {error}") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "unreadable"
        line = mark.line + 1 if mark is not None else None
        column = f" (character {mark.column + 1})" if mark is not None else ""
        raise LossInputError(name, f"invalid YAML: {problem}{column}", line=line) from None
    except yaml.YAMLError as error:
        raise LossInputError(name, f"invalid YAML: {_show(error)}") from None
    except RecursionError:
        raise LossInputError(name, "invalid YAML: nested too deeply") from None


def _refuse_constant(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not a number")


def _stress(scenario: _Scenario, value: Any, default_name: str) -> Stress:
    path = ["stress"]
    entries = scenario.mapping(value, path, _STRESS_KEYS)
    name = entries.get("name", default_name)
    if name is None:
        name = default_name
    if not isinstance(name, str | int | float) or isinstance(name, bool) or not str(name).strip():
        scenario.fail([*path, "name"], f"expected a name, not {_kind(name)}")
    name = str(name).strip()
    if len(name) > _MAX_NAME:
        scenario.fail([*path, "name"], f"a name of at most {_MAX_NAME} characters, not {len(name)}")
    arguments: dict[str, Any] = {
        "name": name,
        "sector_pd_multipliers": scenario.multipliers(
            entries.get("sector_pd_multipliers"), [*path, "sector_pd_multipliers"]
        ),
        "country_pd_multipliers": scenario.multipliers(
            entries.get("country_pd_multipliers"), [*path, "country_pd_multipliers"]
        ),
    }
    for key, default in (("asset_correlation_multiplier", 1.0), ("factor_correlation_shift", 0.0)):
        item = entries.get(key)
        arguments[key] = default if item is None else scenario.number(item, [*path, key])
    try:
        return Stress(**arguments)
    except ValueError as error:
        scenario.fail(_culprit(path, str(error), entries), str(error))


def _reinsurance(scenario: _Scenario, value: Any) -> Reinsurance:
    path = ["reinsurance"]
    entries = scenario.mapping(value, path, _REINSURANCE_KEYS)
    arguments: dict[str, Any] = {
        key: scenario.optional_number(entries.get(key), [*path, key]) for key in _REINSURANCE_KEYS
    }
    if arguments["quota_share_rate"] is None:
        arguments["quota_share_rate"] = 0.0
    try:
        return Reinsurance(**arguments)
    except ValueError as error:
        scenario.fail(_culprit(path, str(error), entries), str(error))


def _culprit(path: list[str], message: str, entries: Mapping[str, Any]) -> list[str]:
    """The key a model's message is about (its first word naming one of the section's keys)."""
    for key in entries:
        if message.startswith(key) or f" {key!r}" in message:
            return [*path, key]
    for kind in ("sector", "country"):
        if message.startswith(f"{kind} "):
            return [*path, f"{kind}_pd_multipliers", message.split("'")[1]] if "'" in message else path
    return path
