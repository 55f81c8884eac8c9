"""SIRENE legal units: the vendored samples, header vintages, and bad lines."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import generate_siren
from tradecover.ingest import sirene
from tradecover.ingest.sirene import SireneUnit, parse_sirene_csv

EXTERNAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "external"
SIRENE = EXTERNAL / "sirene"
UNITS_2019 = "etalab_sirene_as_api_sample_unites_legales_OK.csv"
ESTABLISHMENTS = "etalab_sirene_as_api_sample_etablissements_OK.csv"
UNITS_2025 = "signauxfaibles_sireneUL_header2025_synthetic_rows.csv"

SIREN_A = generate_siren(1)
SIREN_B = generate_siren(2)
SIREN_C = generate_siren(3)


@pytest.fixture
def samples() -> Path:
    if not SIRENE.is_dir():
        pytest.skip(f"shared SIRENE samples not found at {SIRENE}")
    return SIRENE


def write(tmp_path: Path, text: str, name: str = "units.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def error_of(path: Path) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        list(parse_sirene_csv(path))
    return caught.value


# ----------------------------------------------------------------- samples


def test_2019_layout_sample(samples: Path) -> None:
    units = list(parse_sirene_csv(samples / UNITS_2019))
    assert units == [
        SireneUnit(2, "000325175", True, "THIERRY JANOYER", "32.12Z", "1000", None),
        SireneUnit(3, "001807254", False, "JACQUES-LUCIEN BRETON", "85.59A", "1000", date(2014, 12, 31)),
        # classified in the old NAP nomenclature: no NAF rév. 2 code
        SireneUnit(4, "005410220", False, "GEORGES WATTEBLED", None, "1000", date(1988, 3, 31)),
    ]


def test_establishment_file_is_refused_naming_the_missing_column(samples: Path) -> None:
    error = error_of(samples / ESTABLISHMENTS)
    assert error.code == "ingest.missing_column"
    assert error.field == "etatAdministratifUniteLegale"
    assert error.context == {"file": ESTABLISHMENTS}
    assert "StockEtablissement" in error.message


def test_2025_layout_sample_has_bad_sirens_named_by_line_and_field(samples: Path) -> None:
    # The rows are synthetic: their SIRENs fail the check digit.
    error = error_of(samples / UNITS_2025)
    assert error.code == "ingest.bad_field"
    assert error.field == "siren"
    assert error.context == {"file": UNITS_2025, "line": 2}


def test_2025_layout_reads_by_name_and_keeps_naf_rev2(samples: Path, tmp_path: Path) -> None:
    # Same header and garbled rows, with valid SIRENs: the garbage sits in columns not read.
    rows = list(csv.reader(io.StringIO((samples / UNITS_2025).read_text(encoding="utf-8"))))
    for number, row in enumerate(rows[1:], start=10):
        row[0] = generate_siren(number)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    units = list(parse_sirene_csv(write(tmp_path, buffer.getvalue())))

    assert [u.siren for u in units] == [generate_siren(n) for n in range(10, 14)]
    assert [u.active for u in units] == [True, False, True, False]
    # activitePrincipaleUniteLegale under NAFRev2, never the NAF 2025 column; "NAF" (rév. 1) → None
    assert [u.naf_code for u in units] == ["41.19A", "71.06B", None, "68.01Z"]
    assert [u.name for u in units] == [
        "cuhgjdp jjqcmkg",
        "ajfwprw-qmxobv fvxmjl",
        "wwdsrst nduxdzbou",
        "companyname",
    ]
    assert [u.legal_category for u in units] == ["5465", "5258", "4263", "5422"]
    assert [u.ceased_on for u in units] == [None, date(1999, 1, 31), None, date(2017, 3, 15)]


# ---------------------------------------------------------------- headers


def test_minimal_header_in_any_order_and_case(tmp_path: Path) -> None:
    path = write(tmp_path, f"ETATADMINISTRATIFUNITELEGALE,Siren\nA,{SIREN_A}\nc,{SIREN_B}\n")
    assert list(parse_sirene_csv(path)) == [
        SireneUnit(2, SIREN_A, True, None, None, None, None),
        SireneUnit(3, SIREN_B, False, None, None, None, None),
    ]


def test_semicolons_bom_and_crlf(tmp_path: Path) -> None:
    text = (
        "\ufeffsiren;etatAdministratifUniteLegale;denominationUniteLegale;activitePrincipaleUniteLegale\r\n"
        f'{SIREN_A};A;"ACME; SARL";4690Z\r\n'
    )
    (unit,) = parse_sirene_csv(write(tmp_path, text))
    assert unit.name == "ACME; SARL"
    assert unit.naf_code == "46.90Z"  # no nomenclature column: a NAF-shaped code is read as NAF rév. 2


def test_person_names_prefer_the_usage_name_and_hidden_values_are_none(tmp_path: Path) -> None:
    header = "siren,etatAdministratifUniteLegale,prenom1UniteLegale,prenomUsuelUniteLegale,nomUniteLegale,"
    header += "nomUsageUniteLegale,denominationUniteLegale,denominationUsuelle1UniteLegale\n"
    text = header + (
        f"{SIREN_A},A,MARIE,,DURAND,MARTIN,,\n{SIREN_B},A,[ND],[ND],[ND],[ND],[ND],\n{SIREN_C},A,,,,,,  LE   BISTROT \n"
    )
    assert [u.name for u in parse_sirene_csv(write(tmp_path, text))] == ["MARIE MARTIN", None, "LE BISTROT"]


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("etatAdministratifUniteLegale,denominationUniteLegale", "siren"),
        ("siren,dateDebut", "etatAdministratifUniteLegale"),
    ],
)
def test_missing_required_column(tmp_path: Path, header: str, missing: str) -> None:
    error = error_of(write(tmp_path, header + "\n"))
    assert error.code == "ingest.missing_column"
    assert error.field == missing
    assert missing in error.message


def test_empty_file(tmp_path: Path) -> None:
    assert error_of(write(tmp_path, "")).code == "ingest.missing_column"


# -------------------------------------------------------------- bad lines


HEADER = (
    "siren,etatAdministratifUniteLegale,dateDebut,activitePrincipaleUniteLegale,"
    "nomenclatureActivitePrincipaleUniteLegale,categorieJuridiqueUniteLegale\n"
)
GOOD = f"{SIREN_A},A,2020-01-01,62.01Z,NAFRev2,5710\n"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (f"{SIREN_B},C,2021-02-30,62.01Z,NAFRev2,5710", "dateDebut"),
        (f"{SIREN_B},C,01/02/2021,62.01Z,NAFRev2,5710", "dateDebut"),
        (f"{SIREN_B},X,2021-02-01,62.01Z,NAFRev2,5710", "etatAdministratifUniteLegale"),
        (f"{SIREN_B},,2021-02-01,62.01Z,NAFRev2,5710", "etatAdministratifUniteLegale"),
        ("732829321,A,2021-02-01,62.01Z,NAFRev2,5710", "siren"),
        ("73282932,A,2021-02-01,62.01Z,NAFRev2,5710", "siren"),
        (",A,2021-02-01,62.01Z,NAFRev2,5710", "siren"),
        (f"{SIREN_B},A,2021-02-01,6201,NAFRev2,5710", "activitePrincipaleUniteLegale"),
        (f"{SIREN_B},A,2021-02-01,62.01Z,NAFRev2,57", "categorieJuridiqueUniteLegale"),
    ],
)
def test_bad_line_names_file_line_and_field(tmp_path: Path, line: str, field: str) -> None:
    error = error_of(write(tmp_path, HEADER + GOOD + line + "\n", "stock.csv"))
    assert error.code == "ingest.bad_field"
    assert error.field == field
    assert error.context == {"file": "stock.csv", "line": 3}
    assert "stock.csv, line 3" in error.message


def test_units_before_a_bad_line_are_streamed(tmp_path: Path) -> None:
    units = parse_sirene_csv(write(tmp_path, HEADER + GOOD + "bad,A,,,,\n"))
    assert next(units).siren == SIREN_A
    with pytest.raises(InvalidInput):
        next(units)


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, HEADER + GOOD + f"{SIREN_B},A\n"))
    assert error.code == "ingest.bad_line"
    assert error.context["line"] == 3


def test_quoted_newline_keeps_physical_line_numbers(tmp_path: Path) -> None:
    text = "siren,etatAdministratifUniteLegale,denominationUniteLegale\n"
    text += f'{SIREN_A},A,"TWO\nLINES"\n{SIREN_B},Z,X\n'
    error = error_of(write(tmp_path, text))
    assert error.context["line"] == 4


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER.encode() + f"{SIREN_A},A,,,,\n".encode() + "Société".encode("latin-1"))
    assert error_of(path).code == "ingest.bad_encoding"


def test_size_and_line_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, HEADER + GOOD)
    monkeypatch.setattr(sirene, "MAX_LINE_CHARS", 40)
    assert error_of(path).code == "ingest.bad_line"
    monkeypatch.setattr(sirene, "MAX_SIRENE_BYTES", 10)
    assert error_of(path).code == "ingest.too_large"


def test_not_a_file(tmp_path: Path) -> None:
    assert error_of(tmp_path).code == "ingest.not_a_file"
