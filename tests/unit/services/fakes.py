"""In-memory implementations of the service ports, for fast use-case tests.

``FakeUnitOfWork`` keeps two copies of the whole store: the *committed*
snapshot and the *working* copy the repositories read and write. Entering a
``with`` block starts from the committed snapshot; ``commit()`` makes the
working copy the new snapshot; leaving the block (or ``rollback()``) throws
away whatever was not committed — the same contract as the SQLAlchemy unit
of work.

Repositories hand out copies, as a database does: mutating an object read
from a repository changes nothing until it is passed back to ``save``.

This module is loaded by ``conftest.py`` from its path (the tests folders
have no ``__init__.py``), so it imports nothing from the tests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from tradecover.domain.audit import GENESIS_HASH, AuditRecord, next_link
from tradecover.domain.buyers import BookEntry, Buyer, search_key
from tradecover.domain.identifiers import CompanyIdentifier
from tradecover.domain.parties import ApiKey, Mandate, Organisation, OrganisationKind, User
from tradecover.domain.policies import Policy, PolicyStatus, TermsVersion
from tradecover.services.ports import Page

T = TypeVar("T")


def _page(items: Iterable[T], page: Page) -> tuple[list[T], int]:
    everything = list(items)
    return copy.deepcopy(everything[page.offset : page.offset + page.limit]), len(everything)


def _copy(item: T | None) -> T | None:
    return None if item is None else copy.deepcopy(item)


def _first(items: Iterable[T], predicate: Callable[[T], bool]) -> T | None:
    return _copy(next((i for i in items if predicate(i)), None))


@dataclass
class FakeState:
    """Everything the fake database holds; deep-copied as a whole."""

    organisations: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    mandates: dict[str, Mandate] = field(default_factory=dict)
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    buyers: dict[str, Buyer] = field(default_factory=dict)
    book: dict[tuple[str, str], BookEntry] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    terms: dict[str, list[TermsVersion]] = field(default_factory=dict)
    policy_numbers: dict[int, int] = field(default_factory=dict)
    # Per tenant, in sequence order: (record, stored hash), as the SQL table rows.
    audit: dict[str, list[tuple[AuditRecord, str]]] = field(default_factory=dict)
    # Insertion order across tenants (the SQL table's autoincrement id).
    audit_order: list[tuple[str, int]] = field(default_factory=list)


class _Repository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _state(self) -> FakeState:
        return self._uow.working


class FakeOrganisationRepository(_Repository):
    def add(self, organisation: Organisation) -> None:
        state = self._state
        if organisation.id in state.organisations:
            raise KeyError(f"duplicate organisation id {organisation.id}")
        if any(o.name == organisation.name for o in state.organisations.values()):
            raise KeyError(f"duplicate organisation name {organisation.name}")  # unique column
        state.organisations[organisation.id] = copy.deepcopy(organisation)

    def get(self, organisation_id: str) -> Organisation | None:
        return _copy(self._state.organisations.get(organisation_id))

    def find_by_name(self, name: str) -> Organisation | None:
        return _first(self._state.organisations.values(), lambda o: o.name == name)

    def list_page(
        self, *, ids: frozenset[str] | None, kind: OrganisationKind | None, page: Page
    ) -> tuple[list[Organisation], int]:
        rows = sorted(self._state.organisations.values(), key=lambda o: (o.name, o.id))
        return _page((o for o in rows if (ids is None or o.id in ids) and (kind is None or o.kind is kind)), page)

    def insurer(self) -> Organisation | None:
        return _first(self._state.organisations.values(), lambda o: o.kind is OrganisationKind.INSURER)


class FakeUserRepository(_Repository):
    def add(self, user: User) -> None:
        state = self._state
        if user.id in state.users or any(u.email == user.email for u in state.users.values()):
            raise KeyError(f"duplicate user {user.id} / {user.email}")
        state.users[user.id] = copy.deepcopy(user)

    def get(self, user_id: str) -> User | None:
        return _copy(self._state.users.get(user_id))

    def by_email(self, email: str) -> User | None:
        return _first(self._state.users.values(), lambda u: u.email == email)

    def list_page(self, *, organisation_id: str, page: Page) -> tuple[list[User], int]:
        rows = sorted(self._state.users.values(), key=lambda u: u.email)
        return _page((u for u in rows if u.organisation_id == organisation_id), page)


class FakeMandateRepository(_Repository):
    def add(self, mandate: Mandate) -> None:
        self._state.mandates[mandate.id] = copy.deepcopy(mandate)

    def get(self, mandate_id: str) -> Mandate | None:
        return _copy(self._state.mandates.get(mandate_id))

    def for_broker(self, broker_id: str) -> list[Mandate]:
        return copy.deepcopy([m for m in self._state.mandates.values() if m.broker_id == broker_id])

    def list_page(self, *, organisation_ids: frozenset[str] | None, page: Page) -> tuple[list[Mandate], int]:
        rows = sorted(self._state.mandates.values(), key=lambda m: (m.created_at, m.id))
        return _page(
            (
                m
                for m in rows
                if organisation_ids is None or m.broker_id in organisation_ids or m.insured_id in organisation_ids
            ),
            page,
        )


class FakeApiKeyRepository(_Repository):
    def add(self, key: ApiKey) -> None:
        state = self._state
        if key.id in state.api_keys or any(k.prefix == key.prefix for k in state.api_keys.values()):
            raise KeyError(f"duplicate API key {key.id} / {key.prefix}")
        state.api_keys[key.id] = copy.deepcopy(key)

    def get(self, key_id: str) -> ApiKey | None:
        return _copy(self._state.api_keys.get(key_id))

    def by_prefix(self, prefix: str) -> ApiKey | None:
        return _first(self._state.api_keys.values(), lambda k: k.prefix == prefix)

    def list_page(
        self, *, user_ids: frozenset[str] | None, organisation_ids: frozenset[str] | None, page: Page
    ) -> tuple[list[ApiKey], int]:
        rows = sorted(self._state.api_keys.values(), key=lambda k: (k.created_at, k.id))
        return _page(
            (
                k
                for k in rows
                if (user_ids is None or k.user_id in user_ids)
                and (organisation_ids is None or k.organisation_id in organisation_ids)
            ),
            page,
        )

    def save(self, key: ApiKey) -> None:
        stored = self._state.api_keys[key.id]
        # Like the SQL repository: only the mutable columns are written.
        stored.revoked_at = key.revoked_at
        stored.last_used_at = key.last_used_at


class FakeBuyerRepository(_Repository):
    def add(self, buyer: Buyer) -> None:
        state = self._state
        taken = {(i.kind, i.value) for b in state.buyers.values() for i in b.identifiers}
        clash = [i for i in buyer.identifiers if (i.kind, i.value) in taken]
        if buyer.id in state.buyers or clash:
            # The SQL primary key (kind, value) makes an identifier name one buyer only.
            raise KeyError(f"duplicate buyer {buyer.id} / identifiers {clash}")
        state.buyers[buyer.id] = copy.deepcopy(buyer)

    def get(self, buyer_id: str) -> Buyer | None:
        return _copy(self._state.buyers.get(buyer_id))

    def find_by_identifiers(self, identifiers: Sequence[CompanyIdentifier]) -> list[Buyer]:
        wanted = {(i.kind, i.value) for i in identifiers}
        ids = sorted(b.id for b in self._state.buyers.values() if wanted & {(i.kind, i.value) for i in b.identifiers})
        return copy.deepcopy([self._state.buyers[i] for i in ids])

    def list_page(
        self, *, organisation_ids: frozenset[str] | None, search: str | None, page: Page
    ) -> tuple[list[Buyer], int]:
        state = self._state
        rows = sorted(state.buyers.values(), key=lambda b: (search_key(b.legal_name), b.id))
        if organisation_ids is not None:
            in_book = {b for (o, b) in state.book if o in organisation_ids}
            rows = [b for b in rows if b.id in in_book]
        if search:
            key = search_key(search)
            compact = search.replace(" ", "").upper()
            rows = [
                b
                for b in rows
                if search_key(b.legal_name).startswith(key) or any(i.value == compact for i in b.identifiers)
            ]
        return _page(rows, page)

    def add_to_book(self, entry: BookEntry) -> None:
        key = (entry.organisation_id, entry.buyer_id)
        if key in self._state.book:
            raise KeyError(f"duplicate book entry {key}")
        self._state.book[key] = entry

    def book_entry(self, organisation_id: str, buyer_id: str) -> BookEntry | None:
        return self._state.book.get((organisation_id, buyer_id))

    def in_any_book(self, buyer_id: str, organisation_ids: frozenset[str]) -> bool:
        return any((o, buyer_id) in self._state.book for o in organisation_ids)

    def count(self) -> int:
        return len(self._state.buyers)

    def books_of(self, buyer_id: str) -> set[str]:
        """Test helper: the organisations whose book holds this buyer."""
        return {o for (o, b) in self._state.book if b == buyer_id}


class FakePolicyRepository(_Repository):
    def add(self, policy: Policy) -> None:
        state = self._state
        if policy.id in state.policies or any(p.number == policy.number for p in state.policies.values()):
            raise KeyError(f"duplicate policy {policy.id} / {policy.number}")
        state.policies[policy.id] = copy.deepcopy(policy)

    def save(self, policy: Policy) -> None:
        stored = self._state.policies[policy.id]
        # Like the SQL repository: the status changes, periods are only appended.
        stored.status = policy.status
        stored.periods.extend(copy.deepcopy(policy.periods[len(stored.periods) :]))
        stored.termination_date = policy.termination_date
        stored.termination_kind = policy.termination_kind
        stored.termination_reason = policy.termination_reason
        stored.termination_notice = policy.termination_notice

    def get(self, policy_id: str, *, lock: bool = False) -> Policy | None:
        return _copy(self._state.policies.get(policy_id))

    def renewal_candidates(self, as_of: date) -> list[str]:
        return [
            p.id
            for p in sorted(self._state.policies.values(), key=lambda p: p.number)
            if p.status is PolicyStatus.IN_FORCE
            and p.current_period.end <= as_of
            and (p.termination_date is None or p.termination_date > p.current_period.end)
        ]

    def list_page(self, *, policyholder_ids: frozenset[str] | None, page: Page) -> tuple[list[Policy], int]:
        rows = sorted(self._state.policies.values(), key=lambda p: p.number)
        return _page((p for p in rows if policyholder_ids is None or p.policyholder_id in policyholder_ids), page)

    def next_number(self, year: int) -> int:
        numbers = self._state.policy_numbers
        numbers[year] = numbers.get(year, 0) + 1
        return numbers[year]

    def add_terms(self, version: TermsVersion) -> None:
        versions = self._state.terms.setdefault(version.policy_id, [])
        if any(v.version == version.version for v in versions):
            raise KeyError(f"duplicate terms version {version.policy_id} v{version.version}")
        versions.append(version)
        versions.sort(key=lambda v: v.version)

    def terms_versions(self, policy_id: str) -> list[TermsVersion]:
        return list(self._state.terms.get(policy_id, []))


class FakeAuditLog(_Repository):
    def append(
        self,
        *,
        tenant: str,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        summary: Mapping[str, Any],
        reason: str | None,
        at: datetime,
    ) -> AuditRecord:
        state = self._state
        rows = state.audit.setdefault(tenant, [])
        sequence, previous_hash = (rows[-1][0].sequence, rows[-1][1]) if rows else (0, GENESIS_HASH)
        record, digest = next_link(
            tenant=tenant,
            previous_sequence=sequence,
            previous_hash=previous_hash,
            occurred_at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            summary=summary,
            reason=reason,
        )
        rows.append((record, digest))
        state.audit_order.append((tenant, record.sequence))
        return record

    def tenants(self) -> list[str]:
        return sorted(t for t, rows in self._state.audit.items() if rows)

    def records(self, tenant: str) -> list[tuple[AuditRecord, str]]:
        return copy.deepcopy(self._state.audit.get(tenant, []))

    def list_page(self, *, tenants: frozenset[str] | None, page: Page) -> tuple[list[AuditRecord], int]:
        state = self._state
        by_key = {(r.tenant, r.sequence): r for rows in state.audit.values() for r, _ in rows}
        newest_first = (by_key[k] for k in reversed(state.audit_order) if k in by_key)
        return _page((r for r in newest_first if tenants is None or r.tenant in tenants), page)

    # ---------------------------------------------------------- test helpers

    def stored(self, tenant: str) -> list[tuple[AuditRecord, str]]:
        """The live stored rows of one tenant, for tests that tamper with the log."""
        return self._state.audit.setdefault(tenant, [])

    def all_records(self) -> list[AuditRecord]:
        """Every record, in insertion order across tenants."""
        by_key = {(r.tenant, r.sequence): r for rows in self._state.audit.values() for r, _ in rows}
        return [by_key[k] for k in self._state.audit_order if k in by_key]


class FakeUnitOfWork:
    """A unit of work over :class:`FakeState`; rolled back unless committed."""

    def __init__(self) -> None:
        self.committed_state = FakeState()
        self.working = FakeState()
        self.committed = False
        self.commit_count = 0
        self._open = False
        self._organisations = FakeOrganisationRepository(self)
        self._users = FakeUserRepository(self)
        self._mandates = FakeMandateRepository(self)
        self._api_keys = FakeApiKeyRepository(self)
        self._buyers = FakeBuyerRepository(self)
        self._policies = FakePolicyRepository(self)
        self._audit = FakeAuditLog(self)

    @property
    def organisations(self) -> FakeOrganisationRepository:
        return self._organisations

    @property
    def users(self) -> FakeUserRepository:
        return self._users

    @property
    def mandates(self) -> FakeMandateRepository:
        return self._mandates

    @property
    def api_keys(self) -> FakeApiKeyRepository:
        return self._api_keys

    @property
    def buyers(self) -> FakeBuyerRepository:
        return self._buyers

    @property
    def policies(self) -> FakePolicyRepository:
        return self._policies

    @property
    def audit(self) -> FakeAuditLog:
        return self._audit

    def __enter__(self) -> Self:
        if self._open:
            # A nested block would silently drop the outer block's uncommitted work.
            raise RuntimeError("the fake unit of work is already open")
        self._open = True
        self.working = copy.deepcopy(self.committed_state)
        self.committed = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        self._open = False

    def commit(self) -> None:
        self.committed_state = copy.deepcopy(self.working)
        self.committed = True
        self.commit_count += 1

    def rollback(self) -> None:
        self.working = copy.deepcopy(self.committed_state)
