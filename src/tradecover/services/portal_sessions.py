"""The portal's logins on record: a session cookie is worth something only while its session is live.

The cookie is signed and expires by itself; the record adds what a signature cannot: logging out ends the
session for good, so a copy of the cookie (a shared computer, a stolen file) is worth nothing afterwards.
Logging in and out are events of the user's organisation's audit chain; the session's id never is (it binds
the CSRF tokens of its forms).
"""

from __future__ import annotations

from datetime import datetime

from tradecover.domain.periods import Clock
from tradecover.services.authorization import Actor
from tradecover.services.ports import UnitOfWork
from tradecover.services.recording import record


def start_session(uow: UnitOfWork, clock: Clock, actor: Actor, session_id: str, expires_at: datetime) -> None:
    """Record a login of ``actor``'s user (does not commit)."""
    uow.portal_sessions.add(session_id, actor.user_id, clock.now(), expires_at)
    record(
        uow,
        clock,
        actor,
        tenant=actor.organisation_id,
        action="portal.logged_in",
        object_type="user",
        object_id=actor.user_id,
        summary={"expires_at": expires_at.isoformat()},
    )


def is_live(uow: UnitOfWork, clock: Clock, session_id: str, user_id: str) -> bool:
    return uow.portal_sessions.is_live(session_id, user_id, clock.now())


def end_session(uow: UnitOfWork, clock: Clock, actor: Actor, session_id: str) -> None:
    """Record a logout (does not commit); a session already ended stays as it was."""
    if uow.portal_sessions.end(session_id, clock.now()):
        record(
            uow,
            clock,
            actor,
            tenant=actor.organisation_id,
            action="portal.logged_out",
            object_type="user",
            object_id=actor.user_id,
            summary={},
        )
