"""A premium invoice or credit note (*facture / avoir de prime*), French labels with English beside.

One document of a policy's premium account (DOMAIN.md §9): a provisional-premium instalment, or what
a year end invoices or credits — the adjustment (premium of the year − premium called), the request and
monitoring fees, the no-claims bonus. The amounts come computed in the view; this module lays them
out and, for a year-end document, shows the computation from the closed year's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

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

__all__ = ["ITEM_LABELS", "KIND_LABELS", "Party", "PremiumInvoiceView", "render_premium_invoice"]

LANG: Language = "fr"  # numbers and dates in French; every label carries its English beside it

KIND_LABELS: dict[str, str] = {
    "invoice": "Facture de prime / Premium invoice",
    "credit_note": "Avoir de prime / Premium credit note",
}

ITEM_LABELS: dict[str, str] = {
    "instalment": "Prime provisionnelle / Provisional premium",
    "adjustment": "Régularisation de prime / Premium adjustment",
    "fees": "Frais d'étude et de surveillance / Request and monitoring fees",
    "no_claims_bonus": "Participation bénéficiaire / No-claims bonus",
}


@dataclass(frozen=True)
class PremiumInvoiceView:
    """Everything one premium document prints, already computed."""

    number: str
    #: ``"invoice"`` or ``"credit_note"``.
    kind: str
    #: ``"instalment"``, ``"adjustment"``, ``"fees"`` or ``"no_claims_bonus"``.
    item: str
    policy_number: str
    issued_on: date
    due_on: date
    year_start: date
    year_last_day: date
    insurer: Party
    insured: Party
    label: str
    #: Positive; ``kind`` says which way it goes.
    amount: Money
    #: Paid on this invoice so far (payments settle the oldest invoices first); none for a credit note.
    settled: Money | None = None
    #: An instalment: (number, count) and the minimum premium it splits.
    instalment: tuple[int, int] | None = None
    minimum_premium: Money | None = None
    #: A year-end document: the figures of the closing that issued it, and its version.
    figures: YearFigures | None = None
    closing_version: int | None = None
    #: What earlier closings of the year already invoiced (+) or credited (−) on this item.
    already: Money | None = None
    request_fee: Money | None = None
    monitoring_fee: Money | None = None
    bonus_rate: Decimal | None = None
    bonus_threshold: Decimal | None = None


def _amount(money: Money) -> str:
    return format_amount(money, LANG)


def _cell(money: Money) -> str:
    """An amount in a table whose heading names the currency."""
    return format_amount(money, LANG, with_currency=False)


def _period(start: date, last_day: date) -> str:
    return (
        f"du {format_date(start, 'fr')} au {format_date(last_day, 'fr')}"
        f" / {format_date(start, 'en')} to {format_date(last_day, 'en')}"
    )


def _details(view: PremiumInvoiceView) -> list[Row]:
    """The computation behind the amount, line by line (empty when the label says it all)."""
    f = view.figures
    rows: list[Row] = []
    if view.item == "instalment" and view.instalment and view.minimum_premium is not None:
        number, count = view.instalment
        rows.append(
            Row(
                (
                    Cell(
                        "Prime minimale de l'année / Minimum premium of the year",
                        f"appelée d'avance en {count} échéance(s) ; échéance {number}/{count}"
                        f" / called in advance in {count} instalment(s); instalment {number} of {count}",
                    ),
                    _cell(view.minimum_premium),
                )
            )
        )
        return rows
    if f is None:
        return rows
    if view.item == "adjustment":
        rows += [
            Row(
                (
                    Cell(
                        "Prime acquise / Earned premium",
                        f"CA assurable déclaré × taux, {f.declared_periods} période(s) déclarée(s) sur"
                        f" {f.expected_periods} / insurable turnover declared × rate, {f.declared_periods} of"
                        f" {f.expected_periods} period(s) declared",
                    ),
                    _cell(f.earned),
                )
            ),
            Row(("Prime minimale / Minimum premium", _cell(f.minimum))),
            Row(
                (
                    Cell(
                        "Prime de l'année / Premium of the year",
                        "max(prime minimale, prime acquise) / max(minimum, earned)",
                    ),
                    _cell(f.premium),
                ),
                bold=True,
            ),
            Row((Cell("Prime provisionnelle appelée / Provisional premium called", None), _cell(-f.called))),
            Row(
                (
                    Cell("Régularisation / Adjustment", "prime de l'année − prime appelée / premium − premium called"),
                    _cell(f.adjustment),
                ),
                bold=True,
            ),
        ]
    elif view.item == "fees":
        request = view.request_fee or Money.zero(view.amount.currency)
        monitoring = view.monitoring_fee or Money.zero(view.amount.currency)
        rows += [
            Row(
                (
                    Cell(
                        "Frais d'étude / Request fees",
                        f"{f.request_count} demande(s) d'agrément × {_amount(request)}"
                        f" / {f.request_count} limit request(s) × {_amount(request)}",
                    ),
                    _cell((request * f.request_count).round()),
                )
            ),
            Row(
                (
                    Cell(
                        "Frais de surveillance / Monitoring fees",
                        f"{f.buyers_monitored} acheteur(s) sous garantie × {_amount(monitoring)}"
                        f" / {f.buyers_monitored} buyer(s) under cover × {_amount(monitoring)}",
                    ),
                    _cell((monitoring * f.buyers_monitored).round()),
                )
            ),
            Row(("Total des frais / Total fees", _cell(f.fees)), bold=True),
        ]
    elif view.item == "no_claims_bonus":
        ratio = "-" if f.loss_ratio is None else format_rate(f.loss_ratio, LANG)
        threshold = "-" if view.bonus_threshold is None else format_rate(view.bonus_threshold, LANG)
        rate = "-" if view.bonus_rate is None else format_rate(view.bonus_rate, LANG)
        rows += [
            Row(("Prime de l'année / Premium of the year", _cell(f.premium))),
            Row(("Indemnités de l'année / Indemnities of the year", _cell(f.indemnities))),
            Row(
                (
                    Cell(
                        "Rapport sinistres / primes / Loss ratio",
                        f"{ratio}, seuil {threshold} / {ratio}, threshold {threshold}",
                    ),
                    "",
                )
            ),
            Row(
                (
                    Cell(
                        "Participation bénéficiaire / No-claims bonus",
                        f"{rate} × (prime − indemnités) / {rate} × (premium − indemnities)",
                    ),
                    _cell(f.bonus),
                ),
                bold=True,
            ),
        ]
    else:
        return rows
    if view.already is not None and not view.already.is_zero():
        rows.append(
            Row(
                (
                    Cell(
                        "Déjà facturé (+) ou crédité (−) / Already invoiced (+) or credited (−)",
                        "par les clôtures précédentes de l'année / by earlier closings of the year",
                    ),
                    _cell(-view.already),
                )
            )
        )
    return rows


def render_premium_invoice(view: PremiumInvoiceView) -> bytes:
    """The premium invoice or credit note as PDF bytes; same view, same bytes."""

    def build(total_pages: int | None) -> PdfDocument:
        pdf = PdfDocument(
            title=KIND_LABELS.get(view.kind, view.kind),
            reference=view.number,
            document_date=view.issued_on,
            language=LANG,
            total_pages=total_pages,
        )
        _draw(pdf, view)
        return pdf

    return render_paginated(build)


def _draw(pdf: PdfDocument, view: PremiumInvoiceView) -> None:
    invoice = view.kind == "invoice"
    cur = view.amount.currency
    pdf.add_page()

    half = (pdf.epw - 10) / 2
    top = pdf.y
    left = pdf.party_block(view.insurer, x=MARGIN_X, y=top, width=half, caption="Assureur / Insurer")
    right = pdf.party_block(view.insured, x=MARGIN_X + half + 10, y=top, width=half, caption="Assuré / Insured")
    pdf.set_xy(pdf.l_margin, max(left, right) + 5)

    pairs = [
        ("Numéro / Number", view.number),
        ("Police n° / Policy", view.policy_number),
        ("Année d'assurance / Policy year", _period(view.year_start, view.year_last_day)),
        ("Nature / Item", ITEM_LABELS.get(view.item, view.item)),
        ("Date / Issued", f"{format_date(view.issued_on, 'fr')} / {format_date(view.issued_on, 'en')}"),
    ]
    if invoice:
        pairs.append(("Échéance / Due", f"{format_date(view.due_on, 'fr')} / {format_date(view.due_on, 'en')}"))
    if view.closing_version is not None:
        pairs.append(("Clôture / Closing", f"version {view.closing_version}"))
    pdf.label_values(pairs, label_width=55)

    rows = [Row((view.label, _cell(view.amount)))]
    details = _details(view)
    if details:
        pdf.data_table(
            [Column("Calcul / Computation", 125), Column(f"Montant / Amount ({cur})", 45, "R")],
            details,
            size=9,
            padding=1.1,
            title="Détail du calcul / How the amount is computed",
        )
    total = "Total à payer / Amount due" if invoice else "Montant en votre faveur / Amount credited to you"
    rows.append(Row((total, _cell(view.amount)), bold=True))
    pdf.data_table(
        [Column("Désignation / Description", 125), Column(f"Montant / Amount ({cur})", 45, "R")],
        rows,
        size=9.5,
        title=KIND_LABELS.get(view.kind, view.kind),
        keep_together=True,
    )
    pdf.ln(3)
    if invoice:
        pdf.paragraph(
            f"À régler au plus tard le {format_date(view.due_on, 'fr')}, en rappelant la référence {view.number}."
            f" / Payable by {format_date(view.due_on, 'en')}, quoting the reference {view.number}.",
            size=9,
            align="L",
        )
        if view.settled is not None and view.settled.is_positive():
            outstanding = view.amount - view.settled
            pdf.paragraph(
                f"Déjà réglé / Already paid : {_amount(view.settled)} ;"
                f" reste dû / outstanding : {_amount(outstanding)}.",
                size=9,
                align="L",
            )
    else:
        pdf.paragraph(
            "Ce montant est porté au crédit de votre compte de prime et vient en déduction des sommes dues."
            " / This amount is credited to your premium account and set against what you owe.",
            size=9,
            align="L",
        )
    pdf.paragraph(
        "Montants en " + cur + ", arrondis au centime. / Amounts in " + cur + ", rounded to the cent.",
        size=8,
        align="L",
        color=MUTED,
    )
