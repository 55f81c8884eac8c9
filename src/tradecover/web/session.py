"""The portal's session: a signed, expiring token in an HttpOnly, SameSite=Lax cookie.

The token is a JWT signed (HS256) with a key derived from the application's secret for this use alone; its
audience is the portal's, so the API, which only reads ``Authorization`` and ``X-API-Key`` headers and
requires its own audience, never takes it for a credential. Each session has a random id (``sid``) that the
CSRF tokens of its forms are bound to. Expiry is checked against the application's clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

SESSION_COOKIE = "tc_session"
ACTING_COOKIE = "tc_acting"  # the insured a broker acts for (checked against its mandates on each request)
SESSION_HOURS = 8
AUDIENCE = "tradecover-portal"
ALGORITHM = "HS256"
SESSION_TYPE = "session"


def derived_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose only, so that a token of one kind never verifies as another."""
    return hmac.new(secret.encode(), f"tradecover:{purpose}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class PortalSession:
    user_id: str
    session_id: str
    expires_at: datetime


def issue_session(user_id: str, secret: str, now: datetime, hours: int = SESSION_HOURS) -> tuple[str, PortalSession]:
    """A new session for the user: the cookie's value, and what it says."""
    session = PortalSession(user_id, secrets.token_urlsafe(16), now + timedelta(hours=hours))
    payload = {
        "sub": user_id,
        "sid": session.session_id,
        "iat": int(now.timestamp()),
        "exp": int(session.expires_at.timestamp()),
        "aud": AUDIENCE,
        "typ": SESSION_TYPE,
    }
    return jwt.encode(payload, derived_key(secret, "portal-session"), algorithm=ALGORITHM), session


def read_session(token: str | None, secret: str, now: datetime) -> PortalSession | None:
    """The session a cookie's value stands for, or None when it is missing, forged, of another kind or expired."""
    if not token:
        return None
    try:
        payload = jwt.decode(
            token,
            derived_key(secret, "portal-session"),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud", "sid"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        return None
    expires, subject, session_id = payload.get("exp"), payload.get("sub"), payload.get("sid")
    if not isinstance(expires, int) or not isinstance(subject, str) or not isinstance(session_id, str):
        return None
    if payload.get("typ") != SESSION_TYPE or now.timestamp() >= expires:
        return None
    return PortalSession(subject, session_id, datetime.fromtimestamp(expires, tz=UTC))
