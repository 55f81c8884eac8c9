"""Readers for the public default (bankruptcy) datasets the grading model learns from.

Two files, described in ``data/external/default_datasets/SOURCES.md``:

* the Polish companies bankruptcy data (UCI 365), an ARFF file of 64 ratios
  ``Attr1…Attr64`` and a nominal ``class {0,1}`` (1 = bankrupt);
* Simonoff's 50 US firms with the five Altman ratios, tab-separated with a
  header ``Company WC/TA RE/TA EBIT/TA S/TA BVE/BVL class``.

They are outside files, so the readers treat them as hostile: a size limit
(also on the *decompressed* size, so a small gzip bomb cannot exhaust
memory), strict number syntax (Python's ``float`` would also take ``nan``,
``inf`` and ``1_000``, none of which is ARFF), and every error is an
:class:`~tradecover.domain.errors.InvalidInput` naming the file, the line and
the field, so a broken download is diagnosed without a debugger.

The readers return plain NumPy arrays: the numeric engine (``risk``) works on
arrays, and ``ingest`` must not depend on it.
"""

# `X` is the conventional name of a design matrix (rows × features), as in scikit-learn.
# ruff: noqa: N803, N806

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tradecover.domain.errors import InvalidInput

__all__ = [
    "ALTMAN_COLUMNS",
    "MAX_DATASET_BYTES",
    "POLISH_MISSING_SENTINEL",
    "read_altman_tsv",
    "read_polish_arff",
]

#: Largest file (after decompression) a reader accepts. The Polish 1st-year
#: file is 3.5 MB; the largest UCI horizon file is about 4 MB.
MAX_DATASET_BYTES = 64_000_000

#: The copy of ``1year.arff`` we ship has no ``?``: its 5,835 missing values
#: (the count UCI/OpenML give) were replaced by the constant 0.325414, most of
#: them in Attr37 and Attr21 as UCI's own missing pattern. Treating that
#: constant as missing keeps it from posing as a real ratio.
POLISH_MISSING_SENTINEL = "0.325414"

#: The five Altman ratios in the order :func:`read_altman_tsv` returns them.
ALTMAN_COLUMNS: tuple[str, ...] = ("WC/TA", "RE/TA", "EBIT/TA", "S/TA", "BVE/BVL")
#: Of which these are given in percent in the file (SOURCES.md) and returned as fractions.
_ALTMAN_PERCENT_COLUMNS = frozenset({"WC/TA", "RE/TA", "EBIT/TA", "S/TA"})

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(_NUMBER)
_NUMERIC_TYPES = frozenset({"numeric", "real", "integer"})
_ATTRIBUTE_RE = re.compile(r"@attribute\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)\s+(.+)$", re.IGNORECASE)


def _error(message: str, *, code: str, file: str, line: int | None = None, field: str | None = None) -> InvalidInput:
    where = file if line is None else f"{file}, line {line}"
    if field is not None:
        where += f", field {field}"
    context: dict[str, object] = {"file": file}
    if line is not None:
        context["line"] = line
    return InvalidInput(f"{where}: {message}", code=code, field=field, context=context)


def _read_text(path: Path, max_bytes: int) -> str:
    """The file's text, gunzipped when its name ends in ``.gz``, at most ``max_bytes``."""
    name = path.name
    if path.stat().st_size > max_bytes:
        raise _error(f"file larger than {max_bytes} bytes", code="ingest.too_large", file=name)
    if path.suffix.lower() == ".gz":
        try:
            with gzip.open(path, "rb") as stream:
                raw = stream.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise _error(f"not a readable gzip file ({exc})", code="ingest.bad_file", file=name) from None
        if len(raw) > max_bytes:
            raise _error(f"decompresses to more than {max_bytes} bytes", code="ingest.too_large", file=name)
    else:
        raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(f"not UTF-8 text (byte {exc.start})", code="ingest.bad_encoding", file=name) from None


def _check_finite(X: NDArray[np.float64], line_numbers: list[int], names: list[str], file: str) -> None:
    """Refuse numbers the syntax allows but float64 cannot hold (``1e999`` → inf)."""
    bad = np.argwhere(np.isinf(X))
    if bad.size:
        row, column = (int(i) for i in bad[0])
        raise _error(
            "number out of float64 range",
            code="ingest.bad_field",
            file=file,
            line=line_numbers[row],
            field=names[column],
        )


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        return name[1:-1]
    return name


