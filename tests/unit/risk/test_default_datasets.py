"""Readers of the public default datasets: the Polish ARFF and the 50 US firms' Altman ratios."""

# `X` is the conventional name of a design matrix (rows × features), as in scikit-learn.
# ruff: noqa: N806

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tradecover.domain.errors import InvalidInput
from tradecover.ingest.default_datasets import (
    ALTMAN_COLUMNS,
    POLISH_MISSING_SENTINEL,
    read_altman_tsv,
    read_polish_arff,
)

DATA = Path(__file__).parents[3] / ".." / "shared" / "data" / "external" / "default_datasets"
POLISH = DATA / "polish_bankruptcy_1year.arff.gz"
ALTMAN = DATA / "analcatdata_bankruptcy_altman_ratios.tsv"

HEADER = """% a comment
@relation 'tiny'

@attribute Attr1 numeric
@attribute 'Attr 2' REAL
@attribute class {0,1}

@data
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def error_of(path: Path, **kwargs: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        read_polish_arff(path, **kwargs)  # type: ignore[arg-type]
    return caught.value


# -- Polish ARFF -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tiny.arff", "tiny.arff.gz"])
def test_reads_plain_and_gzipped_arff(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, HEADER + "0.5,-1.25e-1,0\n\n?, 3 ,1\n% trailing comment\n.5,+2.,0\n")
    X, y, names = read_polish_arff(path)
    assert names == ["Attr1", "Attr 2"]
    assert y.tolist() == [0, 1, 0]
    assert y.dtype == np.int64
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, [[0.5, -0.125], [np.nan, 3.0], [0.5, 2.0]])


def test_the_missing_sentinel_of_our_copy_reads_as_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "s.arff", HEADER + f"{POLISH_MISSING_SENTINEL},1,0\n")
    assert np.isnan(read_polish_arff(path)[0][0, 0])
    assert read_polish_arff(path, missing_sentinel=None)[0][0, 0] == 0.325414


def test_a_bad_value_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.arff", HEADER + "0.5,1,0\n0.5,abc,1\n")
    error = error_of(path)
    assert error.code == "ingest.bad_field"
    assert error.field == "Attr 2"
    assert error.context == {"file": "broken.arff", "line": 10}
    assert "broken.arff, line 10, field Attr 2" in str(error)


@pytest.mark.parametrize(
    ("row", "code", "field"),
    [
        ("0.5,1\n", "ingest.bad_line", None),  # too few values
        ("0.5,1,0,4\n", "ingest.bad_line", None),  # too many
        ("nan,1,0\n", "ingest.bad_field", "Attr1"),  # float() would take it; ARFF does not
        ("inf,1,0\n", "ingest.bad_field", "Attr1"),
        ("1_000,1,0\n", "ingest.bad_field", "Attr1"),
        ("0.5,1,2\n", "ingest.bad_field", "class"),
        ("0.5,1,?\n", "ingest.bad_field", "class"),
        ("1e999,1,0\n", "ingest.bad_field", "Attr1"),  # overflows float64
        ("{0 0.5, 2 1}\n", "ingest.bad_line", None),  # sparse ARFF
    ],
)
def test_bad_data_rows(tmp_path: Path, row: str, code: str, field: str | None) -> None:
    error = error_of(write(tmp_path, "bad.arff", HEADER + "0.1,0.2,0\n" + row))
    assert error.code == code
    assert error.field == field
    assert error.context["line"] == 10
    assert error.context["file"] == "bad.arff"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@relation x\n@attribute a numeric\n@data\n1\n", "no 'class'"),
        ("@relation x\n@attribute a numeric\n@attribute class {0,1}\n", "no @data"),
        ("@relation x\n@attribute a string\n@attribute class {0,1}\n@data\n", "not numeric"),
        ("@relation x\n@attribute a numeric\n@attribute class {yes,no}\n@data\n", "nominal"),
        ("@relation x\n@attribute a numeric\n@attribute class {0,1}\n@data\n", "no data rows"),
        ("@relation x\n@bogus\n", "unexpected header"),
    ],
)
def test_bad_headers(tmp_path: Path, text: str, message: str) -> None:
    error = error_of(write(tmp_path, "h.arff", text))
    assert message in error.message
    assert error.context["file"] == "h.arff"


def test_size_limits_also_apply_after_decompression(tmp_path: Path) -> None:
    big = HEADER + "0.5,1,0\n" * 10_000  # ~100 kB, gzips to a few hundred bytes
    plain = write(tmp_path, "big.arff", big)
    packed = write(tmp_path, "big.arff.gz", big)
    assert packed.stat().st_size < 10_000
    assert error_of(plain, max_bytes=10_000).code == "ingest.too_large"
    error = error_of(packed, max_bytes=10_000)
    assert error.code == "ingest.too_large"
    assert "decompresses" in error.message


def test_unreadable_files(tmp_path: Path) -> None:
    fake = tmp_path / "fake.arff.gz"
    fake.write_bytes(b"not gzip at all")
    assert error_of(fake).code == "ingest.bad_file"
    latin = tmp_path / "latin.arff"
    latin.write_bytes(HEADER.encode() + b"% caf\xe9\n0.5,1,0\n")
    assert error_of(latin).code == "ingest.bad_encoding"


@pytest.mark.skipif(not POLISH.exists(), reason=f"Polish bankruptcy data not found at {POLISH}")
def test_reads_the_real_polish_file() -> None:
    X, y, names = read_polish_arff(POLISH)
    assert X.shape == (7_027, 64)
    assert int(y.sum()) == 271  # UCI: 271 bankrupt of 7,027 in the 1st year
    assert names == [f"Attr{i}" for i in range(1, 65)]
    assert int(np.isnan(X).sum()) == 5_835  # UCI/OpenML's count of missing values
    assert X[0, 0] == pytest.approx(0.20055)


# -- Altman TSV -----------------------------------------------------------------------------

ALTMAN_HEADER = "Company\tWC/TA\tRE/TA\tEBIT/TA\tS/TA\tBVE/BVL\tclass\n"


def test_reads_altman_ratios_as_fractions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.tsv",
        ALTMAN_HEADER + "0\t9.3\t-7.7\t1.6\t9.1\t3.726\t1\n1\t2.2\t31.6\t22\t58\t2.758\t0\n",
    )
    X, y, names = read_altman_tsv(path)
    assert names == list(ALTMAN_COLUMNS)
    np.testing.assert_allclose(X, [[0.093, -0.077, 0.016, 0.091, 3.726], [0.022, 0.316, 0.22, 0.58, 2.758]])
    assert y.tolist() == [1, 0]


def test_altman_columns_are_found_by_name(tmp_path: Path) -> None:
    header = "class\tBVE/BVL\tS/TA\tEBIT/TA\tRE/TA\tWC/TA\tCompany\n"
    path = write(tmp_path, "r.tsv", header + "1\t3.726\t9.1\t1.6\t-7.7\t9.3\t0\n")
    X, _, _ = read_altman_tsv(path)
    np.testing.assert_allclose(X, [[0.093, -0.077, 0.016, 0.091, 3.726]])


def test_altman_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "a.tsv", ALTMAN_HEADER + "0\t9.3\t-7.7\t1.6\t9.1\t3.726\t1\n1\t2.2\tx\t22\t58\t2.758\t0\n")
    with pytest.raises(InvalidInput) as caught:
        read_altman_tsv(path)
    assert caught.value.field == "RE/TA"
    assert caught.value.context == {"file": "a.tsv", "line": 3}
    missing = write(tmp_path, "m.tsv", "Company\tWC/TA\tclass\n0\t1\t1\n")
    with pytest.raises(InvalidInput, match="RE/TA") as caught:
        read_altman_tsv(missing)
    assert caught.value.code == "ingest.bad_header"
    ragged = write(tmp_path, "g.tsv", ALTMAN_HEADER + "0\t9.3\n")
    with pytest.raises(InvalidInput, match="expected 7"):
        read_altman_tsv(ragged)


@pytest.mark.skipif(not ALTMAN.exists(), reason=f"Altman 50-firm data not found at {ALTMAN}")
def test_reads_the_real_altman_file() -> None:
    X, y, _ = read_altman_tsv(ALTMAN)
    assert X.shape == (50, 5)
    assert int(y.sum()) == 25
    np.testing.assert_allclose(X[0], [0.093, -0.077, 0.016, 0.091, 3.726])
