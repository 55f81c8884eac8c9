"""The audit hash chain: each hash covers the event and the previous hash."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain.audit import GENESIS_HASH, AuditRecord, ChainBreak, canonical, chain_hash, verify_chain

TENANT = "org-1"
START = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)


def chain(count: int, tenant: str = TENANT) -> list[tuple[AuditRecord, str]]:
    """``count`` linked events, each paired with its stored hash."""
    rows: list[tuple[AuditRecord, str]] = []
    previous = GENESIS_HASH
    for sequence in range(1, count + 1):
        record = AuditRecord(
            tenant=tenant,
            sequence=sequence,
            occurred_at=START + timedelta(minutes=sequence),
            actor="user:u-1",
            action="buyer.added_to_book",
            object_type="buyer",
            object_id=f"buyer-{sequence}",
            summary={"after": {"customer_reference": f"C-{sequence}"}},
            reason=None,
            previous_hash=previous,
        )
        previous = chain_hash(record)
        rows.append((record, previous))
    return rows


def problems(rows: list[tuple[AuditRecord, str]]) -> list[tuple[int, str]]:
    return [(b.sequence, b.problem) for b in verify_chain(TENANT, rows)]


# -------------------------------------------------------------------- hashes


def test_a_hash_is_a_sha256_hex_digest_that_depends_on_every_field() -> None:
    record, digest = chain(1)[0]

    assert len(digest) == 64
    assert int(digest, 16) >= 0
    changes: dict[str, Any] = {
        "tenant": "org-2",
        "sequence": 2,
        "occurred_at": record.occurred_at + timedelta(microseconds=1),
        "actor": "user:u-2",
        "action": "buyer.created",
        "object_type": "policy",
        "object_id": "other",
        "summary": {"after": {"customer_reference": "C-X"}},
        "reason": "because",
        "previous_hash": "1" * 64,
    }
    for name, value in changes.items():
        assert chain_hash(replace(record, **{name: value})) != digest, name


def test_the_canonical_form_ignores_the_order_of_summary_keys() -> None:
    record, _ = chain(1)[0]
    one = replace(record, summary={"before": {"a": 1, "b": 2}, "after": {"c": 3}})
    other = replace(record, summary={"after": {"c": 3}, "before": {"b": 2, "a": 1}})

    assert canonical(one) == canonical(other)
    assert chain_hash(one) == chain_hash(other)


def test_the_canonical_form_is_compact_sorted_json() -> None:
    record, _ = chain(1)[0]

    text = canonical(record).decode()

    assert text.startswith('{"action":"buyer.added_to_book","actor":"user:u-1",')
    assert '"occurred_at":"2026-03-15T10:01:00+00:00"' in text
    assert ": " not in text
    assert ", " not in text


# ---------------------------------------------------------------- verifying


def test_a_good_chain_verifies() -> None:
    assert verify_chain(TENANT, chain(5)) == []


def test_an_empty_chain_verifies() -> None:
    assert verify_chain(TENANT, []) == []


def test_a_changed_summary_is_reported_on_its_event() -> None:
    rows = chain(5)
    record, digest = rows[2]
    rows[2] = (replace(record, summary={"after": {"customer_reference": "forged"}}), digest)

    breaks = verify_chain(TENANT, rows)

    assert breaks == [ChainBreak(TENANT, 3, "content does not match its hash")]


def test_a_changed_event_with_a_recomputed_hash_breaks_the_next_link() -> None:
    rows = chain(5)
    forged = replace(rows[2][0], actor="user:intruder")
    rows[2] = (forged, chain_hash(forged))

    assert problems(rows) == [(4, "previous hash does not match")]


def test_a_changed_last_event_with_a_recomputed_hash_cannot_be_seen_by_the_chain_alone() -> None:
    # The chain protects what came before; the tenant's head (kept apart) protects the end.
    rows = chain(3)
    forged = replace(rows[2][0], actor="user:intruder")
    rows[2] = (forged, chain_hash(forged))

    assert problems(rows) == []


def test_a_removed_event_leaves_a_sequence_gap() -> None:
    rows = chain(5)
    del rows[2]

    assert problems(rows) == [
        (4, "sequence gap: expected 3"),
        (4, "previous hash does not match"),
    ]


def test_a_removed_first_event_is_reported() -> None:
    rows = chain(3)[1:]

    assert problems(rows) == [
        (2, "sequence gap: expected 1"),
        (2, "previous hash does not match"),
    ]


def test_a_reordered_pair_is_reported() -> None:
    rows = chain(5)
    rows[1], rows[2] = rows[2], rows[1]

    assert problems(rows) == [
        (3, "sequence gap: expected 2"),
        (3, "previous hash does not match"),
        (2, "sequence gap: expected 4"),
        (2, "previous hash does not match"),
        (4, "sequence gap: expected 3"),
        (4, "previous hash does not match"),
    ]


def test_a_break_names_its_tenant() -> None:
    rows = chain(2, tenant="insurer")
    rows[0] = (replace(rows[0][0], reason="edited"), rows[0][1])

    assert verify_chain("insurer", rows) == [ChainBreak("insurer", 1, "content does not match its hash")]


# --------------------------------------------------------------- properties


@given(st.integers(min_value=1, max_value=30))
def test_any_untouched_chain_verifies(count: int) -> None:
    assert verify_chain(TENANT, chain(count)) == []


@given(st.data())
def test_any_edit_of_a_stored_event_is_detected(data: st.DataObject) -> None:
    rows = chain(data.draw(st.integers(min_value=1, max_value=12), label="events"))
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1), label="index")
    field = data.draw(st.sampled_from(["actor", "action", "object_id", "reason", "summary"]), label="field")
    value: Any = {"forged": True} if field == "summary" else "forged"
    record, digest = rows[index]
    rows[index] = (replace(record, **{field: value}), digest)

    breaks = verify_chain(TENANT, rows)

    assert ChainBreak(TENANT, index + 1, "content does not match its hash") in breaks


@given(st.data())
def test_any_removed_event_except_the_last_is_detected(data: st.DataObject) -> None:
    rows = chain(data.draw(st.integers(min_value=2, max_value=12), label="events"))
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 2), label="index")
    del rows[index]

    breaks = verify_chain(TENANT, rows)

    assert ChainBreak(TENANT, index + 2, f"sequence gap: expected {index + 1}") in breaks