def read_polish_arff(
    path: str | Path,
    *,
    max_bytes: int = MAX_DATASET_BYTES,
    missing_sentinel: str | None = POLISH_MISSING_SENTINEL,
) -> tuple[NDArray[np.float64], NDArray[np.int64], list[str]]:
    """Read a Polish-bankruptcy ARFF file (plain, or gzipped when named ``*.gz``).

    Parameters
    ----------
    path
        The ``.arff`` or ``.arff.gz`` file.
    max_bytes
        Refuse files (decompressed) larger than this.
    missing_sentinel
        A value token that means "missing" besides ARFF's ``?`` (see
        :data:`POLISH_MISSING_SENTINEL`); ``None`` to keep every number.

    Returns
    -------
    X : ndarray of shape (n, k), float64
        The numeric attributes in file order; NaN where missing.
    y : ndarray of shape (n,), int64
        The ``class`` attribute, 1 = bankrupt.
    names : list of str
        The names of the ``k`` numeric attributes (``Attr1`` …).

    Only dense ARFF with numeric attributes and one nominal ``class {0,1}``
    is accepted: that is the dataset's shape, and anything else means a
    different file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = "@relation t\\n@attribute Attr1 numeric\\n@attribute class {0,1}\\n@data\\n0.5,0\\n?,1\\n"
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "tiny.arff"
    ...     _ = path.write_text(text)
    ...     X, y, names = read_polish_arff(path)
    >>> X.tolist(), y.tolist(), names
    ([[0.5], [nan]], [0, 1], ['Attr1'])
    """
    path = Path(path)
    name = path.name
    lines = _read_text(path, max_bytes).splitlines()

    names: list[str] = []
    class_index: int | None = None
    n_attributes = 0
    data_start: int | None = None
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("%"):
            continue
        keyword = text.split(None, 1)[0].lower()
        if keyword == "@relation":
            continue
        if keyword == "@data":
            data_start = number
            break
        if keyword != "@attribute":
            raise _error(f"unexpected header line {text[:40]!r}", code="ingest.bad_line", file=name, line=number)
        match = _ATTRIBUTE_RE.match(text)
        if match is None:
            raise _error("malformed @attribute line", code="ingest.bad_line", file=name, line=number)
        attribute, kind = _unquote(match.group(1)), match.group(2).strip()
        if attribute.lower() == "class":
            labels = {label.strip().strip("'\"") for label in kind.strip("{}").split(",")}
            if not (kind.startswith("{") and kind.endswith("}")) or labels != {"0", "1"}:
                raise _error(
                    f"class attribute must be nominal {{0,1}}, got {kind!r}",
                    code="ingest.bad_field",
                    file=name,
                    line=number,
                    field="class",
                )
            if class_index is not None:
                raise _error("two class attributes", code="ingest.bad_line", file=name, line=number)
            class_index = n_attributes
        elif kind.lower() in _NUMERIC_TYPES:
            names.append(attribute)
        else:
            raise _error(
                f"attribute type {kind!r} is not numeric",
                code="ingest.bad_field",
                file=name,
                line=number,
                field=attribute,
            )
        n_attributes += 1
    if data_start is None:
        raise _error("no @data section", code="ingest.bad_file", file=name)
    if class_index is None:
        raise _error("no 'class' attribute", code="ingest.bad_file", file=name)

    all_names = list(names)
    all_names.insert(class_index, "class")
    token = rf"\s*(?:\?|{_NUMBER})\s*"
    row_re = re.compile(rf"{token}(?:,{token}){{{n_attributes - 1}}}")
    rows: list[list[float]] = []
    classes: list[int] = []
    line_numbers: list[int] = []
    nan = float("nan")
    for number in range(data_start + 1, len(lines) + 1):
        line = lines[number - 1]
        text = line.strip()
        if not text or text.startswith("%"):
            continue
        tokens = [t.strip() for t in text.split(",")]
        if row_re.fullmatch(text) is None:
            if text.startswith("{"):
                raise _error("sparse ARFF rows are not supported", code="ingest.bad_line", file=name, line=number)
            if len(tokens) != n_attributes:
                raise _error(
                    f"expected {n_attributes} values, got {len(tokens)}",
                    code="ingest.bad_line",
                    file=name,
                    line=number,
                )
            bad = next(i for i, t in enumerate(tokens) if t != "?" and _NUMBER_RE.fullmatch(t) is None)
            raise _error(
                f"{tokens[bad][:30]!r} is not a number",
                code="ingest.bad_field",
                file=name,
                line=number,
                field=all_names[bad],
            )
        label = tokens.pop(class_index)
        if label not in ("0", "1"):
            raise _error(
                f"class must be 0 or 1, got {label!r}",
                code="ingest.bad_field",
                file=name,
                line=number,
                field="class",
            )
        classes.append(int(label))
        line_numbers.append(number)
        rows.append([nan if t in ("?", missing_sentinel) else float(t) for t in tokens])
    if not rows:
        raise _error("no data rows", code="ingest.bad_file", file=name)
    X = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
    _check_finite(X, line_numbers, names, name)
    return X, np.array(classes, dtype=np.int64), names


