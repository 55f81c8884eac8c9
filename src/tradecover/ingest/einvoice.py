"""Structured e-invoices (Factur-X / ZUGFeRD PDF, UN/CEFACT CII, OASIS UBL 2.1) as ledger records.

Why: from 2026 French B2B invoices travel as e-invoices (the *réforme de la
facturation électronique*), so an insured's ledger can be rebuilt from the
invoices themselves rather than from an accounting export. One document gives
one :class:`InvoiceRecord` in the shape every ledger parser produces.

Formats, recognised by content, never by the file name:

* a PDF (``%PDF-`` header) is read as **Factur-X / ZUGFeRD 2.x**: the CII XML is the
  attachment named ``factur-x.xml`` (else ``zugferd-invoice.xml``, else
  ``xrechnung.xml``), format ``"facturx"``;
* an XML whose root is ``rsm:CrossIndustryInvoice`` (D16B/D22B, namespace
  ``…:CrossIndustryInvoice:100``) is **CII**, format ``"cii"``;
* an XML whose root is UBL 2.1 ``Invoice`` or ``CreditNote`` is **UBL**,
  format ``"ubl"``;
* anything else is refused (``einvoice.unknown_format``).

What is read (EN 16931 business terms):

* number BT-1, issue date BT-2, type code BT-3, currency BT-5;
* totals: BT-109 (total without VAT: ``TaxBasisTotalAmount`` /
  ``LegalMonetaryTotal/TaxExclusiveAmount``) and BT-110 (total VAT: the
  ``TaxTotalAmount`` / ``TaxTotal/TaxAmount`` whose ``currencyID`` is BT-5;
  a second one in the VAT accounting currency, BT-111, is ignored; absent
  means no VAT). Amounts are exact :class:`~decimal.Decimal`, never floats.
  Prepaid amounts (BT-113) and the amount due (BT-115) are *not* read: cash
  received is the payment records' business, so an invoice whose prepayment
  exceeds its total (the FeRD ``negativePaymentDue`` sample) stays an invoice
  of its own totals;
* order reference BT-13; preceding invoice BT-25, kept as
  ``invoice_reference`` on credit notes only (the first one when several);
* due date: BT-9 (the earliest, when EXTENDED installments give several);
  without BT-9, what the payment terms text BT-20 says plainly: an explicit
  net date (``netto bis 04.07.2018``, ``net au 04/07/2018``, day first), else
  *N days net* (``30 jours net``, ``Zahlbar innerhalb 30 Tagen netto``,
  ``net 30 days``): issue date + N. End-of-month terms (``fin de mois``,
  ``EOM``…), two different dates or periods, or any other wording are not
  guessed at: None (the issue date is taken downstream);
* delivery date: BT-72 (actual delivery date), else BT-74 (end of the invoicing
  period: a service is delivered when its period ends), else None (the issue
  date is taken downstream);
* the buyer (BG-7): name BT-44 (UBL: ``RegistrationName``, else the trading
  name BT-45), country BT-55, and identifiers validated with
  :func:`~tradecover.domain.identifiers.parse_identifier`, in this order:
  legal registration BT-47, buyer identifiers BT-46 and electronic address
  BT-49 with ISO 6523 scheme ``0002`` (SIREN), ``0009`` (SIRET), ``0060``
  (DUNS), ``0199`` (LEI) or ``0225`` (French CTC address ``SIREN[_suffix]``:
  the SIREN is kept), then the VAT number BT-48 (CII ``schemeID="VA"``, UBL
  ``PartyTaxScheme`` of scheme ``VAT``). Other schemes (GLN ``0088``/``0160``,
  routing codes ``0224``…) name no company this system knows and are ignored,
  as are identifiers without a scheme, except BT-46 without a scheme, which
  is the seller's own customer number for the buyer: it becomes
  ``BuyerRef.account``. An identifier that fails validation is a
  :class:`LineProblem` (``einvoice.invalid_identifier``, field = its BT) and is
  left out; the record is still produced as long as the buyer keeps a name, an
  account or another identifier;
* factored invoices (type codes 393, 396, 501, 502, 472, 473): the payee's
  name BT-59 is the ``factor``.

Kind (BT-3, UNTDID 1001): credit note codes (381, 81, 83, 261, 262, 296, 308,
396, 420, 458, 532, and the French 502/503) and any UBL ``CreditNote`` give
CREDIT_NOTE; the invoice codes (380, 383, 384, 386, 389, 751, 326, 393, the
French 471/472/473/500/501 and the other invoice and debit note codes) give
INVOICE; anything else (a pro forma 325, an unknown code) is refused for that
document (``einvoice.unsupported_type``). A German *Gutschrift* of type 389 is
a self-billed invoice: an INVOICE. Then the sign: a document whose total
(BT-109 + BT-110) is negative goes the other way, with positive amounts: a
negative invoice (such as a 384 corrective invoice reducing what is owed) is a
credit note, a negative credit note an invoice. Amounts of opposite signs
(e.g. a positive base with a negative VAT) are refused
(``einvoice.mixed_signs``).

Errors: a file that cannot be read at all raises :class:`InvalidInput`
(nothing is imported) with a stable code: ``einvoice.too_large``,
``einvoice.too_complex``, ``einvoice.unknown_format``, ``einvoice.unsafe_xml``
(any DTD: entity bombs, external entities and external DTDs never get past the
``<!DOCTYPE``), ``einvoice.bad_encoding``, ``einvoice.bad_xml``,
``einvoice.bad_pdf``, ``einvoice.no_invoice_xml``. Encodings: UTF-8 (what
EN 16931 and Factur-X require) and the others expat decodes itself (UTF-16,
ISO-8859-1, US-ASCII); any other declared encoding is ``einvoice.bad_encoding``.
A readable document missing a required term, or with a malformed date (BT-9,
BT-72 and BT-74 included), amount, currency or type code, gives
:class:`LineProblem` entries naming the business term (e.g. field ``BT-1
invoice number``) and no record. Problems and records point at the XML
element's line (the record: the root element's; in the embedded XML for a PDF).

Safety: size limits before anything is parsed; XML goes through defusedxml's
expat parser with DTDs forbidden, so no entity is ever expanded and nothing is
fetched (no file, no network); line items, attachments and UBL extensions are
skipped without being built, and the header's size and depth are bounded. The
XML inside a PDF is taken from the PDF with pypdf (never parsed by the
factur-x library's unprotected lxml call) and goes through the same XML path;
any failure of pypdf on a malformed PDF becomes ``einvoice.bad_pdf``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import IdentifierKind, parse_identifier
from tradecover.ingest.ledger_records import (
    BuyerRef,
    InvoiceRecord,
    LedgerFile,
    LineProblem,
    RecordKind,
    Source,
    file_problem,
    line_problem,
)

__all__ = [
    "CREDIT_NOTE_TYPE_CODES",
    "EINVOICE_XML_FILENAMES",
    "INVOICE_TYPE_CODES",
    "MAX_EINVOICE_BYTES",
    "MAX_EINVOICE_XML_BYTES",
    "parse_einvoice",
]

#: Largest file accepted (a Factur-X PDF carries the printable invoice too).
MAX_EINVOICE_BYTES: Final = 20_000_000

#: Largest XML accepted, on its own or inside a PDF. A real invoice of a few
#: thousand lines is a few MB.
MAX_EINVOICE_XML_BYTES: Final = 10_000_000

#: Header elements built (line items, attachments and extensions are skipped
#: unbuilt): a real header has a few hundred.
MAX_XML_ELEMENTS: Final = 100_000

#: Element nesting accepted (the deepest real structures are about 12 deep).
MAX_XML_DEPTH: Final = 100

#: Embedded files looked at in a PDF before giving up.
MAX_PDF_ATTACHMENTS: Final = 100

#: Longest invoice number or reference kept; names are cut to this length.
MAX_TEXT_CHARS: Final = 200

#: Names of the invoice XML inside a Factur-X / ZUGFeRD PDF, in order of preference.
EINVOICE_XML_FILENAMES: Final = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")

#: UNTDID 1001 codes read as invoices (and debit notes): what the buyer owes.
INVOICE_TYPE_CODES: Final = frozenset(
    {
        "80",  # debit note related to goods or services
        "82",  # metered services invoice
        "84",  # debit note related to financial adjustments
        "202",  # direct payment valuation
        "203",  # provisional payment valuation
        "204",  # payment valuation
        "211",  # interim application for payment
        "218",  # final payment request based on completion of work
        "219",  # payment request for completed units
        "295",  # price variation invoice
        "326",  # partial invoice
        "331",  # commercial invoice which includes a packing list
        "380",  # commercial invoice
        "382",  # commission note
        "383",  # debit note
        "384",  # corrected invoice (a credit note when negative)
        "385",  # consolidated invoice
        "386",  # prepayment invoice
        "387",  # hire invoice
        "388",  # tax invoice
        "389",  # self-billed invoice (German "Gutschrift")
        "390",  # delcredere invoice
        "393",  # factored invoice
        "394",  # lease invoice
        "395",  # consignment invoice
        "456",  # debit note
        "457",  # reversal of credit
        "471",  # self-billed corrective invoice (France)
        "472",  # factored corrective invoice (France)
        "473",  # self-billed factored corrective invoice (France)
        "500",  # self-billed prepayment invoice (France)
        "501",  # self-billed factored invoice (France)
        "527",  # self-billed debit note
        "575",  # insurer's invoice
        "623",  # forwarder's invoice
        "633",  # port charges documents
        "751",  # invoice information for accounting purposes
        "780",  # freight invoice
        "870",  # consular invoice
        "875",  # partial construction invoice
        "876",  # partial final construction invoice
        "877",  # final construction invoice
        "935",  # customs invoice
    }
)

#: UNTDID 1001 codes read as credit notes: what reduces the buyer's debt.
CREDIT_NOTE_TYPE_CODES: Final = frozenset(
    {
        "81",  # credit note related to goods or services
        "83",  # credit note related to financial adjustments
        "261",  # self-billed credit note
        "262",  # consolidated credit note - goods and services
        "296",  # credit note for price variation
        "308",  # delcredere credit note
        "381",  # credit note
        "396",  # factored credit note
        "420",  # optical character reading (OCR) credit note
        "458",  # reversal of debit
        "502",  # self-billed factored credit note (France)
        "503",  # prepayment credit note (France)
        "532",  # forwarder's credit note
    }
)

#: Type codes of invoices assigned to a factor, whose payee (BT-59) is the factor.
_FACTORED_TYPE_CODES: Final = frozenset({"393", "396", "472", "473", "501", "502"})

_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_NS: Final = {
    "rsm": _CII,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_ROOTS: Final = {
    f"{{{_CII}}}CrossIndustryInvoice": "cii",
    f"{{{_UBL_INVOICE}}}Invoice": "ubl",
    f"{{{_UBL_CREDIT_NOTE}}}CreditNote": "ubl",
}

#: Subtrees never built: line items, embedded attachments (base64 PDFs), UBL
#: extensions (signatures). The header holds everything a ledger record needs.
_SKIPPED: Final = frozenset(
    {
        "IncludedSupplyChainTradeLineItem",
        "InvoiceLine",
        "CreditNoteLine",
        "AttachmentBinaryObject",
        "EmbeddedDocumentBinaryObject",
        "UBLExtensions",
    }
)

# Field names of the problems: the EN 16931 business term and its name.
BT1 = "BT-1 invoice number"
BT2 = "BT-2 invoice issue date"
BT3 = "BT-3 invoice type code"
BT5 = "BT-5 invoice currency code"
BT9 = "BT-9 payment due date"
BT13 = "BT-13 purchase order reference"
BT25 = "BT-25 preceding invoice reference"
BT44 = "BT-44 buyer name"
BT46 = "BT-46 buyer identifier"
BT47 = "BT-47 buyer legal registration identifier"
BT48 = "BT-48 buyer VAT identifier"
BT49 = "BT-49 buyer electronic address"
BT72 = "BT-72 actual delivery date"
BT74 = "BT-74 invoicing period end date"
BT109 = "BT-109 invoice total amount without VAT"
BT110 = "BT-110 invoice total VAT amount"
BG7 = "BG-7 buyer"

_SCHEMES: Final = {
    "0002": IdentifierKind.SIREN,
    "0009": IdentifierKind.SIRET,
    "0060": IdentifierKind.DUNS,
    "0199": IdentifierKind.LEI,
}
_FRENCH_CTC_ADDRESS = "0225"

_PDF_MAGIC = b"%PDF-"
_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")
_DECLARED_ENCODING = re.compile(rb"\s*<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([^\"'>]*)[\"']")
#: The encodings expat decodes itself. EN 16931 syntaxes and Factur-X mandate UTF-8; any other
#: would go through Python codecs that expat cannot use safely (multi-byte, non-text codecs).
_XML_ENCODINGS: Final = frozenset({b"utf-8", b"utf-16", b"utf-16le", b"utf-16be", b"iso-8859-1", b"us-ascii"})
_AMOUNT = re.compile(r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]{0,10})?|\.[0-9]{1,10})")
_CII_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:Z|[+-][0-9]{2}:[0-9]{2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_SIREN_HEAD = re.compile(r"[0-9]{9}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Payment terms: "30 jours net", "Zahlbar innerhalb 30 Tagen netto", "net 30 days".
_DAY_WORD = r"(?:jours?|j|days?|tagen?)"
_DAYS_NET = re.compile(rf"\b([0-9]{{1,3}})\s*{_DAY_WORD}\s+(?:nets?|netto)\b")
_NET_DAYS = re.compile(rf"\b(?:nets?|netto)\s+([0-9]{{1,3}})(?:\s*{_DAY_WORD})?\b")
_NET_BY_DATE = re.compile(
    r"\b(?:nets?|netto)\s+(?:bis(?:\s+zum)?|au|avant\s+le|jusqu['\u2019]au|le)\s+"
    r"([0-9]{1,2})[./]([0-9]{1,2})[./]([0-9]{4})\b"
)
_MONTH_END = re.compile(r"fin\s+de\s+mois|\bfdm\b|end\s+of\s+(?:the\s+)?month|\beom\b|monatsende|ende\s+des\s+monats")
_MAX_TERMS_DAYS = 366


# --------------------------------------------------------------------------
# Safe XML
# --------------------------------------------------------------------------


class _UnknownRoot(Exception):
    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


class _TooComplex(Exception):
    pass


class _HeaderBuilder:
    """Builds the document's header as an ElementTree, noting each element's line.

    Subtrees in :data:`_SKIPPED` are not built at all; the root is checked at
    its start tag, so a file that is not an e-invoice is refused at once.
    """

    def __init__(self) -> None:
        self._tree = TreeBuilder()
        self.lines: dict[Element, int] = {}
        self.expat: Any = None  # the expat parser, for its current line
        self._depth = 0
        self._skip_from = 0  # depth of the skipped subtree's root, 0 when building
        self._built = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if self._depth > MAX_XML_DEPTH:
            raise _TooComplex(f"elements nested more than {MAX_XML_DEPTH} deep")
        if self._skip_from:
            return
        if self._depth == 1 and tag not in _ROOTS:
            raise _UnknownRoot(tag)
        if tag.rsplit("}", 1)[-1] in _SKIPPED:
            self._skip_from = self._depth
            return
        self._built += 1
        if self._built > MAX_XML_ELEMENTS:
            raise _TooComplex(f"more than {MAX_XML_ELEMENTS} header elements")
        element = self._tree.start(tag, attrs)
        self.lines[element] = int(self.expat.CurrentLineNumber) if self.expat is not None else 0

    def end(self, tag: str) -> None:
        depth = self._depth
        self._depth -= 1
        if self._skip_from:
            if depth == self._skip_from:
                self._skip_from = 0
            return
        self._tree.end(tag)

    def data(self, text: str) -> None:
        if not self._skip_from:
            self._tree.data(text)

    def close(self) -> Element:
        return self._tree.close()


def _check_encoding(data: bytes, name: str) -> None:
    """Only the encodings expat knows; UTF-8 checked here, to name the bad byte rather than "invalid token"."""
    if data.startswith(_WIDE_BOMS):
        return  # UTF-16: expat decodes it and checks any declaration against it
    body = data.removeprefix(_UTF8_BOM)
    declared = _DECLARED_ENCODING.match(body[:4096])
    encoding = declared.group(1).strip().lower() if declared is not None else b"utf-8"
    if encoding not in _XML_ENCODINGS:
        shown = encoding[:40].decode("ascii", "replace")
        raise file_problem(name, f"encoding {shown!r} is not supported (e-invoices are UTF-8)", "einvoice.bad_encoding")
    if encoding != b"utf-8":
        return
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = file_problem(name, f"not UTF-8 (byte {error.start})", "einvoice.bad_encoding")
        problem.context["offset"] = error.start
        raise problem from None


def _parse_xml(data: bytes, name: str) -> tuple[Element, dict[Element, int]]:
    """The header tree of an e-invoice XML and each element's line; any DTD is refused before it is read."""
    if len(data) > MAX_EINVOICE_XML_BYTES:
        raise file_problem(name, f"XML larger than {MAX_EINVOICE_XML_BYTES} bytes", "einvoice.too_large")
    _check_encoding(data, name)
    builder = _HeaderBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.expat = parser.parser
    try:
        parser.feed(data)
        root: Element = parser.close()
    except DefusedXmlException as error:
        raise file_problem(
            name,
            f"refused: DTD, entity declarations and external references are not allowed ({type(error).__name__})",
            "einvoice.unsafe_xml",
        ) from None
    except _UnknownRoot as error:
        local = error.tag.rsplit("}", 1)[-1][:80]
        namespace = error.tag[1:].split("}", 1)[0][:120] if error.tag.startswith("{") else ""
        raise file_problem(
            name,
            f"root element {local!r} (namespace {namespace!r}) is neither a CII CrossIndustryInvoice "
            "nor a UBL Invoice or CreditNote",
            "einvoice.unknown_format",
        ) from None
    except _TooComplex as error:
        raise file_problem(name, f"refused: {error}", "einvoice.too_complex") from None
    except ParseError as error:
        line, column = error.position
        problem = file_problem(name, f"not well-formed XML (line {line}, column {column})", "einvoice.bad_xml")
        problem.context["line"] = line
        raise problem from None
    except (LookupError, UnicodeError, ValueError) as error:
        # An encoding declaration _check_encoding did not see (e.g. in a UTF-16 document without a BOM):
        # expat hands it to Python's codecs, which fail in their own ways.
        raise file_problem(name, f"unsupported encoding ({type(error).__name__})", "einvoice.bad_encoding") from None
    return root, builder.lines


