"""The audit trail: every state change appends a hash-chained event; tampering shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

import pytest

from tradecover.domain.audit import GENESIS_HASH, AuditRecord, chain_hash
from tradecover.domain.errors import Forbidden, InvalidInput
from tradecover.domain.identifiers import generate_siren
from tradecover.domain.parties import MandateScope, Organisation, OrganisationKind, Role
from tradecover.domain.periods import FixedClock
from tradecover.services import accounts, buyers, policies
from tradecover.services.audit import list_events, verify_audit
from tradecover.services.authorization import Actor
from tradecover.services.ports import Page
from tradecover.services.recording import INSURER_TENANT

if TYPE_CHECKING:
    from fakes import FakeUnitOfWork

    from conftest import GrantMandate, MakeActor, MakeOrg


def events_after(uow: FakeUnitOfWork, count: int) -> list[AuditRecord]:
    with uow:
        return uow.audit.all_records()[count:]


def event_count(uow: FakeUnitOfWork) -> int:
    with uow:
        return len(uow.audit.all_records())


def summary_of(event: AuditRecord) -> tuple[str, str, str, str, str]:
    return (event.tenant, event.actor, event.action, event.object_type, event.object_id)


@pytest.fixture
def holder(make_org: MakeOrg) -> Organisation:
    return make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")


@pytest.fixture
def broker(make_org: MakeOrg) -> Organisation:
    return make_org(OrganisationKind.BROKER, "Courtage Durand")


# --------------------------------------------------- one event per change


def test_creating_the_insurer_is_recorded_as_the_command_line(uow: FakeUnitOfWork, clock: FixedClock) -> None:
    with uow:
        insurer = accounts.ensure_insurer(uow, clock)

    [event] = events_after(uow, 0)
    assert summary_of(event) == (
        INSURER_TENANT,
        "user:system",
        "organisation.created",
        "organisation",
        insurer.id,
    )
    assert event.occurred_at == clock.now()
    assert event.summary == {"after": {"kind": "insurer", "name": insurer.name}}


def test_creating_an_organisation_is_recorded_in_its_own_chain(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor
) -> None:
    before = event_count(uow)
    with uow:
        holder = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Dupont SAS", country="FR"
        )

    [event] = events_after(uow, before)
    assert summary_of(event) == (
        holder.id,
        admin.audit_label(),
        "organisation.created",
        "organisation",
        holder.id,
    )
    assert event.sequence == 1
    assert event.previous_hash == GENESIS_HASH
    assert event.summary["after"]["name"] == "Dupont SAS"


def test_creating_a_user_is_recorded_without_the_password(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, holder: Organisation, password: str
) -> None:
    before = event_count(uow)
    with uow:
        user = accounts.create_user(
            uow,
            clock,
            admin,
            organisation_id=holder.id,
            email="claire@dupont.fr",
            full_name="Claire",
            role=Role.INSURED_USER,
            password=password,
        )

    [event] = events_after(uow, before)
    assert summary_of(event) == (holder.id, admin.audit_label(), "user.created", "user", user.id)
    assert event.summary == {
        "after": {"email": "claire@dupont.fr", "role": "insured_user", "organisation_id": holder.id}
    }
    assert password not in repr(event)
    assert user.password_hash not in repr(event)


def test_a_mandate_is_recorded_for_the_insured_and_for_the_broker(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, holder: Organisation, broker: Organisation
) -> None:
    before = event_count(uow)
    with uow:
        mandate = accounts.create_mandate(
            uow,
            clock,
            admin,
            broker_id=broker.id,
            insured_id=holder.id,
            start_date=date(2026, 1, 1),
            end_date=date(2027, 1, 1),
            scope=MandateScope.ACT,
        )

    events = events_after(uow, before)
    assert [summary_of(e) for e in events] == [
        (holder.id, admin.audit_label(), "mandate.created", "mandate", mandate.id),
        (broker.id, admin.audit_label(), "mandate.created", "mandate", mandate.id),
    ]
    assert events[0].summary["after"]["scope"] == "act"
    assert events[0].summary["after"]["end_date"] == "2027-01-01"


def test_creating_and_revoking_an_api_key_are_recorded(
    uow: FakeUnitOfWork, clock: FixedClock, holder: Organisation, make_actor: MakeActor
) -> None:
    insured = make_actor(holder)
    before = event_count(uow)

    with uow:
        key, token = accounts.create_api_key(uow, clock, insured, name="ERP")
    with uow:
        accounts.revoke_api_key(uow, clock, insured, key.id)

    created, revoked = events_after(uow, before)
    assert summary_of(created) == (holder.id, insured.audit_label(), "api_key.created", "api_key", key.id)
    assert created.summary == {"after": {"name": "ERP", "prefix": key.prefix}}
    assert token not in repr(created)
    assert summary_of(revoked) == (holder.id, insured.audit_label(), "api_key.revoked", "api_key", key.id)
    assert revoked.summary == {"before": {"active": True}, "after": {"active": False}}


def test_a_new_buyer_is_recorded_for_the_insurer_and_the_book(
    uow: FakeUnitOfWork, clock: FixedClock, holder: Organisation, make_actor: MakeActor
) -> None:
    insured = make_actor(holder)
    before = event_count(uow)

    with uow:
        buyer, _ = buyers.add_buyer(
            uow,
            clock,
            insured,
            identifiers=[("siren", generate_siren(7))],
            legal_name="Négoce Martin",
            country="FR",
            customer_reference="C-7",
        )

    created, booked = events_after(uow, before)
    assert summary_of(created) == (INSURER_TENANT, insured.audit_label(), "buyer.created", "buyer", buyer.id)
    assert created.summary["after"]["identifiers"]["siren"] == generate_siren(7)
    assert summary_of(booked) == (holder.id, insured.audit_label(), "buyer.added_to_book", "buyer", buyer.id)
    assert booked.summary == {"after": {"customer_reference": "C-7"}}


def test_a_broker_acting_under_mandate_is_named_with_it(
    grant_mandate: GrantMandate,
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    holder: Organisation,
    broker: Organisation,
    make_actor: MakeActor,
) -> None:
    grant_mandate(broker, holder, MandateScope.ACT)
    broker_user = make_actor(broker)
    before = event_count(uow)

    with uow:
        buyers.add_buyer(
            uow,
            clock,
            broker_user,
            identifiers=[("siren", generate_siren(8))],
            legal_name="Négoce Martin",
            country="FR",
            organisation_id=holder.id,
        )

    _, booked = events_after(uow, before)
    assert booked.tenant == holder.id
    assert booked.actor == f"user:{broker_user.user_id} for organisation:{holder.id} (broker mandate)"


def test_issuing_endorsing_and_renewing_a_policy_are_recorded(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, holder: Organisation
) -> None:
    before = event_count(uow)

    with uow:
        policy, _ = policies.issue_policy(
            uow, clock, admin, policyholder_id=holder.id, start_date=date(2026, 1, 1), reason="new business"
        )
    clock.advance(timedelta(days=1))
    with uow:
        policies.endorse_policy(
            uow,
            clock,
            admin,
            policy.id,
            effective_date=date(2026, 4, 1),
            changes={"indemnity_rate": "0.85"},
            reason="insured asked",
        )
    with uow:
        policies.renew_policy(uow, clock, admin, policy.id, reason="tacit renewal")

    issued, endorsed, renewed = events_after(uow, before)
    label = admin.audit_label()
    assert summary_of(issued) == (holder.id, label, "policy.issued", "policy", policy.id)
    assert issued.reason == "new business"
    assert issued.summary["after"]["number"] == policy.number
    assert issued.summary["after"]["terms"]["indemnity_rate"] == "0.90"

    assert summary_of(endorsed) == (holder.id, label, "policy.endorsed", "policy", policy.id)
    assert endorsed.reason == "insured asked"
    assert endorsed.occurred_at == clock.now()
    assert endorsed.summary == {
        "version": 2,
        "effective_date": "2026-04-01",
        "before": {"indemnity_rate": "0.90"},
        "after": {"indemnity_rate": "0.85"},
    }

    assert summary_of(renewed) == (holder.id, label, "policy.renewed", "policy", policy.id)
    assert renewed.summary == {"after": {"period": "[2027-01-01, 2028-01-01)", "periods": 2}}
    assert [issued.sequence, endorsed.sequence, renewed.sequence] == [2, 3, 4]  # 1: the organisation


def test_a_refused_change_records_nothing(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, holder: Organisation, make_actor: MakeActor
) -> None:
    insured = make_actor(holder)
    before = event_count(uow)

    with pytest.raises(Forbidden), uow:
        policies.issue_policy(uow, clock, insured, policyholder_id=holder.id, start_date=date(2026, 1, 1))
    with pytest.raises(InvalidInput), uow:
        policies.issue_policy(
            uow,
            clock,
            admin,
            policyholder_id=holder.id,
            start_date=date(2026, 1, 1),
            terms={"indemnity_rate": "0.97"},
        )

    assert events_after(uow, before) == []


# ------------------------------------------------------------------- chain


@pytest.fixture
def busy_log(
    grant_mandate: GrantMandate,
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    holder: Organisation,
    broker: Organisation,
    make_actor: MakeActor,
) -> str:
    """A log with events in several chains; returns the policyholder's tenant."""
    insured = make_actor(holder)
    grant_mandate(broker, holder, MandateScope.READ)
    for seed in (11, 12, 13):
        with uow:
            buyers.add_buyer(
                uow,
                clock,
                insured,
                identifiers=[("siren", generate_siren(seed))],
                legal_name=f"Buyer {seed}",
                country="FR",
            )
    with uow:
        policies.issue_policy(uow, clock, admin, policyholder_id=holder.id, start_date=date(2026, 1, 1))
    return holder.id


