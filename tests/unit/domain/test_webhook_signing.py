"""Webhook signatures: sign/verify, the replay window, secret rotation, the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tradecover.domain.errors import InvalidInput
from tradecover.domain.webhook_signing import (
    MAX_ATTEMPTS,
    new_secret,
    retry_delay,
    sign,
    sign_many,
    verify,
)

SECRET = "whsec-test-0123456789"
NOW = 1_773_568_800  # 2026-03-15 10:00:00 UTC
BODY = b'{"event": "alert.raised", "buyer": "Dupont SA", "ratio": "0.85"}'


def check(
    signature: str,
    *,
    secret: str = SECRET,
    timestamp: int | str = NOW,
    body: bytes = BODY,
    now: int = NOW,
    tolerance: int = 300,
) -> None:
    verify(
        secret,
        timestamp_header=str(timestamp),
        signature_header=signature,
        body=body,
        now=now,
        tolerance_seconds=tolerance,
    )


def refused(code: str, signature: str, **kwargs: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        check(signature, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code, caught.value
    return caught.value


# ------------------------------------------------------------------ signing


def test_signature_is_v1_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == "v1=" + expected


def test_round_trip() -> None:
    check(sign(SECRET, NOW, BODY))


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"body": BODY.replace(b"0.85", b"0.15")}, "webhook.bad_signature"),
        ({"body": BODY + b" "}, "webhook.bad_signature"),
        ({"timestamp": NOW + 1}, "webhook.bad_signature"),
        ({"secret": SECRET + "x"}, "webhook.bad_signature"),
    ],
)
def test_changed_body_timestamp_or_secret_fails(changes: dict[str, object], code: str) -> None:
    error = refused(code, sign(SECRET, NOW, BODY), **changes)
    assert error.field == "X-Tradecover-Signature"


@pytest.mark.parametrize("skew", [-300, -1, 0, 1, 300])
def test_timestamps_within_tolerance_pass(skew: int) -> None:
    check(sign(SECRET, NOW + skew, BODY), timestamp=NOW + skew)


@pytest.mark.parametrize("skew", [-301, 301, -86_400, 86_400])
def test_stale_and_future_timestamps_fail(skew: int) -> None:
    # Outside the window the verdict is "stale" even with a perfect signature.
    error = refused("webhook.stale", sign(SECRET, NOW + skew, BODY), timestamp=NOW + skew)
    assert error.field == "X-Tradecover-Timestamp"


def test_zero_tolerance_accepts_only_the_same_second() -> None:
    check(sign(SECRET, NOW, BODY), tolerance=0)
    refused("webhook.stale", sign(SECRET, NOW, BODY), now=NOW + 1, tolerance=0)


@pytest.mark.parametrize("header", ["", "abc", "-5", "+1773568800", "1_773_568_800", "17735688.0", "١٢٣", "9" * 40])
def test_malformed_timestamp_header_fails(header: str) -> None:
    refused("webhook.bad_timestamp", sign(SECRET, NOW, BODY), timestamp=header)


def test_timestamp_header_may_carry_surrounding_spaces() -> None:
    check(sign(SECRET, NOW, BODY), timestamp=f" {NOW} ")


@pytest.mark.parametrize(
    "header",
    ["", "   ", "v0=abcd", "sha256=" + "0" * 64, "v1=", "v1=" + "0" * 64, "v1=é"],
)
def test_missing_or_foreign_signatures_fail(header: str) -> None:
    refused("webhook.bad_signature", header)


def test_rotation_either_secret_verifies_a_double_signature() -> None:
    old, new = "old-secret", "new-secret"
    header = sign_many([new, old], NOW, BODY)
    assert header == f"{sign(new, NOW, BODY)},{sign(old, NOW, BODY)}"
    check(header, secret=new)
    check(header, secret=old)
    refused("webhook.bad_signature", header, secret="third-secret")


def test_rotation_header_tolerates_spaces_and_other_schemes() -> None:
    header = f"v0=deadbeef, {sign('old', NOW, BODY)} , v2=cafe,{sign(SECRET, NOW, BODY)}"
    check(header)
    check(header, secret="old")


def test_sign_many_signs_duplicates_once_and_refuses_a_lone_string() -> None:
    assert sign_many([SECRET, SECRET], NOW, BODY) == sign(SECRET, NOW, BODY)
    with pytest.raises(InvalidInput) as caught:
        sign_many(SECRET, NOW, BODY)
    assert caught.value.code == "webhook.bad_secret"


@pytest.mark.parametrize("timestamp", [-1, True, 1.5, 10**20])
def test_sign_refuses_bad_timestamps(timestamp: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        sign(SECRET, timestamp, BODY)  # type: ignore[arg-type]
    assert caught.value.code == "webhook.bad_timestamp"


def test_empty_secret_is_refused_on_both_sides() -> None:
    with pytest.raises(InvalidInput) as caught:
        sign("", NOW, BODY)
    assert caught.value.code == "webhook.bad_secret"
    refused("webhook.bad_secret", sign(SECRET, NOW, BODY), secret="")


def test_negative_tolerance_is_refused() -> None:
    refused("webhook.bad_tolerance", sign(SECRET, NOW, BODY), tolerance=-1)


# --------------------------------------------------------------- properties

secrets_st = st.text(min_size=1, max_size=64)
timestamps_st = st.integers(min_value=0, max_value=10**11)


@given(secret=secrets_st, timestamp=timestamps_st, body=st.binary(max_size=2048))
def test_property_signed_deliveries_verify(secret: str, timestamp: int, body: bytes) -> None:
    check(sign(secret, timestamp, body), secret=secret, timestamp=timestamp, body=body, now=timestamp)


@given(
    secret=secrets_st,
    timestamp=timestamps_st,
    body=st.binary(min_size=1, max_size=2048),
    data=st.data(),
)
def test_property_any_single_byte_change_breaks_the_signature(
    secret: str, timestamp: int, body: bytes, data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="index")
    value = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != body[index]), label="byte")
    tampered = body[:index] + bytes([value]) + body[index + 1 :]
    with pytest.raises(InvalidInput) as caught:
        check(sign(secret, timestamp, body), secret=secret, timestamp=timestamp, body=tampered, now=timestamp)
    assert caught.value.code == "webhook.bad_signature"


@given(secret=secrets_st, other=secrets_st, timestamp=timestamps_st, body=st.binary(max_size=256))
def test_property_another_secret_fails(secret: str, other: str, timestamp: int, body: bytes) -> None:
    assume(secret != other)
    with pytest.raises(InvalidInput):
        check(sign(secret, timestamp, body), secret=other, timestamp=timestamp, body=body, now=timestamp)


@given(timestamp=timestamps_st, now=timestamps_st, tolerance=st.integers(min_value=0, max_value=10_000))
def test_property_window_is_symmetric_and_inclusive(timestamp: int, now: int, tolerance: int) -> None:
    signature = sign(SECRET, timestamp, BODY)
    if abs(now - timestamp) <= tolerance:
        check(signature, timestamp=timestamp, now=now, tolerance=tolerance)
    else:
        refused("webhook.stale", signature, timestamp=timestamp, now=now, tolerance=tolerance)


# -------------------------------------------------------------- retry delay


def test_retry_delay_doubles_from_the_base() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 240, 480]


def test_retry_delay_is_capped() -> None:
    assert retry_delay(10) == timedelta(seconds=15_360)
    assert retry_delay(11) == timedelta(hours=6)
    assert retry_delay(10_000) == timedelta(hours=6)
    assert retry_delay(3, base_seconds=10, cap_seconds=25) == timedelta(seconds=25)


def test_default_schedule_gives_up_after_about_an_hour() -> None:
    waits = sum((retry_delay(n) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert MAX_ATTEMPTS == 8
    assert waits == timedelta(seconds=30 * (2**7 - 1))


@given(
    attempt=st.integers(min_value=1, max_value=200),
    base=st.integers(min_value=1, max_value=3600),
    extra=st.integers(min_value=0, max_value=86_400),
)
def test_property_retry_delay_monotone_and_capped(attempt: int, base: int, extra: int) -> None:
    cap = base + extra
    here = retry_delay(attempt, base_seconds=base, cap_seconds=cap)
    after = retry_delay(attempt + 1, base_seconds=base, cap_seconds=cap)
    assert timedelta(seconds=base) <= here <= after <= timedelta(seconds=cap)
    assert here == timedelta(seconds=min(base * 2 ** (attempt - 1), cap))


@pytest.mark.parametrize(
    ("attempt", "kwargs", "code"),
    [
        (0, {}, "webhook.bad_attempt"),
        (-1, {}, "webhook.bad_attempt"),
        (True, {}, "webhook.bad_attempt"),
        (1, {"base_seconds": 0}, "webhook.bad_backoff"),
        (1, {"base_seconds": 60, "cap_seconds": 30}, "webhook.bad_backoff"),
    ],
)
def test_retry_delay_refuses_nonsense(attempt: int, kwargs: dict[str, int], code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        retry_delay(attempt, **kwargs)
    assert caught.value.code == code


# ------------------------------------------------------------------ secrets


def test_new_secrets_are_long_url_safe_and_distinct() -> None:
    made = {new_secret() for _ in range(50)}
    assert len(made) == 50
    for secret in made:
        assert len(secret) >= 43
        assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    secret = made.pop()
    check(sign(secret, NOW, BODY), secret=secret)
