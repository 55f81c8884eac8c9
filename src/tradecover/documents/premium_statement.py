"""The premium statement of a policy (*relevé de compte de prime*), French labels with English beside.

Every premium invoice, credit note and payment of the policy in date order with the running balance
(what the insured owes: positive; what it is owed back: negative), then each policy year's figures
(DOMAIN.md §9): earned premium, minimum, premium of the year = max(minimum, earned), premium called,
adjustment = premium − called, fees, indemnities, no-claims bonus, maximum liability and loss ratio.
The figures come computed in the view; this module only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tradecover.documents.pdf_layout import (
    MARGIN_X,
    MUTED,
    Cell,
    Column,
    Language,
    Party,
    PdfDocument,
    Row,
    format_amount,
    format_date,
    format_rate,
    render_paginated,
)
from tradecover.domain.money import Money
from tradecover.domain.premium import YearFigures

__all__ = [
    "ENTRY_LABELS",
    "Party",
    "PremiumStatementView",
    "StatementEntry",
    "StatementYear",
    "render_premium_statement",
]

LANG: Language = "fr"  # numbers and dates in French; every label carries its English beside it

ENTRY_LABELS: dict[str, str] = {
    "invoice": "Facture / Invoice",
    "credit_note": "Avoir / Credit note",
    "payment": "Règlement / Payment",
}


@dataclass(frozen=True)
class StatementEntry:
    """A document or a payment on the premium account."""

    on: date
    #: ``"invoice"``, ``"credit_note"`` or ``"payment"``.
    kind: str
    #: The document number, or the payment's reference.
    number: str
    label: str
    debit: Money
    credit: Money
    balance: Money


@dataclass(frozen=True)
class StatementYear:
    """A policy year's figures, live or as last closed."""

    figures: YearFigures
    #: Versions of the year's closing; 0 while the year is open.
    closings: int


@dataclass(frozen=True)
class PremiumStatementView:
    """Everything the statement prints, already computed."""

    policy_number: str
    statement_date: date
    insured: Party
    currency: str
    entries: tuple[StatementEntry, ...]
    balance: Money
    years: tuple[StatementYear, ...]


def _amount(money: Money) -> str:
    return format_amount(money, LANG, with_currency=False)


def render_premium_statement(view: PremiumStatementView) -> bytes:
    """The premium statement as PDF bytes; same view, same bytes."""

    def build(total_pages: int | None) -> PdfDocument:
        pdf = PdfDocument(
            title="Relevé de compte de prime / Premium statement",
            reference=view.policy_number,
            document_date=view.statement_date,
            language=LANG,
            total_pages=total_pages,
        )
        _draw(pdf, view)
        return pdf

    return render_paginated(build)


def _year_rows(year: StatementYear) -> list[Row]:
    f = year.figures
    ratio = "-" if f.loss_ratio is None else format_rate(f.loss_ratio, LANG)
    rows = [
        Row(
            (
                Cell(
                    "Prime acquise / Earned premium",
                    f"CA assurable déclaré × taux ; {f.declared_periods} période(s) déclarée(s) sur"
                    f" {f.expected_periods} / turnover declared × rate; {f.declared_periods} of"
                    f" {f.expected_periods} period(s) declared",
                ),
                _amount(f.earned),
            )
        ),
        Row(("Prime minimale / Minimum premium", _amount(f.minimum))),
        Row(
            (
                Cell(
                    "Prime de l'année / Premium of the year",
                    "max(prime minimale, prime acquise) / max(minimum, earned)",
                ),
                _amount(f.premium),
            ),
            bold=True,
        ),
        Row(("Prime provisionnelle appelée / Provisional premium called", _amount(f.called))),
        Row(("Encaissé sur la prime provisionnelle / Paid on the provisional premium", _amount(f.paid))),
        Row(
            (
                Cell("Régularisation / Adjustment", "prime de l'année − prime appelée / premium − premium called"),
                _amount(f.adjustment),
            )
        ),
        Row(
            (
                Cell(
                    "Frais d'étude et de surveillance / Request and monitoring fees",
                    f"{f.request_count} demande(s), {f.buyers_monitored} acheteur(s) sous garantie"
                    f" / {f.request_count} request(s), {f.buyers_monitored} buyer(s) under cover",
                ),
                _amount(f.fees),
            )
        ),
        Row(("Indemnités de l'année / Indemnities of the year", _amount(f.indemnities))),
        Row((Cell("Rapport sinistres / primes / Loss ratio", None), ratio)),
        Row(("Participation bénéficiaire / No-claims bonus", _amount(f.bonus))),
        Row(
            (
                Cell(
                    "Solde de fin d'année / Year-end balance",
                    "régularisation + frais − participation / adjustment + fees − bonus",
                ),
                _amount(f.balance),
            ),
            bold=True,
        ),
        Row(
            (
                "Plafond d'indemnisation / Maximum liability",
                "-" if f.max_liability is None else _amount(f.max_liability),
            )
        ),
    ]
    return rows


