"""The three PDF documents: content, determinism, rasterised look, hostile input.

Each document is rendered in French and English, its text extracted with pypdf
and its first page rasterised with pdfium. The PNGs are saved under a temporary
directory (or under ``$TRADECOVER_DOCS_PREVIEW`` when set, to look at them).
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from PIL import Image
from pypdf import PdfReader

from tradecover.documents.formal_notice import FormalNoticeView, NoticeInvoice, render_formal_notice
from tradecover.documents.pdf_layout import Language, Party
from tradecover.documents.recovery_statement import RecoveryStatementView, render_recovery_statement
from tradecover.documents.settlement_statement import (
    Payee,
    SettlementStatementView,
    StatementInvoice,
    StatementLine,
    render_settlement_statement,
)
from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money

LANGUAGES: tuple[Language, ...] = ("fr", "en")
A4_RATIO = 210 / 297


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


# ------------------------------------------------------------------ helpers


def page_texts(data: bytes) -> list[str]:
    """The text of each page, no-break spaces read as spaces."""
    reader = PdfReader(io.BytesIO(data))
    return [page.extract_text().replace("\u00a0", " ").replace("\u202f", " ") for page in reader.pages]


def rasterise(data: bytes, page: int = 0, scale: float = 1) -> Image.Image:
    document = pdfium.PdfDocument(data)
    try:
        image: Image.Image = document[page].render(scale=scale).to_pil()
        return image.convert("L")
    finally:
        document.close()


@pytest.fixture(scope="module")
def png_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the rasterised pages go: ``$TRADECOVER_DOCS_PREVIEW`` or a temporary directory."""
    chosen = os.environ.get("TRADECOVER_DOCS_PREVIEW")
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("pdf_previews")


def save_pngs(
    data: bytes, directory: Path, name: str, pages: Sequence[int] | None = None, scale: float = 1.5
) -> list[Path]:
    """Save pages of ``data`` (all by default; negative indexes count from the end) as ``{name}_{n}.png``."""
    document = pdfium.PdfDocument(data)
    paths: list[Path] = []
    try:
        count = len(document)
        chosen = range(count) if pages is None else sorted({page % count for page in pages})
        for index in chosen:
            path = directory / f"{name}_{index + 1}.png"
            document[index].render(scale=scale).to_pil().save(path)
            paths.append(path)
    finally:
        document.close()
    return paths


def assert_looks_like_a_printed_page(image: Image.Image) -> None:
    """A4, mostly white, enough dark ink, something in each band, nothing in the side margins."""
    width, height = image.size
    assert width / height == pytest.approx(A4_RATIO, rel=0.01)
    histogram = image.histogram()
    total = width * height
    dark = sum(histogram[:128]) / total
    white = sum(histogram[245:]) / total
    assert dark > 0.004, f"page nearly blank ({dark:.4f} dark)"
    assert dark < 0.25, f"page too dark to be text ({dark:.4f} dark)"
    assert white > 0.75, f"not a white page with text ({white:.4f} white)"
    # Text margins are 20 mm: the outer 15 mm on each side hold no ink, or text overflowed.
    margin = round(width * 15 / 210)
    for box in ((0, 0, margin, height), (width - margin, 0, width, height)):
        lightest_ink = image.crop(box).getextrema()[0]
        assert isinstance(lightest_ink, int)
        assert lightest_ink > 200, f"ink in the side margin {box}: text cut off or overflowing"
    # Ink in the header band, in the body and in the (grey) footer band.
    for band, (top, bottom) in {"header": (0.02, 0.08), "body": (0.15, 0.5), "footer": (0.94, 0.98)}.items():
        crop = image.crop((0, int(height * top), width, int(height * bottom)))
        assert sum(crop.histogram()[:200]) > 20, f"nothing printed in the {band}"


# -------------------------------------------------------------------- views

SENDER = Party(
    "Tradecover Assurance - Service recouvrement",
    ("12 rue de la Paix", "75002 Paris"),
    "SIREN 552 100 554",
)
INSURED = Party("Menuiserie Dupont SARL", ("3 rue des Lilas", "69003 Lyon"), "SIREN 123 456 789")
BUYER = Party(
    "Bâtiments Léger & Fils SAS",
    ("Service comptabilité", "45 avenue Jean Jaurès", "33000 Bordeaux"),
    "SIREN 987 654 321",
)
HOSTILE_NAME = ("Société Anonyme d'Exploitation des Établissements " * 6)[:300]
UNICODE_NAME = "北京贸易有限公司 Beijing Trading 😀👍 Ltd"


