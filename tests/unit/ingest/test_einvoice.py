"""E-invoices: the vendored Factur-X/ZUGFeRD/UBL samples, the rules, a Factur-X PDF, and hostile files."""

from __future__ import annotations

import io
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfWriter

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import french_vat_from_siren
from tradecover.ingest import einvoice
from tradecover.ingest.einvoice import (
    MAX_EINVOICE_BYTES,
    MAX_EINVOICE_XML_BYTES,
    parse_einvoice,
)
from tradecover.ingest.ledger_records import BuyerRef, InvoiceRecord, LedgerFile, RecordKind, Source

EXTERNAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "external"
EINVOICE = EXTERNAL / "einvoice"

SIREN = "732829320"
SIRET = "73282932000074"
VAT_FR = french_vat_from_siren(SIREN)
LEI = "529900T8BM49AURSDO55"

CII_NS = (
    'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
    'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" '
    'xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"'
)
UBL_NS = (
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"'
)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


@pytest.fixture
def samples() -> Path:
    if not EINVOICE.is_dir():
        pytest.skip(f"shared e-invoice samples not found at {EINVOICE}")
    return EINVOICE


def sample(name: str) -> bytes:
    path = EINVOICE / name
    if not path.is_file():
        pytest.skip(f"shared e-invoice sample not found: {path}")
    return path.read_bytes()


def parse_sample(name: str) -> LedgerFile:
    return parse_einvoice(sample(name), name)


def only_record(ledger: LedgerFile) -> InvoiceRecord:
    assert len(ledger.records) == 1, ledger.problems
    record = ledger.records[0]
    assert isinstance(record, InvoiceRecord)
    return record


def line_of(data: bytes, needle: bytes) -> int:
    """1-based line of the first occurrence of ``needle``."""
    return data[: data.index(needle)].count(b"\n") + 1


def refused(data: bytes, name: str = "hostile.xml") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_einvoice(data, name)
    return caught.value


def cii_date(value: str) -> str:
    return f'<udt:DateTimeString format="102">{value}</udt:DateTimeString>'


def cii_buyer(
    *, name: str | None = "Acheteur SA", ids: str = "", country: str | None = "FR", account: str | None = None
) -> str:
    parts = [f"<ram:ID>{account}</ram:ID>" if account else "", ids]
    if name is not None:
        parts.insert(1, f"<ram:Name>{name}</ram:Name>")
    if country is not None:
        parts.append(f"<ram:PostalTradeAddress><ram:CountryID>{country}</ram:CountryID></ram:PostalTradeAddress>")
    return "<ram:BuyerTradeParty>" + "".join(parts) + "</ram:BuyerTradeParty>"


LEGAL_SIREN = (
    f'<ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{SIREN}</ram:ID></ram:SpecifiedLegalOrganization>'
)
DEFAULT_BUYER = cii_buyer(ids=LEGAL_SIREN)


def cii(
    *,
    number: str | None = "F-0001",
    type_code: str | None = "380",
    issued: str | None = "20260131",
    currency: str | None = "EUR",
    basis: str | None = "100.00",
    vat: str | None = '<ram:TaxTotalAmount currencyID="EUR">20.00</ram:TaxTotalAmount>',
    buyer: str | None = DEFAULT_BUYER,
    delivery: str = "",
    settlement: str = "",
    agreement: str = "",
    after_summation: str = "",
    declaration: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
) -> bytes:
    """A small CII invoice; ``None`` leaves an element out."""
    document = "".join(
        [
            f"<ram:ID>{number}</ram:ID>" if number is not None else "",
            f"<ram:TypeCode>{type_code}</ram:TypeCode>" if type_code is not None else "",
            f"<ram:IssueDateTime>{cii_date(issued)}</ram:IssueDateTime>" if issued is not None else "",
        ]
    )
    summation = (f"<ram:TaxBasisTotalAmount>{basis}</ram:TaxBasisTotalAmount>" if basis is not None else "") + (
        vat or ""
    )
    text = f"""{declaration}<rsm:CrossIndustryInvoice {CII_NS}>
  <rsm:ExchangedDocumentContext>
    <ram:GuidelineSpecifiedDocumentContextParameter>
      <ram:ID>urn:cen.eu:en16931:2017</ram:ID>
    </ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    {document}
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty><ram:Name>Vendeur SARL</ram:Name></ram:SellerTradeParty>
      {buyer or ""}
      {agreement}
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery>{delivery}</ram:ApplicableHeaderTradeDelivery>
    <ram:ApplicableHeaderTradeSettlement>
      {f"<ram:InvoiceCurrencyCode>{currency}</ram:InvoiceCurrencyCode>" if currency is not None else ""}
      {settlement}
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        {summation}
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
      {after_summation}
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"""
    return text.encode()


def ubl(
    *,
    root: str = "Invoice",
    type_element: str | None = "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>",
    basis: str = "100.00",
    vat: str = "20.00",
    due: str = "<cbc:DueDate>2026-03-02</cbc:DueDate>",
    extra: str = "",
    buyer: str | None = None,
) -> bytes:
    namespace = f"urn:oasis:names:specification:ubl:schema:xsd:{root}-2"
    party = buyer or (
        "<cac:Party>"
        f'<cbc:EndpointID schemeID="0225">{SIREN}_ACHATS</cbc:EndpointID>'
        f'<cac:PartyIdentification><cbc:ID schemeID="0199">{LEI}</cbc:ID></cac:PartyIdentification>'
        "<cac:PartyIdentification><cbc:ID>CLI-042</cbc:ID></cac:PartyIdentification>"
        "<cac:PartyName><cbc:Name>Enseigne</cbc:Name></cac:PartyName>"
        "<cac:PostalAddress><cac:Country><cbc:IdentificationCode>FR</cbc:IdentificationCode></cac:Country>"
        "</cac:PostalAddress>"
        f"<cac:PartyTaxScheme><cbc:CompanyID>{VAT_FR}</cbc:CompanyID>"
        "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
        "<cac:PartyLegalEntity><cbc:RegistrationName>Acheteur SA</cbc:RegistrationName></cac:PartyLegalEntity>"
        "</cac:Party>"
    )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="{namespace}" {UBL_NS}>
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
  <cbc:ID>U-0001</cbc:ID>
  <cbc:IssueDate>2026-01-31</cbc:IssueDate>
  {due}
  {type_element or ""}
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  {extra}
  <cac:AccountingCustomerParty>{party}</cac:AccountingCustomerParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{vat}</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:TaxExclusiveAmount currencyID="EUR">{basis}</cbc:TaxExclusiveAmount>
  </cac:LegalMonetaryTotal>
