"""The audit chain: each event's hash covers its content and the previous hash.

Pure functions, so the same code computes hashes when appending and when
verifying; a row edited in the database no longer matches its hash, and
every later link breaks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    tenant: str
    sequence: int
    occurred_at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    summary: Mapping[str, Any]
    reason: str | None
    previous_hash: str


def canonical(record: AuditRecord) -> bytes:
    payload = {
        "tenant": record.tenant,
        "sequence": record.sequence,
        "occurred_at": record.occurred_at.isoformat(),
        "actor": record.actor,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "summary": record.summary,
        "reason": record.reason,
        "previous_hash": record.previous_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def chain_hash(record: AuditRecord) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    tenant: str
    sequence: int
    problem: str


def verify_chain(tenant: str, rows: Iterable[tuple[AuditRecord, str]]) -> list[ChainBreak]:
    """Check one tenant's events in sequence order; ``rows`` pairs each record with its stored hash."""
    problems: list[ChainBreak] = []
    expected_previous = GENESIS_HASH
    expected_sequence = 1
    for record, stored_hash in rows:
        if record.sequence != expected_sequence:
            problems.append(ChainBreak(tenant, record.sequence, f"sequence gap: expected {expected_sequence}"))
        if record.previous_hash != expected_previous:
            problems.append(ChainBreak(tenant, record.sequence, "previous hash does not match"))
        if chain_hash(record) != stored_hash:
            problems.append(ChainBreak(tenant, record.sequence, "content does not match its hash"))
        expected_previous = stored_hash
        expected_sequence = record.sequence + 1
    return problems


def next_link(
    *,
    tenant: str,
    previous_sequence: int,
    previous_hash: str,
    occurred_at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    summary: Mapping[str, Any],
    reason: str | None,
) -> tuple[AuditRecord, str]:
    """The event that follows a chain's head, and its hash.

    The summary goes through canonical JSON first, so that what a store keeps
    as text hashes the same when it is read back.
    """
    normalised = json.loads(json.dumps(summary, sort_keys=True, default=str))
    record = AuditRecord(
        tenant,
        previous_sequence + 1,
        occurred_at,
        actor,
        action,
        object_type,
        object_id,
        normalised,
        reason,
        previous_hash,
    )
    return record, chain_hash(record)


def summary_text(record: AuditRecord) -> str:
    return json.dumps(record.summary, sort_keys=True, separators=(",", ":"))