def notice_invoice(number: str, unpaid: str, day: int = 1) -> NoticeInvoice:
    return NoticeInvoice(
        number=number,
        issue_date=date(2026, 8, day),
        due_date=date(2026, 10, day),
        unpaid_amount=eur(unpaid),
        days_late=66 - day,
        annual_interest_rate=Decimal("0.1215"),
        penalty_interest=eur("267.01"),
        fixed_indemnity=eur("40"),
    )


def notice_view() -> FormalNoticeView:
    invoices = (
        notice_invoice("FA-2026-0101", "12345.67", 1),
        notice_invoice("FA-2026-0102", "4800.00", 2),
        notice_invoice("FA-2026-0103", "5800.00", 3),
    )
    return FormalNoticeView(
        reference="REC-2026-000123",
        letter_date=date(2026, 12, 5),
        place="Paris",
        sender=SENDER,
        creditor=INSURED,
        debtor=BUYER,
        invoices=invoices,
        total_unpaid=eur("22945.67"),
        total_interest=eur("801.03"),
        total_fixed_indemnity=eur("120"),
        total_claimed=eur("23866.70"),
        payment_instructions="IBAN FR76 3000 6000 0112 3456 7890 189 - BIC AGRIFRPP",
    )


def hostile_notice_view() -> FormalNoticeView:
    view = notice_view()
    invoices = tuple(notice_invoice(f"FA-{i:05d}-{'X' * (i % 30)}", "1234.56", 1 + i % 28) for i in range(120))
    return replace(
        view,
        reference="REC-" + "9" * 80,
        place=UNICODE_NAME,
        sender=Party(HOSTILE_NAME, ("rue " * 80,) * 9, "SIREN " + "1" * 200),
        creditor=Party(UNICODE_NAME + " " + HOSTILE_NAME),
        debtor=Party(UNICODE_NAME, (HOSTILE_NAME, "北京市朝阳区 😀"), "N/A"),
        invoices=invoices,
        total_unpaid=eur("148147.20"),
        total_claimed=eur("999999999.99"),
        payment_instructions=("IBAN FR76 😀 " * 40) + "\n" + "line two",
    )


def settlement_view() -> SettlementStatementView:
    invoices = (
        StatementInvoice("FA-2026-0201", date(2026, 3, 2), date(2026, 5, 1), eur("10000"), eur("10000")),
        StatementInvoice(
            "FA-2026-0202", date(2026, 3, 20), date(2026, 5, 19), eur("4000"), eur("4000"), "factor: Eurofactor"
        ),
        StatementInvoice(
            "FA-2026-0203", date(2026, 4, 2), date(2026, 6, 1), eur("2345.67"), eur("1000"), "refused: notified late"
        ),
    )
    lines = (
        StatementLine("invoices_unpaid", "Unpaid invoices notified, excl. VAT", "accepted invoices", eur("14000")),
        StatementLine("payments_before_settlement", "Payments received", "oldest invoices first", eur("-500")),
        StatementLine("credit_notes", "Credit notes", "", eur("0")),
        StatementLine("recoveries_before_settlement", "Recoveries before settlement", "", eur("0")),
        StatementLine("loss", "Loss, excl. VAT", "unpaid - payments - credit notes", eur("13500"), emphasis=True),
        StatementLine("above_covered_exposure", "Loss above the covered exposure", "limit 15,000.00", eur("0")),
        StatementLine("covered_loss", "Covered loss", "min(loss, covered exposure)", eur("13500")),
        StatementLine("non_qualifying_loss", "Non-qualifying loss", "covered loss ≥ 1,000.00", None),
        StatementLine("indemnity_rate", "Covered loss × indemnity rate", "covered loss × 90 %", eur("12150")),
        StatementLine("deductible", "Per-claim deductible", "", eur("0")),
        StatementLine("aggregate_deductible", "Annual aggregate deductible", "0.00 of 5,000.00 left", eur("0")),
        StatementLine("max_liability", "Remaining maximum liability", "250,000.00 left", None),
        StatementLine("currency_note", "Amounts converted at the ECB rate", "informative", None),
        StatementLine("indemnity", "Indemnity", "min(12,150.00, 250,000.00)", eur("12150"), emphasis=True),
    )
    return SettlementStatementView(
        claim_reference="SIN-2026-000042",
        policy_number="POL-2025-0007",
        statement_date=date(2026, 12, 5),
        insured=INSURED,
        buyer=BUYER,
        cause="insolvency",
        date_of_loss=date(2026, 9, 14),
        currency="EUR",
        invoices=invoices,
        lines=lines,
        indemnity=eur("12150"),
        payees=(Payee("Menuiserie Dupont SARL", "insured", eur("8550")), Payee("Eurofactor SA", "factor", eur("3600"))),
        status="settled",
        approvals=("Claire Martin", "Jean-Luc Moreau"),
    )