</{root}>
"""
    return text.encode()


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_with_attachment(filename: str, content: bytes) -> bytes:
    """A PDF carrying ``content`` as an embedded file, without the factur-x library's XML checks."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment(filename, content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def facturx_pdf(xml: bytes) -> bytes:
    import facturx  # type: ignore[import-untyped,unused-ignore]

    pdf: bytes = facturx.generate_from_binary(blank_pdf(), xml, check_xsd=False)
    return pdf


# --------------------------------------------------------------------------
# No file read, no network: an audit hook records what parsing touches
# --------------------------------------------------------------------------

_WATCHED_EVENTS = ("open", "socket.", "urllib.", "http.", "subprocess.", "os.system", "ftplib.", "smtplib.")


@dataclass
class _Touched:
    events: list[tuple[str, str]]
    active: bool = False


_TOUCHED = _Touched(events=[])
_HOOK_INSTALLED = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _TOUCHED.active and event.startswith(_WATCHED_EVENTS):
        _TOUCHED.events.append((event, repr(args)[:200]))


@pytest.fixture
def touched() -> Iterator[list[tuple[str, str]]]:
    """What the code under test opened or connected to while the fixture is active."""
    global _HOOK_INSTALLED
    if not _HOOK_INSTALLED:
        sys.addaudithook(_audit)  # audit hooks cannot be removed: this one only records while active
        _HOOK_INSTALLED = True
    _TOUCHED.events.clear()
    _TOUCHED.active = True
    try:
        yield _TOUCHED.events
    finally:
        _TOUCHED.active = False


# --------------------------------------------------------------------------
# The vendored samples
# --------------------------------------------------------------------------


def test_every_sample_gives_one_record(samples: Path) -> None:
    files = sorted(samples.glob("*.xml"))
    assert len(files) >= 15
    for path in files:
        ledger = parse_einvoice(path.read_bytes(), path.name)
        assert ledger.name == path.name
        assert ledger.format == ("ubl" if path.name.startswith("akretion_ubl") else "cii")
        record = only_record(ledger)
        assert record.source.file == path.name
        assert record.amount_excl_vat > 0
        assert record.vat_amount > 0
        assert record.currency == "EUR"
        assert record.buyer.name
        # Only identifiers that fail their check digits or format are problems, and they never stop the record.
        assert {problem.code for problem in ledger.problems} <= {"einvoice.invalid_identifier"}


@dataclass(frozen=True)
class Expected:
    number: str
    kind: RecordKind
    issued: date
    delivered: date | None
    due: date | None
    excl_vat: str
    vat: str
    buyer: BuyerRef
    order: str | None = None
    reference: str | None = None