def test_each_event_links_to_the_previous_one_of_its_tenant(uow: FakeUnitOfWork, busy_log: str) -> None:
    with uow:
        rows = uow.audit.records(busy_log)

    assert [r.sequence for r, _ in rows] == list(range(1, len(rows) + 1))
    assert rows[0][0].previous_hash == GENESIS_HASH
    for (previous, previous_hash), (record, _) in pairwise(rows):
        assert record.previous_hash == previous_hash
        assert chain_hash(previous) == previous_hash


def test_an_untouched_log_verifies(uow: FakeUnitOfWork, busy_log: str) -> None:
    with uow:
        tenants, events, breaks = verify_audit(uow)
        expected_events = len(uow.audit.all_records())

    assert breaks == []
    assert tenants == 3  # the insurer, the policyholder, the broker
    assert events == expected_events


def test_an_edited_record_breaks_the_chain(uow: FakeUnitOfWork, busy_log: str) -> None:
    with uow:
        rows = uow.audit.stored(busy_log)
        record, digest = rows[2]
        rows[2] = (replace(record, summary={"after": {"customer_reference": "forged"}}), digest)
        uow.commit()  # someone edits the table behind the application's back

    with uow:
        _, _, breaks = verify_audit(uow)

    assert [(b.tenant, b.sequence, b.problem) for b in breaks] == [(busy_log, 3, "content does not match its hash")]


