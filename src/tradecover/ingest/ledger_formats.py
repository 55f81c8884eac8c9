"""Choosing the parser of a ledger file: CSV, FEC or e-invoice (Factur-X PDF, CII, UBL)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tradecover.domain.errors import InvalidInput
from tradecover.ingest.einvoice import parse_einvoice
from tradecover.ingest.fec import parse_fec
from tradecover.ingest.ledger_csv import parse_ledger_csv
from tradecover.ingest.ledger_records import LedgerFile

FORMATS = ("auto", "csv", "fec", "einvoice")
_FEC_NAME = re.compile(r"^\d{9}FEC\d{8}", re.IGNORECASE)


def detect_format(data: bytes, name: str) -> str:
    """From the content first (a PDF, an XML document, a FEC header), then the file name."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"%PDF") or head.startswith(b"<"):
        return "einvoice"
    first_line = head.split(b"\n", 1)[0].lower()
    if b"journalcode" in first_line and b"comptenum" in first_line:
        return "fec"
    if _FEC_NAME.match(name.rsplit("/", 1)[-1]):
        return "fec"
    if name.lower().endswith((".xml", ".pdf")):
        return "einvoice"
    return "csv"


def parse_ledger_file(
    data: bytes,
    name: str,
    *,
    file_format: str = "auto",
    currency: str = "EUR",
    customer_accounts: Mapping[str, str] | None = None,
    default_terms_days: int = 30,
) -> LedgerFile:
    if file_format not in FORMATS:
        raise InvalidInput(
            f"format is one of {', '.join(FORMATS)}", code="ledger_import.unknown_format", field="format"
        )
    chosen = detect_format(data, name) if file_format == "auto" else file_format
    if chosen == "fec":
        return parse_fec(
            data, name, customer_accounts=customer_accounts, currency=currency, default_terms_days=default_terms_days
        )
    if chosen == "einvoice":
        return parse_einvoice(data, name)
    return parse_ledger_csv(data, name, default_currency=currency)
