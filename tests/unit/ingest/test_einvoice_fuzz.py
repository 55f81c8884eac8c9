"""Fuzzing the e-invoice parser: whatever the bytes, a LedgerFile or InvalidInput, never another exception.

Longer, coverage-guided runs: ``fuzz/fuzz_einvoice.py`` (atheris).
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter

from tradecover.domain.errors import InvalidInput
from tradecover.ingest.einvoice import parse_einvoice
from tradecover.ingest.ledger_records import InvoiceRecord, LedgerFile, RecordKind

EINVOICE = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "external" / "einvoice"
SAMPLES = sorted(EINVOICE.glob("*.xml")) if EINVOICE.is_dir() else []
needs_samples = pytest.mark.skipif(not SAMPLES, reason=f"shared e-invoice samples not found at {EINVOICE}")

# `make fuzz` raises the count (TRADECOVER_FUZZ_EXAMPLES); `make test` runs a brief pass.
FUZZ = settings(
    max_examples=int(os.environ.get("TRADECOVER_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@functools.cache
def sample_bytes() -> tuple[bytes, ...]:
    return tuple(path.read_bytes() for path in SAMPLES)


@functools.cache
def facturx_pdf() -> bytes:
    """A Factur-X PDF of the smallest sample, built once."""
    xml = (EINVOICE / "akretion_factur-x-minimum.xml").read_bytes()
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("factur-x.xml", xml)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def check(data: bytes) -> None:
    """The parser's contract on any input."""
    try:
        ledger = parse_einvoice(data, "fuzz.bin")
    except InvalidInput as error:
        refusal = error
    else:
        check_ledger(ledger)
        return
    assert refusal.code.startswith("einvoice.")
    assert refusal.message.startswith("fuzz.bin: ")


def check_ledger(ledger: LedgerFile) -> None:
    assert isinstance(ledger, LedgerFile)
    assert ledger.format in ("cii", "ubl", "facturx")
    assert len(ledger.records) <= 1
    for record in ledger.records:
        assert isinstance(record, InvoiceRecord)
        assert record.kind in (RecordKind.INVOICE, RecordKind.CREDIT_NOTE)
        assert record.amount_excl_vat >= 0
        assert record.vat_amount >= 0
        assert record.number
        assert record.buyer.identifiers or record.buyer.name or record.buyer.account
    for problem in ledger.problems:
        assert problem.code.startswith("einvoice.")
        assert problem.source.file == "fuzz.bin"
        assert problem.source.line >= 1


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with a few random byte flips, insertions, deletions, duplications or a truncation."""
    data = bytearray(original)
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        if not data:
            break
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        operation = draw(st.sampled_from(["flip", "set", "insert", "delete", "duplicate", "truncate"]))
        if operation == "flip":
            data[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif operation == "set":
            data[at] = draw(st.sampled_from(b"<>&;\"'/=!?-[]%\x00\xff\xe9 0-9"))
        elif operation == "insert":
            data[at:at] = draw(
                st.sampled_from([b"<", b">", b"&amp;", b"&x;", b"<!DOCTYPE x>", b"]]>", b"<![CDATA[", b"\xc3", b"-"])
            )
        elif operation == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=64))]
        elif operation == "duplicate":
            size = draw(st.integers(min_value=1, max_value=256))
            data[at:at] = data[at : at + size]
        else:
            del data[at:]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(
    st.sampled_from([b"", b"\xef\xbb\xbf", b"%PDF-1.7\n", b"<?xml version='1.0'?>", b"\xff\xfe", b"<"]),
    st.binary(max_size=2048),
)
def test_arbitrary_bytes_behind_a_plausible_header(header: bytes, body: bytes) -> None:
    check(header + body)


@FUZZ
@given(
    st.sampled_from(
        [
            "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
            "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
            "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
        ]
    ),
    st.text(max_size=300),
)
def test_arbitrary_text_inside_a_known_root(namespace: str, body: str) -> None:
    root = "CrossIndustryInvoice" if "CrossIndustry" in namespace else namespace.rsplit(":", 1)[-1][:-2]
    check(f'<r:{root} xmlns:r="{namespace}">{body}</r:{root}>'.encode())


@needs_samples
@FUZZ
@given(st.data())
def test_mutated_samples(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(sample_bytes()))
    check(data.draw(mutated(original)))


@needs_samples
@FUZZ
@given(st.data())
def test_mutated_samples_near_their_header(data: st.DataObject) -> None:
    # Mutations in the first few KB hit the document header, where the parser reads values.
    original = data.draw(st.sampled_from(sample_bytes()))
    head = len(original) // 3
    check(data.draw(mutated(original[:head])) + original[head:])


@needs_samples
@FUZZ
@given(st.data())
def test_mutated_facturx_pdf(data: st.DataObject) -> None:
    check(data.draw(mutated(facturx_pdf())))