def test_an_edited_record_with_a_recomputed_hash_breaks_the_next_link(uow: FakeUnitOfWork, busy_log: str) -> None:
    with uow:
        rows = uow.audit.stored(busy_log)
        forged = replace(rows[1][0], actor="user:somebody-else")
        rows[1] = (forged, chain_hash(forged))
        uow.commit()

    with uow:
        _, _, breaks = verify_audit(uow)

    assert [(b.tenant, b.sequence, b.problem) for b in breaks] == [(busy_log, 3, "previous hash does not match")]


def test_a_deleted_record_breaks_the_chain(uow: FakeUnitOfWork, busy_log: str) -> None:
    with uow:
        del uow.audit.stored(busy_log)[1]
        uow.commit()

    with uow:
        _, events_left, breaks = verify_audit(uow)

    problems = {(b.sequence, b.problem) for b in breaks}
    assert (3, "sequence gap: expected 2") in problems
    assert (3, "previous hash does not match") in problems
    assert all(b.tenant == busy_log for b in breaks)
    assert events_left == event_count(uow)


def test_tampering_that_is_not_committed_changes_nothing(uow: FakeUnitOfWork, busy_log: str) -> None:
    with uow:
        del uow.audit.stored(busy_log)[0]

    with uow:
        assert verify_audit(uow)[2] == []


# ------------------------------------------------------------------ reading


def test_only_audit_readers_list_events(
    uow: FakeUnitOfWork,
    insurer: Organisation,
    holder: Organisation,
    make_actor: MakeActor,
    busy_log: str,
) -> None:
    risk_manager = make_actor(insurer, Role.RISK_MANAGER)
    insured = make_actor(holder)

    with uow:
        with pytest.raises(Forbidden):
            list_events(uow, insured, Page())
        events, total = list_events(uow, risk_manager, Page(limit=2))
        everything = uow.audit.all_records()

    assert total == len(everything)
    assert events == list(reversed(everything))[:2]  # newest first