def hostile_settlement_view() -> SettlementStatementView:
    view = settlement_view()
    invoices = tuple(
        StatementInvoice(
            f"FA-{i:05d}", date(2026, 3, 1), date(2026, 5, 1), eur("1000"), eur("1000"), ("note 😀 " * (i % 40)) or None
        )
        for i in range(120)
    )
    lines = (
        *view.lines,
        StatementLine("unknown", HOSTILE_NAME, "rule " * 200, eur("1"), emphasis=True),
    )
    return replace(
        view,
        claim_reference="SIN-" + "7" * 90,
        insured=Party(HOSTILE_NAME, ("x" * 500,)),
        buyer=Party(UNICODE_NAME, (), "VAT CN😀"),
        cause="something_new",
        status="unheard_of",
        invoices=invoices,
        lines=lines,
        payees=tuple(Payee(UNICODE_NAME + HOSTILE_NAME, "factor", eur("1")) for _ in range(30)),
        approvals=(UNICODE_NAME,) * 40,
    )


def recovery_view() -> RecoveryStatementView:
    return RecoveryStatementView(
        claim_reference="SIN-2026-000042",
        policy_number="POL-2025-0007",
        statement_date=date(2027, 2, 10),
        insured=INSURED,
        buyer=BUYER,
        recovery_date=date(2027, 2, 3),
        recovery=eur("3000"),
        loss=eur("15000"),
        indemnity=eur("13500"),
        insurer_share=eur("2700"),
        insured_share=eur("300"),
        rule="insurer: recovery × indemnity ÷ loss = 3,000.00 × 13,500.00 ÷ 15,000.00",
    )


def hostile_recovery_view() -> RecoveryStatementView:
    return replace(
        recovery_view(),
        claim_reference=UNICODE_NAME * 3,
        insured=Party(HOSTILE_NAME, (UNICODE_NAME,) * 20, UNICODE_NAME),
        buyer=Party(UNICODE_NAME),
        rule="😀 " * 500,
    )


# ---------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    name: str
    render: Callable[[Any, Language], bytes]
    view: Callable[[], Any]
    hostile: Callable[[], Any]
    #: Strings the text must contain in both languages.
    common: tuple[str, ...]
    #: Strings per language (amounts formatted, titles, accents).
    by_language: dict[Language, tuple[str, ...]]
    #: A column heading of the long table, expected on every page of the hostile document.
    table_heading: dict[Language, str]