# --------------------------------------------------------------------------
# Factur-X PDF
# --------------------------------------------------------------------------


def _attachment_names(attachment: Any) -> set[str]:
    names = {str(attachment.name).lower()}
    alternative = attachment.alternative_name
    if alternative is not None:
        names.add(str(alternative).lower())
    return names


def _xml_from_pdf(data: bytes, name: str) -> bytes:
    """The invoice XML embedded in a Factur-X / ZUGFeRD PDF, unparsed."""
    from pypdf import PdfReader  # imported here: only PDFs need it

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise file_problem(name, "encrypted PDF (Factur-X forbids encryption)", "einvoice.bad_pdf")
        found: dict[str, Any] = {}
        seen: list[str] = []
        for count, attachment in enumerate(reader.attachment_list, start=1):
            if count > MAX_PDF_ATTACHMENTS:
                break
            names = _attachment_names(attachment)
            seen.append(str(attachment.name)[:60])
            for wanted in EINVOICE_XML_FILENAMES:
                if wanted in names:
                    found.setdefault(wanted, attachment)
        chosen = next((found[wanted] for wanted in EINVOICE_XML_FILENAMES if wanted in found), None)
        content = None if chosen is None else chosen.content
    except InvalidInput:
        raise
    except Exception as error:  # pypdf raises anything on a malformed PDF: none of it may escape
        detail = str(error)[:200]
        raise file_problem(name, f"unreadable PDF ({type(error).__name__}: {detail})", "einvoice.bad_pdf") from None
    if content is None:
        listed = ", ".join(repr(item) for item in seen[:10]) or "none"
        raise file_problem(
            name,
            f"no Factur-X/ZUGFeRD invoice XML in the PDF (expected {' or '.join(EINVOICE_XML_FILENAMES)}; "
            f"attachments: {listed})",
            "einvoice.no_invoice_xml",
        )
    if not isinstance(content, bytes):  # pragma: no cover - pypdf returns bytes
        raise file_problem(name, "unreadable embedded XML", "einvoice.bad_pdf")
    if len(content) > MAX_EINVOICE_XML_BYTES:
        raise file_problem(name, f"embedded XML larger than {MAX_EINVOICE_XML_BYTES} bytes", "einvoice.too_large")
    return content


