"""The composition root: settings → engine → unit of work, and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tradecover.config import Settings
from tradecover.domain.periods import Clock, SystemClock
from tradecover.persistence.engine import make_engine, make_session_factory
from tradecover.persistence.uow import SqlAlchemyUnitOfWork
from tradecover.services.login_throttle import LoginThrottle


@dataclass
class Container:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)  # shared by the API and the portal

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory)

    def dispose(self) -> None:
        self.engine.dispose()


def build(settings: Settings | None = None, clock: Clock | None = None) -> Container:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    return Container(settings, engine, make_session_factory(engine), clock or SystemClock())


UowFactory = Callable[[], SqlAlchemyUnitOfWork]
