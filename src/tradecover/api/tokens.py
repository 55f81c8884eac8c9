"""Short-lived JWT access tokens (OAuth2 password flow)."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt

from tradecover.domain.errors import NotAuthenticated

ALGORITHM = "HS256"
AUDIENCE = "tradecover-api"


def issue_access_token(user_id: str, secret: str, now: datetime, minutes: int) -> str:
    payload = {
        "sub": user_id,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "aud": AUDIENCE,
        "typ": "access",
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def subject_of(token: str, secret: str, now: datetime) -> str:
    """The user id a valid token names; expiry is checked against the injected clock."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise NotAuthenticated("the access token is invalid", code="auth.invalid_token") from None
    expires = payload.get("exp")
    if not isinstance(expires, int | float) or now.timestamp() >= expires:
        raise NotAuthenticated("the access token has expired", code="auth.token_expired")
    subject = payload.get("sub")
    if not isinstance(subject, str) or payload.get("typ") != "access":
        raise NotAuthenticated("the access token is invalid", code="auth.invalid_token")
    return subject
