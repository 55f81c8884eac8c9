"""The session token and the CSRF tokens of the portal's forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tradecover.api.tokens import issue_access_token, subject_of
from tradecover.domain.errors import NotAuthenticated
from tradecover.web import csrf
from tradecover.web.session import SESSION_HOURS, issue_session, read_session

SECRET = "a-test-secret-of-at-least-thirty-two-characters"
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)


def test_a_session_reads_back_until_it_expires() -> None:
    token, session = issue_session("user-1", SECRET, NOW)
    assert session.expires_at == NOW + timedelta(hours=SESSION_HOURS)
    read = read_session(token, SECRET, NOW + timedelta(hours=SESSION_HOURS) - timedelta(seconds=1))
    assert read == session
    assert read_session(token, SECRET, NOW + timedelta(hours=SESSION_HOURS)) is None


def test_each_session_has_its_own_id() -> None:
    assert issue_session("user-1", SECRET, NOW)[1].session_id != issue_session("user-1", SECRET, NOW)[1].session_id


def test_a_tampered_or_foreign_token_is_no_session() -> None:
    token, _ = issue_session("user-1", SECRET, NOW)
    assert read_session(token, "another-secret-of-at-least-thirty-two-chars", NOW) is None
    assert read_session(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), SECRET, NOW) is None
    assert read_session("", SECRET, NOW) is None
    assert read_session(None, SECRET, NOW) is None
    assert read_session("not.a.jwt", SECRET, NOW) is None


def test_an_api_access_token_is_not_a_session_and_a_session_is_not_an_access_token() -> None:
    """Both are JWTs under the same application secret: audiences and keys keep them apart."""
    access = issue_access_token("user-1", SECRET, NOW, 15)
    assert read_session(access, SECRET, NOW) is None
    session, _ = issue_session("user-1", SECRET, NOW)
    with pytest.raises(NotAuthenticated):
        subject_of(session, SECRET, NOW)


def test_a_session_signed_with_the_bare_secret_is_refused() -> None:
    payload = {"sub": "user-1", "sid": "x", "exp": int((NOW + timedelta(hours=1)).timestamp()),
               "aud": "tradecover-portal", "typ": "session"}  # fmt: skip
    assert read_session(jwt.encode(payload, SECRET, algorithm="HS256"), SECRET, NOW) is None


def test_a_csrf_token_matches_its_nonce_and_its_session_only() -> None:
    nonce = csrf.new_nonce()
    token = csrf.token_for(nonce, "session-1", SECRET)
    assert csrf.is_valid(token, nonce, "session-1", SECRET)
    assert not csrf.is_valid(token, nonce, "session-2", SECRET)
    assert not csrf.is_valid(token, nonce, csrf.ANONYMOUS, SECRET)
    assert not csrf.is_valid(token, csrf.new_nonce(), "session-1", SECRET)
    assert not csrf.is_valid(token, nonce, "session-1", "another-secret-of-at-least-thirty-two-chars")
    assert not csrf.is_valid("", nonce, "session-1", SECRET)
    assert not csrf.is_valid(token, None, "session-1", SECRET)
    assert not csrf.is_valid(nonce, nonce, "session-1", SECRET)  # the cookie's value itself is no token
