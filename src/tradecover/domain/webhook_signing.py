"""Signing webhook deliveries, checking them on receipt, and the retry schedule.

A delivery carries three headers: the Unix time it was signed at
(:data:`TIMESTAMP_HEADER`), the event's stable id (:data:`EVENT_ID_HEADER`) and
the signature (:data:`SIGNATURE_HEADER`)::

    X-Tradecover-Timestamp: 1773568800
    X-Tradecover-Signature: v1=<64 hex digits>
    X-Tradecover-Event-Id: 0b1e…

The signature is ``"v1=" + hex(HMAC-SHA256(secret, b"<timestamp>." + body))``.
Binding the timestamp into the MAC lets the receiver refuse replays of a
captured request once it falls outside the tolerance window; the raw body (not
a re-serialisation of the JSON) is signed so that the receiver can verify the
bytes it actually got before parsing them.

During a secret rotation the sender signs with the new and the old secrets and
sends all the signatures in one header, comma separated
(``v1=<new>,v1=<old>``): a receiver verifies with whichever secret it knows,
so both sides can switch at their own pace.

Pure functions, standard library only: no clock is read here (``now`` is a
parameter) so the window's edges can be tested exactly.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import timedelta
from secrets import token_urlsafe

from tradecover.domain.errors import InvalidInput

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "EVENT_ID_HEADER",
    "MAX_ATTEMPTS",
    "SIGNATURE_HEADER",
    "SIGNATURE_SCHEME",
    "TIMESTAMP_HEADER",
    "new_secret",
    "retry_delay",
    "sign",
    "sign_many",
    "verify",
]

SIGNATURE_HEADER = "X-Tradecover-Signature"
TIMESTAMP_HEADER = "X-Tradecover-Timestamp"
EVENT_ID_HEADER = "X-Tradecover-Event-Id"

SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300

#: Deliveries of one event, the first included; after the last failure the
#: outbox gives up (dead letter). With :func:`retry_delay`'s defaults the seven
#: waits between the eight attempts add up to 30 s × (2⁷ − 1) ≈ 63.5 minutes.
MAX_ATTEMPTS = 8

# A Unix time in seconds has 10 digits until the year 2286; 15 leaves room and
# keeps a hostile header from making ``int()`` parse thousands of digits.
_MAX_TIMESTAMP_DIGITS = 15
_PREFIX = SIGNATURE_SCHEME + "="


def _secret_bytes(secret: str) -> bytes:
    if not isinstance(secret, str) or not secret:
        raise InvalidInput("the webhook secret must be a non-empty string", code="webhook.bad_secret", field="secret")
    try:
        return secret.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInput(
            "the webhook secret is not encodable as UTF-8", code="webhook.bad_secret", field="secret"
        ) from error


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise InvalidInput(
            f"the timestamp must be a non-negative int (Unix seconds), got {timestamp!r}",
            code="webhook.bad_timestamp",
            field="timestamp",
        )
    if len(str(timestamp)) > _MAX_TIMESTAMP_DIGITS:
        raise InvalidInput(
            f"the timestamp {timestamp} is out of range", code="webhook.bad_timestamp", field="timestamp"
        )


def _mac(key: bytes, timestamp: int, body: bytes) -> str:
    if not isinstance(body, bytes | bytearray | memoryview):
        raise InvalidInput("the signed body must be bytes", code="webhook.bad_body", field="body")
    return hmac.new(key, f"{timestamp}.".encode("ascii") + bytes(body), hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1=<hex>`` signature of ``body`` sent at ``timestamp`` (Unix seconds)."""
    key = _secret_bytes(secret)
    _check_timestamp(timestamp)
    return _PREFIX + _mac(key, timestamp, body)