# --------------------------------------------------------------------------
# Reading one document
# --------------------------------------------------------------------------


def _find(element: Element | None, path: str) -> Element | None:
    return None if element is None else element.find(path, _NS)


def _findall(element: Element | None, path: str) -> list[Element]:
    return [] if element is None else element.findall(path, _NS)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


@dataclass
class _Party:
    """The buyer's parts as the document states them, not yet validated."""

    element: Element
    name: str | None = None
    trading_name: str | None = None
    country: Element | None = None
    account: str | None = None
    # (scheme, raw value, element, business term), in order of preference
    identifiers: list[tuple[str, str, Element, str]] = field(default_factory=list)


@dataclass
class _Reader:
    """Reads one document's values, collecting problems; ``fatal`` says no record may be made."""

    name: str
    root: Element
    lines: Mapping[Element, int]
    problems: list[LineProblem] = field(default_factory=list)
    fatal: bool = False

    def line(self, *elements: Element | None) -> int:
        for element in elements:
            if element is not None:
                return self.lines.get(element, 0) or self.lines.get(self.root, 1)
        return self.lines.get(self.root, 1)

    def problem(self, where: Sequence[Element | None], field: str, message: str, code: str, *, fatal: bool) -> None:
        self.problems.append(line_problem(Source(self.name, self.line(*where)), field, message, code, refuses=fatal))
        self.fatal = self.fatal or fatal

    def missing(self, where: Sequence[Element | None], field: str) -> None:
        self.problem(where, field, f"{field} is missing", "einvoice.missing_field", fatal=True)

    @staticmethod
    def text(element: Element | None) -> str | None:
        return None if element is None else _clean(element.text)

    def required_text(self, element: Element | None, where: Sequence[Element | None], field: str) -> str | None:
        """An identifier-like text: required, one line, at most :data:`MAX_TEXT_CHARS`."""
        value = None if element is None or element.text is None else element.text.strip()
        if not value:
            self.missing([element, *where], field)
            return None
        return self._short(value, element, field, fatal=True)

    def reference(self, element: Element | None, field: str) -> str | None:
        """An optional reference: left out (with a problem) when it cannot be one."""
        value = None if element is None or element.text is None else element.text.strip()
        if not value:
            return None
        return self._short(value, element, field, fatal=False)

    def _short(self, value: str, element: Element | None, field: str, *, fatal: bool) -> str | None:
        if len(value) > MAX_TEXT_CHARS or _CONTROL.search(value):
            shown = value[:40] + ("…" if len(value) > 40 else "")
            self.problem(
                [element],
                field,
                f"{shown!r} is not a usable reference (control characters or longer than {MAX_TEXT_CHARS})",
                "einvoice.bad_field",
                fatal=fatal,
            )
            return None
        return value

    def type_code(self, element: Element | None, where: Sequence[Element | None]) -> str | None:
        value = self.required_text(element, where, BT3)
        if value is not None and value not in INVOICE_TYPE_CODES and value not in CREDIT_NOTE_TYPE_CODES:
            self.problem(
                [element],
                BT3,
                f"document type {value[:20]!r} is neither an invoice nor a credit note",
                "einvoice.unsupported_type",
                fatal=True,
            )
            return None
        return value

    def currency(self, element: Element | None, where: Sequence[Element | None]) -> str | None:
        value = self.text(element)
        if value is None:
            self.missing([element, *where], BT5)
            return None
        if not _CURRENCY.fullmatch(value):
            self.problem(
                [element], BT5, f"{value[:20]!r} is not an ISO 4217 currency code", "einvoice.bad_currency", fatal=True
            )
            return None
        return value

    def _date(self, element: Element, raw: str | None, pattern: re.Pattern[str], field: str, shape: str) -> date | None:
        match = pattern.fullmatch(raw.strip()) if raw is not None else None
        if match is not None:
            try:
                return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                pass
        shown = (raw or "").strip()[:30]
        self.problem([element], field, f"{shown!r} is not a date {shape}", "einvoice.bad_date", fatal=True)
        return None

    def cii_date(
        self, holder: Element | None, where: Sequence[Element | None], field: str, *, required: bool
    ) -> date | None:
        """A CII date: ``<udt:DateTimeString format="102">YYYYMMDD</…>`` inside ``holder``."""
        string = None
        if holder is not None:
            string = next((child for child in holder if _local(child.tag) == "DateTimeString"), None)
        if string is None:
            if required:
                self.missing([holder, *where], field)
            return None
        shape = string.get("format", "102").strip()
        if shape != "102":
            self.problem(
                [string],
                field,
                f"date format {shape[:10]!r} is not supported (102: YYYYMMDD)",
                "einvoice.bad_date",
                fatal=True,
            )
            return None
        return self._date(string, string.text, _CII_DATE, field, "YYYYMMDD")

    def iso_date(
        self, element: Element | None, where: Sequence[Element | None], field: str, *, required: bool
    ) -> date | None:
        """A UBL date: ``YYYY-MM-DD`` (an xsd:date time zone is allowed and ignored)."""
        if element is None:
            if required:
                self.missing(where, field)
            return None
        return self._date(element, element.text, _ISO_DATE, field, "YYYY-MM-DD")

    def amount(
        self, element: Element | None, where: Sequence[Element | None], field: str, currency: str | None
    ) -> Decimal | None:
        """A required total, exact; its ``currencyID``, when given, must be the invoice's."""
        if element is None:
            self.missing(where, field)
            return None
        raw = (element.text or "").strip()
        if not _AMOUNT.fullmatch(raw):
            self.problem([element], field, f"{raw[:30]!r} is not an amount", "einvoice.bad_amount", fatal=True)
            return None
        stated = element.get("currencyID")
        if stated is not None and currency is not None and stated.strip() != currency:
            self.problem(
                [element],
                field,
                f"amount in {stated[:10]!r}, the invoice is in {currency}",
                "einvoice.currency_mismatch",
                fatal=True,
            )
            return None
        return Decimal(raw)

    def vat_total(
        self, candidates: list[Element], where: Sequence[Element | None], currency: str | None
    ) -> Decimal | None:
        """BT-110: the VAT total in the invoice currency (a second one, BT-111, is in the VAT accounting currency)."""
        if not candidates:
            return Decimal("0")
        in_currency = [element for element in candidates if (element.get("currencyID") or "").strip() == currency]
        # Without BT-5 (already a problem), any VAT total is read, for its own problems only.
        unmarked = [element for element in candidates if element.get("currencyID") is None or currency is None]
        chosen = in_currency[0] if in_currency else unmarked[0] if unmarked else None
        if chosen is None:
            self.problem(
                [candidates[0], *where],
                BT110,
                f"no VAT total in the invoice currency {currency}",
                "einvoice.currency_mismatch",
                fatal=True,
            )
            return None
        return self.amount(chosen, where, BT110, currency)

    def buyer(self, party: _Party | None, where: Sequence[Element | None]) -> BuyerRef | None:
        if party is None:
            self.missing(where, BG7)
            return None
        identifiers: list[tuple[str, str]] = []
        for scheme, raw, element, term in party.identifiers:
            found = self._identifier(scheme, raw, element, term)
            if found is not None and found not in identifiers:
                identifiers.append(found)
        name = party.name or party.trading_name
        if name is not None and len(name) > MAX_TEXT_CHARS:
            name = name[: MAX_TEXT_CHARS - 1] + "…"
        country = self.text(party.country)
        if country is not None and not _COUNTRY.fullmatch(country):
            country = None
        if not identifiers and name is None and party.account is None:
            self.problem(
                [party.element],
                BT44,
                "the buyer has no name, no usable identifier and no account",
                "einvoice.missing_field",
                fatal=True,
            )
            return None
        return BuyerRef(identifiers=tuple(identifiers), account=party.account, name=name, country=country)

    def _identifier(self, scheme: str, raw: str, element: Element, term: str) -> tuple[str, str] | None:
        kind: IdentifierKind | None
        if scheme == "VA":
            kind = IdentifierKind.VAT
        elif scheme == _FRENCH_CTC_ADDRESS:
            # A French CTC electronic address is the SIREN, optionally followed by "_suffix".
            head = raw.split("_", 1)[0].strip()
            if not _SIREN_HEAD.fullmatch(head):
                return None
            kind, raw = IdentifierKind.SIREN, head
        else:
            kind = _SCHEMES.get(scheme)
        if kind is None:
            return None
        try:
            identifier = parse_identifier(kind, raw)
        except InvalidInput as error:
            self.problem(
                [element], term, f"{error.message}: identifier ignored", "einvoice.invalid_identifier", fatal=False
            )
            return None
        return identifier.kind.value, identifier.value

    def record(self, values: _Values) -> InvoiceRecord | None:
        """The record, or None when a required term is missing or malformed (the problems say which)."""
        v = values
        if (
            self.fatal
            or v.number is None
            or v.type_code is None
            or v.issue_date is None
            or v.currency is None
            or v.basis is None
            or v.vat is None
            or v.buyer is None
        ):
            return None
        credit = v.credit_note_root or v.type_code in CREDIT_NOTE_TYPE_CODES
        basis, vat = v.basis, v.vat
        total = basis + vat
        if total < 0 or (total == 0 and (basis < 0 or vat < 0)):
            credit = not credit
            basis, vat = -basis, -vat
        if basis < 0 or vat < 0:
            self.problem(
                [v.vat_element],
                BT110,
                f"the total without VAT ({v.basis}) and the VAT ({v.vat}) have opposite signs",
                "einvoice.mixed_signs",
                fatal=True,
            )
            return None
        kind = RecordKind.CREDIT_NOTE if credit else RecordKind.INVOICE
        due = min(v.due_dates) if v.due_dates else _due_from_terms(v.terms, v.issue_date)
        factor = v.payee if v.type_code in _FACTORED_TYPE_CODES else None
        return InvoiceRecord(
            source=Source(self.name, self.line(self.root)),
            kind=kind,
            buyer=v.buyer,
            number=v.number,
            issue_date=v.issue_date,
            delivery_date=v.delivered or v.period_end,
            due_date=due,
            amount_excl_vat=abs(basis),
            vat_amount=abs(vat),
            currency=v.currency,
            invoice_reference=v.preceding if kind is RecordKind.CREDIT_NOTE else None,
            order_reference=v.order,
            factor=factor[:MAX_TEXT_CHARS] if factor else None,
        )


