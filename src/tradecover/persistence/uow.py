"""The unit of work: one transaction; rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from tradecover.persistence.alerts_repository import AlertRepository
from tradecover.persistence.claims_repository import ClaimsRepository
from tradecover.persistence.collection_repository import CollectionRepository
from tradecover.persistence.factoring_repository import FactoringRepository
from tradecover.persistence.grading_store import SqlGradingStore
from tradecover.persistence.ledger_repository import LedgerRepository
from tradecover.persistence.limits_repository import CreditLimitRepository
from tradecover.persistence.offers_repository import OffersRepository
from tradecover.persistence.premium_repository import PremiumRepository
from tradecover.persistence.quotes_repository import QuotesRepository
from tradecover.persistence.repositories import (
    ApiKeyRepository,
    AuditLog,
    BuyerRepository,
    FinancialsRepository,
    IdempotencyStore,
    MandateRepository,
    MonitoringRepository,
    OrganisationRepository,
    PolicyRepository,
    PortalSessionRepository,
    UserRepository,
)


class SqlAlchemyUnitOfWork:
    organisations: OrganisationRepository
    users: UserRepository
    mandates: MandateRepository
    api_keys: ApiKeyRepository
    portal_sessions: PortalSessionRepository
    buyers: BuyerRepository
    policies: PolicyRepository
    audit: AuditLog
    idempotency: IdempotencyStore
    financials: FinancialsRepository
    monitoring: MonitoringRepository
    grading: SqlGradingStore
    limits: CreditLimitRepository
    ledger: LedgerRepository
    alerts: AlertRepository
    collection: CollectionRepository
    quotes: QuotesRepository
    premium: PremiumRepository
    offers: OffersRepository
    factoring: FactoringRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it in a 'with' block")
        return self._session

    def __enter__(self) -> Self:
        session = self._session_factory()
        self._session = session
        self.organisations = OrganisationRepository(session)
        self.users = UserRepository(session)
        self.mandates = MandateRepository(session)
        self.api_keys = ApiKeyRepository(session)
        self.portal_sessions = PortalSessionRepository(session)
        self.buyers = BuyerRepository(session)
        self.policies = PolicyRepository(session)
        self.audit = AuditLog(session)
        self.idempotency = IdempotencyStore(session)
        self.financials = FinancialsRepository(session)
        self.monitoring = MonitoringRepository(session)
        self.grading = SqlGradingStore(session)
        self.limits = CreditLimitRepository(session)
        self.ledger = LedgerRepository(session)
        self.alerts = AlertRepository(session)
        self.collection = CollectionRepository(session)
        self.claims = ClaimsRepository(session)
        self.quotes = QuotesRepository(session)
        self.premium = PremiumRepository(session)
        self.offers = OffersRepository(session)
        self.factoring = FactoringRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self.session.close()
            self._session = None

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
