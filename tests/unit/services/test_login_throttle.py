"""Failed logins are counted per address and per client in a sliding window; past the limit nothing is checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradecover.domain.errors import NotAuthenticated, RateLimited
from tradecover.services.login_throttle import LoginThrottle, ThrottlePolicy

T0 = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(failures_per_email=3, failures_per_client=5, window=timedelta(minutes=15))


def wrong() -> str:
    raise NotAuthenticated("wrong e-mail or password", code="auth.invalid_credentials")


def test_an_address_is_refused_after_its_failures_until_the_window_slides() -> None:
    throttle = LoginThrottle(POLICY)
    for minute in range(3):
        with pytest.raises(NotAuthenticated):
            throttle.attempt("Jane@Example.com", "10.0.0.1", T0 + timedelta(minutes=minute), wrong)
    checked: list[str] = []

    def right() -> str:
        checked.append("checked")
        return "user"

    with pytest.raises(RateLimited) as refused:  # even the right password: it is not even checked
        throttle.attempt("jane@example.com ", "10.0.0.2", T0 + timedelta(minutes=3), right)
    assert refused.value.code == "auth.too_many_attempts"
    assert refused.value.context["minutes"] == 12
    assert checked == []
    assert throttle.attempt("other@example.com", "10.0.0.1", T0 + timedelta(minutes=3), right) == "user"
    # the first failure leaves the window at T0 + 15 min: one more try is allowed, and a success clears the count
    assert throttle.attempt("jane@example.com", "10.0.0.1", T0 + timedelta(minutes=15), right) == "user"
    with pytest.raises(NotAuthenticated):
        throttle.attempt("jane@example.com", "10.0.0.1", T0 + timedelta(minutes=16), wrong)


def test_a_client_trying_many_addresses_is_refused_too() -> None:
    throttle = LoginThrottle(POLICY)
    for n in range(5):
        with pytest.raises(NotAuthenticated):
            throttle.attempt(f"user{n}@example.com", "10.0.0.9", T0, wrong)
    with pytest.raises(RateLimited):
        throttle.attempt("new@example.com", "10.0.0.9", T0, lambda: "user")
    assert throttle.attempt("new@example.com", "10.0.0.10", T0, lambda: "user") == "user"
