"""The formal notice to pay (*mise en demeure*) the collector sends to a debtor.

The collector — the insurer's collection department — writes on behalf of the
creditor (the insured) to the debtor (the buyer): it lists the unpaid
invoices, the late-payment interest and fixed collection indemnities French law
adds (articles L441-10 and D441-5 of the Commercial Code), demands payment
within a few days of receipt and announces judicial proceedings (an order for
payment, *injonction de payer*) otherwise. The letter is sent by registered
post with acknowledgement of receipt; the amounts come computed in the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tradecover.documents.pdf_layout import (
    Column,
    Language,
    Party,
    PdfDocument,
    Row,
    check_language,
    format_amount,
    format_date,
    format_rate,
    one_line,
    render_paginated,
)
from tradecover.domain.money import Money

__all__ = ["FormalNoticeView", "NoticeInvoice", "Party", "render_formal_notice"]


@dataclass(frozen=True)
class NoticeInvoice:
    """One unpaid invoice and what the law adds to it."""

    number: str
    issue_date: date
    due_date: date
    #: What remains unpaid, including VAT.
    unpaid_amount: Money
    days_late: int
    #: The annual late-payment interest rate, a fraction (``Decimal("0.1215")``).
    annual_interest_rate: Decimal
    penalty_interest: Money
    #: 40 EUR per invoice (article D441-5 of the Commercial Code).
    fixed_indemnity: Money


@dataclass(frozen=True)
class FormalNoticeView:
    """Everything the letter prints, already computed."""

    #: The collection case's reference.
    reference: str
    letter_date: date
    #: Where the letter is written ("Paris"), printed before the date.
    place: str | None
    #: The collector (the insurer's collection department), acting for the creditor.
    sender: Party
    #: The insured, whose debt is collected.
    creditor: Party
    #: The buyer, to whom the letter is addressed.
    debtor: Party
    invoices: tuple[NoticeInvoice, ...]
    total_unpaid: Money
    total_interest: Money
    total_fixed_indemnity: Money
    total_claimed: Money
    pay_within_days: int = 8
    #: Free text: an IBAN, a payment reference.
    payment_instructions: str | None = None


_TEXT: dict[Language, dict[str, str]] = {
    "fr": {
        "title": "Mise en demeure de payer",
        "registered": "Lettre recommandée avec accusé de réception",
        "subject": "Objet : mise en demeure de payer",
        "case": "Dossier de recouvrement n° {reference}",
        "salutation": "Madame, Monsieur,",
        "acting": "Nous agissons pour le compte de notre client, {creditor}, qui nous a confié le recouvrement "
        "de la créance qu'il détient sur votre société.",
        "unpaid": "Malgré les relances qui vous ont été adressées, {count} à ce jour :",
        "one_unpaid": "la facture suivante reste impayée",
        "many_unpaid": "les {n} factures suivantes restent impayées",
        "no_invoice": "Malgré les relances qui vous ont été adressées, les sommes suivantes restent dues à ce jour :",
        "col_number": "Facture",
        "col_issued": "Date",
        "col_due": "Échéance",
        "col_late": "Retard (jours)",
        "col_unpaid": "Impayé TTC ({cur})",
        "col_rate": "Taux annuel",
        "col_interest": "Pénalités ({cur})",
        "col_indemnity": "Indemnité ({cur})",
        "total_unpaid": "Principal impayé (TTC)",
        "total_interest": "Pénalités de retard",
        "total_indemnity": "Indemnités forfaitaires pour frais de recouvrement",
        "total_claimed": "Total réclamé",
        "legal": "Ces sommes sont dues en application de l'article L441-10 du Code de commerce : toute somme "
        "non réglée à son échéance porte de plein droit, sans qu'un rappel soit nécessaire, des pénalités de "
        "retard au taux d'intérêt appliqué par la Banque centrale européenne à son opération de refinancement "
        "la plus récente majoré de 10\u00a0points de pourcentage, et rend le débiteur redevable d'une indemnité "
        "forfaitaire pour frais de recouvrement de 40\u00a0euros par facture, fixée par l'article D441-5 du même code.",
        "demand": "En conséquence, nous vous mettons en demeure de régler la somme totale de {total} "
        "dans un délai de {days} à compter de la réception de la présente lettre.",
        "day": "{n}\u00a0jour",
        "days": "{n}\u00a0jours",
        "payment": "Modalités de paiement : {instructions}",
        "proceedings": "À défaut de règlement intégral dans ce délai, nous engagerons sans autre avis une "
        "procédure judiciaire à votre encontre, notamment par voie d'injonction de payer, dont les frais "
        "pourront être mis à votre charge.",
        "formal": "La présente lettre vaut mise en demeure au sens de l'article 1344 du Code civil.",
        "closing": "Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.",
        "for": "Pour le compte de {creditor}",
        "signature": "Signature",
        "place_date": "{place}, le {date}",
        "date_only": "Le {date}",
    },
    "en": {
        "title": "Formal notice to pay",
        "registered": "By registered letter with acknowledgement of receipt",
        "subject": "Subject: formal notice to pay",
        "case": "Collection case {reference}",
        "salutation": "Dear Sir or Madam,",
        "acting": "We act on behalf of our client, {creditor}, which has instructed us to recover the debt "
        "your company owes it.",
        "unpaid": "Despite the reminders sent to you, {count} to date:",
        "one_unpaid": "the following invoice remains unpaid",
        "many_unpaid": "the following {n} invoices remain unpaid",
        "no_invoice": "Despite the reminders sent to you, the following amounts remain due to date:",
        "col_number": "Invoice",
        "col_issued": "Issued",
        "col_due": "Due",
        "col_late": "Days late",
        "col_unpaid": "Unpaid incl. VAT ({cur})",
        "col_rate": "Annual rate",
        "col_interest": "Interest ({cur})",
        "col_indemnity": "Indemnity ({cur})",
        "total_unpaid": "Unpaid principal (incl. VAT)",
        "total_interest": "Late-payment interest",
        "total_indemnity": "Fixed indemnities for collection costs",
        "total_claimed": "Total claimed",
        "legal": "These amounts are due under article L441-10 of the French Commercial Code (Code de commerce): "
        "any sum unpaid on its due date automatically bears, without any reminder being necessary, late-payment "
        "interest at the rate the European Central Bank applies to its most recent refinancing operation plus "
        "10\u00a0percentage points, and makes the debtor liable for a fixed indemnity for collection costs of "
        "40\u00a0euros per invoice, set by article D441-5 of the same code.",
        "demand": "We therefore formally demand that you pay the total sum of {total} within {days} "
        "of receipt of this letter.",
        "day": "{n}\u00a0day",
        "days": "{n}\u00a0days",
        "payment": "Payment instructions: {instructions}",
        "proceedings": "Failing full payment within this period, we will start legal proceedings against you "
        "without further notice, in particular an application for an order for payment (injonction de payer), "
        "the costs of which may be charged to you.",
        "formal": "This letter constitutes a formal notice (mise en demeure) within the meaning of article 1344 "
        "of the French Civil Code.",
        "closing": "Yours faithfully,",
        "for": "On behalf of {creditor}",
        "signature": "Signature",
        "place_date": "{place}, {date}",
        "date_only": "{date}",
    },
}


#: Room the signature block needs: the sender's name, "on behalf of", space to sign, the line.
_SIGNATURE_HEIGHT = 26.0


def _party_inline(party: Party) -> str:
    name = one_line(party.name)
    return f"{name} ({one_line(party.identifier)})" if party.identifier else name


def render_formal_notice(view: FormalNoticeView, language: Language = "fr") -> bytes:
    """The formal notice as PDF bytes, in French or English; same view, same bytes."""
    lang = check_language(language)

    def build(total_pages: int | None) -> PdfDocument:
        pdf = PdfDocument(
            title=_TEXT[lang]["title"],
            reference=view.reference,
            document_date=view.letter_date,
            language=lang,
            total_pages=total_pages,
        )
        _draw(pdf, view, lang)
        return pdf

    return render_paginated(build)


def _draw(pdf: PdfDocument, view: FormalNoticeView, lang: Language) -> None:
    text = _TEXT[lang]
    pdf.add_page()

    # Sender top left; the debtor on the right, where a DL window envelope shows it.
    block_width = 82.0
    top = pdf.y
    sender_bottom = pdf.party_block(
        view.sender,
        x=pdf.l_margin,
        y=top,
        width=block_width,
        extra_lines=(text["for"].format(creditor=one_line(view.creditor.name)),),
    )
    debtor_x = pdf.w - pdf.r_margin - block_width
    debtor_bottom = pdf.party_block(view.debtor, x=debtor_x, y=top + 12, width=block_width)

    when = format_date(view.letter_date, lang)
    pdf.set_font("helvetica", "", 10)
    if view.place:  # a long place is cut, never the date
        date_part = text["place_date"].format(place="", date=when)
        place = pdf.fit(view.place, block_width - pdf.get_string_width(date_part))
        place_date = text["place_date"].format(place=place, date=when)
    else:
        place_date = text["date_only"].format(date=when)
    pdf.set_xy(debtor_x, max(debtor_bottom + 6, sender_bottom + 2))
    pdf.cell(block_width, pdf.line_height(), pdf.fit(place_date, block_width), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)

    pdf.paragraph(text["registered"], style="BI", size=9, align="L", space_after=1)
    pdf.paragraph(text["subject"], style="B", size=10, align="L", space_after=0.5)
    pdf.paragraph(text["case"].format(reference=one_line(view.reference)), size=9, align="L", space_after=5)

    pdf.paragraph(text["salutation"], align="L")
    pdf.paragraph(text["acting"].format(creditor=_party_inline(view.creditor)))
    count = len(view.invoices)
    if count:
        which = text["one_unpaid"] if count == 1 else text["many_unpaid"].format(n=count)
        pdf.paragraph(text["unpaid"].format(count=which), space_after=2)
        _invoice_table(pdf, view, lang)
    else:
        pdf.paragraph(text["no_invoice"], space_after=2)
    pdf.ln(2)
    _totals(pdf, view, lang)
    pdf.ln(3)

    pdf.paragraph(text["legal"])
    days = text["day" if view.pay_within_days == 1 else "days"].format(n=view.pay_within_days)
    pdf.paragraph(text["demand"].format(total=format_amount(view.total_claimed, lang), days=days), style="B")
    if view.payment_instructions:
        pdf.paragraph(text["payment"].format(instructions=view.payment_instructions.strip()), align="L")
    pdf.paragraph(text["proceedings"])
    pdf.paragraph(text["formal"])
    pdf.ensure_space(_SIGNATURE_HEIGHT + 12)  # the closing stays with the signature
    pdf.paragraph(text["closing"], space_after=4)
    _signature(pdf, view, lang)


def _invoice_table(pdf: PdfDocument, view: FormalNoticeView, lang: Language) -> None:
    text = _TEXT[lang]
    cur = view.total_claimed.currency
    columns = [
        Column(text["col_number"], 20),
        Column(text["col_issued"], 15),
        Column(text["col_due"], 15),
        Column(text["col_late"], 10, "R"),
        Column(text["col_unpaid"].format(cur=cur), 17, "R"),
        Column(text["col_rate"], 11, "R"),
        Column(text["col_interest"].format(cur=cur), 14, "R"),
        Column(text["col_indemnity"].format(cur=cur), 13, "R"),
    ]

    def amount(money: Money) -> str:
        return format_amount(money, lang, with_currency=money.currency != cur)

    rows = [
        Row(
            (
                invoice.number,
                format_date(invoice.issue_date, lang, short=True),
                format_date(invoice.due_date, lang, short=True),
                str(invoice.days_late),
                amount(invoice.unpaid_amount),
                format_rate(invoice.annual_interest_rate, lang),
                amount(invoice.penalty_interest),
                amount(invoice.fixed_indemnity),
            )
        )
        for invoice in view.invoices
    ]
    pdf.data_table(columns, rows, size=8)


def _totals(pdf: PdfDocument, view: FormalNoticeView, lang: Language) -> None:
    text = _TEXT[lang]
    width = 125.0
    rows = [
        Row((text["total_unpaid"], format_amount(view.total_unpaid, lang))),
        Row((text["total_interest"], format_amount(view.total_interest, lang))),
        Row((text["total_indemnity"], format_amount(view.total_fixed_indemnity, lang))),
        Row((text["total_claimed"], format_amount(view.total_claimed, lang)), bold=True),
    ]
    pdf.data_table(
        [Column("", 85), Column("", 40, "R")],
        rows,
        size=9,
        x=pdf.w - pdf.r_margin - width,
        width=width,
        show_heading=False,
        keep_together=True,
    )


def _signature(pdf: PdfDocument, view: FormalNoticeView, lang: Language) -> None:
    text = _TEXT[lang]
    width = 80.0
    x = pdf.w - pdf.r_margin - width
    pdf.ensure_space(_SIGNATURE_HEIGHT)
    top = pdf.y
    pdf.set_font("helvetica", "B", 10)
    pdf.set_xy(x, top)
    for line in pdf.wrap(one_line(view.sender.name), width, 3):
        pdf.set_x(x)
        pdf.cell(width, pdf.line_height(), line, new_x="LEFT", new_y="NEXT")
    pdf.set_font("helvetica", "I", 9)
    for line in pdf.wrap(text["for"].format(creditor=one_line(view.creditor.name)), width, 3):
        pdf.set_x(x)
        pdf.cell(width, pdf.line_height(), line, new_x="LEFT", new_y="NEXT")
    line_y = pdf.y + 12
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    pdf.line(x + pdf.c_margin, line_y, x + width - pdf.c_margin, line_y)
    pdf.set_font("helvetica", "", 7.5)
    pdf.set_text_color(120, 120, 120)
    pdf.set_xy(x, line_y + 0.5)
    pdf.cell(width, 4, text["signature"])
    pdf.set_text_color(33, 37, 41)
    pdf.set_xy(pdf.l_margin, line_y + 6)
