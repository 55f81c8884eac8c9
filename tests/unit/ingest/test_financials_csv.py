"""Buyers' statements CSV: both layouts, French spreadsheets, and every error at once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import generate_siren
from tradecover.ingest import financials_csv
from tradecover.ingest.financials_csv import (
    AMOUNT_COLUMNS,
    FINANCIALS_TEMPLATE,
    StatementRow,
    parse_amount,
    parse_financials_csv,
)

SIREN = "732829320"
SIRET = "73282932000074"
OTHER_SIREN = generate_siren(7)


def write(tmp_path: Path, text: str, name: str = "statements.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def where(errors: list[InvalidInput]) -> list[tuple[int | None, str | None]]:
    return [(e.context.get("line"), e.field) for e in errors]


def test_template_parses_cleanly(tmp_path: Path) -> None:
    rows, errors = parse_financials_csv(write(tmp_path, FINANCIALS_TEMPLATE))
    assert errors == []
    (row,) = rows
    assert row.identifier_kind == "siren"
    assert row.identifier == SIREN
    assert row.fiscal_year_end == date(2024, 12, 31)
    assert row.currency == "EUR"
    assert list(row.amounts) == list(AMOUNT_COLUMNS)
    assert row.amounts["total_assets"] == Decimal("1250000.00")
    assert FINANCIALS_TEMPLATE.splitlines()[0].split(",")[:3] == ["siren", "fiscal_year_end", "currency"]


def test_good_file_with_identifier_kinds(tmp_path: Path) -> None:
    text = (
        "identifier_kind,identifier,fiscal_year_end,total_assets,equity,net_income\n"
        f"siret,{SIRET[:3]} {SIRET[3:6]} {SIRET[6:9]} {SIRET[9:]},2023-12-31,1000.5,-20,\n"
        f"VAT,FR44{SIREN},2024-06-30,2000,,-3.25\n"
        f"siren,{OTHER_SIREN},2024-12-31,0,,\n"
    )
    rows, errors = parse_financials_csv(write(tmp_path, text))
    assert errors == []
    assert [(r.line, r.identifier_kind, r.identifier) for r in rows] == [
        (2, "siret", SIRET),
        (3, "vat_fr", f"FR44{SIREN}"),
        (4, "siren", OTHER_SIREN),
    ]
    first = rows[0]
    assert first.currency == "EUR"  # no currency column
    assert first.amounts["total_assets"] == Decimal("1000.5")
    assert first.amounts["equity"] == Decimal("-20")
    assert first.amounts["net_income"] is None  # empty: unknown, never zero
    assert first.amounts["turnover"] is None  # column absent
    assert rows[1].amounts["net_income"] == Decimal("-3.25")
    for row in rows:
        assert all(v is None or isinstance(v, Decimal) for v in row.amounts.values())


def test_french_spreadsheet_with_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    text = (
        "\ufeffSIREN;Fiscal_Year_End;Currency;Total_Assets;Equity;Turnover;EBIT\r\n"
        f"{SIREN};2024-12-31;eur;1\u00a0250\u00a0000,50;-12 345,6;3 100 000;(1 234,5)\r\n"
        f"{OTHER_SIREN};2024-12-31;;12,5;;;\r\n"
    )
    rows, errors = parse_financials_csv(write(tmp_path, text))
    assert errors == []
    assert rows[0] == StatementRow(
        line=2,
        identifier_kind="siren",
        identifier=SIREN,
        fiscal_year_end=date(2024, 12, 31),
        currency="EUR",
        amounts={
            **dict.fromkeys(AMOUNT_COLUMNS),
            "total_assets": Decimal("1250000.50"),
            "equity": Decimal("-12345.6"),
            "turnover": Decimal("3100000"),
            "ebit": Decimal("-1234.5"),
        },
    )
    assert rows[1].currency == "EUR"
    assert rows[1].amounts["total_assets"] == Decimal("12.5")


def test_siren_that_lost_its_leading_zeros_in_a_spreadsheet(tmp_path: Path) -> None:
    text = "siren,fiscal_year_end,total_assets\n325175,2024-12-31,1\n94130994,2024-12-31,1\n94130995,2024-12-31,1\n"
    rows, errors = parse_financials_csv(write(tmp_path, text))
    assert [r.identifier for r in rows] == ["000325175", "094130994"]
    assert where(errors) == [(4, "siren")]


def test_windows_1252_as_older_excel_saves_it(tmp_path: Path) -> None:
    text = f"siren;fiscal_year_end;total_assets\n{SIREN};2024-12-31;1\u00a0000,25\n"
    rows, errors = parse_financials_csv(write(tmp_path, text, encoding="cp1252"))
    assert errors == []
    assert rows[0].amounts["total_assets"] == Decimal("1000.25")


def test_every_bad_line_is_reported_at_once(tmp_path: Path) -> None:
    header = "siren;fiscal_year_end;currency;total_assets;equity;turnover\n"
    lines = [
        f"{SIREN};2024-12-31;EUR;100;10;50",  # 2 good
        "732829321;2024-12-31;EUR;100;10;50",  # 3 bad check digit
        f"{OTHER_SIREN};31/12/2024;EUR;100;10;50",  # 4 date not ISO
        f"{OTHER_SIREN};2023-12-31;EUR;100;1.234,5;50",  # 5 ambiguous amount
        f"{OTHER_SIREN};2022-12-31;EUR;;10;50",  # 6 total_assets missing
        f"{OTHER_SIREN};2021-12-31;EUR;-5;10;50",  # 7 negative total assets
        f"{OTHER_SIREN};2020-12-31;EUROS;100;10;50",  # 8 unknown currency
        f"{OTHER_SIREN};2019-12-31;EUR;100",  # 9 fields missing
        f"{SIREN};2024-12-31;EUR;100;10;50",  # 10 duplicate of line 2
        ";2018-02-30;EUR;1e3;abc;50",  # 11 four problems on one line
        "",  # 12 blank: ignored
        f"{OTHER_SIREN};2017-12-31;;200;;",  # 13 good
    ]
    rows, errors = parse_financials_csv(write(tmp_path, header + "\n".join(lines) + "\n", "bad.csv"))

    assert [(r.line, r.identifier) for r in rows] == [(2, SIREN), (13, OTHER_SIREN)]
    assert where(errors) == [
        (3, "siren"),
        (4, "fiscal_year_end"),
        (5, "equity"),
        (6, "total_assets"),
        (7, "total_assets"),
        (8, "currency"),
        (9, None),
        (10, "fiscal_year_end"),
        (11, "siren"),
        (11, "fiscal_year_end"),
        (11, "total_assets"),
        (11, "equity"),
    ]
    assert errors[7].code == "ingest.duplicate"
    assert "line 2" in errors[7].message
    assert errors[6].code == "ingest.bad_line"
    for error in errors:
        assert error.context["file"] == "bad.csv"
        assert error.message.startswith(f"bad.csv, line {error.context['line']}")


def test_missing_required_column_is_one_error_for_the_file(tmp_path: Path) -> None:
    lines = "".join(f"{SIREN},2024-12-31,{n}\n" for n in range(50))
    rows, errors = parse_financials_csv(write(tmp_path, "siren,fiscal_year_end,equity\n" + lines, "f.csv"))
    assert rows == []
    (error,) = errors
    assert error.code == "ingest.missing_column"
    assert error.field == "total_assets"
    assert error.context == {"file": "f.csv"}


def test_identifier_layout_needs_both_columns(tmp_path: Path) -> None:
    _, errors = parse_financials_csv(write(tmp_path, "identifier,fiscal_year_end,total_assets\n"))
    assert [(e.code, e.field) for e in errors] == [("ingest.missing_column", "identifier_kind")]


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("siren,fiscal_year_end,total_assets,turnvoer", "ingest.unknown_column"),
        ("siren,fiscal_year_end,total_assets,equity,equity", "ingest.bad_line"),
        ("siren,identifier_kind,identifier,fiscal_year_end,total_assets", "ingest.bad_line"),
    ],
)
def test_header_problems(tmp_path: Path, header: str, code: str) -> None:
    rows, errors = parse_financials_csv(write(tmp_path, header + "\n"))
    assert rows == []
    assert [e.code for e in errors] == [code]


def test_unknown_identifier_kind_is_blamed_on_its_column(tmp_path: Path) -> None:
    text = f"identifier_kind,identifier,fiscal_year_end,total_assets\nrcs,{SIREN},2024-12-31,1\n"
    _, errors = parse_financials_csv(write(tmp_path, text))
    assert where(errors) == [(2, "identifier_kind")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", Decimal(0)),
        ("1234.56", Decimal("1234.56")),
        ("1234,56", Decimal("1234.56")),
        ("1 234 567,89", Decimal("1234567.89")),
        ("1\u202f234", Decimal(1234)),
        ("-12,5", Decimal("-12.5")),
        ("\u221212", Decimal(-12)),
        ("+7", Decimal(7)),
        ("(3 100)", Decimal(-3100)),
    ],
)
def test_parse_amount_accepts(raw: str, expected: Decimal) -> None:
    assert parse_amount(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "1,234.56",
        "1.234,56",
        "1.234.567",
        "1e3",
        "NaN",
        "Infinity",
        "12 €",
        "0x10",
        "1234567890123456789",
        "",
    ],
)
def test_parse_amount_refuses(raw: str) -> None:
    with pytest.raises(ValueError, match=r"amount|decimal mark|mixes"):
        parse_amount(raw)


def test_errors_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(financials_csv, "MAX_REPORTED_ERRORS", 3)
    text = "siren,fiscal_year_end,total_assets\n" + "x,y,z\n" * 10
    _, errors = parse_financials_csv(write(tmp_path, text))
    assert len(errors) == 4
    assert errors[-1].code == "ingest.too_many_errors"


def test_size_limit_and_not_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, FINANCIALS_TEMPLATE)
    monkeypatch.setattr(financials_csv, "MAX_FINANCIALS_BYTES", 10)
    assert [e.code for e in parse_financials_csv(path)[1]] == ["ingest.too_large"]
    assert [e.code for e in parse_financials_csv(tmp_path)[1]] == ["ingest.not_a_file"]


def test_empty_file(tmp_path: Path) -> None:
    assert [e.code for e in parse_financials_csv(write(tmp_path, ""))[1]] == ["ingest.missing_column"]
