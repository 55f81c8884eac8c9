"""Claims (*sinistres*, DOMAIN.md §8): cause, date of loss, required documents, states.

A claim is per buyer and policy. It opens on the buyer's insolvency (from the
judgment) or on protracted default (once the waiting period since the overdue
notification has run). It stays pending until its documents are complete; it
is settled by a claims handler, with a second one's approval above a set
amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from tradecover.domain.deadlines import waiting_period_end
from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.money import Money


class ClaimCause(StrEnum):
    INSOLVENCY = "insolvency"
    PROTRACTED_DEFAULT = "protracted_default"


class DocumentKind(StrEnum):
    UNPAID_INVOICES = "unpaid_invoices"
    PROOF_OF_DELIVERY = "proof_of_delivery"
    COLLECTION_ATTEMPTS = "collection_attempts"
    ADMINISTRATOR_CLAIM_FILING = "administrator_claim_filing"  # insolvency only
    OTHER = "other"


def required_documents(cause: ClaimCause) -> tuple[DocumentKind, ...]:
    """Seed 001: unpaid invoices, proof of delivery, proof of collection attempts; in an insolvency also
    the claim filed with the administrator (DOMAIN.md §7)."""
    base = (DocumentKind.UNPAID_INVOICES, DocumentKind.PROOF_OF_DELIVERY, DocumentKind.COLLECTION_ATTEMPTS)
    if cause is ClaimCause.INSOLVENCY:
        return (*base, DocumentKind.ADMINISTRATOR_CLAIM_FILING)
    return base


def missing_documents(cause: ClaimCause, provided: Iterable[DocumentKind]) -> tuple[DocumentKind, ...]:
    have = set(provided)
    return tuple(kind for kind in required_documents(cause) if kind not in have)


class ClaimStatus(StrEnum):
    PENDING = "pending"  # documents missing
    COMPLETE = "complete"  # documents complete, not settled yet
    AWAITING_APPROVAL = "awaiting_approval"  # computed, above the four-eyes amount
    SETTLED = "settled"
    REFUSED = "refused"  # nothing to indemnify (non-qualifying loss, no covered loss)


CLAIM_MOVES: Mapping[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.PENDING: frozenset({ClaimStatus.COMPLETE}),
    ClaimStatus.COMPLETE: frozenset({ClaimStatus.AWAITING_APPROVAL, ClaimStatus.SETTLED, ClaimStatus.REFUSED}),
    ClaimStatus.AWAITING_APPROVAL: frozenset({ClaimStatus.SETTLED, ClaimStatus.COMPLETE}),
    ClaimStatus.SETTLED: frozenset(),
    ClaimStatus.REFUSED: frozenset(),
}


def check_claim_move(current: ClaimStatus, new: ClaimStatus) -> None:
    if new not in CLAIM_MOVES[current]:
        raise RuleBroken(
            f"a claim {current.value} cannot become {new.value}",
            code="claim.invalid_transition",
            context={"from": current.value, "to": new.value},
        )


@dataclass(frozen=True)
class LossEvent:
    """What makes a loss: the cause and its date (DOMAIN.md §8 "the date of loss")."""

    cause: ClaimCause
    date_of_loss: date


def loss_event(
    *,
    notified_on: date,
    waiting_period_days: int,
    insolvency_judgment_date: date | None,
) -> LossEvent:
    """The insolvency judgment's date; else the end of the waiting period since the first notification.

    When both apply the earlier one makes the loss: an insolvency judged during the waiting period
    ends it.
    """
    protracted = waiting_period_end(notified_on, waiting_period_days)
    if insolvency_judgment_date is not None and insolvency_judgment_date <= protracted:
        return LossEvent(ClaimCause.INSOLVENCY, insolvency_judgment_date)
    return LossEvent(ClaimCause.PROTRACTED_DEFAULT, protracted)


def check_can_open(event: LossEvent, on: date) -> None:
    if event.cause is ClaimCause.PROTRACTED_DEFAULT and on < event.date_of_loss:
        raise RuleBroken(
            f"the waiting period runs until {event.date_of_loss}: a claim for protracted default opens then",
            code="claim.waiting_period_running",
            field="on",
            context={"date_of_loss": event.date_of_loss.isoformat()},
        )


# --- Documents -------------------------------------------------------------------------------------------

#: Accepted document types: declared content type → the bytes a real file of that type starts with.
DOCUMENT_SIGNATURES: Mapping[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
EXTENSIONS: Mapping[str, str] = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


def check_document(filename: str, content_type: str | None, content: bytes, *, max_bytes: int) -> str:
    """The checked content type of an uploaded document, or a refusal naming what is wrong.

    The declared type, the file name's extension and the first bytes must agree: a script renamed
    ``.pdf`` is refused. Returns the content type to store.
    """
    if not content:
        raise InvalidInput("the document is empty", code="claim.document_empty", field="file")
    if len(content) > max_bytes:
        raise InvalidInput(
            f"the document is {len(content)} bytes; the limit is {max_bytes}",
            code="claim.document_too_large",
            field="file",
            context={"size": len(content), "max_bytes": max_bytes},
        )
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    by_name = EXTENSIONS.get(suffix)
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared in ("", "application/octet-stream"):
        declared = by_name or ""
    if declared not in DOCUMENT_SIGNATURES or by_name != declared:
        raise InvalidInput(
            f"{filename!r}: only PDF, PNG, JPEG or TIFF documents are accepted, with a matching file name",
            code="claim.document_type",
            field="file",
            context={"content_type": content_type, "accepted": sorted(DOCUMENT_SIGNATURES)},
        )
    if not content.startswith(DOCUMENT_SIGNATURES[declared]):
        raise InvalidInput(
            f"{filename!r} is not a {declared} file: its content does not match its type",
            code="claim.document_type",
            field="file",
        )
    return declared


def safe_filename(filename: str) -> str:
    """The name to store and send back: no path, no control characters, at most 120 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c if c.isprintable() and c not in '"<>:|?*' else "_" for c in name).strip(" .")
    return (name or "document")[-120:]