EXPECTED = {
    "akretion_factur-x-en16931.xml": Expected(
        "F20260023",
        RecordKind.INVOICE,
        date(2026, 1, 31),
        date(2026, 1, 28),
        date(2026, 3, 2),
        "100.00",
        "4.90",
        BuyerRef(name="LE CLIENT", country="FR"),
        order="PO201925478",
    ),
    "akretion_factur-x-minimum.xml": Expected(
        "F20260023",
        RecordKind.INVOICE,
        date(2026, 1, 31),
        None,
        None,
        "100.00",
        "4.90",
        BuyerRef(name="LE CLIENT"),
        order="PO201925478",
    ),
    "akretion_ubl-21-extended-ctc-fr.xml": Expected(
        "F124212",
        RecordKind.INVOICE,
        date(2026, 6, 17),
        date(2026, 6, 14),
        date(2026, 7, 16),
        "273.00",
        "35.03",
        BuyerRef(
            identifiers=(("siren", "787878784"), ("siret", "78787878400018"), ("vat_fr", "FR19787878784")),
            name="Ma jolie boutique SARL",
            country="FR",
        ),
        order="PO1242",
    ),
    "ferd_zugferd_2p1_EN16931_Einfach.xml": Expected(
        "471102",
        RecordKind.INVOICE,
        date(2018, 3, 5),
        date(2018, 3, 5),
        date(2018, 4, 4),  # "Zahlbar innerhalb 30 Tagen netto bis 04.04.2018"
        "473.00",
        "56.87",
        BuyerRef(account="GE2020211", name="Kunden AG Mitte", country="DE"),
    ),
    "ferd_zugferd_2p1_EN16931_Einfach_DueDate.xml": Expected(
        "471102",
        RecordKind.INVOICE,
        date(2018, 3, 5),
        date(2018, 3, 5),
        date(2019, 3, 5),  # BT-9
        "473.00",
        "56.87",
        BuyerRef(account="GE2020211", name="Kunden AG Mitte", country="DE"),
    ),
    "ferd_zugferd_2p1_EN16931_1_Teilrechnung.xml": Expected(
        "471102",
        RecordKind.INVOICE,
        date(2018, 6, 5),
        date(2018, 6, 3),
        date(2018, 7, 4),  # the terms' explicit "netto bis 04.07.2018", not issue + 30 days
        "177.49",
        "20.16",
        BuyerRef(account="GE2020211", name="Kunden AG Mitte", country="DE"),
        order="2018-471331",
    ),
    "ferd_zugferd_2p1_EN16931_Gutschrift.xml": Expected(
        "471102",
        RecordKind.INVOICE,  # type 389: a self-billed invoice ("Gutschrift" in German VAT law)
        date(2018, 3, 5),
        date(2018, 3, 5),
        None,
        "473.00",
        "56.87",
        BuyerRef(identifiers=(("vat", "DE136695976"),), account="GE2020211", name="Kunden AG Mitte", country="DE"),
    ),
    "ferd_zugferd_2p1_EN16931_Einfach_negativePaymentDue.xml": Expected(
        "471102",
        RecordKind.INVOICE,  # only the amount due is negative (prepaid 1059.74 > 529.87): still an invoice
        date(2018, 3, 5),
        date(2018, 3, 5),
        None,
        "473.00",
        "56.87",
        BuyerRef(account="GE2020211", name="Kunden AG Mitte", country="DE"),
    ),
    "ferd_zugferd_2p1_EXTENDED_Rechnungskorrektur.xml": Expected(
        "RK21012345",
        RecordKind.CREDIT_NOTE,  # 384 with negative totals: a credit note with positive amounts
        date(2018, 9, 16),
        date(2018, 8, 5),
        None,
        "7.67",
        "1.12",
        BuyerRef(account="009420", name="MUSTER-KUNDE GMBH", country="DE"),
        order="B123456789",
    ),
    "ferd_zugferd_2p3_EN16931_Rechnungskorrektur.xml": Expected(
        "RK21012345",
        RecordKind.CREDIT_NOTE,
        date(2024, 11, 15),
        date(2024, 11, 10),
        None,
        "7.67",
        "1.12",
        BuyerRef(account="009420", name="MUSTER-KUNDE GMBH", country="DE"),
        order="B123456789",
    ),
    "ferd_zugferd_2p1_MINIMUM_Rechnung.xml": Expected(
        "471102",
        RecordKind.INVOICE,
        date(2020, 3, 5),
        None,
        None,
        "198.00",
        "37.62",
        BuyerRef(name="Kunden AG Frankreich"),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_values(name: str) -> None:
    expected = EXPECTED[name]
    data = sample(name)
    record = only_record(parse_einvoice(data, name))
    assert record.number == expected.number
    assert record.kind is expected.kind
    assert record.issue_date == expected.issued
    assert record.delivery_date == expected.delivered
    assert record.due_date == expected.due
    assert record.amount_excl_vat == Decimal(expected.excl_vat)
    assert str(record.amount_excl_vat) == expected.excl_vat  # exact, as written
    assert record.vat_amount == Decimal(expected.vat)
    assert str(record.vat_amount) == expected.vat
    assert record.currency == "EUR"
    assert record.buyer == expected.buyer
    assert record.order_reference == expected.order
    assert record.invoice_reference == expected.reference
    assert record.factor is None
    # The record points at the document's root element.
    root = b"<Invoice" if name.startswith("akretion_ubl") else b"<rsm:CrossIndustryInvoice"
    assert record.source == Source(name, line_of(data, root))


def test_ubl_extended_ctc_fr_names_the_buyer_by_its_siren_first() -> None:
    name = "akretion_ubl-21-extended-ctc-fr.xml"
    ledger = parse_sample(name)
    record = only_record(ledger)
    assert ledger.format == "ubl"
    assert ledger.problems == []
    # BT-47 schemeID 0002 first; the 0225 electronic address names the same SIREN and is not repeated.
    assert record.buyer.identifiers[0] == ("siren", "787878784")
    assert [kind for kind, _ in record.buyer.identifiers] == ["siren", "siret", "vat_fr"]
    assert record.buyer.label() == "siren 787878784"
    # The seller's SIREN (999999998) and the payer's (754760932) are not the buyer's.
    assert all(value not in ("999999998", "754760932") for _, value in record.buyer.identifiers)


def test_akretion_cii_identifiers_fail_their_check_digits_but_the_record_stays(samples: Path) -> None:
    name = "akretion_factur-x-extended.xml"
    data = (samples / name).read_bytes()
    ledger = parse_einvoice(data, name)
    record = only_record(ledger)
    assert record.buyer == BuyerRef(name="LE CLIENT", country="FR")
    problems = {(problem.field, problem.code) for problem in ledger.problems}
    assert problems == {
        ("BT-47 buyer legal registration identifier", "einvoice.invalid_identifier"),  # SIREN 987654321
        ("BT-46 buyer identifier", "einvoice.invalid_identifier"),  # SIRET 0009 and DUNS 0060
        ("BT-48 buyer VAT identifier", "einvoice.invalid_identifier"),  # FR 05 987 654 321
    }
    assert len(ledger.problems) == 4
    siren_problem = next(p for p in ledger.problems if p.field and p.field.startswith("BT-47"))
    assert siren_problem.source == Source(name, line_of(data, b'schemeID="0002">987654321'))
    assert "987654321" in siren_problem.message
    # GLN (0088) and the routing code (0224) are not identifiers this system knows: no problem, no identifier.
    assert not any("3654789851" in p.message or "CDROUT1" in p.message for p in ledger.problems)


def test_credit_note_381_refers_to_its_invoice(samples: Path) -> None:
    data = (samples / "akretion_factur-x-en16931.xml").read_bytes()
    data = data.replace(b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:TypeCode>381</ram:TypeCode>", 1)
    record = only_record(parse_einvoice(data, "avoir.xml"))
    assert record.kind is RecordKind.CREDIT_NOTE
    assert record.amount_excl_vat == Decimal("100.00")
    assert record.vat_amount == Decimal("4.90")
    assert record.invoice_reference == "F20260003"  # BT-25


def test_an_invoice_keeps_no_preceding_invoice_reference(samples: Path) -> None:
    record = only_record(parse_einvoice((samples / "akretion_factur-x-en16931.xml").read_bytes(), "f.xml"))
    assert record.kind is RecordKind.INVOICE
    assert record.invoice_reference is None


def test_a_positive_corrective_invoice_is_an_invoice(samples: Path) -> None:
    data = (samples / "ferd_zugferd_2p3_EN16931_Rechnungskorrektur.xml").read_bytes()
    data = re.sub(rb"(Amount[^>]*>)-", rb"\1", data)
    record = only_record(parse_einvoice(data, "korrektur.xml"))
    assert record.kind is RecordKind.INVOICE
    assert (record.amount_excl_vat, record.vat_amount) == (Decimal("7.67"), Decimal("1.12"))


# --------------------------------------------------------------------------
# Kinds and signs
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_code", "basis", "vat", "kind", "excl", "tax"),
    [
        ("380", "100.00", "20.00", RecordKind.INVOICE, "100.00", "20.00"),
        ("383", "100.00", "20.00", RecordKind.INVOICE, "100.00", "20.00"),
        ("386", "100.00", "20.00", RecordKind.INVOICE, "100.00", "20.00"),
        ("389", "100.00", "20.00", RecordKind.INVOICE, "100.00", "20.00"),
        ("751", "100.00", "20.00", RecordKind.INVOICE, "100.00", "20.00"),
        ("381", "100.00", "20.00", RecordKind.CREDIT_NOTE, "100.00", "20.00"),
        ("261", "100.00", "20.00", RecordKind.CREDIT_NOTE, "100.00", "20.00"),
        ("384", "100.00", "20.00", RecordKind.INVOICE, "100.00", "20.00"),
        ("384", "-100.00", "-20.00", RecordKind.CREDIT_NOTE, "100.00", "20.00"),
        ("380", "-100.00", "-20.00", RecordKind.CREDIT_NOTE, "100.00", "20.00"),
        ("381", "-100.00", "-20.00", RecordKind.INVOICE, "100.00", "20.00"),
        ("380", "-100.00", "0.00", RecordKind.CREDIT_NOTE, "100.00", "0.00"),
        ("380", "-100.00", "-0.00", RecordKind.CREDIT_NOTE, "100.00", "0.00"),
        ("380", "+100.5", "20", RecordKind.INVOICE, "100.5", "20"),
    ],
)
def test_kind_from_type_code_then_sign(
    type_code: str, basis: str, vat: str, kind: RecordKind, excl: str, tax: str
) -> None:
    xml = cii(type_code=type_code, basis=basis, vat=f'<ram:TaxTotalAmount currencyID="EUR">{vat}</ram:TaxTotalAmount>')
    record = only_record(parse_einvoice(xml, "t.xml"))
    assert record.kind is kind
    assert str(record.amount_excl_vat) == excl
    assert str(record.vat_amount) == tax


def test_opposite_signs_are_refused() -> None:
    xml = cii(basis="100.00", vat='<ram:TaxTotalAmount currencyID="EUR">-20.00</ram:TaxTotalAmount>')
    ledger = parse_einvoice(xml, "t.xml")
    assert ledger.records == []
    [problem] = ledger.problems
    assert (problem.code, problem.field) == ("einvoice.mixed_signs", "BT-110 invoice total VAT amount")
    assert problem.source.line == line_of(xml, b"<ram:TaxTotalAmount")


@pytest.mark.parametrize("type_code", ["325", "71", "999", "abc"])
def test_documents_that_are_not_invoices_are_refused(type_code: str) -> None:
    xml = cii(type_code=type_code)
    ledger = parse_einvoice(xml, "t.xml")
    assert ledger.records == []
    [problem] = ledger.problems
    assert (problem.code, problem.field) == ("einvoice.unsupported_type", "BT-3 invoice type code")
    assert problem.source.line == line_of(xml, b"<ram:TypeCode>")


def test_no_vat_total_means_no_vat() -> None:
    record = only_record(parse_einvoice(cii(vat=None), "t.xml"))
    assert record.vat_amount == Decimal("0")


def test_the_vat_total_in_the_invoice_currency_is_taken() -> None:
    # BT-111 (VAT in the accounting currency) may come first; BT-110 is the one in BT-5.
    vat = (
        '<ram:TaxTotalAmount currencyID="USD">21.70</ram:TaxTotalAmount>'
        '<ram:TaxTotalAmount currencyID="EUR">20.00</ram:TaxTotalAmount>'
    )
    record = only_record(parse_einvoice(cii(vat=vat), "t.xml"))
    assert record.vat_amount == Decimal("20.00")


def test_a_vat_total_only_in_another_currency_is_a_problem() -> None:
    vat = '<ram:TaxTotalAmount currencyID="USD">21.70</ram:TaxTotalAmount>'
    ledger = parse_einvoice(cii(vat=vat), "t.xml")
    assert ledger.records == []
    assert [p.code for p in ledger.problems] == ["einvoice.currency_mismatch"]


def test_ubl_credit_note() -> None:
    xml = ubl(
        root="CreditNote",
        type_element="<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>",
        due="",
        extra="<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>U-0000</cbc:ID>"
        "</cac:InvoiceDocumentReference></cac:BillingReference>",
    )
    ledger = parse_einvoice(xml, "cn.xml")
    assert ledger.format == "ubl"
    record = only_record(ledger)
    assert record.kind is RecordKind.CREDIT_NOTE
    assert record.invoice_reference == "U-0000"
    assert record.number == "U-0001"
    assert record.due_date is None


def test_ubl_credit_note_without_type_code_and_negative_ubl_invoice() -> None:
    record = only_record(parse_einvoice(ubl(root="CreditNote", type_element=None, due=""), "cn.xml"))
    assert record.kind is RecordKind.CREDIT_NOTE
    record = only_record(parse_einvoice(ubl(basis="-100.00", vat="-20.00"), "inv.xml"))
    assert record.kind is RecordKind.CREDIT_NOTE
    assert (record.amount_excl_vat, record.vat_amount) == (Decimal("100.00"), Decimal("20.00"))


def test_ubl_buyer_identifiers_account_and_name() -> None:
    record = only_record(parse_einvoice(ubl(), "u.xml"))
    # BT-47 absent here: BT-46 (LEI 0199), BT-49 (0225 address: its SIREN), then BT-48.
    assert record.buyer == BuyerRef(
        identifiers=(("lei", LEI), ("siren", SIREN), ("vat_fr", VAT_FR)),
        account="CLI-042",
        name="Acheteur SA",
        country="FR",
    )
    assert record.due_date == date(2026, 3, 2)


# --------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------


def test_delivery_date_falls_back_on_the_invoicing_period_end() -> None:
    period = (
        "<ram:BillingSpecifiedPeriod>"
        f"<ram:StartDateTime>{cii_date('20260101')}</ram:StartDateTime>"
        f"<ram:EndDateTime>{cii_date('20260115')}</ram:EndDateTime>"
        "</ram:BillingSpecifiedPeriod>"
    )
    record = only_record(parse_einvoice(cii(settlement=period), "t.xml"))
    assert record.delivery_date == date(2026, 1, 15)
    delivered = (
        "<ram:ActualDeliverySupplyChainEvent><ram:OccurrenceDateTime>"
        f"{cii_date('20260110')}</ram:OccurrenceDateTime></ram:ActualDeliverySupplyChainEvent>"
    )
    record = only_record(parse_einvoice(cii(settlement=period, delivery=delivered), "t.xml"))
    assert record.delivery_date == date(2026, 1, 10)
    assert only_record(parse_einvoice(cii(), "t.xml")).delivery_date is None


def _terms(description: str | None = None, due: str | None = None) -> str:
    inner = (f"<ram:Description>{description}</ram:Description>" if description else "") + (
        f"<ram:DueDateDateTime>{cii_date(due)}</ram:DueDateDateTime>" if due else ""
    )
    return f"<ram:SpecifiedTradePaymentTerms>{inner}</ram:SpecifiedTradePaymentTerms>"


@pytest.mark.parametrize(
    ("terms", "due"),
    [
        (_terms("PAIEMENT 30 JOURS NET"), date(2026, 3, 2)),
        (_terms("45 jours nets"), date(2026, 3, 17)),
        (_terms("Net 30"), date(2026, 3, 2)),
        (_terms("net 60 days"), date(2026, 4, 1)),
        (_terms("Zahlbar innerhalb 30 Tagen netto bis 28.02.2026, 2% Skonto innerhalb 10 Tagen"), date(2026, 2, 28)),
        (_terms("30 jours net", due="20260315"), date(2026, 3, 15)),  # BT-9 wins over the text
        (_terms(due="20260415") + _terms(due="20260315"), date(2026, 3, 15)),  # installments: the earliest
        (_terms("30 jours fin de mois"), None),  # end-of-month terms are not guessed at
        (_terms("Net 30 EOM"), None),
        (_terms("30 days net or 60 days net"), None),
        (_terms("paiement à réception"), None),
        ("", None),
    ],
)
def test_due_date(terms: str, due: date | None) -> None:
    record = only_record(parse_einvoice(cii(settlement=terms), "t.xml"))
    assert record.due_date == due


@pytest.mark.parametrize(
    ("xml", "field", "code"),
    [
        (cii(issued="20261331"), "BT-2 invoice issue date", "einvoice.bad_date"),
        (cii(issued="2026-01-31"), "BT-2 invoice issue date", "einvoice.bad_date"),
        (
            cii().replace(b'format="102">20260131', b'format="610">202601'),
            "BT-2 invoice issue date",
            "einvoice.bad_date",
        ),
        (cii(settlement=_terms(due="20260230")), "BT-9 payment due date", "einvoice.bad_date"),
        (
            cii(
                delivery="<ram:ActualDeliverySupplyChainEvent><ram:OccurrenceDateTime>"
                f"{cii_date('2026013')}</ram:OccurrenceDateTime></ram:ActualDeliverySupplyChainEvent>"
            ),
            "BT-72 actual delivery date",
            "einvoice.bad_date",
        ),
        (ubl(due="<cbc:DueDate>31/01/2026</cbc:DueDate>"), "BT-9 payment due date", "einvoice.bad_date"),
    ],
)
def test_a_malformed_date_gives_a_problem_and_no_record(xml: bytes, field: str, code: str) -> None:
    ledger = parse_einvoice(xml, "t.xml")
    assert ledger.records == []
    [problem] = ledger.problems
    assert (problem.field, problem.code) == (field, code)


def test_ubl_dates_may_carry_a_time_zone() -> None:
    xml = ubl(due="<cbc:DueDate>2026-03-02+01:00</cbc:DueDate>")
    assert only_record(parse_einvoice(xml, "u.xml")).due_date == date(2026, 3, 2)


# --------------------------------------------------------------------------
# Required terms
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml", "field", "code", "near"),
    [
        (cii(number=None), "BT-1 invoice number", "einvoice.missing_field", b"<rsm:ExchangedDocument>"),
        (cii(number="   "), "BT-1 invoice number", "einvoice.missing_field", b"<ram:ID>   </ram:ID>"),
        (cii(number="F" * 201), "BT-1 invoice number", "einvoice.bad_field", b"<ram:ID>FFF"),
        (cii(type_code=None), "BT-3 invoice type code", "einvoice.missing_field", b"<rsm:ExchangedDocument>"),
        (cii(issued=None), "BT-2 invoice issue date", "einvoice.missing_field", b"<rsm:ExchangedDocument>"),
        (cii(currency=None), "BT-5 invoice currency code", "einvoice.missing_field", b"<ram:ApplicableHeaderTradeS"),
        (cii(currency="euro"), "BT-5 invoice currency code", "einvoice.bad_currency", b"<ram:InvoiceCurrencyCode>"),
        (cii(basis=None), "BT-109 invoice total amount without VAT", "einvoice.missing_field", b"<ram:SpecifiedTrade"),
        (cii(basis="1,000.00"), "BT-109 invoice total amount without VAT", "einvoice.bad_amount", b"<ram:TaxBasis"),
        (cii(basis="1e3"), "BT-109 invoice total amount without VAT", "einvoice.bad_amount", b"<ram:TaxBasis"),
        (cii(basis="NaN"), "BT-109 invoice total amount without VAT", "einvoice.bad_amount", b"<ram:TaxBasis"),
        (
            cii(vat='<ram:TaxTotalAmount currencyID="EUR">20.0.0</ram:TaxTotalAmount>'),
            "BT-110 invoice total VAT amount",
            "einvoice.bad_amount",
            b"<ram:TaxTotalAmount",
        ),
        (cii(buyer=None), "BG-7 buyer", "einvoice.missing_field", b"<ram:ApplicableHeaderTradeAgreement>"),
        (
            cii(buyer=cii_buyer(name=None, country=None)),
            "BT-44 buyer name",
            "einvoice.missing_field",
            b"<ram:BuyerTradeParty>",
        ),
    ],
)
def test_a_missing_or_malformed_required_term_gives_a_problem_and_no_record(
    xml: bytes, field: str, code: str, near: bytes
) -> None:
    ledger = parse_einvoice(xml, "t.xml")
    assert ledger.format == "cii"
    assert ledger.records == []
    [problem] = ledger.problems
    assert (problem.field, problem.code) == (field, code)
    assert problem.source == Source("t.xml", line_of(xml, near))
    assert problem.text().startswith(f"t.xml, line {problem.source.line}, field {field}: ")


def test_every_problem_of_a_document_is_reported() -> None:
    ledger = parse_einvoice(cii(number=None, issued="2026", basis="x"), "t.xml")
    assert ledger.records == []
    assert [p.field for p in ledger.problems] == [
        "BT-1 invoice number",
        "BT-2 invoice issue date",
        "BT-109 invoice total amount without VAT",
    ]


def test_amounts_in_another_currency_than_the_invoice_are_refused() -> None:
    xml = ubl().replace(b'<cbc:TaxExclusiveAmount currencyID="EUR">', b'<cbc:TaxExclusiveAmount currencyID="USD">')
    ledger = parse_einvoice(xml, "u.xml")
    assert ledger.records == []
    assert [(p.field, p.code) for p in ledger.problems] == [
        ("BT-109 invoice total amount without VAT", "einvoice.currency_mismatch")
    ]


# --------------------------------------------------------------------------
# The buyer
# --------------------------------------------------------------------------


def test_cii_buyer_identifiers_in_order_and_deduplicated() -> None:
    ids = (
        f'<ram:GlobalID schemeID="0088">4000001123452</ram:GlobalID>'
        f'<ram:GlobalID schemeID="0009">{SIRET}</ram:GlobalID>'
        f'<ram:GlobalID schemeID="0060">123456789</ram:GlobalID>'
        f'<ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{SIREN}</ram:ID></ram:SpecifiedLegalOrganization>'
        f'<ram:URIUniversalCommunication><ram:URIID schemeID="0225">{SIREN}</ram:URIID></ram:URIUniversalCommunication>'
        f'<ram:URIUniversalCommunication><ram:URIID schemeID="EM">a@b.fr</ram:URIID></ram:URIUniversalCommunication>'
        f'<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{VAT_FR}</ram:ID></ram:SpecifiedTaxRegistration>'
        '<ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">201/113/40209</ram:ID></ram:SpecifiedTaxRegistration>'
    )
    xml = cii(buyer=cii_buyer(ids=ids, account="C042"))
    ledger = parse_einvoice(xml, "t.xml")
    assert ledger.problems == []
    assert only_record(ledger).buyer == BuyerRef(
        identifiers=(("siren", SIREN), ("siret", SIRET), ("duns", "123456789"), ("vat_fr", VAT_FR)),
        account="C042",
        name="Acheteur SA",
        country="FR",
    )


def test_a_buyer_known_only_by_an_invalid_identifier_is_refused() -> None:
    ids = '<ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">732829321</ram:ID></ram:SpecifiedLegalOrganization>'
    ledger = parse_einvoice(cii(buyer=cii_buyer(name=None, ids=ids)), "t.xml")
    assert ledger.records == []
    assert [(p.code, p.field) for p in ledger.problems] == [
        ("einvoice.invalid_identifier", "BT-47 buyer legal registration identifier"),
        ("einvoice.missing_field", "BT-44 buyer name"),
    ]


def test_a_buyer_with_a_valid_siren_and_no_name_is_enough() -> None:
    record = only_record(parse_einvoice(cii(buyer=cii_buyer(name=None, ids=LEGAL_SIREN)), "t.xml"))
    assert record.buyer.identifiers == (("siren", SIREN),)
    assert record.buyer.name is None


def test_buyer_name_is_tidied_and_cut() -> None:
    record = only_record(parse_einvoice(cii(buyer=cii_buyer(name="  Le\n  Client   " + "x" * 300)), "t.xml"))
    assert record.buyer.name is not None
    assert record.buyer.name.startswith("Le Client xxx")
    assert len(record.buyer.name) == einvoice.MAX_TEXT_CHARS


def test_a_factored_invoice_names_its_factor() -> None:
    payee = "<ram:PayeeTradeParty><ram:Name>Factor SA</ram:Name></ram:PayeeTradeParty>"
    assert only_record(parse_einvoice(cii(type_code="393", settlement=payee), "t.xml")).factor == "Factor SA"
    assert only_record(parse_einvoice(cii(type_code="380", settlement=payee), "t.xml")).factor is None


def test_references_too_long_are_left_out_with_a_problem() -> None:
    order = f"<ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>{'P' * 300}</ram:IssuerAssignedID>"
    ledger = parse_einvoice(cii(agreement=order + "</ram:BuyerOrderReferencedDocument>"), "t.xml")
    record = only_record(ledger)
    assert record.order_reference is None
    assert [(p.field, p.code) for p in ledger.problems] == [("BT-13 purchase order reference", "einvoice.bad_field")]


# --------------------------------------------------------------------------
# Encodings
# --------------------------------------------------------------------------


def test_latin1_and_utf16_documents_are_read() -> None:
    latin1 = cii(buyer=cii_buyer(name="Société Générale"), declaration="").decode()
    data = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n' + latin1).encode("latin-1")
    assert only_record(parse_einvoice(data, "l.xml")).buyer.name == "Société Générale"
    data = ('<?xml version="1.0" encoding="UTF-16"?>\n' + latin1).encode("utf-16")
    assert only_record(parse_einvoice(data, "w.xml")).buyer.name == "Société Générale"


def test_a_utf8_bom_is_accepted(samples: Path) -> None:
    data = (samples / "akretion_factur-x-minimum.xml").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert only_record(parse_einvoice(data, "bom.xml")).number == "F20260023"


@pytest.mark.parametrize("encoding", ["windows-1252", "Shift_JIS", "UTF-32", "utf-7", "idna", "bz2", "nonsense", ""])
def test_encodings_expat_does_not_know_are_refused(encoding: str) -> None:
    body = cii(declaration="").decode()
    data = f'<?xml version="1.0" encoding="{encoding}"?>\n{body}'.encode()
    assert refused(data).code == "einvoice.bad_encoding"
    # Also when the declaration is only readable once decoded (UTF-16 without a byte order mark).
    data = f'<?xml version="1.0" encoding="{encoding}"?>\n{body}'.encode("utf-16-le")
    assert refused(data).code in ("einvoice.bad_encoding", "einvoice.bad_xml")


def test_invalid_utf8_is_refused() -> None:
    data = cii(buyer=cii_buyer(name="Soci\xe9t\xe9"))  # fine so far: encoded as UTF-8
    data = data.replace("Soci\xe9".encode(), b"Soci\xe9")  # a Latin-1 byte in a UTF-8 document
    error = refused(data)
    assert error.code == "einvoice.bad_encoding"
    assert error.context["offset"] == data.index(b"\xe9")


# --------------------------------------------------------------------------
# Factur-X PDF
# --------------------------------------------------------------------------


def test_facturx_pdf_gives_the_same_record_as_its_xml(samples: Path) -> None:
    xml = (samples / "akretion_factur-x-en16931.xml").read_bytes()
    pdf = facturx_pdf(xml)
    assert pdf.startswith(b"%PDF-")
    ledger = parse_einvoice(pdf, "facture.pdf")
    assert ledger.format == "facturx"
    assert ledger.name == "facture.pdf"
    record = only_record(ledger)
    assert record == only_record(parse_einvoice(xml, "facture.pdf"))
    assert record.number == "F20260023"
    assert record.source == Source("facture.pdf", line_of(xml, b"<rsm:CrossIndustryInvoice"))


def test_zugferd_attachment_name_is_accepted(samples: Path) -> None:
    xml = (samples / "ferd_zugferd_2p1_EN16931_Einfach.xml").read_bytes()
    record = only_record(parse_einvoice(pdf_with_attachment("ZUGFeRD-invoice.xml", xml), "z.pdf"))
    assert record.number == "471102"


def test_a_pdf_without_invoice_xml_is_refused() -> None:
    error = refused(blank_pdf(), "plain.pdf")
    assert error.code == "einvoice.no_invoice_xml"
    error = refused(pdf_with_attachment("notes.xml", cii()), "other.pdf")
    assert error.code == "einvoice.no_invoice_xml"
    assert "notes.xml" in error.message


PDF_TAIL = b"\ntrailer\n<< /Root 1 0 R >>\nstartxref\n0\n%%EOF"
CATALOG_WITH_ATTACHMENT = (
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Names 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /EmbeddedFiles 3 0 R >>\nendobj\n"
    b"3 0 obj\n<< /Names [(factur-x.xml) 4 0 R] >>\nendobj\n"
    b"4 0 obj\n<< /Type /Filespec /F (factur-x.xml) /EF << /F 5 0 R >> >>\nendobj\n"
)


def test_a_hand_made_pdf_is_read() -> None:
    # The same hand-made structure as the corrupted ones below, intact: the refusals are not an accident.
    body = cii()
    pdf = CATALOG_WITH_ATTACHMENT + b"5 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj" % (len(body), body)
    assert only_record(parse_einvoice(pdf + PDF_TAIL, "hand.pdf")).number == "F-0001"


BAD_PDF = "einvoice.bad_pdf"


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        pytest.param(lambda pdf: pdf[: len(pdf) // 2], BAD_PDF, id="truncated"),
        pytest.param(lambda pdf: pdf[:9] + bytes(len(pdf) - 9), BAD_PDF, id="zeroed"),
        pytest.param(lambda pdf: b"%PDF-1.7\n" + b"\x00garbage\xff" * 50, BAD_PDF, id="garbage"),
        pytest.param(lambda pdf: b"%PDF-", BAD_PDF, id="header-only"),
        pytest.param(
            lambda pdf: pdf.replace(b"/EmbeddedFiles", b"/EmbeddedFilez").replace(b"obj", b"obi"),
            "einvoice.no_invoice_xml",
            id="objects-renamed",
        ),
        pytest.param(
            lambda pdf: b"%PDF-1.7\n1 0 obj\n" + b"[" * 200_000 + b"]" * 200_000 + b"\nendobj" + PDF_TAIL,
            BAD_PDF,
            id="deep-nesting",  # pypdf recurses until RecursionError
        ),
        pytest.param(
            lambda pdf: (
                CATALOG_WITH_ATTACHMENT + b"5 0 obj\n<< /Length 5 0 R >>\nstream\n<x/>\nendstream\nendobj" + PDF_TAIL
            ),
            BAD_PDF,
            id="stream-is-its-own-length",
        ),
        pytest.param(
            lambda pdf: CATALOG_WITH_ATTACHMENT + b"5 0 obj\n<< /Length 4 >>\nendobj" + PDF_TAIL,
            BAD_PDF,
            id="embedded-file-not-a-stream",
        ),
    ],
)
def test_a_corrupted_pdf_is_refused(samples: Path, mangle: Any, code: str) -> None:
    pdf = facturx_pdf((samples / "akretion_factur-x-minimum.xml").read_bytes())
    assert refused(mangle(pdf), "broken.pdf").code == code


def test_an_encrypted_pdf_is_refused() -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("factur-x.xml", cii())
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert refused(buffer.getvalue(), "locked.pdf").code == "einvoice.bad_pdf"


def test_the_xml_inside_a_pdf_goes_through_the_safe_path(touched: list[tuple[str, str]], tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    hostile = cii(number="&xxe;", declaration=f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>\n')
    pdf = pdf_with_attachment("factur-x.xml", hostile)
    touched.clear()
    error = refused(pdf, "hostile.pdf")
    assert error.code == "einvoice.unsafe_xml"
    assert "TOP-SECRET" not in str(error)
    assert not [event for event in touched if str(secret) in event[1] or event[0].startswith("socket.")]


def test_a_pdf_carrying_ubl_is_not_facturx() -> None:
    assert refused(pdf_with_attachment("factur-x.xml", ubl()), "ubl.pdf").code == "einvoice.unknown_format"


def test_an_oversize_pdf_is_refused_before_reading() -> None:
    data = b"%PDF-1.7\n" + bytes(MAX_EINVOICE_BYTES)
    assert refused(data, "big.pdf").code == "einvoice.too_large"


# --------------------------------------------------------------------------
# Hostile and broken XML
# --------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


def hostile_documents(secret: Path) -> dict[str, bytes]:
    return {
        "xxe_file": cii(number="&xxe;", declaration=f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'),
        "xxe_etc_passwd": cii(number="&e;", declaration='<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'),
        "xxe_http": cii(number="&e;", declaration='<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]>\n'),
        "external_dtd": cii(declaration='<!DOCTYPE rsm:CrossIndustryInvoice SYSTEM "http://127.0.0.1:9/evil.dtd">\n'),
        "external_dtd_file": cii(declaration=f'<!DOCTYPE r SYSTEM "file://{secret}">\n'),
        "parameter_entity": cii(
            declaration=f'<!DOCTYPE x [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>\n',
        ),
        "billion_laughs": cii(number="&lol9;", declaration=BILLION_LAUGHS.decode()),
        "quadratic_blowup": cii(number="&a;" * 1000, declaration=f'<!DOCTYPE x [<!ENTITY a "{"a" * 10_000}">]>\n'),
        "internal_subset_only": cii(declaration="<!DOCTYPE x []>\n"),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "xxe_file",
        "xxe_etc_passwd",
        "xxe_http",
        "external_dtd",
        "external_dtd_file",
        "parameter_entity",
        "billion_laughs",
        "quadratic_blowup",
        "internal_subset_only",
    ],
)
def test_dtds_are_refused_without_reading_anything(kind: str, tmp_path: Path, touched: list[tuple[str, str]]) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = hostile_documents(secret)[kind]
    touched.clear()
    started = time.perf_counter()
    error = refused(data)
    assert time.perf_counter() - started < 1.0  # no expansion happened
    assert error.code == "einvoice.unsafe_xml"
    assert "TOP-SECRET" not in str(error)
    # Nothing was opened and no connection attempted while parsing.
    assert touched == []


def test_the_audit_hook_does_see_a_file_read(tmp_path: Path, touched: list[tuple[str, str]]) -> None:
    # Negative control for the tests above: reading the file is recorded.
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    touched.clear()
    assert secret.read_text() == "TOP-SECRET-VALUE"
    assert any(event == "open" and str(secret) in args for event, args in touched)


def test_the_refusal_happens_at_the_doctype_before_the_rest_is_parsed() -> None:
    # The body is not even well-formed: a parser that read past the DTD would report bad XML instead.
    data = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<rsm:CrossIndustryInvoice &e; <<<'
    assert refused(data).code == "einvoice.unsafe_xml"


def test_xinclude_is_not_processed(touched: list[tuple[str, str]]) -> None:
    xml = cii(number='<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>')
    touched.clear()
    ledger = parse_einvoice(xml, "t.xml")
    assert touched == []
    assert ledger.records == []
    assert [(p.field, p.code) for p in ledger.problems] == [("BT-1 invoice number", "einvoice.missing_field")]


def test_an_oversize_xml_is_refused_before_parsing() -> None:
    data = b"<" + b" " * MAX_EINVOICE_XML_BYTES
    assert refused(data).code == "einvoice.too_large"


def test_embedded_xml_is_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(einvoice, "MAX_EINVOICE_XML_BYTES", 1_000)
    assert refused(pdf_with_attachment("factur-x.xml", cii()), "x.pdf").code == "einvoice.too_large"


def test_deep_nesting_is_refused() -> None:
    depth = einvoice.MAX_XML_DEPTH + 5
    data = (f"<rsm:CrossIndustryInvoice {CII_NS}>" + "<ram:X>" * depth + "</ram:X>" * depth).encode()
    data += b"</rsm:CrossIndustryInvoice>"
    assert refused(data).code == "einvoice.too_complex"


def test_line_items_do_not_count_against_the_header_limit(samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (samples / "akretion_factur-x-en16931.xml").read_bytes()
    start = data.index(b"<ram:IncludedSupplyChainTradeLineItem>")
    end = data.index(b"</ram:IncludedSupplyChainTradeLineItem>") + len(b"</ram:IncludedSupplyChainTradeLineItem>")
    many = data[:start] + data[start:end] * 200 + data[end:]  # some 10,000 elements
    monkeypatch.setattr(einvoice, "MAX_XML_ELEMENTS", 1_000)
    assert only_record(parse_einvoice(many, "many.xml")).number == "F20260023"
    notes = b"<ram:IncludedNote><ram:Content>x</ram:Content></ram:IncludedNote>" * 600
    bloated = data.replace(b"</rsm:ExchangedDocument>", notes + b"</rsm:ExchangedDocument>")
    assert refused(bloated).code == "einvoice.too_complex"


@pytest.mark.parametrize("cut", [10, 200, 1_000, -30, -1])
def test_truncated_xml_is_refused(samples: Path, cut: int) -> None:
    data = (samples / "ferd_zugferd_2p1_EN16931_Einfach.xml").read_bytes().rstrip()
    error = refused(data[:cut])
    assert error.code == "einvoice.bad_xml"
    assert error.context["line"] >= 1


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "einvoice.unknown_format"),
        (b"   \n", "einvoice.unknown_format"),
        (b"numero;date;montant\n1;2026-01-01;100\n", "einvoice.unknown_format"),
        (b"{}", "einvoice.unknown_format"),
        (b"<html><body>facture</body></html>", "einvoice.unknown_format"),
        (b'<CrossIndustryInvoice xmlns="urn:wrong"/>', "einvoice.unknown_format"),
        (
            b'<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"/>',
            "einvoice.unknown_format",
        ),
        (b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>', "einvoice.unknown_format"),
        (b"<a><b></a>", "einvoice.unknown_format"),  # the root is checked at its start tag
        (b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><a></b>', "einvoice.bad_xml"),
        (b"\x00\x01\x02", "einvoice.unknown_format"),
    ],
)
def test_not_an_einvoice(data: bytes, code: str) -> None:
    assert refused(data, "x").code == code


def test_errors_name_the_file() -> None:
    error = refused(b"hello", "ledger.bin")
    assert error.message.startswith("ledger.bin: ")
    assert error.context == {"file": "ledger.bin"}