CASES = (
    Case(
        name="formal_notice",
        render=render_formal_notice,
        view=notice_view,
        hostile=hostile_notice_view,
        common=("REC-2026-000123", "Bâtiments Léger & Fils SAS", "Menuiserie Dupont SARL", "FA-2026-0101",
                "FA-2026-0102", "FA-2026-0103", "L441-10", "D441-5", "IBAN FR76 3000 6000 0112 3456 7890 189"),
        by_language={
            "fr": ("Mise en demeure de payer", "Lettre recommandée avec accusé de réception", "12 345,67",
                   "22 945,67 EUR", "801,03 EUR", "120,00 EUR", "23 866,70 EUR", "12,15 %", "5 décembre 2026",
                   "Paris, le 5 décembre 2026", "8 jours", "injonction de payer", "Échéance"),
            "en": ("Formal notice to pay", "By registered letter with acknowledgement of receipt", "12,345.67",
                   "EUR 22,945.67", "EUR 801.03", "EUR 120.00", "EUR 23,866.70", "12.15%", "5 December 2026",
                   "Paris, 5 December 2026", "8 days", "order for payment"),
        },
        table_heading={"fr": "Échéance", "en": "Days late"},
    ),
    Case(
        name="settlement_statement",
        render=render_settlement_statement,
        view=settlement_view,
        hostile=hostile_settlement_view,
        common=("SIN-2026-000042", "POL-2025-0007", "Bâtiments Léger & Fils SAS", "Menuiserie Dupont SARL",
                "FA-2026-0201", "FA-2026-0202", "FA-2026-0203", "Eurofactor SA", "Claire Martin",
                "Jean-Luc Moreau", "covered loss × 90 %", "refused: notified late"),
        by_language={
            "fr": ("Décompte d'indemnité", "Insolvabilité de droit", "Réglé", "14 septembre 2026", "12 150,00",
                   "13 500,00", "8 550,00", "3 600,00", "-500,00", "Perte garantie × quotité garantie",
                   "Franchise annuelle globale", "Seuil d'intervention", "Plafond d'indemnisation restant",
                   "Part de la perte au-delà de l'encours garanti", "Amounts converted at the ECB rate",
                   "Affactureur", "covered loss >= 1,000.00"),
            "en": ("Claim settlement statement", "Insolvency", "Settled", "14 September 2026", "12,150.00",
                   "13,500.00", "8,550.00", "3,600.00", "-500.00", "Covered loss × indemnity rate",
                   "Annual aggregate deductible", "Non-qualifying loss", "Amounts converted at the ECB rate",
                   "Factor"),
        },
        table_heading={"fr": "Échéance", "en": "Due"},
    ),
    Case(
        name="recovery_statement",
        render=render_recovery_statement,
        view=recovery_view,
        hostile=hostile_recovery_view,
        common=("SIN-2026-000042", "POL-2025-0007", "Bâtiments Léger & Fils SAS", "Menuiserie Dupont SARL",
                "3,000.00 × 13,500.00 ÷ 15,000.00"),
        by_language={
            "fr": ("Décompte de récupération", "3 février 2027", "3 000,00 EUR", "15 000,00 EUR", "13 500,00 EUR",
                   "2 700,00 EUR", "300,00 EUR", "subrogé"),
            "en": ("Recovery statement", "3 February 2027", "EUR 3,000.00", "EUR 15,000.00", "EUR 13,500.00",
                   "EUR 2,700.00", "EUR 300.00", "subrogated"),
        },
        table_heading={"fr": "Montant", "en": "Amount"},
    ),
)  # fmt: skip

PARAMS = [pytest.param(case, lang, id=f"{case.name}-{lang}") for case in CASES for lang in LANGUAGES]
TABLE_PARAMS = [  # the documents with a table of invoices
    pytest.param(case, lang, id=f"{case.name}-{lang}")
    for case in CASES
    if case.name != "recovery_statement"
    for lang in LANGUAGES
]


@functools.cache
def rendered(name: str, lang: Language, hostile: bool = False) -> bytes:
    """One render per document, language and view, shared by the tests that only read it."""
    case = next(case for case in CASES if case.name == name)
    return case.render(case.hostile() if hostile else case.view(), lang)


@pytest.mark.parametrize(("case", "lang"), PARAMS)
def test_document_states_its_content(case: Case, lang: Language) -> None:
    data = rendered(case.name, lang)
    assert data.startswith(b"%PDF")
    text = "\n".join(page_texts(data))
    flat = " ".join(text.split())  # a phrase may wrap across lines
    for expected in (*case.common, *case.by_language[lang]):
        assert expected in flat, f"{expected!r} missing from the {lang} {case.name}"
    assert "?" not in flat, "a character of a plain view was lost on the way to latin-1"


@pytest.mark.parametrize(("case", "lang"), PARAMS)
def test_rendering_is_deterministic(case: Case, lang: Language) -> None:
    assert case.render(case.view(), lang) == case.render(case.view(), lang)


@pytest.mark.parametrize(("case", "lang"), PARAMS)
def test_the_languages_differ(case: Case, lang: Language) -> None:
    other: Language = "en" if lang == "fr" else "fr"
    assert rendered(case.name, lang) != rendered(case.name, other)


@pytest.mark.parametrize(("case", "lang"), PARAMS)
def test_metadata(case: Case, lang: Language) -> None:
    view = case.view()
    reader = PdfReader(io.BytesIO(case.render(view, lang)))
    metadata = reader.metadata
    assert metadata is not None
    assert metadata.author == "tradecover"
    reference = getattr(view, "reference", None) or view.claim_reference
    assert metadata.title is not None
    assert reference in metadata.title
    created = metadata.creation_date
    assert isinstance(created, datetime)
    view_date = getattr(view, "letter_date", None) or view.statement_date
    assert created.date() == view_date


@pytest.mark.parametrize(("case", "lang"), PARAMS)
def test_first_page_looks_like_a_printed_page(case: Case, lang: Language, png_dir: Path) -> None:
    data = rendered(case.name, lang)
    save_pngs(data, png_dir, f"{case.name}_{lang}")
    assert_looks_like_a_printed_page(rasterise(data))
    assert (png_dir / f"{case.name}_{lang}_1.png").stat().st_size > 10_000