def read_altman_tsv(
    path: str | Path, *, max_bytes: int = MAX_DATASET_BYTES
) -> tuple[NDArray[np.float64], NDArray[np.int64], list[str]]:
    """Read the 50-US-firm Altman file (tab-separated, with a header).

    Columns are found by header name, so their order in the file does not
    matter; ``Company`` and unknown columns are ignored.

    Returns
    -------
    X : ndarray of shape (n, 5), float64
        :data:`ALTMAN_COLUMNS` in that order, **as fractions**: the file gives
        WC/TA, RE/TA, EBIT/TA and S/TA in percent (9.3 = 0.093) and BVE/BVL
        (book equity / book liabilities) as a plain ratio. Converting here,
        the one place that knows the file's units, means no caller has to.
    y : ndarray of shape (n,), int64
        ``class``: 1 = went bankrupt.
    names : list of str
        :data:`ALTMAN_COLUMNS` as a list.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> header = "Company\\tWC/TA\\tRE/TA\\tEBIT/TA\\tS/TA\\tBVE/BVL\\tclass\\n"
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "a.tsv"
    ...     _ = path.write_text(header + "7\\t9.3\\t-7.7\\t1.6\\t9.1\\t3.726\\t1\\n")
    ...     X, y, names = read_altman_tsv(path)
    >>> X.round(4).tolist(), y.tolist()
    ([[0.093, -0.077, 0.016, 0.091, 3.726]], [1])
    """
    path = Path(path)
    name = path.name
    lines = _read_text(path, max_bytes).splitlines()
    if not lines:
        raise _error("empty file", code="ingest.bad_file", file=name)
    header = [h.strip() for h in lines[0].split("\t")]
    wanted = (*ALTMAN_COLUMNS, "class")
    missing = [c for c in wanted if c not in header]
    if missing:
        raise _error(
            f"header lacks column(s) {', '.join(missing)}; got {', '.join(header)}",
            code="ingest.bad_header",
            file=name,
            line=1,
        )
    positions = [header.index(c) for c in wanted]
    rows: list[list[float]] = []
    classes: list[int] = []
    line_numbers: list[int] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) != len(header):
            raise _error(
                f"expected {len(header)} tab-separated values, got {len(cells)}",
                code="ingest.bad_line",
                file=name,
                line=number,
            )
        values: list[float] = []
        for column, position in zip(ALTMAN_COLUMNS, positions, strict=False):
            cell = cells[position]
            if _NUMBER_RE.fullmatch(cell) is None:
                raise _error(
                    f"{cell[:30]!r} is not a number",
                    code="ingest.bad_field",
                    file=name,
                    line=number,
                    field=column,
                )
            value = float(cell)
            values.append(value / 100.0 if column in _ALTMAN_PERCENT_COLUMNS else value)
        label = cells[positions[-1]]
        if label not in ("0", "1"):
            raise _error(
                f"class must be 0 or 1, got {label!r}",
                code="ingest.bad_field",
                file=name,
                line=number,
                field="class",
            )
        rows.append(values)
        classes.append(int(label))
        line_numbers.append(number)
    if not rows:
        raise _error("no data rows", code="ingest.bad_file", file=name)
    X = np.array(rows, dtype=np.float64)
    _check_finite(X, line_numbers, list(ALTMAN_COLUMNS), name)
    return X, np.array(classes, dtype=np.int64), list(ALTMAN_COLUMNS)
