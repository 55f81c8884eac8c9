"""Cross-site request forgery: every form the portal posts carries a token the attacker cannot know.

A signed double-submit: the ``tc_csrf`` cookie holds a random nonce; a form's hidden ``csrf_token`` is the
HMAC of that nonce and of what the form acts for (the session's id once logged in, ``anonymous`` on the
login form), under a key derived from the application's secret. A post is accepted only when the field
matches the cookie and the session, compared in constant time. Another site can neither read the cookie
nor forge the HMAC, and a nonce planted in the cookie from elsewhere signs nothing without the key.
"""

from __future__ import annotations

import hmac
import secrets

from tradecover.web.session import derived_key

CSRF_COOKIE = "tc_csrf"
CSRF_FIELD = "csrf_token"
ANONYMOUS = "anonymous"


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def token_for(nonce: str, binding: str, secret: str) -> str:
    """The hidden field's value for forms acting for ``binding`` (a session id, or :data:`ANONYMOUS`)."""
    message = f"{nonce}|{binding}".encode()
    return hmac.new(derived_key(secret, "portal-csrf"), message, "sha256").hexdigest()


def is_valid(submitted: str | None, nonce: str | None, binding: str, secret: str) -> bool:
    if not submitted or not nonce:
        return False
    return hmac.compare_digest(submitted.encode(), token_for(nonce, binding, secret).encode())
