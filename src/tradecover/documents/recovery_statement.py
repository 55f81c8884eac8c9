"""The recovery statement: how a recovery received after the indemnity is shared.

Once a claim is paid, the insurer is subrogated in the insured's rights for
the indemnity it paid; each later recovery is therefore shared in proportion to
each side's share of the loss — the insurer takes recovery × indemnity ÷ loss,
the insured the rest (DOMAIN.md §8). The statement shows the figures and the
rule; the amounts come computed in the view.
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
    check_language,
    format_amount,
    format_date,
    render_paginated,
)
from tradecover.domain.money import Money

__all__ = ["Party", "RecoveryStatementView", "render_recovery_statement"]


@dataclass(frozen=True)
class RecoveryStatementView:
    """Everything the statement prints, already computed."""

    claim_reference: str
    policy_number: str
    statement_date: date
    insured: Party
    buyer: Party
    recovery_date: date
    #: What was received from the buyer (or its administrator).
    recovery: Money
    #: The claim's loss, excluding VAT.
    loss: Money
    #: The indemnity paid on the claim.
    indemnity: Money
    insurer_share: Money
    insured_share: Money
    #: The rule in words, e.g. "insurer: recovery × indemnity ÷ loss = 3,000.00 × 13,500.00 ÷ 15,000.00".
    rule: str


_TEXT: dict[Language, dict[str, str]] = {
    "fr": {
        "title": "Décompte de récupération",
        "insured": "Assuré",
        "buyer": "Acheteur",
        "policy": "Police n°",
        "claim": "Sinistre",
        "recovery_date": "Date de la récupération",
        "section": "Répartition de la récupération",
        "col_item": "Poste",
        "col_value": "Montant",
        "recovery": "Récupération encaissée",
        "loss": "Perte du sinistre, HT",
        "indemnity": "Indemnité versée",
        "insurer_share": "Part de l'assureur (subrogé)",
        "insurer_rule": "récupération × indemnité ÷ perte",
        "insured_share": "Part de l'assuré",
        "insured_rule": "récupération - part de l'assureur",
        "rule": "Calcul : {rule}",
        "explanation": "Ayant versé l'indemnité, l'assureur est subrogé dans les droits de l'assuré à hauteur de "
        "celle-ci. Les récupérations encaissées après le règlement du sinistre sont donc partagées en proportion "
        "de la part de la perte supportée par chacun : l'assureur reçoit la récupération multipliée par le "
        "rapport de l'indemnité à la perte, l'assuré le solde.",
    },
    "en": {
        "title": "Recovery statement",
        "insured": "Insured",
        "buyer": "Buyer",
        "policy": "Policy number",
        "claim": "Claim",
        "recovery_date": "Recovery date",
        "section": "Sharing of the recovery",
        "col_item": "Item",
        "col_value": "Amount",
        "recovery": "Recovery received",
        "loss": "Loss on the claim, excl. VAT",
        "indemnity": "Indemnity paid",
        "insurer_share": "Insurer's share (subrogated)",
        "insurer_rule": "recovery × indemnity ÷ loss",
        "insured_share": "Insured's share",
        "insured_rule": "recovery - insurer's share",
        "rule": "Computation: {rule}",
        "explanation": "Having paid the indemnity, the insurer is subrogated to the insured's rights up to that "
        "amount. Recoveries received after the claim was settled are therefore shared in proportion to each "
        "side's share of the loss: the insurer receives the recovery multiplied by the ratio of the indemnity "
        "to the loss, the insured the balance.",
    },
}


def render_recovery_statement(view: RecoveryStatementView, language: Language = "fr") -> bytes:
    """The recovery statement as PDF bytes, in French or English; same view, same bytes."""
    lang = check_language(language)

    def build(total_pages: int | None) -> PdfDocument:
        pdf = PdfDocument(
            title=_TEXT[lang]["title"],
            reference=view.claim_reference,
            document_date=view.statement_date,
            language=lang,
            total_pages=total_pages,
        )
        _draw(pdf, view, lang)
        return pdf

    return render_paginated(build)


def _draw(pdf: PdfDocument, view: RecoveryStatementView, lang: Language) -> None:
    text = _TEXT[lang]
    pdf.add_page()

    half = (pdf.epw - 10) / 2
    top = pdf.y
    left_bottom = pdf.party_block(view.insured, x=MARGIN_X, y=top, width=half, caption=text["insured"])
    right_bottom = pdf.party_block(view.buyer, x=MARGIN_X + half + 10, y=top, width=half, caption=text["buyer"])
    pdf.set_xy(pdf.l_margin, max(left_bottom, right_bottom) + 5)

    pdf.label_values(
        [
            (text["policy"], view.policy_number),
            (text["claim"], view.claim_reference),
            (text["recovery_date"], format_date(view.recovery_date, lang)),
        ],
        label_width=45,
    )

    def amount(money: Money) -> str:
        return format_amount(money, lang)

    pdf.data_table(
        [Column(text["col_item"], 125), Column(text["col_value"], 45, "R")],
        [
            Row((text["recovery"], amount(view.recovery))),
            Row((text["loss"], amount(view.loss))),
            Row((text["indemnity"], amount(view.indemnity))),
            Row((Cell(text["insurer_share"], text["insurer_rule"]), amount(view.insurer_share)), bold=True),
            Row((Cell(text["insured_share"], text["insured_rule"]), amount(view.insured_share)), bold=True),
        ],
        size=9.5,
        title=text["section"],
        keep_together=True,
    )
    pdf.ln(3)
    if view.rule:
        pdf.paragraph(text["rule"].format(rule=view.rule), size=8.5, align="L", color=MUTED)
    pdf.paragraph(text["explanation"], size=9)
