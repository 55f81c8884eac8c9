"""The loss model's correlation matrix (CSV) and scenario file (YAML, JSON): read, and every problem located."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tradecover.domain.errors import InvalidInput
from tradecover.ingest.loss_inputs import LossInputError, read_factor_correlation, read_scenario_file
from tradecover.risk.reinsurance import Reinsurance

HEADER = "factor,sector:S01,sector:S02,country:FR"
ROWS = ("sector:S01,1,0.5,0.3", "sector:S02,0.5,1,0.3", "country:FR,0.3,0.3,1")


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def matrix(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "corr.csv") -> Path:
    return write(tmp_path, name, "\n".join([header, *rows]) + "\n")


def correlation_failure(path: Path, **limits: int) -> LossInputError:
    with pytest.raises(LossInputError) as caught:
        read_factor_correlation(path, **limits)
    return caught.value


def scenario_failure(path: Path) -> LossInputError:
    with pytest.raises(LossInputError) as caught:
        read_scenario_file(path)
    return caught.value


# -- correlation matrix ----------------------------------------------------------------------------


def test_a_correlation_matrix_is_read_with_its_factor_names(tmp_path: Path) -> None:
    corr = read_factor_correlation(matrix(tmp_path, *ROWS))
    assert corr.names == ("sector:S01", "sector:S02", "country:FR")
    np.testing.assert_array_equal(corr.matrix, [[1, 0.5, 0.3], [0.5, 1, 0.3], [0.3, 0.3, 1]])


def test_a_french_spreadsheet_matrix_with_bom_semicolons_decimal_commas_and_crlf(tmp_path: Path) -> None:
    text = "\ufeffFactor;sector:S01;country:FR\r\nsector:S01;1;0,25\r\n\r\ncountry:FR;0,25;1\r\n"
    corr = read_factor_correlation(write(tmp_path, "corr.csv", text))
    assert corr.matrix[0, 1] == 0.25


@pytest.mark.parametrize(
    ("rows", "line", "column", "message"),
    [
        (("sector:S01,1,0.5,0.3", "sector:S02,0.5,1,abc", "country:FR,0.3,0.3,1"), 3, "country:FR", "'abc' is not"),
        (("sector:S01,1,0.5,0.3", "sector:S02,0.5,1,", "country:FR,0.3,0.3,1"), 3, "country:FR", "empty value"),
        (("sector:S01,1,0.5,0.3", "sector:S02,0.5,1,nan", "country:FR,0.3,0.3,1"), 3, "country:FR", "not a number"),
        (("sector:S01,1,0.5,0.3", "country:FR,0.3,0.3,1", "sector:S02,0.5,1,0.3"), 3, "factor", "header's order"),
        (("sector:S01,1,0.5,0.3", "sector:S02,0.5,1", "country:FR,0.3,0.3,1"), 3, None, "3 fields, the header has 4"),
        (("sector:S01,1,0.5,0.3", "sector:S02,0.4,1,0.3", "country:FR,0.3,0.3,1"), 2, "sector:S02", "mirror"),
        (("sector:S01,1,0.5,0.3", "sector:S02,0.5,0.9,0.3", "country:FR,0.3,0.3,1"), 3, "sector:S02", "diagonal"),
        (("sector:S01,1,0.5,1.3", "sector:S02,0.5,1,0.3", "country:FR,1.3,0.3,1"), 2, "country:FR", "outside [-1, 1]"),
    ],
)
def test_a_bad_cell_is_named_by_line_and_column(
    tmp_path: Path, rows: tuple[str, ...], line: int, column: str | None, message: str
) -> None:
    error = correlation_failure(matrix(tmp_path, *rows))
    assert (error.file, error.line, error.column) == ("corr.csv", line, column)
    assert message in error.message
    assert str(error).startswith(f"corr.csv line {line}" + (f", column {column}:" if column else ":"))
    assert isinstance(error, InvalidInput)
    assert isinstance(error, ValueError)


def test_a_matrix_that_is_not_positive_definite_is_refused(tmp_path: Path) -> None:
    rows = ("sector:S01,1,0.9,-0.9", "sector:S02,0.9,1,0.9", "country:FR,-0.9,0.9,1")
    assert "not positive definite" in str(correlation_failure(matrix(tmp_path, *rows)))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("name,sector:S01,sector:S02,country:FR", "first header field must be 'factor'"),
        ("factor,sector:S01,S02,country:FR", "'S02' must be named 'sector:<name>' or 'country:<code>'"),
        ("factor,sector:S01,sector:S01,country:FR", "named twice (header fields 2 and 3)"),
        ("factor,sector:S01,,country:FR", "header field 3 is empty"),
    ],
)
def test_a_bad_header_is_refused_on_line_1(tmp_path: Path, header: str, message: str) -> None:
    error = correlation_failure(matrix(tmp_path, *ROWS, header=header))
    assert error.line == 1
    assert message in str(error)


def test_missing_or_extra_factor_lines_are_refused(tmp_path: Path) -> None:
    assert "2 factor lines for the 3 factors" in str(correlation_failure(matrix(tmp_path, *ROWS[:2])))
    error = correlation_failure(matrix(tmp_path, *ROWS, "country:DE,0,0,0"))
    assert (error.line, "4 factor lines for the 3 factors") == (
        5,
        error.message[: len("4 factor lines for the 3 factors")],
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("corr.txt", b"factor\n", "unknown correlation matrix CSV format '.txt'"),
        ("corr.csv", b"", "empty file"),
        ("corr.csv", b"factor,sector:S01\x00\n", "NUL bytes"),
        ("corr.csv", b"factor,sector:S01\nsector:S01,\xff\n", "invalid UTF-8 byte 0xff"),
        ("corr.csv", b'factor,sector:S01\nsector:S01,"1\n', "malformed CSV"),
    ],
)
def test_hostile_correlation_files_are_refused_cleanly(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    assert message in str(correlation_failure(write(tmp_path, name, content)))


def test_correlation_file_limits(tmp_path: Path) -> None:
    path = matrix(tmp_path, *ROWS)
    assert "file too big" in str(correlation_failure(path, max_bytes=20))
    assert "3 factors, the limit is 2" in str(correlation_failure(path, max_factors=2))
    assert "no such file" in str(correlation_failure(tmp_path / "missing.csv"))
    (tmp_path / "folder.csv").mkdir()
    assert "not a regular file" in str(correlation_failure(tmp_path / "folder.csv"))


# -- scenario file ---------------------------------------------------------------------------------

SCENARIO = """\
stress:
  name: recession 2027
  sector_pd_multipliers: {S01: 2, S02: "1.5"}
  country_pd_multipliers:
    FR: 1.25
  asset_correlation_multiplier: 1.2
  factor_correlation_shift: 0.25