def sign_many(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """The signature header's value for several secrets (rotation): ``v1=<a>,v1=<b>``.

    The first secret is the current one; duplicates are signed once.
    """
    if isinstance(secrets, str) or not secrets:
        raise InvalidInput(
            "give a non-empty sequence of secrets (not a single string)", code="webhook.bad_secret", field="secret"
        )
    distinct = list(dict.fromkeys(secrets))
    return ",".join(sign(secret, timestamp, body) for secret in distinct)


def _parse_timestamp(header: str) -> int:
    # Strict: ASCII digits only. ``int()`` would also take " 12", "+12", "1_2"
    # and Unicode digits, none of which a conforming sender produces.
    value = header.strip() if isinstance(header, str) else ""
    if not value or len(value) > _MAX_TIMESTAMP_DIGITS or not (value.isascii() and value.isdigit()):
        raise InvalidInput(
            f"the {TIMESTAMP_HEADER} header must hold Unix seconds, got {str(header)[:40]!r}",
            code="webhook.bad_timestamp",
            field=TIMESTAMP_HEADER,
        )
    return int(value)


def verify(
    secret: str,
    *,
    timestamp_header: str,
    signature_header: str,
    body: bytes,
    now: int,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a received delivery; return quietly when it is authentic and fresh.

    Raises :class:`InvalidInput` with code

    * ``webhook.bad_timestamp`` when the timestamp header is not Unix seconds;
    * ``webhook.stale`` when it is more than ``tolerance_seconds`` away from
      ``now``, in the past (a replay) or in the future (a forged or badly
      skewed clock);
    * ``webhook.bad_signature`` when no ``v1=`` signature in the header matches.

    The signature header may hold several comma-separated signatures (secret
    rotation); entries of other schemes are ignored. Each candidate is compared
    in constant time with :func:`hmac.compare_digest`.
    """
    key = _secret_bytes(secret)
    if isinstance(tolerance_seconds, bool) or not isinstance(tolerance_seconds, int) or tolerance_seconds < 0:
        raise InvalidInput(
            f"tolerance_seconds must be a non-negative int, got {tolerance_seconds!r}",
            code="webhook.bad_tolerance",
            field="tolerance_seconds",
        )
    timestamp = _parse_timestamp(timestamp_header)
    if abs(now - timestamp) > tolerance_seconds:
        raise InvalidInput(
            f"the delivery was signed at {timestamp}, {now - timestamp:+d} s from now; "
            f"the tolerance is ±{tolerance_seconds} s",
            code="webhook.stale",
            field=TIMESTAMP_HEADER,
        )
    expected = _mac(key, timestamp, body).encode("ascii")
    candidates = [
        part.strip()[len(_PREFIX) :]
        for part in (signature_header if isinstance(signature_header, str) else "").split(",")
        if part.strip().startswith(_PREFIX)
    ]
    matched = False
    for candidate in candidates:
        # No early exit: the time taken does not tell which entry matched.
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", errors="replace"))
    if not matched:
        raise InvalidInput(
            "no signature in the header matches the body and timestamp"
            if candidates
            else f"the {SIGNATURE_HEADER} header holds no {_PREFIX} signature",
            code="webhook.bad_signature",
            field=SIGNATURE_HEADER,
        )


def retry_delay(attempt: int, *, base_seconds: int = 30, cap_seconds: int = 6 * 3600) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1 = the first delivery).

    ``base_seconds × 2^(attempt − 1)``, at most ``cap_seconds``: 30 s, 1 min,
    2 min, 4 min…

    Deliberately without jitter. Jitter exists to stop many clients that failed
    together from retrying in lockstep; here the outbox owns the schedule (it
    picks due rows in batches at its own pace and spreads them), so a
    deterministic rule keeps the next-attempt time reproducible, stored,
    auditable and testable to the second.
    """
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise InvalidInput(f"attempt counts from 1, got {attempt!r}", code="webhook.bad_attempt", field="attempt")
    if base_seconds < 1 or cap_seconds < base_seconds:
        raise InvalidInput(
            f"need 1 ≤ base_seconds ≤ cap_seconds, got {base_seconds} and {cap_seconds}",
            code="webhook.bad_backoff",
            field="base_seconds",
        )
    # Past 2^62 the cap has long been reached; bounding the shift keeps the
    # intermediate integer small for absurd attempt numbers.
    exponent = min(attempt - 1, 62)
    return timedelta(seconds=min(base_seconds << exponent, cap_seconds))


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, URL-safe base64 (43 characters)."""
    return token_urlsafe(32)