@dataclass
class _Values:
    """One document's values, read from either syntax."""

    number: str | None
    type_code: str | None
    credit_note_root: bool
    issue_date: date | None
    currency: str | None
    due_dates: list[date]
    terms: list[str]
    delivered: date | None
    period_end: date | None
    basis: Decimal | None
    vat: Decimal | None
    vat_element: Element | None
    order: str | None
    preceding: str | None
    buyer: BuyerRef | None
    payee: str | None


def _due_from_terms(terms: Iterable[str], issued: date) -> date | None:
    """The due date the payment terms text states plainly, else None.

    An explicit net date ("netto bis 04.07.2018", "net au 04/07/2018") first,
    else issue date + N for "N days net"; end-of-month terms, two different
    dates or periods, or anything less plain give None.
    """
    explicit: set[date] = set()
    periods: set[int] = set()
    for text in terms:
        folded = text.casefold()
        if _MONTH_END.search(folded):
            return None
        for day, month, year in _NET_BY_DATE.findall(folded):
            try:
                explicit.add(date(int(year), int(month), int(day)))
            except ValueError:
                return None
        periods.update(int(days) for days in _DAYS_NET.findall(folded))
        periods.update(int(days) for days in _NET_DAYS.findall(folded))
    if explicit:
        return explicit.pop() if len(explicit) == 1 else None
    if len(periods) != 1:
        return None
    days = periods.pop()
    return issued + timedelta(days=days) if days <= _MAX_TERMS_DAYS else None