@pytest.mark.parametrize(("case", "lang"), PARAMS)
def test_every_page_has_the_header_and_the_footer(case: Case, lang: Language) -> None:
    view = case.view()
    reference = getattr(view, "reference", None) or view.claim_reference
    texts = page_texts(case.render(view, lang))
    for number, text in enumerate(texts, start=1):
        assert reference in text
        assert "tradecover" in text
        assert f"Page {number}/{len(texts)}" in text


@pytest.mark.parametrize(("case", "lang"), PARAMS)
def test_hostile_view_renders(case: Case, lang: Language, png_dir: Path) -> None:
    data = rendered(case.name, lang, hostile=True)
    assert data.startswith(b"%PDF")
    assert data == case.render(case.hostile(), lang)  # deterministic on hostile input too
    texts = page_texts(data)
    saved = save_pngs(data, png_dir, f"{case.name}_{lang}_hostile", pages=(0, 1, -1), scale=1)
    assert saved
    for index in range(len(texts)):
        assert_looks_like_a_printed_page(rasterise(data, index))
    joined = " ".join(" ".join(texts).split())
    assert "Beijing Trading" in joined  # the latin part of the name survives, the rest becomes "?"
    assert "????????" in joined
    for number, text in enumerate(texts, start=1):
        assert f"Page {number}/{len(texts)}" in text


@pytest.mark.parametrize(("case", "lang"), TABLE_PARAMS)
def test_long_tables_break_pages_and_repeat_their_heading(case: Case, lang: Language) -> None:
    texts = page_texts(rendered(case.name, lang, hostile=True))
    assert len(texts) >= 3
    heading = case.table_heading[lang]
    invoice_pages = [text for text in texts if "FA-0" in text]
    assert len(invoice_pages) >= 2
    for text in invoice_pages:
        assert heading in text
    joined = "\n".join(texts)
    for i in (0, 59, 119):  # first, middle and last invoices all printed
        assert f"FA-{i:05d}" in joined


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_unknown_language_is_refused(case: Case) -> None:
    with pytest.raises(InvalidInput):
        case.render(case.view(), "de")  # type: ignore[arg-type]


def test_default_language_is_french() -> None:
    assert render_formal_notice(notice_view()) == render_formal_notice(notice_view(), "fr")
    assert render_settlement_statement(settlement_view()) == render_settlement_statement(settlement_view(), "fr")
    assert render_recovery_statement(recovery_view()) == render_recovery_statement(recovery_view(), "fr")


def test_formal_notice_without_place_instructions_or_invoices() -> None:
    view = replace(notice_view(), place=None, payment_instructions=None, invoices=(), pay_within_days=1)
    text = " ".join(" ".join(page_texts(render_formal_notice(view, "fr"))).split())
    assert "Le 5 décembre 2026" in text
    assert "1 jour à compter" in text
    assert "Modalités de paiement" not in text
    english = " ".join(" ".join(page_texts(render_formal_notice(view, "en"))).split())
    assert "within 1 day of receipt" in english


def test_short_formal_notice_fits_on_one_page() -> None:
    view = replace(notice_view(), payment_instructions=None, invoices=notice_view().invoices[:1])
    for lang in LANGUAGES:
        assert len(page_texts(render_formal_notice(view, lang))) == 1


def test_settlement_statement_without_payees_or_approvals() -> None:
    view = replace(settlement_view(), payees=(), approvals=(), status="refused", cause="protracted_default")
    fr = " ".join(" ".join(page_texts(render_settlement_statement(view, "fr"))).split())
    assert "Carence (défaut de paiement prolongé)" in fr
    assert "Refusé" in fr
    assert "Aucune approbation enregistrée." in fr
    en = " ".join(" ".join(page_texts(render_settlement_statement(view, "en"))).split())
    assert "Protracted default" in en
    assert "Refused" in en
    assert "No approval recorded." in en


def test_settlement_statement_adds_the_indemnity_when_no_line_carries_it() -> None:
    base = settlement_view()
    view = replace(base, lines=tuple(line for line in base.lines if line.code != "indemnity"))
    text = " ".join(" ".join(page_texts(render_settlement_statement(view, "en"))).split())
    assert "Indemnity 12,150.00" in text


def test_amounts_in_another_currency_than_the_table_carry_their_code() -> None:
    base = notice_view()
    usd = replace(base.invoices[0], unpaid_amount=Money.of("1000", "USD"))
    text = " ".join(" ".join(page_texts(render_formal_notice(replace(base, invoices=(usd,)), "en"))).split())
    assert "USD 1,000.00" in text
