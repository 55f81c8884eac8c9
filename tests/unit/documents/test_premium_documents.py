"""The premium invoice / credit note and the premium statement: each kind of document renders, same view same
bytes, hostile text never breaks a page."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tradecover.documents.pdf_layout import Party
from tradecover.documents.premium_invoice import PremiumInvoiceView, render_premium_invoice
from tradecover.documents.premium_statement import (
    PremiumStatementView,
    StatementEntry,
    StatementYear,
    render_premium_statement,
)
from tradecover.domain.money import Money
from tradecover.domain.periods import Period
from tradecover.domain.premium import YearFigures

YEAR = Period(date(2026, 1, 1), date(2027, 1, 1))
HOSTILE = "=cmd|' /C calc'!A0 株式会社 🚀 " + "very long name " * 20


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def text_of(data: bytes) -> str:
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text().replace("\u00a0", " ").split()) for page in pages)


FIGURES = YearFigures(
    year=YEAR, currency="EUR", minimum=eur("8000.00"), earned=eur("17000.00"), called=eur("8000.00"),
    paid=eur("6000.00"), premium=eur("17000.00"), adjustment=eur("9000.00"), fees=eur("500.00"), request_count=2,
    buyers_monitored=2, indemnities=eur("1000.00"), bonus=eur("3200.00"), max_liability=eur("340000.00"),
    loss_ratio=Decimal("0.0588"), declared_periods=4, expected_periods=4,
)  # fmt: skip


def invoice(kind: str, item: str, amount: str, **extra: object) -> PremiumInvoiceView:
    base = PremiumInvoiceView(
        number="PC-2027-000002" if kind == "credit_note" else "PI-2027-000001", kind=kind, item=item,
        policy_number="TC-2026-000001", issued_on=date(2027, 1, 10), due_on=date(2027, 2, 9),
        year_start=YEAR.start, year_last_day=YEAR.last_day, insurer=Party("Assureur SA", ("FR",)),
        insured=Party("Insured A SAS", ("FR",), "SIREN 732829320"), label=f"{item} 2026", amount=eur(amount),
    )  # fmt: skip
    return replace(base, **extra)  # type: ignore[arg-type]


YEAR_END = {
    "figures": FIGURES,
    "closing_version": 1,
    "already": eur("0"),
    "request_fee": eur("150.00"),
    "monitoring_fee": eur("100.00"),
    "bonus_rate": Decimal("0.20"),
    "bonus_threshold": Decimal("0.50"),
}


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (
            invoice(
                "invoice",
                "instalment",
                "2000.00",
                instalment=(1, 4),
                minimum_premium=eur("8000.00"),
                settled=eur("500.00"),
            ),
            ["Premium invoice", "instalment 1 of 4", "8 000,00", "outstanding : 1 500,00 EUR"],
        ),
        (invoice("invoice", "adjustment", "9000.00", **YEAR_END), ["Premium adjustment", "17 000,00", "9 000,00"]),
        (invoice("invoice", "fees", "500.00", **YEAR_END), ["2 limit request(s) × 150,00 EUR", "Total fees"]),
        (
            invoice("credit_note", "no_claims_bonus", "3200.00", **YEAR_END),
            [
                "Premium credit note",
                "5,88 %, seuil 50,00 %",
                "20,00 % × (premium - indemnities)",
                "credited to your premium account",
            ],
        ),
        (
            invoice("invoice", "adjustment", "900.00", **{**YEAR_END, "closing_version": 2, "already": eur("8100")}),
            ["version 2", "Already invoiced", "-8 100,00"],
        ),
    ],
    ids=["instalment", "adjustment", "fees", "bonus", "reclosing"],
)
def test_each_premium_document_renders_its_computation(view: PremiumInvoiceView, expected: list[str]) -> None:
    data = render_premium_invoice(view)
    assert data.startswith(b"%PDF")
    assert data == render_premium_invoice(view)  # deterministic
    text = text_of(data)
    for fragment in expected:
        assert fragment in text, (fragment, text)


def test_the_statement_renders_entries_years_and_hostile_text_within_bounds() -> None:
    entries = tuple(
        StatementEntry(date(2026, 1, 1), "payment", HOSTILE, HOSTILE, eur("0"), eur("10.00"), eur(str(-10 * (i + 1))))
        for i in range(60)
    )
    view = PremiumStatementView(
        policy_number="TC-2026-000001", statement_date=date(2027, 1, 10), insured=Party(HOSTILE), currency="EUR",
        entries=entries, balance=eur("-600.00"), years=(StatementYear(FIGURES, 2), StatementYear(FIGURES, 0)),
    )  # fmt: skip
    data = render_premium_statement(view)
    assert data == render_premium_statement(view)
    text = text_of(data)
    assert "closed v2" in text
    assert "en cours / open" in text
    assert "in your favour" in text
    pages = len(PdfReader(io.BytesIO(data)).pages)
    assert 2 <= pages <= 12
    empty = PremiumStatementView("TC-1", date(2026, 3, 15), Party("A"), "EUR", (), eur("0"), ())
    assert "No document nor payment" in text_of(render_premium_statement(empty))
