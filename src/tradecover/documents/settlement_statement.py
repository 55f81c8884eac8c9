"""The claim settlement statement (*décompte d'indemnité*).

It shows the insured how its indemnity was computed, one line per step of the
rule (DOMAIN.md §8): the unpaid invoices, what was received before settlement,
the loss, the covered loss, the non-qualifying loss, the indemnity rate, the
deductibles and the maximum liability; then who is paid (the insured, or the
factor for assigned invoices) and which claims handlers approved it. All
amounts exclude VAT and come computed in the view: this module only lays them
out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tradecover.documents.pdf_layout import (
    MARGIN_X,
    Cell,
    Column,
    Language,
    Party,
    PdfDocument,
    Row,
    check_language,
    format_amount,
    format_date,
    format_number,
    one_line,
    render_paginated,
)
from tradecover.domain.money import Money

__all__ = [
    "CAUSE_LABELS",
    "LINE_LABELS_FR",
    "STATUS_LABELS",
    "Party",
    "Payee",
    "SettlementStatementView",
    "StatementInvoice",
    "StatementLine",
    "line_label",
    "render_settlement_statement",
]


@dataclass(frozen=True)
class StatementInvoice:
    """An invoice of the claim, excluding VAT."""

    number: str
    issue_date: date
    due_date: date
    amount_excl_vat: Money
    unpaid_excl_vat: Money
    #: Why the invoice is treated apart, e.g. "factor: X", "refused: notified late".
    note: str | None = None


@dataclass(frozen=True)
class StatementLine:
    """One step of the indemnity computation."""

    #: A stable code (``loss``, ``covered_loss`` …) that selects the French label.
    code: str
    #: The English label, also used in French when the code has no translation.
    label: str
    #: The rule applied, in words ("covered loss × 90 %"), printed small under the label.
    rule: str
    #: ``None`` for an informative line.
    amount: Money | None
    #: Totals are printed in bold.
    emphasis: bool = False
    #: The rule's figures by name (decimal strings), for the rule's French wording.
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Payee:
    """Who receives (part of) the indemnity."""

    name: str
    #: ``"insured"`` or ``"factor"``.
    role: str
    amount: Money


@dataclass(frozen=True)
class SettlementStatementView:
    """Everything the statement prints, already computed."""

    claim_reference: str
    policy_number: str
    statement_date: date
    insured: Party
    buyer: Party
    #: ``"insolvency"`` or ``"protracted_default"``.
    cause: str
    date_of_loss: date
    currency: str
    invoices: tuple[StatementInvoice, ...]
    lines: tuple[StatementLine, ...]
    indemnity: Money
    payees: tuple[Payee, ...]
    #: ``"settled"``, ``"awaiting_approval"``, ``"pending"`` or ``"refused"``.
    status: str
    #: Names of the claims handlers who approved the settlement.
    approvals: tuple[str, ...] = ()


#: French labels of the known line codes; other codes print their English label.
LINE_LABELS_FR: dict[str, str] = {
    "invoices_unpaid": "Factures impayées déclarées, HT",
    "payments_before_settlement": "Paiements reçus",
    "credit_notes": "Avoirs",
    "recoveries_before_settlement": "Récupérations avant règlement",
    "loss": "Perte, HT",
    "above_covered_exposure": "Part de la perte au-delà de l'encours garanti",
    "covered_loss": "Perte garantie",
    "non_qualifying_loss": "Seuil d'intervention",
    "indemnity_rate": "Perte garantie × quotité garantie",
    "deductible": "Franchise par sinistre",
    "aggregate_deductible": "Franchise annuelle globale",
    "max_liability": "Plafond d'indemnisation restant",
    "indemnity": "Indemnité",
    "payee_share": "Part de ce bénéficiaire",
}

CAUSE_LABELS: dict[Language, dict[str, str]] = {
    "fr": {"insolvency": "Insolvabilité de droit", "protracted_default": "Carence (défaut de paiement prolongé)"},
    "en": {"insolvency": "Insolvency", "protracted_default": "Protracted default"},
}

STATUS_LABELS: dict[Language, dict[str, str]] = {
    "fr": {
        "settled": "Réglé",
        "awaiting_approval": "En attente d'approbation",
        "pending": "En cours d'instruction",
        "refused": "Refusé",
    },
    "en": {
        "settled": "Settled",
        "awaiting_approval": "Awaiting approval",
        "pending": "Pending",
        "refused": "Refused",
    },
}

_ROLE_LABELS: dict[Language, dict[str, str]] = {
    "fr": {"insured": "Assuré", "factor": "Affactureur (délégataire)"},
    "en": {"insured": "Insured", "factor": "Factor (loss payee)"},
}

_TEXT: dict[Language, dict[str, str]] = {
    "fr": {
        "title": "Décompte d'indemnité",
        "insured": "Assuré",
        "buyer": "Acheteur",
        "policy": "Police n°",
        "claim": "Sinistre",
        "cause": "Cause",
        "date_of_loss": "Date du sinistre",
        "status": "Statut",
        "currency": "Montants",
        "currency_value": "en {cur}, hors taxes",
        "invoices": "Factures du sinistre",
        "no_invoices": "Aucune facture.",
        "col_number": "Facture",
        "col_issued": "Date",
        "col_due": "Échéance",
        "col_amount": "Montant HT ({cur})",
        "col_unpaid": "Impayé HT ({cur})",
        "col_note": "Observation",
        "computation": "Calcul de l'indemnité",
        "col_item": "Poste (règle appliquée)",
        "col_value": "Montant ({cur})",
        "indemnity": "Indemnité",
        "payees": "Règlement",
        "col_payee": "Bénéficiaire",
        "col_role": "Qualité",
        "no_payees": "Aucun versement au titre de ce décompte.",
        "approvals": "Approbations",
        "approved_by": "Approuvé par : {names}.",
        "no_approvals": "Aucune approbation enregistrée.",
    },
    "en": {
        "title": "Claim settlement statement",
        "insured": "Insured",
        "buyer": "Buyer",
        "policy": "Policy number",
        "claim": "Claim",
        "cause": "Cause",
        "date_of_loss": "Date of loss",
        "status": "Status",
        "currency": "Amounts",
        "currency_value": "in {cur}, excluding VAT",
        "invoices": "Invoices of the claim",
        "no_invoices": "No invoice.",
        "col_number": "Invoice",
        "col_issued": "Issued",
        "col_due": "Due",
        "col_amount": "Amount excl. VAT ({cur})",
        "col_unpaid": "Unpaid excl. VAT ({cur})",
        "col_note": "Note",
        "computation": "Indemnity computation",
        "col_item": "Item (rule applied)",
        "col_value": "Amount ({cur})",
        "indemnity": "Indemnity",
        "payees": "Payment",
        "col_payee": "Payee",
        "col_role": "Role",
        "no_payees": "Nothing is paid under this statement.",
        "approvals": "Approvals",
        "approved_by": "Approved by: {names}.",
        "no_approvals": "No approval recorded.",
    },
}


#: French wording of the rules, by line code; ``{name}`` takes the line's parameter, decimals formatted.
RULES_FR: dict[str, str] = {
    "invoices_unpaid": "{count} facture(s) déclarée(s) dans les délais et garanties",
    "payments_before_settlement": "reçus avant le règlement, imputés sur les factures les plus anciennes ; "
    "part HT au prorata de chaque facture",
    "credit_notes": "émis avant le règlement, imputés sur les factures les plus anciennes ; "
    "part HT au prorata de chaque facture",
    "recoveries_before_settlement": "récupérées avant le règlement, imputées sur les factures les plus "
    "anciennes ; part HT au prorata de chaque facture",
    "loss": "reste impayé des factures déclarées",
    "above_covered_exposure": "maximum sur les périodes de la limite de min(encours livré, limite en vigueur)",
    "covered_loss": "règle de l'encours garanti appliquée à la perte",
    "non_qualifying_loss": "perte garantie de {covered} inférieure au seuil de {threshold} : aucune indemnité",
    "indemnity_rate": "{covered} × {rate} %, arrondi au centime le plus proche",
    "aggregate_deductible": "{deductible} par an, dont {used} absorbés par les sinistres précédents ; "
    "ce sinistre en absorbe {consumed}",
    "deductible": "{deductible} par sinistre (l'indemnité n'est jamais négative)",
    "max_liability": "plafond de l'année d'assurance {max_liability}, moins {paid} déjà indemnisés : "
    "indemnité limitée à {remaining}",
    "indemnity": "versée aux bénéficiaires ci-dessous",
    "payee_share": "indemnité de {indemnity} × {unpaid} impayés sur les factures de ce bénéficiaire / "
    "{claim_unpaid} impayés sur celles du sinistre, au centime (plus forts restes)",
}


def line_rule(line: StatementLine, language: Language) -> str:
    """The rule of ``line`` in ``language``: the French wording of its code with its figures, else its own."""
    template = RULES_FR.get(line.code) if language == "fr" else None
    if template is None:
        return line.rule
    values: dict[str, str] = {}
    for name, value in line.params:
        try:
            values[name] = format_number(Decimal(value), "fr", places=2 if "." in value else 0)
        except ArithmeticError:
            values[name] = value
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return line.rule


def line_label(line: StatementLine, language: Language) -> str:
    """The label of ``line`` in ``language``: the French one of its code, else its own."""
    if language == "fr":
        return LINE_LABELS_FR.get(line.code, line.label)
    return line.label


def render_settlement_statement(view: SettlementStatementView, language: Language = "fr") -> bytes:
    """The settlement statement as PDF bytes, in French or English; same view, same bytes."""
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


def _draw(pdf: PdfDocument, view: SettlementStatementView, lang: Language) -> None:
    text = _TEXT[lang]
    cur = view.currency
    pdf.add_page()

    half = (pdf.epw - 10) / 2
    top = pdf.y
    left_bottom = pdf.party_block(view.insured, x=MARGIN_X, y=top, width=half, caption=text["insured"])
    right_bottom = pdf.party_block(view.buyer, x=MARGIN_X + half + 10, y=top, width=half, caption=text["buyer"])
    pdf.set_xy(pdf.l_margin, max(left_bottom, right_bottom) + 5)

    column = (pdf.epw - 10) / 2
    top, page = pdf.y, pdf.page
    left_bottom = pdf.label_values(
        [
            (text["policy"], view.policy_number),
            (text["claim"], view.claim_reference),
            (text["cause"], CAUSE_LABELS[lang].get(view.cause, view.cause)),
        ],
        label_width=32,
        x=MARGIN_X,
        width=column,
    )
    if pdf.page == page:  # side by side, unless hostile values pushed the first list onto a new page
        pdf.set_y(top)
    right_bottom = pdf.label_values(
        [
            (text["date_of_loss"], format_date(view.date_of_loss, lang)),
            (text["status"], STATUS_LABELS[lang].get(view.status, view.status)),
            (text["currency"], text["currency_value"].format(cur=cur)),
        ],
        label_width=32,
        x=MARGIN_X + column + 10,
        width=column,
    )
    pdf.set_xy(pdf.l_margin, max(left_bottom, right_bottom))

    def amount(money: Money) -> str:
        return format_amount(money, lang, with_currency=money.currency != cur)

    if view.invoices:
        pdf.data_table(
            [
                Column(text["col_number"], 22),
                Column(text["col_issued"], 14),
                Column(text["col_due"], 14),
                Column(text["col_amount"].format(cur=cur), 19, "R"),
                Column(text["col_unpaid"].format(cur=cur), 19, "R"),
                Column(text["col_note"], 28),
            ],
            [
                Row(
                    (
                        invoice.number,
                        format_date(invoice.issue_date, lang, short=True),
                        format_date(invoice.due_date, lang, short=True),
                        amount(invoice.amount_excl_vat),
                        amount(invoice.unpaid_excl_vat),
                        invoice.note or "",
                    )
                )
                for invoice in view.invoices
            ],
            title=text["invoices"],
        )
    else:
        pdf.section_heading(text["invoices"])
        pdf.paragraph(text["no_invoices"], align="L")

    rows = [
        Row(
            (
                Cell(line_label(line, lang), line_rule(line, lang) or None),
                "" if line.amount is None else amount(line.amount),
            ),
            bold=line.emphasis,
        )
        for line in view.lines
    ]
    if not any(line.code == "indemnity" for line in view.lines):
        rows.append(Row((text["indemnity"], amount(view.indemnity)), bold=True))
    pdf.data_table(
        [Column(text["col_item"], 130), Column(text["col_value"].format(cur=cur), 40, "R")],
        rows,
        size=9,
        padding=1.1,
        title=text["computation"],
    )

    if view.payees:
        pdf.data_table(
            [
                Column(text["col_payee"], 80),
                Column(text["col_role"], 50),
                Column(text["col_value"].format(cur=cur), 40, "R"),
            ],
            [
                Row((payee.name, _ROLE_LABELS[lang].get(payee.role, payee.role), amount(payee.amount)))
                for payee in view.payees
            ],
            size=9,
            title=text["payees"],
            keep_together=True,
        )
    else:
        pdf.section_heading(text["payees"])
        pdf.paragraph(text["no_payees"], align="L")

    pdf.section_heading(text["approvals"], keep_with=8)
    if view.approvals:
        names = ", ".join(one_line(name) for name in view.approvals)
        pdf.paragraph(text["approved_by"].format(names=names), align="L")
    else:
        pdf.paragraph(text["no_approvals"], align="L")