@dataclass(frozen=True)
class ClaimDocument:
    id: str
    claim_id: str
    kind: DocumentKind
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True)
class Claim:
    id: str
    reference: str
    policy_id: str
    buyer_id: str
    notification_id: str
    cause: ClaimCause
    date_of_loss: date
    opened_on: date
    opened_at: datetime
    opened_by: str
    status: ClaimStatus
    indemnity: Money | None = None  # once settled
    loss: Money | None = None
    settled_on: date | None = None


class SettlementStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    SETTLED = "settled"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"  # an approval refused: the claim goes back to complete


@dataclass(frozen=True)
class ClaimSettlement:
    """One computation of a claim's indemnity, with its statement (JSON-ready)."""

    id: str
    claim_id: str
    policy_id: str
    status: SettlementStatus
    computed_on: date
    computed_at: datetime
    computed_by: str
    cause: ClaimCause
    date_of_loss: date
    policy_year_start: date
    loss: Money
    covered_loss: Money
    indemnity: Money
    aggregate_deductible: Money
    statement: Mapping[str, object]
    approved_by: str | None = None
    approved_at: datetime | None = None


@dataclass(frozen=True)
class ClaimRecovery:
    id: str
    claim_id: str
    received_on: date
    amount: Money
    insurer_share: Money
    insured_share: Money
    rule: str
    source: str
    reference: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class ClaimMovement:
    """One side of a paired money movement (see persistence ``ClaimMovementRow``)."""

    id: str
    transaction_id: str
    claim_id: str
    kind: str  # "indemnity" | "recovery_share"
    account: str
    amount: Money  # signed, from the account's point of view
    on: date
    reference: str
    recorded_at: datetime


def paired(
    *,
    ids: tuple[str, str],
    transaction_id: str,
    claim_id: str,
    kind: str,
    source: str,
    target: str,
    amount: Money,
    on: date,
    reference: str,
    at: datetime,
) -> tuple[ClaimMovement, ClaimMovement]:
    """Money leaving ``source`` for ``target``: two entries of one transaction summing to zero."""
    return (
        ClaimMovement(ids[0], transaction_id, claim_id, kind, source, -amount, on, reference, at),
        ClaimMovement(ids[1], transaction_id, claim_id, kind, target, amount, on, reference, at),
    )
