"""INSEE reference lists: NAF rév. 2 sub-classes and legal categories.

Both files are ``code,label`` without header; labels may hold unquoted
commas, so each line is split on its first comma only. NAF codes may carry a
trailing ``p`` which is not part of the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tradecover.domain.errors import InvalidInput

MAX_REFERENCE_BYTES = 2_000_000


@dataclass(frozen=True)
class CodeLabel:
    code: str
    label: str


def _read_lines(source: str | Path | None, packaged: str) -> tuple[str, list[str]]:
    if source is None:
        text = resources.files("tradecover.data").joinpath(packaged).read_text(encoding="utf-8")
        return packaged, text.splitlines()
    path = Path(source)
    if path.stat().st_size > MAX_REFERENCE_BYTES:
        raise InvalidInput(f"{path.name}: file larger than {MAX_REFERENCE_BYTES} bytes", code="ingest.too_large")
    return path.name, path.read_text(encoding="utf-8").splitlines()


def _parse(name: str, lines: list[str], check: type[object] | None = None) -> list[tuple[int, str, str]]:
    rows: list[tuple[int, str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        code, sep, label = line.partition(",")
        if not sep or not code.strip() or not label.strip():
            raise InvalidInput(
                f"{name}, line {number}: expected 'code,label'",
                code="ingest.bad_line",
                field="code",
                context={"file": name, "line": number},
            )
        rows.append((number, code.strip(), " ".join(label.split())))
    return rows


def naf_codes(source: str | Path | None = None) -> list[CodeLabel]:
    name, lines = _read_lines(source, "naf_rev2.csv")
    result: list[CodeLabel] = []
    for number, code, label in _parse(name, lines):
        code = code.removesuffix("p")
        if not (len(code) == 6 and code[:2].isdigit() and code[2] == "." and code[3:5].isdigit() and code[5].isalpha()):
            raise InvalidInput(
                f"{name}, line {number}, field code: {code!r} is not a NAF code NN.NNX",
                code="ingest.bad_field",
                field="code",
                context={"file": name, "line": number},
            )
        result.append(CodeLabel(code, label))
    return result


def legal_categories(source: str | Path | None = None) -> list[CodeLabel]:
    name, lines = _read_lines(source, "categories_juridiques.csv")
    result: list[CodeLabel] = []
    for number, code, label in _parse(name, lines):
        if not (len(code) == 4 and code.isdigit()):
            raise InvalidInput(
                f"{name}, line {number}, field code: {code!r} is not a 4-digit legal category",
                code="ingest.bad_field",
                field="code",
                context={"file": name, "line": number},
            )
        result.append(CodeLabel(code, label))
    return result