def _dates(reader: _Reader, holders: list[Element], field: str) -> list[date]:
    found: list[date] = []
    for holder in holders:
        value = reader.cii_date(holder, [holder], field, required=False)
        if value is not None:
            found.append(value)
    return found


# --------------------------------------------------------------------------
# CII (Factur-X, ZUGFeRD 2.x, XRechnung CII)
# --------------------------------------------------------------------------


def _cii_party(party: Element | None) -> _Party | None:
    if party is None:
        return None
    result = _Party(element=party, name=_Reader.text(_find(party, "ram:Name")))
    result.trading_name = _Reader.text(_find(party, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"))
    result.country = _find(party, "ram:PostalTradeAddress/ram:CountryID")
    for element in _findall(party, "ram:ID"):
        if result.account is None and element.get("schemeID") is None:
            value = _Reader.text(element)
            if value is not None and len(value) <= MAX_TEXT_CHARS:
                result.account = value
    sources = (
        ("ram:SpecifiedLegalOrganization/ram:ID", BT47),
        ("ram:GlobalID", BT46),
        ("ram:ID", BT46),
        ("ram:URIUniversalCommunication/ram:URIID", BT49),
        ("ram:SpecifiedTaxRegistration/ram:ID", BT48),
    )
    for path, term in sources:
        for element in _findall(party, path):
            scheme = (element.get("schemeID") or "").strip()
            value = (element.text or "").strip()
            if scheme and value:
                result.identifiers.append((scheme, value, element, term))
    # The VAT number comes after the registration numbers: the SIREN is the key French buyers are known by.
    result.identifiers.sort(key=lambda item: item[0] == "VA")
    return result


def _cii_values(reader: _Reader, root: Element) -> _Values:
    document = _find(root, "rsm:ExchangedDocument")
    transaction = _find(root, "rsm:SupplyChainTradeTransaction")
    agreement = _find(transaction, "ram:ApplicableHeaderTradeAgreement")
    delivery = _find(transaction, "ram:ApplicableHeaderTradeDelivery")
    settlement = _find(transaction, "ram:ApplicableHeaderTradeSettlement")
    summation = _find(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    here = [document, root]

    number = reader.required_text(_find(document, "ram:ID"), here, BT1)
    type_code = reader.type_code(_find(document, "ram:TypeCode"), here)
    issued = reader.cii_date(_find(document, "ram:IssueDateTime"), here, BT2, required=True)
    currency = reader.currency(_find(settlement, "ram:InvoiceCurrencyCode"), [settlement, transaction, root])
    terms = _findall(settlement, "ram:SpecifiedTradePaymentTerms")
    due_dates = _dates(reader, [h for t in terms if (h := _find(t, "ram:DueDateDateTime")) is not None], BT9)
    terms_text = [text for t in terms if (text := _Reader.text(_find(t, "ram:Description"))) is not None]
    delivered = reader.cii_date(
        _find(delivery, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime"), [delivery], BT72, required=False
    )
    period_end = reader.cii_date(
        _find(settlement, "ram:BillingSpecifiedPeriod/ram:EndDateTime"), [settlement], BT74, required=False
    )
    money_here = [summation, settlement, transaction, root]
    basis = reader.amount(_find(summation, "ram:TaxBasisTotalAmount"), money_here, BT109, currency)
    vat_elements = _findall(summation, "ram:TaxTotalAmount")
    vat = reader.vat_total(vat_elements, money_here, currency)
    order = reader.reference(_find(agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"), BT13)
    preceding = reader.reference(_find(settlement, "ram:InvoiceReferencedDocument/ram:IssuerAssignedID"), BT25)
    buyer = reader.buyer(_cii_party(_find(agreement, "ram:BuyerTradeParty")), [agreement, transaction, root])
    return _Values(
        number=number,
        type_code=type_code,
        credit_note_root=False,
        issue_date=issued,
        currency=currency,
        due_dates=due_dates,
        terms=terms_text,
        delivered=delivered,
        period_end=period_end,
        basis=basis,
        vat=vat,
        vat_element=vat_elements[0] if vat_elements else summation,
        order=order,
        preceding=preceding,
        buyer=buyer,
        payee=_Reader.text(_find(settlement, "ram:PayeeTradeParty/ram:Name")),
    )


# --------------------------------------------------------------------------
# UBL 2.1 (Peppol BIS, EN 16931, EXTENDED-CTC-FR)
# --------------------------------------------------------------------------


def _ubl_party(party: Element | None) -> _Party | None:
    if party is None:
        return None
    result = _Party(element=party, name=_Reader.text(_find(party, "cac:PartyLegalEntity/cbc:RegistrationName")))
    result.trading_name = _Reader.text(_find(party, "cac:PartyName/cbc:Name"))
    result.country = _find(party, "cac:PostalAddress/cac:Country/cbc:IdentificationCode")
    for element in _findall(party, "cac:PartyIdentification/cbc:ID"):
        if result.account is None and element.get("schemeID") is None:
            value = _Reader.text(element)
            if value is not None and len(value) <= MAX_TEXT_CHARS:
                result.account = value
    sources = (
        ("cac:PartyLegalEntity/cbc:CompanyID", BT47),
        ("cac:PartyIdentification/cbc:ID", BT46),
        ("cbc:EndpointID", BT49),
    )
    for path, term in sources:
        for element in _findall(party, path):
            scheme = (element.get("schemeID") or "").strip()
            value = (element.text or "").strip()
            if scheme and value:
                result.identifiers.append((scheme, value, element, term))
    for tax_scheme in _findall(party, "cac:PartyTaxScheme"):
        if (_Reader.text(_find(tax_scheme, "cac:TaxScheme/cbc:ID")) or "").upper() != "VAT":
            continue
        company = _find(tax_scheme, "cbc:CompanyID")
        value = (company.text or "").strip() if company is not None else ""
        if company is not None and value:
            result.identifiers.append(("VA", value, company, BT48))
    return result


def _ubl_values(reader: _Reader, root: Element, *, credit_note: bool) -> _Values:
    here = [root]
    number = reader.required_text(_find(root, "cbc:ID"), here, BT1)
    type_element = _find(root, "cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode")
    if credit_note and type_element is None:
        type_code: str | None = "381"  # the root already says what the document is
    else:
        type_code = reader.type_code(type_element, here)
    issued = reader.iso_date(_find(root, "cbc:IssueDate"), here, BT2, required=True)
    currency = reader.currency(_find(root, "cbc:DocumentCurrencyCode"), here)
    due_dates: list[date] = []
    for element in [_find(root, "cbc:DueDate"), *_findall(root, "cac:PaymentMeans/cbc:PaymentDueDate")]:
        value = reader.iso_date(element, here, BT9, required=False)
        if value is not None:
            due_dates.append(value)
    terms_text = [text for e in _findall(root, "cac:PaymentTerms/cbc:Note") if (text := _Reader.text(e)) is not None]
    delivered = reader.iso_date(_find(root, "cac:Delivery/cbc:ActualDeliveryDate"), here, BT72, required=False)
    period_end = reader.iso_date(_find(root, "cac:InvoicePeriod/cbc:EndDate"), here, BT74, required=False)
    totals = _find(root, "cac:LegalMonetaryTotal")
    basis = reader.amount(_find(totals, "cbc:TaxExclusiveAmount"), [totals, root], BT109, currency)
    vat_elements = _findall(root, "cac:TaxTotal/cbc:TaxAmount")
    vat = reader.vat_total(vat_elements, here, currency)
    order = reader.reference(_find(root, "cac:OrderReference/cbc:ID"), BT13)
    preceding = reader.reference(_find(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"), BT25)
    buyer = reader.buyer(_ubl_party(_find(root, "cac:AccountingCustomerParty/cac:Party")), here)
    payee = _Reader.text(_find(root, "cac:PayeeParty/cac:PartyLegalEntity/cbc:RegistrationName")) or _Reader.text(
        _find(root, "cac:PayeeParty/cac:PartyName/cbc:Name")
    )
    return _Values(
        number=number,
        type_code=type_code,
        credit_note_root=credit_note,
        issue_date=issued,
        currency=currency,
        due_dates=due_dates,
        terms=terms_text,
        delivered=delivered,
        period_end=period_end,
        basis=basis,
        vat=vat,
        vat_element=vat_elements[0] if vat_elements else root,
        order=order,
        preceding=preceding,
        buyer=buyer,
        payee=payee,
    )


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def _read_document(data: bytes, name: str, format_: str) -> LedgerFile:
    root, lines = _parse_xml(data, name)
    syntax = _ROOTS[root.tag]
    if format_ == "facturx" and syntax != "cii":
        raise file_problem(
            name,
            "the XML inside the PDF is not a CII CrossIndustryInvoice (Factur-X is CII)",
            "einvoice.unknown_format",
        )
    reader = _Reader(name, root, lines)
    if syntax == "cii":
        values = _cii_values(reader, root)
    else:
        values = _ubl_values(reader, root, credit_note=_local(root.tag) == "CreditNote")
    record = reader.record(values)
    return LedgerFile(
        name=name,
        format=format_ if format_ == "facturx" else syntax,
        records=[record] if record is not None else [],
        problems=reader.problems,
    )


def parse_einvoice(data: bytes, name: str) -> LedgerFile:
    """Parse one e-invoice (Factur-X/ZUGFeRD PDF, CII or UBL XML) into one invoice or credit note record.

    ``name`` is the file's name, used in sources and messages only. The format
    is recognised by content (see the module's documentation for the rules).
    Raises :class:`InvalidInput` (with a stable ``einvoice.*`` code) when the
    file as a whole cannot be read; a readable document with a missing or
    malformed required term comes back with problems and no record.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise file_problem(name, "expected the file's bytes", "einvoice.unknown_format")
    data = bytes(data)
    if len(data) > MAX_EINVOICE_BYTES:
        raise file_problem(name, f"larger than {MAX_EINVOICE_BYTES} bytes", "einvoice.too_large")
    head = data[:1024]
    if head.removeprefix(_UTF8_BOM).lstrip().startswith(_PDF_MAGIC):
        return _read_document(_xml_from_pdf(data, name), name, "facturx")
    if head.startswith(_WIDE_BOMS) or head.removeprefix(_UTF8_BOM).lstrip().startswith(b"<"):
        return _read_document(data, name, "xml")
    what = "an empty file" if not data.strip() else "neither a PDF nor XML"
    raise file_problem(name, f"not an e-invoice: {what} (expected Factur-X PDF, CII or UBL)", "einvoice.unknown_format")