reinsurance:
  quota_share_rate: 0.3
  xol_retention: 500000
  xol_limit: "2e6"
  stop_loss_attachment: 20000000
"""


def test_a_scenario_file_gives_its_stress_and_reinsurance(tmp_path: Path) -> None:
    stress, reinsurance = read_scenario_file(write(tmp_path, "crisis.yaml", SCENARIO))
    assert stress is not None
    assert stress.name == "recession 2027"
    assert dict(stress.sector_pd_multipliers) == {"S01": 2.0, "S02": 1.5}
    assert dict(stress.country_pd_multipliers) == {"FR": 1.25}
    assert (stress.asset_correlation_multiplier, stress.factor_correlation_shift) == (1.2, 0.25)
    assert reinsurance == Reinsurance(
        quota_share_rate=0.3, xol_retention=500_000.0, xol_limit=2_000_000.0, stop_loss_attachment=20_000_000.0
    )


def test_json_and_either_section_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "treaty.json", json.dumps({"reinsurance": {"quota_share_rate": 0.5}}))
    assert read_scenario_file(path) == (None, Reinsurance(quota_share_rate=0.5))
    stress, reinsurance = read_scenario_file(
        write(tmp_path, "shock.yml", "stress:\n  factor_correlation_shift: -0.5\n")
    )
    assert stress is not None
    assert (stress.name, stress.factor_correlation_shift, reinsurance) == ("shock", -0.5, None)


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ("stres:\n  name: x\n", 1, "stres", "unknown key 'stres': expected stress, reinsurance"),
        ("reinsurance:\n  quota_share: 0.3\n", 2, "reinsurance.quota_share", "unknown key 'quota_share'"),
        ("stress:\n  asset_correlation_multiplier: high\n", 2, "stress.asset_correlation_multiplier", "'high' is not"),
        ("stress:\n  asset_correlation_multiplier: 0\n", 2, "stress.asset_correlation_multiplier", "must be > 0"),
        ("stress:\n  sector_pd_multipliers:\n    S01: -2\n", 3, "stress.sector_pd_multipliers.S01", "≥ 0"),
        ("stress:\n  sector_pd_multipliers: [S01, 2]\n", 2, "stress.sector_pd_multipliers", "not a list"),
        ("stress:\n  country_pd_multipliers:\n    NO: 2\n", 2, "stress.country_pd_multipliers", "quote it"),
        ("stress:\n  factor_correlation_shift: 1\n", 2, "stress.factor_correlation_shift", "[-1, 1)"),
        ("reinsurance:\n  quota_share_rate: 1.5\n", 2, "reinsurance.quota_share_rate", "must lie in [0, 1]"),
        ("reinsurance:\n  xol_limit: 1000\n", 2, "reinsurance.xol_limit", "needs an xol_retention"),
        ("reinsurance:\n  xol_retention: true\n", 2, "reinsurance.xol_retention", "a boolean"),
        ("reinsurance:\n  xol_retention: .inf\n", 2, "reinsurance.xol_retention", "not a finite number"),
        ("reinsurance: 0.3\n", 1, "reinsurance", "expected a mapping"),
        ("[1, 2]\n", 1, None, "expected a mapping"),
        ("stress: {}\n# nothing else\nreinsurance: {\n", 4, None, "invalid YAML"),
    ],
)
def test_a_bad_scenario_is_named_by_line_and_key(
    tmp_path: Path, text: str, line: int, key: str | None, message: str
) -> None:
    error = scenario_failure(write(tmp_path, "scenario.yaml", text))
    assert (error.line, error.key) == (line, key)
    assert message in error.message, error.message
    assert str(error).startswith(f"scenario.yaml line {line}" + (f", key {key}:" if key else ":"))


def test_nothing_to_apply_and_bad_json(tmp_path: Path) -> None:
    assert "nothing to apply" in str(scenario_failure(write(tmp_path, "s.yaml", "{}\n")))
    assert "empty file" in str(scenario_failure(write(tmp_path, "s.yaml", "\n\n")))
    error = scenario_failure(write(tmp_path, "s.json", '{"stress":\n  {"name": "x",}}'))
    assert (error.line, "invalid JSON") == (2, error.message[:12])
    assert "NaN is not a number" in str(scenario_failure(write(tmp_path, "s.json", '{"stress": {"x": NaN}}')))
    assert "unknown scenario file" in str(scenario_failure(write(tmp_path, "s.toml", "x = 1")))


def test_hostile_yaml_is_refused_without_running_anything(tmp_path: Path) -> None:
    tagged = "stress: !!python/object/apply:os.system ['echo hacked']\n"
    assert "invalid YAML" in str(scenario_failure(write(tmp_path, "s.yaml", tagged)))
    deep = "stress: " + "[" * 50_000 + "]" * 50_000 + "\n"
    assert "invalid YAML" in str(scenario_failure(write(tmp_path, "s.yaml", deep)))
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(12)
    )
    assert "unknown key 'a'" in str(scenario_failure(write(tmp_path, "s.yaml", laughs)))
    assert "file too big" in str(scenario_failure(write(tmp_path, "s.yaml", "#" * 1_000_001)))
