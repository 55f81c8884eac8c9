"""Repositories: explicit mapping between rows and domain objects."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, delete, false, func, or_, select
from sqlalchemy.orm import Session

from tradecover.domain.audit import GENESIS_HASH, AuditRecord, next_link, summary_text
from tradecover.domain.buyers import BookEntry, Buyer, LegalStatus, search_key
from tradecover.domain.errors import DomainError
from tradecover.domain.financials import STATEMENT_FIELDS, FinancialStatement
from tradecover.domain.identifiers import CompanyIdentifier, IdentifierKind, detect_identifier, siren_of
from tradecover.domain.money import Money
from tradecover.domain.monitoring import (
    Alert,
    GradeRecord,
    InsolvencyClock,
    LegalEvent,
    LegalEventKind,
)
from tradecover.domain.parties import (
    ApiKey,
    Mandate,
    MandateScope,
    MandateTerms,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from tradecover.domain.periods import Period
from tradecover.domain.policies import (
    NoticeParty,
    Policy,
    PolicyStatus,
    TerminationKind,
    TerminationNotice,
    TermsVersion,
)
from tradecover.domain.terms import DeclarationFrequency, DeductibleKind, PolicyTerms, PremiumRates
from tradecover.persistence import tables as t
from tradecover.persistence.alerts_repository import AlertRepository, alert_of
from tradecover.services.ports import Page

R = TypeVar("R")


def _paged(session: Session, query: Select[tuple[R]], page: Page) -> tuple[list[R], int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.limit(page.limit).offset(page.offset)))
    return rows, total


class OrganisationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _to_domain(row: t.OrganisationRow) -> Organisation:
        return Organisation(row.id, OrganisationKind(row.kind), row.name, row.country, row.siren, row.created_at)

    def add(self, organisation: Organisation) -> None:
        self.session.add(
            t.OrganisationRow(
                id=organisation.id,
                kind=organisation.kind.value,
                name=organisation.name,
                country=organisation.country,
                siren=organisation.siren,
                created_at=organisation.created_at,
            )
        )
        self.session.flush()

    def get(self, organisation_id: str) -> Organisation | None:
        row = self.session.get(t.OrganisationRow, organisation_id)
        return None if row is None else self._to_domain(row)

    def find_by_name(self, name: str) -> Organisation | None:
        row = self.session.scalar(select(t.OrganisationRow).where(t.OrganisationRow.name == name))
        return None if row is None else self._to_domain(row)

    def insurer(self) -> Organisation | None:
        row = self.session.scalar(
            select(t.OrganisationRow).where(t.OrganisationRow.kind == OrganisationKind.INSURER.value)
        )
        return None if row is None else self._to_domain(row)

    def list_page(
        self, *, ids: frozenset[str] | None, kind: OrganisationKind | None, page: Page
    ) -> tuple[list[Organisation], int]:
        query = select(t.OrganisationRow).order_by(t.OrganisationRow.name, t.OrganisationRow.id)
        if ids is not None:
            query = query.where(t.OrganisationRow.id.in_(ids))
        if kind is not None:
            query = query.where(t.OrganisationRow.kind == kind.value)
        rows, total = _paged(self.session, query, page)
        return [self._to_domain(r) for r in rows], total


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _to_domain(row: t.UserRow) -> User:
        return User(
            row.id,
            row.organisation_id,
            row.email,
            row.full_name,
            Role(row.role),
            row.password_hash,
            row.active,
            row.created_at,
        )

    def add(self, user: User) -> None:
        self.session.add(
            t.UserRow(
                id=user.id,
                organisation_id=user.organisation_id,
                email=user.email,
                full_name=user.full_name,
                role=user.role.value,
                password_hash=user.password_hash,
                active=user.active,
                created_at=user.created_at,
            )
        )
        self.session.flush()

    def save(self, user: User) -> None:
        """Write what may change on an account: whether it is active, and its role."""
        row = self.session.get(t.UserRow, user.id)
        assert row is not None
        row.active = user.active
        row.role = user.role.value
        self.session.flush()

    def get(self, user_id: str) -> User | None:
        row = self.session.get(t.UserRow, user_id)
        return None if row is None else self._to_domain(row)

    def by_email(self, email: str) -> User | None:
        row = self.session.scalar(select(t.UserRow).where(t.UserRow.email == email))
        return None if row is None else self._to_domain(row)

    def list_page(self, *, organisation_id: str, page: Page) -> tuple[list[User], int]:
        query = select(t.UserRow).where(t.UserRow.organisation_id == organisation_id).order_by(t.UserRow.email)
        rows, total = _paged(self.session, query, page)
        return [self._to_domain(r) for r in rows], total


class MandateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _to_domain(row: t.MandateRow) -> Mandate:
        return Mandate(
            row.id,
            row.broker_id,
            row.insured_id,
            MandateTerms(row.start_date, row.end_date, MandateScope(row.scope)),
            row.created_at,
        )

    def add(self, mandate: Mandate) -> None:
        self.session.add(
            t.MandateRow(
                id=mandate.id,
                broker_id=mandate.broker_id,
                insured_id=mandate.insured_id,
                start_date=mandate.terms.start_date,
                end_date=mandate.terms.end_date,
                scope=mandate.terms.scope.value,
                created_at=mandate.created_at,
            )
        )
        self.session.flush()

    def get(self, mandate_id: str) -> Mandate | None:
        row = self.session.get(t.MandateRow, mandate_id)
        return None if row is None else self._to_domain(row)

    def for_broker(self, broker_id: str) -> list[Mandate]:
        rows = self.session.scalars(select(t.MandateRow).where(t.MandateRow.broker_id == broker_id))
        return [self._to_domain(r) for r in rows]

    def list_page(self, *, organisation_ids: frozenset[str] | None, page: Page) -> tuple[list[Mandate], int]:
        query = select(t.MandateRow).order_by(t.MandateRow.created_at, t.MandateRow.id)
        if organisation_ids is not None:
            query = query.where(
                or_(
                    t.MandateRow.broker_id.in_(organisation_ids),
                    t.MandateRow.insured_id.in_(organisation_ids),
                )
            )
        rows, total = _paged(self.session, query, page)
        return [self._to_domain(r) for r in rows], total


class PortalSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, session_id: str, user_id: str, started_at: datetime, expires_at: datetime) -> None:
        self.session.add(
            t.PortalSessionRow(id=session_id, user_id=user_id, started_at=started_at, expires_at=expires_at)
        )
        self.session.flush()

    def is_live(self, session_id: str, user_id: str, now: datetime) -> bool:
        row = self.session.get(t.PortalSessionRow, session_id)
        return row is not None and row.user_id == user_id and row.ended_at is None and now < row.expires_at

    def end(self, session_id: str, at: datetime) -> bool:
        """Whether a live session was ended."""
        row = self.session.get(t.PortalSessionRow, session_id)
        if row is None or row.ended_at is not None:
            return False
        row.ended_at = at
        self.session.flush()
        return True


class ApiKeyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _to_domain(row: t.ApiKeyRow) -> ApiKey:
        return ApiKey(
            row.id,
            row.user_id,
            row.organisation_id,
            row.name,
            row.prefix,
            row.digest,
            row.created_at,
            row.revoked_at,
            row.last_used_at,
        )

    def add(self, key: ApiKey) -> None:
        self.session.add(
            t.ApiKeyRow(
                id=key.id,
                user_id=key.user_id,
                organisation_id=key.organisation_id,
                name=key.name,
                prefix=key.prefix,
                digest=key.digest,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
                last_used_at=key.last_used_at,
            )
        )
        self.session.flush()

    def save(self, key: ApiKey) -> None:
        row = self.session.get(t.ApiKeyRow, key.id)
        assert row is not None
        row.revoked_at = key.revoked_at
        row.last_used_at = key.last_used_at
        self.session.flush()

    def get(self, key_id: str) -> ApiKey | None:
        row = self.session.get(t.ApiKeyRow, key_id)
        return None if row is None else self._to_domain(row)

    def by_prefix(self, prefix: str) -> ApiKey | None:
        row = self.session.scalar(select(t.ApiKeyRow).where(t.ApiKeyRow.prefix == prefix))
        return None if row is None else self._to_domain(row)

    def list_page(
        self, *, user_ids: frozenset[str] | None, organisation_ids: frozenset[str] | None, page: Page
    ) -> tuple[list[ApiKey], int]:
        query = select(t.ApiKeyRow).order_by(t.ApiKeyRow.created_at, t.ApiKeyRow.id)
        if user_ids is not None:
            query = query.where(t.ApiKeyRow.user_id.in_(user_ids))
        if organisation_ids is not None:
            query = query.where(t.ApiKeyRow.organisation_id.in_(organisation_ids))
        rows, total = _paged(self.session, query, page)
        return [self._to_domain(r) for r in rows], total


class BuyerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _to_domain(self, row: t.BuyerRow, identifiers: Sequence[t.BuyerIdentifierRow] | None = None) -> Buyer:
        if identifiers is None:
            identifiers = list(
                self.session.scalars(
                    select(t.BuyerIdentifierRow)
                    .where(t.BuyerIdentifierRow.buyer_id == row.id)
                    .order_by(t.BuyerIdentifierRow.kind)
                )
            )
        return Buyer(
            id=row.id,
            legal_name=row.legal_name,
            country=row.country,
            identifiers=[CompanyIdentifier(IdentifierKind(i.kind), i.value) for i in identifiers],
            naf_code=row.naf_code,
            legal_form=row.legal_form,
            legal_status=LegalStatus(row.legal_status),
            parent_id=row.parent_id,
            risk_grade=row.risk_grade,
            created_at=row.created_at,
            city=row.city,
            graded_pd=row.probability_of_default,
            graded_at=row.graded_at,
            inputs_version=row.inputs_version,
        )

    def add(self, buyer: Buyer) -> None:
        self.session.add(
            t.BuyerRow(
                id=buyer.id,
                legal_name=buyer.legal_name,
                search_name=search_key(buyer.legal_name),
                country=buyer.country,
                naf_code=buyer.naf_code,
                legal_form=buyer.legal_form,
                legal_status=buyer.legal_status.value,
                parent_id=buyer.parent_id,
                risk_grade=buyer.risk_grade,
                city=buyer.city,
                created_at=buyer.created_at,
            )
        )
        self.session.flush()
        for identifier in buyer.identifiers:
            self.session.add(
                t.BuyerIdentifierRow(kind=identifier.kind.value, value=identifier.value, buyer_id=buyer.id)
            )
        self.session.flush()

    def get(self, buyer_id: str) -> Buyer | None:
        row = self.session.get(t.BuyerRow, buyer_id)
        return None if row is None else self._to_domain(row)

    def get_many(self, buyer_ids: Sequence[str]) -> dict[str, Buyer]:
        """Buyers with their identifiers, two queries per 500 ids (reports over a whole book)."""
        found: dict[str, Buyer] = {}
        unique = sorted(set(buyer_ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            identifiers: dict[str, list[t.BuyerIdentifierRow]] = {}
            for i in self.session.scalars(
                select(t.BuyerIdentifierRow)
                .where(t.BuyerIdentifierRow.buyer_id.in_(chunk))
                .order_by(t.BuyerIdentifierRow.buyer_id, t.BuyerIdentifierRow.kind)
            ):
                identifiers.setdefault(i.buyer_id, []).append(i)
            for row in self.session.scalars(select(t.BuyerRow).where(t.BuyerRow.id.in_(chunk))):
                found[row.id] = self._to_domain(row, identifiers.get(row.id, []))
        return found

    def find_by_identifiers(self, identifiers: Sequence[CompanyIdentifier]) -> list[Buyer]:
        if not identifiers:
            return []
        clauses = [
            (t.BuyerIdentifierRow.kind == i.kind.value) & (t.BuyerIdentifierRow.value == i.value) for i in identifiers
        ]
        ids = sorted(set(self.session.scalars(select(t.BuyerIdentifierRow.buyer_id).where(or_(*clauses)))))
        return [b for b in (self.get(i) for i in ids) if b is not None]

    def list_page(
        self, *, organisation_ids: frozenset[str] | None, search: str | None, page: Page
    ) -> tuple[list[Buyer], int]:
        query = select(t.BuyerRow).order_by(t.BuyerRow.search_name, t.BuyerRow.id)
        if organisation_ids is not None:
            in_book = select(t.BookEntryRow.buyer_id).where(t.BookEntryRow.organisation_id.in_(organisation_ids))
            query = query.where(t.BuyerRow.id.in_(in_book))
        if search:
            key = search_key(search)
            by_identifier = select(t.BuyerIdentifierRow.buyer_id).where(
                t.BuyerIdentifierRow.value.in_(identifier_values(search))
            )
            # A search of punctuation alone names nothing, not every buyer.
            by_name = t.BuyerRow.search_name.startswith(key, autoescape=True) if key else false()
            query = query.where(or_(by_name, t.BuyerRow.id.in_(by_identifier)))
        rows, total = _paged(self.session, query, page)
        ids = [r.id for r in rows]
        identifiers: dict[str, list[t.BuyerIdentifierRow]] = {i: [] for i in ids}
        for ident in self.session.scalars(
            select(t.BuyerIdentifierRow)
            .where(t.BuyerIdentifierRow.buyer_id.in_(ids))
            .order_by(t.BuyerIdentifierRow.kind)
        ):
            identifiers[ident.buyer_id].append(ident)
        return [self._to_domain(r, identifiers[r.id]) for r in rows], total

    def add_to_book(self, entry: BookEntry) -> None:
        self.session.add(
            t.BookEntryRow(
                organisation_id=entry.organisation_id,
                buyer_id=entry.buyer_id,
                customer_reference=entry.customer_reference,
                added_at=entry.added_at,
            )
        )
        self.session.flush()

    def book_entry(self, organisation_id: str, buyer_id: str) -> BookEntry | None:
        row = self.session.get(t.BookEntryRow, (organisation_id, buyer_id))
        if row is None:
            return None
        return BookEntry(row.organisation_id, row.buyer_id, row.customer_reference, row.added_at)

    def in_any_book(self, buyer_id: str, organisation_ids: frozenset[str]) -> bool:
        found = self.session.scalar(
            select(t.BookEntryRow.buyer_id)
            .where(t.BookEntryRow.buyer_id == buyer_id, t.BookEntryRow.organisation_id.in_(organisation_ids))
            .limit(1)
        )
        return found is not None

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(t.BuyerRow)) or 0

    def by_sirens(self, sirens: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        unique = sorted(set(sirens))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = self.session.execute(
                select(t.BuyerIdentifierRow.value, t.BuyerIdentifierRow.buyer_id).where(
                    t.BuyerIdentifierRow.kind == IdentifierKind.SIREN.value,
                    t.BuyerIdentifierRow.value.in_(chunk),
                )
            )
            found.update({value: buyer_id for value, buyer_id in rows})
        return found

    def book_organisations(self, buyer_id: str) -> list[str]:
        return list(
            self.session.scalars(
                select(t.BookEntryRow.organisation_id)
                .where(t.BookEntryRow.buyer_id == buyer_id)
                .order_by(t.BookEntryRow.organisation_id)
            )
        )

    def _row(self, buyer_id: str) -> t.BuyerRow:
        row = self.session.get(t.BuyerRow, buyer_id)
        if row is None:
            raise LookupError(f"buyer {buyer_id} vanished")
        return row

    def set_legal_status(self, buyer_id: str, status: LegalStatus) -> None:
        row = self._row(buyer_id)
        if row.legal_status != status.value:
            row.legal_status = status.value
            row.inputs_version += 1
        self.session.flush()

    def update_identity(self, buyer_id: str, *, legal_name: str | None, naf_code: str | None) -> None:
        row = self._row(buyer_id)
        if legal_name and legal_name != row.legal_name:
            row.legal_name = legal_name
            row.search_name = search_key(legal_name)
        if naf_code and naf_code != row.naf_code:
            row.naf_code = naf_code
            row.inputs_version += 1
        self.session.flush()

    def touch_inputs(self, buyer_id: str) -> None:
        self._row(buyer_id).inputs_version += 1
        self.session.flush()

    def record_grade(self, record: GradeRecord) -> None:
        row = self._row(record.buyer_id)
        self.session.add(grade_row(record))
        row.risk_grade = record.grade
        row.probability_of_default = record.probability_of_default
        row.graded_at = record.graded_at
        row.graded_version = record.inputs_version
        self.session.flush()

    def grade_history(self, buyer_id: str) -> list[GradeRecord]:
        rows = self.session.scalars(
            select(t.GradeHistoryRow).where(t.GradeHistoryRow.buyer_id == buyer_id).order_by(t.GradeHistoryRow.id)
        )
        return [grade_from_row(r) for r in rows]


def identifier_values(search: str) -> list[str]:
    """Stored identifier values a search may name: as typed, canonical, and the SIREN of a SIRET or VAT."""
    compact = "".join(search.split()).upper()
    values = {compact}
    try:
        identifier = detect_identifier(search)
    except DomainError:
        return sorted(values)
    values.add(identifier.value)
    siren = siren_of(identifier)
    if siren is not None:
        values.add(siren)
    return sorted(values)


def grade_row(record: GradeRecord) -> t.GradeHistoryRow:
    return t.GradeHistoryRow(
        buyer_id=record.buyer_id,
        run_id=record.run_id,
        grade=record.grade,
        previous_grade=record.previous_grade,
        probability_of_default=record.probability_of_default,
        factors=json.dumps({k: round(v, 6) for k, v in record.factors.items()}, sort_keys=True),
        model_version=record.model_version,
        inputs_version=record.inputs_version,
        graded_at=record.graded_at,
    )


def grade_from_row(row: t.GradeHistoryRow) -> GradeRecord:
    return GradeRecord(
        buyer_id=row.buyer_id,
        grade=row.grade,
        probability_of_default=row.probability_of_default,
        factors=json.loads(row.factors),
        model_version=row.model_version,
        run_id=row.run_id,
        inputs_version=row.inputs_version,
        graded_at=row.graded_at,
        previous_grade=row.previous_grade,
    )


class FinancialsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _to_domain(row: t.FinancialStatementRow) -> FinancialStatement:
        amounts: dict[str, Money | None] = {}
        for name in STATEMENT_FIELDS:
            minor = getattr(row, f"{name}_minor")
            amounts[name] = None if minor is None else Money.from_minor(minor, row.currency)
        return FinancialStatement(
            row.buyer_id,
            row.fiscal_year_end,
            row.version,
            row.currency,
            amounts,
            row.source,
            row.recorded_by,
            row.recorded_at,
        )

    def add(self, statement: FinancialStatement) -> None:
        values: dict[str, Any] = {
            f"{name}_minor": (None if (m := statement.amounts.get(name)) is None else m.to_minor())
            for name in STATEMENT_FIELDS
        }
        self.session.add(
            t.FinancialStatementRow(
                buyer_id=statement.buyer_id,
                fiscal_year_end=statement.fiscal_year_end,
                version=statement.version,
                currency=statement.currency,
                source=statement.source,
                recorded_by=statement.recorded_by,
                recorded_at=statement.recorded_at,
                **values,
            )
        )
        self.session.flush()

    def versions(self, buyer_id: str, fiscal_year_end: date) -> list[FinancialStatement]:
        rows = self.session.scalars(
            select(t.FinancialStatementRow)
            .where(
                t.FinancialStatementRow.buyer_id == buyer_id,
                t.FinancialStatementRow.fiscal_year_end == fiscal_year_end,
            )
            .order_by(t.FinancialStatementRow.version)
        )
        return [self._to_domain(r) for r in rows]

    def current(self, buyer_id: str) -> list[FinancialStatement]:
        rows = self.session.scalars(
            select(t.FinancialStatementRow)
            .where(t.FinancialStatementRow.buyer_id == buyer_id)
            .order_by(t.FinancialStatementRow.fiscal_year_end.desc(), t.FinancialStatementRow.version.desc())
        )
        latest: dict[date, FinancialStatement] = {}
        for row in rows:
            latest.setdefault(row.fiscal_year_end, self._to_domain(row))
        return list(latest.values())


class MonitoringRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_legal_event(self, event: LegalEvent) -> bool:
        exists = self.session.scalar(
            select(t.LegalEventRow.id).where(
                t.LegalEventRow.buyer_id == event.buyer_id, t.LegalEventRow.reference == event.reference
            )
        )
        if exists is not None:
            return False
        self.session.add(
            t.LegalEventRow(
                id=event.id,
                buyer_id=event.buyer_id,
                kind=event.kind.value,
                nature=event.nature[:500],
                judgment_date=event.judgment_date,
                publication_date=event.publication_date,
                source=event.source[:200],
                reference=event.reference,
                resulting_status=None if event.resulting_status is None else event.resulting_status.value,
                recorded_at=event.recorded_at,
            )
        )
        self.session.flush()
        return True

    def legal_events(self, buyer_id: str) -> list[LegalEvent]:
        rows = self.session.scalars(
            select(t.LegalEventRow)
            .where(t.LegalEventRow.buyer_id == buyer_id)
            .order_by(t.LegalEventRow.publication_date, t.LegalEventRow.recorded_at, t.LegalEventRow.id)
        )
        return [
            LegalEvent(
                r.id,
                r.buyer_id,
                LegalEventKind(r.kind),
                r.nature,
                r.judgment_date,
                r.publication_date,
                r.source,
                r.reference,
                None if r.resulting_status is None else LegalStatus(r.resulting_status),
                r.recorded_at,
            )
            for r in rows
        ]

    def start_clock(self, clock: InsolvencyClock) -> bool:
        if self.session.get(t.InsolvencyClockRow, (clock.organisation_id, clock.legal_event_id)) is not None:
            return False
        self.session.add(
            t.InsolvencyClockRow(
                organisation_id=clock.organisation_id,
                legal_event_id=clock.legal_event_id,
                buyer_id=clock.buyer_id,
                publication_date=clock.publication_date,
                deadline=clock.deadline,
                started_at=clock.started_at,
            )
        )
        self.session.flush()
        return True

    def clocks_of_organisation(self, organisation_id: str) -> list[InsolvencyClock]:
        rows = self.session.scalars(
            select(t.InsolvencyClockRow).where(t.InsolvencyClockRow.organisation_id == organisation_id)
        )
        return [
            InsolvencyClock(
                r.organisation_id, r.buyer_id, r.legal_event_id, r.publication_date, r.deadline, r.started_at
            )
            for r in rows
        ]

    def clocks(self, buyer_id: str) -> list[InsolvencyClock]:
        rows = self.session.scalars(
            select(t.InsolvencyClockRow)
            .where(t.InsolvencyClockRow.buyer_id == buyer_id)
            .order_by(t.InsolvencyClockRow.deadline, t.InsolvencyClockRow.organisation_id)
        )
        return [
            InsolvencyClock(
                r.organisation_id, r.buyer_id, r.legal_event_id, r.publication_date, r.deadline, r.started_at
            )
            for r in rows
        ]

    def raise_alert(self, alert: Alert) -> bool:
        if self.session.scalar(select(t.AlertRow.id).where(t.AlertRow.key == alert.key)) is not None:
            return False
        self.session.add(
            t.AlertRow(
                id=alert.id,
                key=alert.key,
                organisation_id=alert.organisation_id,
                kind=alert.kind.value,
                buyer_id=alert.buyer_id,
                message=alert.message[:1000],
                due_date=alert.due_date,
                created_at=alert.created_at,
                policy_id=alert.policy_id,
                state=alert.state.value,
            )
        )
        self.session.flush()
        AlertRepository(self.session).enqueue(alert, alert.created_at)
        return True

    def alerts(self, *, organisation_ids: frozenset[str] | None, page: Page) -> tuple[list[Alert], int]:
        query = select(t.AlertRow).order_by(t.AlertRow.created_at.desc(), t.AlertRow.id)
        if organisation_ids is not None:
            query = query.where(t.AlertRow.organisation_id.in_(organisation_ids))
        rows, total = _paged(self.session, query, page)
        return [alert_of(r) for r in rows], total


def _money(minor: int, currency: str) -> Money:
    return Money.from_minor(minor, currency)


def terms_to_row(version: TermsVersion) -> t.PolicyTermsRow:
    terms = version.terms
    # PolicyTerms.build fills every amount; a missing one here is a programming error.
    assert terms.deductible is not None
    assert terms.non_qualifying_loss is not None
    assert terms.discretionary_limit is not None
    assert terms.minimum_premium is not None
    assert terms.request_fee is not None
    assert terms.monitoring_fee is not None
    return t.PolicyTermsRow(
        policy_id=version.policy_id,
        version=version.version,
        effective_date=version.effective_date,
        reason=version.reason,
        created_by=version.created_by,
        created_at=version.created_at,
        currency=terms.currency,
        covered_countries=",".join(terms.covered_countries),
        indemnity_rate=terms.indemnity_rate,
        deductible_minor=terms.deductible.to_minor(),
        deductible_kind=terms.deductible_kind.value,
        non_qualifying_loss_minor=terms.non_qualifying_loss.to_minor(),
        max_credit_period_days=terms.max_credit_period_days,
        overdue_notification_days=terms.overdue_notification_days,
        insolvency_notification_days=terms.insolvency_notification_days,
        waiting_period_days=terms.waiting_period_days,
        max_liability_multiple=terms.max_liability_multiple,
        max_liability_amount_minor=(
            None if terms.max_liability_amount is None else terms.max_liability_amount.to_minor()
        ),
        discretionary_limit_minor=terms.discretionary_limit.to_minor(),
        premium_domestic_rate=terms.premium_rates.domestic_rate,
        premium_export_rate=terms.premium_rates.export_rate,
        minimum_premium_minor=terms.minimum_premium.to_minor(),
        request_fee_minor=terms.request_fee.to_minor(),
        monitoring_fee_minor=terms.monitoring_fee.to_minor(),
        no_claims_bonus_rate=terms.no_claims_bonus_rate,
        no_claims_bonus_threshold=terms.no_claims_bonus_threshold,
        reduction_notice_days=terms.reduction_notice_days,
        max_extension_days=terms.max_extension_days,
        renewal_notice_days=terms.renewal_notice_days,
        declaration_frequency=terms.declaration_frequency.value,
        declaration_days=terms.declaration_days,
        premium_instalments=terms.premium_instalments,
    )


def terms_from_row(row: t.PolicyTermsRow) -> TermsVersion:
    cur = row.currency
    terms = PolicyTerms(
        currency=cur,
        covered_countries=tuple(row.covered_countries.split(",")),
        indemnity_rate=row.indemnity_rate,
        deductible=_money(row.deductible_minor, cur),
        deductible_kind=DeductibleKind(row.deductible_kind),
        non_qualifying_loss=_money(row.non_qualifying_loss_minor, cur),
        max_credit_period_days=row.max_credit_period_days,
        overdue_notification_days=row.overdue_notification_days,
        insolvency_notification_days=row.insolvency_notification_days,
        waiting_period_days=row.waiting_period_days,
        max_liability_multiple=row.max_liability_multiple,
        max_liability_amount=(
            None if row.max_liability_amount_minor is None else _money(row.max_liability_amount_minor, cur)
        ),
        discretionary_limit=_money(row.discretionary_limit_minor, cur),
        premium_rates=PremiumRates(row.premium_domestic_rate, row.premium_export_rate),
        minimum_premium=_money(row.minimum_premium_minor, cur),
        request_fee=_money(row.request_fee_minor, cur),
        monitoring_fee=_money(row.monitoring_fee_minor, cur),
        no_claims_bonus_rate=row.no_claims_bonus_rate,
        no_claims_bonus_threshold=row.no_claims_bonus_threshold,
        reduction_notice_days=row.reduction_notice_days,
        max_extension_days=row.max_extension_days,
        renewal_notice_days=row.renewal_notice_days,
        declaration_frequency=DeclarationFrequency(row.declaration_frequency),
        declaration_days=row.declaration_days,
        premium_instalments=row.premium_instalments,
    )
    return TermsVersion(
        row.policy_id, row.version, row.effective_date, terms, row.reason, row.created_by, row.created_at
    )


class PolicyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _to_domain(self, row: t.PolicyRow) -> Policy:
        periods = self.session.scalars(
            select(t.PolicyPeriodRow).where(t.PolicyPeriodRow.policy_id == row.id).order_by(t.PolicyPeriodRow.sequence)
        )
        notice = None
        if (
            row.notice_given_on is not None
            and row.notice_given_by is not None
            and row.notice_deadline is not None
            and row.notice_effective_date is not None
        ):
            notice = TerminationNotice(
                NoticeParty(row.notice_given_by),
                row.notice_given_on,
                row.notice_reason or "",
                row.notice_deadline,
                row.notice_effective_date,
            )
        return Policy(
            row.id,
            row.number,
            row.policyholder_id,
            row.currency,
            PolicyStatus(row.status),
            [Period(p.start_date, p.end_date) for p in periods],
            row.created_at,
            termination_date=row.termination_date,
            termination_kind=None if row.termination_kind is None else TerminationKind(row.termination_kind),
            termination_reason=row.termination_reason,
            termination_notice=notice,
        )

    @staticmethod
    def _write_termination(row: t.PolicyRow, policy: Policy) -> None:
        row.termination_date = policy.termination_date
        row.termination_kind = None if policy.termination_kind is None else policy.termination_kind.value
        row.termination_reason = policy.termination_reason
        notice = policy.termination_notice
        row.notice_given_by = None if notice is None else notice.given_by.value
        row.notice_given_on = None if notice is None else notice.given_on
        row.notice_reason = None if notice is None else notice.reason
        row.notice_deadline = None if notice is None else notice.deadline
        row.notice_effective_date = None if notice is None else notice.effective_date

    def add(self, policy: Policy) -> None:
        row = t.PolicyRow(
            id=policy.id,
            number=policy.number,
            policyholder_id=policy.policyholder_id,
            currency=policy.currency,
            status=policy.status.value,
            created_at=policy.created_at,
        )
        self._write_termination(row, policy)
        self.session.add(row)
        self.session.flush()
        self._add_periods(policy, 0)

    def _add_periods(self, policy: Policy, known: int) -> None:
        for sequence, period in enumerate(policy.periods[known:], start=known + 1):
            self.session.add(
                t.PolicyPeriodRow(policy_id=policy.id, sequence=sequence, start_date=period.start, end_date=period.end)
            )
        self.session.flush()

    def save(self, policy: Policy) -> None:
        row = self.session.get(t.PolicyRow, policy.id)
        assert row is not None
        row.status = policy.status.value
        self._write_termination(row, policy)
        known = (
            self.session.scalar(
                select(func.count()).select_from(t.PolicyPeriodRow).where(t.PolicyPeriodRow.policy_id == policy.id)
            )
            or 0
        )
        self._add_periods(policy, known)

    def get(self, policy_id: str, *, lock: bool = False) -> Policy | None:
        """With ``lock``, the policy row stays locked until the end of the transaction (renewal, notice)."""
        row = self.session.get(t.PolicyRow, policy_id, with_for_update=lock, populate_existing=lock)
        return None if row is None else self._to_domain(row)

    def renewal_candidates(self, as_of: date) -> list[str]:
        """Policies in force whose last period ended on or before ``as_of``, not terminated at that end."""
        last_end = (
            select(t.PolicyPeriodRow.policy_id, func.max(t.PolicyPeriodRow.end_date).label("end_date"))
            .group_by(t.PolicyPeriodRow.policy_id)
            .subquery()
        )
        query = (
            select(t.PolicyRow.id)
            .join(last_end, last_end.c.policy_id == t.PolicyRow.id)
            .where(
                t.PolicyRow.status == PolicyStatus.IN_FORCE.value,
                last_end.c.end_date <= as_of,
                (t.PolicyRow.termination_date.is_(None)) | (t.PolicyRow.termination_date > last_end.c.end_date),
            )
            .order_by(t.PolicyRow.number)
        )
        return list(self.session.scalars(query))

    def list_page(self, *, policyholder_ids: frozenset[str] | None, page: Page) -> tuple[list[Policy], int]:
        query = select(t.PolicyRow).order_by(t.PolicyRow.number)
        if policyholder_ids is not None:
            query = query.where(t.PolicyRow.policyholder_id.in_(policyholder_ids))
        rows, total = _paged(self.session, query, page)
        return [self._to_domain(r) for r in rows], total

    def next_number(self, year: int) -> int:
        row = self.session.get(t.PolicyNumberRow, year, with_for_update=True)
        if row is None:
            row = t.PolicyNumberRow(year=year, last=0)
            self.session.add(row)
        row.last += 1
        self.session.flush()
        return row.last

    def add_terms(self, version: TermsVersion) -> None:
        self.session.add(terms_to_row(version))
        self.session.flush()

    def terms_versions(self, policy_id: str) -> list[TermsVersion]:
        rows = self.session.scalars(
            select(t.PolicyTermsRow).where(t.PolicyTermsRow.policy_id == policy_id).order_by(t.PolicyTermsRow.version)
        )
        return [terms_from_row(r) for r in rows]


def _record_from_row(row: t.AuditEventRow) -> AuditRecord:
    return AuditRecord(
        row.tenant,
        row.sequence,
        row.occurred_at,
        row.actor,
        row.action,
        row.object_type,
        row.object_id,
        json.loads(row.summary),
        row.reason,
        row.previous_hash,
    )


class AuditLog:
    def __init__(self, session: Session) -> None:
        self.session = session

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
        head = self.session.get(t.AuditHeadRow, tenant, with_for_update=True)
        if head is None:
            head = t.AuditHeadRow(tenant=tenant, sequence=0, hash=GENESIS_HASH)
            self.session.add(head)
        record, digest = next_link(
            tenant=tenant,
            previous_sequence=head.sequence,
            previous_hash=head.hash,
            occurred_at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            summary=summary,
            reason=reason,
        )
        self.session.add(
            t.AuditEventRow(
                tenant=tenant,
                sequence=record.sequence,
                occurred_at=at,
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                summary=summary_text(record),
                reason=reason,
                previous_hash=head.hash,
                hash=digest,
            )
        )
        head.sequence = record.sequence
        head.hash = digest
        self.session.flush()
        return record

    def tenants(self) -> list[str]:
        return list(self.session.scalars(select(t.AuditEventRow.tenant).distinct().order_by(t.AuditEventRow.tenant)))

    def records(self, tenant: str) -> list[tuple[AuditRecord, str]]:
        rows = self.session.scalars(
            select(t.AuditEventRow).where(t.AuditEventRow.tenant == tenant).order_by(t.AuditEventRow.sequence)
        )
        return [(_record_from_row(r), r.hash) for r in rows]

    def list_page(self, *, tenants: frozenset[str] | None, page: Page) -> tuple[list[AuditRecord], int]:
        query = select(t.AuditEventRow).order_by(t.AuditEventRow.id.desc())
        if tenants is not None:
            query = query.where(t.AuditEventRow.tenant.in_(tenants))
        rows, total = _paged(self.session, query, page)
        return [_record_from_row(r) for r in rows], total


class IdempotencyStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lookup(self, scope: str, key: str) -> tuple[str, int, bytes, str] | None:
        row = self.session.get(t.IdempotencyKeyRow, (scope, key))
        return None if row is None else (row.fingerprint, row.status, row.body, row.media_type)

    def remember(
        self, scope: str, key: str, fingerprint: str, status: int, body: bytes, media_type: str, at: datetime
    ) -> None:
        self.session.add(
            t.IdempotencyKeyRow(
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                status=status,
                body=body,
                media_type=media_type,
                created_at=at,
            )
        )
        self.session.flush()

    def purge_before(self, at: datetime) -> int:
        result = self.session.execute(delete(t.IdempotencyKeyRow).where(t.IdempotencyKeyRow.created_at < at))
        return int(getattr(result, "rowcount", 0) or 0)