def _draw(pdf: PdfDocument, view: PremiumStatementView) -> None:
    cur = view.currency
    pdf.add_page()

    top = pdf.y
    bottom = pdf.party_block(view.insured, x=MARGIN_X, y=top, width=pdf.epw / 2, caption="Assuré / Insured")
    pdf.set_xy(pdf.l_margin, bottom + 4)
    owed = view.balance
    balance_text = _amount(owed) + f" {cur}"
    if owed.is_negative():
        balance_text += " (en votre faveur / in your favour)"
    pdf.label_values(
        [
            ("Police n° / Policy", view.policy_number),
            (
                "Arrêté au / As of",
                f"{format_date(view.statement_date, 'fr')} / {format_date(view.statement_date, 'en')}",
            ),
            ("Devise / Currency", cur),
            ("Solde dû / Balance owed", balance_text),
        ],
        label_width=55,
    )

    heading = f"({cur})"
    if view.entries:
        rows = [
            Row(
                (
                    format_date(e.on, LANG, short=True),
                    Cell(e.number, ENTRY_LABELS.get(e.kind, e.kind)),
                    e.label,
                    "" if e.debit.is_zero() else _amount(e.debit),
                    "" if e.credit.is_zero() else _amount(e.credit),
                    _amount(e.balance),
                )
            )
            for e in view.entries
        ]
        rows.append(Row(("", "", "Solde / Balance", "", "", _amount(view.balance)), bold=True))
        pdf.data_table(
            [
                Column("Date", 15),
                Column("Pièce / Document", 24),
                Column("Libellé / Description", 52),
                Column(f"Débit / Debit {heading}", 20, "R"),
                Column(f"Crédit / Credit {heading}", 20, "R"),
                Column(f"Solde / Balance {heading}", 20, "R"),
            ],
            rows,
            size=8,
            title="Mouvements du compte / Account entries",
        )
    else:
        pdf.section_heading("Mouvements du compte / Account entries")
        pdf.paragraph("Aucune pièce ni aucun règlement. / No document nor payment.", align="L")

    for year in view.years:
        f = year.figures
        state = f"clôturée v{year.closings} / closed v{year.closings}" if year.closings else "en cours / open"
        title = (
            f"Année / Policy year {format_date(f.year.start, LANG, short=True)} -"
            f" {format_date(f.year.last_day, LANG, short=True)} : {state}"
        )
        pdf.data_table(
            [Column("Poste / Item", 125), Column(f"Montant / Amount {heading}", 45, "R")],
            _year_rows(year),
            size=8.5,
            padding=1.0,
            title=title,
            keep_together=True,
        )
    pdf.ln(2)
    pdf.paragraph(
        "Solde positif : dû par l'assuré ; négatif : en sa faveur. Les chiffres d'une année en cours sont"
        " provisoires. / A positive balance is owed by the insured, a negative one is in its favour. An open"
        " year's figures are provisional.",
        size=8,
        align="L",
        color=MUTED,
    )
