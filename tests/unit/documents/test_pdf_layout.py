"""Number, date and text formatting shared by the PDF documents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tradecover.documents.pdf_layout import (
    Cell,
    Column,
    Party,
    PdfDocument,
    Row,
    check_language,
    format_amount,
    format_date,
    format_number,
    format_rate,
    latin1_text,
    one_line,
)
from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("amount", "currency", "fr", "en"),
    [
        ("12345.67", "EUR", "12 345,67 EUR", "EUR 12,345.67"),
        ("0", "EUR", "0,00 EUR", "EUR 0.00"),
        ("-1234.5", "EUR", "-1 234,50 EUR", "EUR -1,234.50"),
        ("999.995", "EUR", "1 000,00 EUR", "EUR 1,000.00"),  # half-up, once
        ("1234567.891", "EUR", "1 234 567,89 EUR", "EUR 1,234,567.89"),
        ("1500000", "JPY", "1 500 000 JPY", "JPY 1,500,000"),  # no minor unit
        ("1234.5678", "KWD", "1 234,568 KWD", "KWD 1,234.568"),  # three decimals
        ("-0.001", "EUR", "0,00 EUR", "EUR 0.00"),  # never "-0,00"
    ],
)
def test_format_amount_per_language(amount: str, currency: str, fr: str, en: str) -> None:
    money = Money.of(amount, currency)
    assert format_amount(money, "fr").replace(NBSP, " ") == fr
    assert format_amount(money, "en").replace(NBSP, " ") == en


def test_amounts_use_no_break_spaces_so_they_never_wrap() -> None:
    assert format_amount(Money.of("12345.67", "EUR"), "fr") == f"12{NBSP}345,67{NBSP}EUR"
    assert format_amount(Money.of("12345.67", "EUR"), "en") == f"EUR{NBSP}12,345.67"


def test_format_amount_without_currency_for_table_columns() -> None:
    money = Money.of("4800", "EUR")
    assert format_amount(money, "fr", with_currency=False) == f"4{NBSP}800,00"
    assert format_amount(money, "en", with_currency=False) == "4,800.00"


def test_format_number_groups_thousands() -> None:
    assert format_number(Decimal("123"), "en") == "123.00"
    assert format_number(Decimal("1234"), "en", 0) == "1,234"
    assert format_number(Decimal("123456"), "fr", 1) == f"123{NBSP}456,0"


@pytest.mark.parametrize(
    ("rate", "fr", "en"),
    [
        ("0.1215", "12,15 %", "12.15%"),
        ("0.9", "90,00 %", "90.00%"),
        ("0.10415", "10,415 %", "10.415%"),
        ("0.123456789", "12,3457 %", "12.3457%"),
        ("0", "0,00 %", "0.00%"),
    ],
)
def test_format_rate(rate: str, fr: str, en: str) -> None:
    assert format_rate(Decimal(rate), "fr").replace(NBSP, " ") == fr
    assert format_rate(Decimal(rate), "en") == en


@pytest.mark.parametrize(
    ("day", "fr", "en", "fr_short", "en_short"),
    [
        (date(2026, 12, 5), "5 décembre 2026", "5 December 2026", "05/12/2026", "5 Dec 2026"),
        (date(2026, 8, 1), "1er août 2026", "1 August 2026", "01/08/2026", "1 Aug 2026"),
        (date(2027, 2, 28), "28 février 2027", "28 February 2027", "28/02/2027", "28 Feb 2027"),
    ],
)
def test_format_date(day: date, fr: str, en: str, fr_short: str, en_short: str) -> None:
    assert format_date(day, "fr") == fr
    assert format_date(day, "en") == en
    assert format_date(day, "fr", short=True) == fr_short
    assert format_date(day, "en", short=True) == en_short


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Société Générale à Besançon", "Société Générale à Besançon"),  # latin-1 kept
        ("12 € HT", "12 EUR HT"),
        ("l’œuvre – «fin» — “citée”", 'l\'oeuvre - «fin» - "citée"'),
        ("Œuvres…", "OEuvres..."),
        ("Dvořák Łódź Škoda", "Dvorák Lódz Skoda"),  # accents outside latin-1 dropped, latin-1 ones kept
        ("e\u0301te\u0301", "été"),  # combining accents composed
        ("北京贸易有限公司", "????????"),
        ("Café 😀 👍🏽", "Café ? ??"),  # a skin-tone modifier is one more symbol: "?" too
        ("a\tb\rc\x00d\x85e", "a bc?d?e"),
        ("ﬁnance™", "financeTM"),
        ("12\u202f345", f"12{NBSP}345"),
        ("≥ 1 000 → ok", ">= 1 000 -> ok"),
    ],
)
def test_latin1_text(text: str, expected: str) -> None:
    assert latin1_text(text) == expected
    latin1_text(text).encode("latin-1")  # always encodable


def test_latin1_text_survives_a_zwj_emoji_sequence() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert latin1_text(family) == "???"


def test_one_line_collapses_newlines() -> None:
    assert one_line("  ACME\nSARL \r\n  Lyon ") == "ACME SARL Lyon"


def test_check_language() -> None:
    assert check_language("fr") == "fr"
    assert check_language("en") == "en"
    with pytest.raises(InvalidInput) as raised:
        check_language("de")
    assert raised.value.code == "documents.unknown_language"


def test_pdf_document_draws_any_text_without_failing() -> None:
    pdf = PdfDocument(title="Test 😀", reference="REF-北京", document_date=date(2026, 1, 1), language="en")
    pdf.add_page()
    pdf.paragraph("€ “quoted” — 中文 🎉 " * 50)
    pdf.party_block(Party("北京 " * 100, ("line 😀",) * 20, "ID ✓"), x=20, y=pdf.y, width=80)
    pdf.data_table(
        [Column("Name 中", 2), Column("Amount", 1, "R")],
        [Row((Cell("x" * 600, "note " * 200), "1 234,00"))],
    )
    data = pdf.render()
    assert data.startswith(b"%PDF")


def test_table_rows_need_one_cell_per_column() -> None:
    pdf = PdfDocument(title="T", reference="R", document_date=date(2026, 1, 1), language="fr")
    pdf.add_page()
    with pytest.raises(ValueError, match="zip"):
        pdf.data_table([Column("a", 1), Column("b", 1)], [Row(("only one",))])
