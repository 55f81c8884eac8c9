"""Checking a Tradecover webhook on the receiving side (for insureds' developers and tests).

Typical use in any web framework::

    guard = ReplayGuard()  # one per process, shared by all requests

    def handle(request):
        try:
            event = verify_request(SECRET, request.headers, request.body, now=int(time.time()),
                                   replay_guard=guard)
        except InvalidInput as error:
            if error.code == "webhook.replayed":
                return 200  # already handled: acknowledge, do not process twice
            return 400
        process(event)
        return 200

Answer a replayed event with a 2xx, not an error: when our attempt timed out
after you processed it, we send the same event id again, and a 4xx would be
taken as a permanent refusal. :class:`ReplayGuard` only remembers ids while a
captured request could still pass the timestamp check; deduplicating
deliveries for good (idempotency) needs the event ids stored with your data.
"""

from __future__ import annotations

import heapq
import json
import threading
from collections.abc import Mapping
from typing import Any

from tradecover.domain.errors import InvalidInput
from tradecover.domain.webhook_signing import (
    DEFAULT_TOLERANCE_SECONDS,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)

__all__ = ["ReplayGuard", "verify_request"]


class ReplayGuard:
    """Remembers the event ids of verified deliveries while they could be replayed.

    A delivery signed at ``t`` passes :func:`verify` until ``t + tolerance``, so
    its id is kept until then and forgotten after (memory stays bounded by the
    traffic of one window). Only feed it requests whose signature was verified
    (:func:`verify_request` does so), or anyone could block ids in advance.
    Thread-safe; in-process only (several workers need a shared store).
    """

    def __init__(self, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS) -> None:
        if tolerance_seconds < 0:
            raise InvalidInput("tolerance_seconds must be ≥ 0", code="webhook.bad_tolerance", field="tolerance_seconds")
        self.tolerance_seconds = tolerance_seconds
        self._expiry: dict[str, int] = {}
        self._queue: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _forget_expired(self, now: int) -> None:
        while self._queue and self._queue[0][0] < now:
            expiry, event_id = heapq.heappop(self._queue)
            if self._expiry.get(event_id) == expiry:
                del self._expiry[event_id]

    def check(self, event_id: str, *, timestamp: int, now: int, tolerance_seconds: int | None = None) -> None:
        """Record ``event_id`` (signed at ``timestamp``); refuse it if already seen in the window.

        ``tolerance_seconds`` is the window the signature check used, when it is
        wider than the guard's own: the id is kept for the wider of the two.
        """
        if not event_id:
            raise InvalidInput("the delivery has no event id", code="webhook.bad_event_id", field=EVENT_ID_HEADER)
        with self._lock:
            self._forget_expired(now)
            if event_id in self._expiry:
                raise InvalidInput(
                    f"event {event_id!r} was already received", code="webhook.replayed", field=EVENT_ID_HEADER
                )
            expiry = timestamp + max(self.tolerance_seconds, tolerance_seconds or 0)
            self._expiry[event_id] = expiry
            heapq.heappush(self._queue, (expiry, event_id))


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    values = [value for key, value in headers.items() if key.lower() == wanted]
    if len(values) > 1:
        raise InvalidInput(f"the {name} header appears {len(values)} times", code="webhook.bad_header", field=name)
    return values[0] if values else ""


def verify_request(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    *,
    replay_guard: ReplayGuard | None = None,
) -> dict[str, Any]:
    """Verify a received delivery and return its JSON body (an object).

    ``headers`` is looked up case-insensitively (a plain dict, or the headers
    object of ``http.server``, WSGI adapters, Starlette…). Raises
    :class:`InvalidInput`: the codes of :func:`verify`, ``webhook.bad_body``
    when the body is not a UTF-8 JSON object, and with a ``replay_guard``
    ``webhook.replayed`` for an event id seen within the window (checked
    after the signature, so only authentic ids are remembered).
    """
    timestamp_header = _header(headers, TIMESTAMP_HEADER)
    verify(
        secret,
        timestamp_header=timestamp_header,
        signature_header=_header(headers, SIGNATURE_HEADER),
        body=body,
        now=now,
        tolerance_seconds=tolerance_seconds,
    )
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInput(f"the body is not UTF-8 JSON: {error}", code="webhook.bad_body", field="body") from error
    if not isinstance(payload, dict):
        raise InvalidInput("the body is not a JSON object", code="webhook.bad_body", field="body")
    if replay_guard is not None:
        replay_guard.check(
            _header(headers, EVENT_ID_HEADER),
            timestamp=int(timestamp_header.strip()),
            now=now,
            tolerance_seconds=tolerance_seconds,
        )
    return payload
