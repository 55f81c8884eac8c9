"""Alerts by webhook: one signed HTTP POST of a JSON body to the insured's URL.

The request carries the headers described in
:mod:`tradecover.domain.webhook_signing`, ``Content-Type: application/json``
and ``User-Agent: tradecover-webhooks/1``. One :meth:`WebhookSender.post` is
one attempt; the outbox retries the same event (same id, same body, a new
timestamp and signature) on transient failures.

Outcome by response:

* 2xx — delivered, the status is returned;
* 408, 429, 5xx, network errors, timeouts — :class:`DeliveryFailed`, transient
  (``retry_after_seconds`` carries a numeric ``Retry-After`` when given);
* other 4xx — permanent: the endpoint refuses this request and will again;
* 3xx — permanent. Redirects are never followed: following one would let any
  endpoint bounce our signed POST to another host (an internal one included),
  and 301/302/303 turn a POST into a GET without body under common client
  rules. A redirecting endpoint is a configuration for the insured to fix
  (register the final URL); retrying the same URL cannot succeed.

Private networks: with ``allow_private_networks=False`` (what a multi-tenant
deployment should set; tests and single-company installs keep the default
``True``) the host is resolved before sending and every address must be
public, else :class:`InvalidInput` ``webhook.private_address``. The check is
made on resolution, before the connection: a hostile DNS server could still
answer differently the second time (DNS rebinding), so deployments that need
a hard guarantee should also send through an egress proxy that enforces it
(pass an ``httpx.Client`` configured with the proxy).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import httpx

from tradecover.domain.errors import InvalidInput
from tradecover.domain.webhook_signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_many,
)
from tradecover.notify.errors import DeliveryFailed

__all__ = ["USER_AGENT", "WebhookSender", "check_url"]

USER_AGENT = "tradecover-webhooks/1"
_MAX_EVENT_ID_LENGTH = 200
_EVENT_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


def check_url(url: object) -> httpx.URL:
    """``url`` parsed, when it is an absolute ``http``/``https`` URL; else ``webhook.bad_url``."""

    def refuse(reason: str) -> InvalidInput:
        return InvalidInput(
            f"{str(url)[:200]!r} is not a usable webhook URL: {reason}", code="webhook.bad_url", field="url"
        )

    if not isinstance(url, str):
        raise refuse("not a string")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise refuse("it contains whitespace or control characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as error:
        raise refuse(str(error)) from error
    if parsed.scheme not in ("http", "https"):
        raise refuse("only http and https are allowed")
    if not parsed.host:
        raise refuse("no host")
    return parsed


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback in disguise
    return address.is_global and not address.is_multicast


def _refuse_private(url: httpx.URL) -> None:
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise DeliveryFailed(f"cannot resolve {url.host!r}: {error}", False) from error
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 scope id ("fe80::1%eth0")
        address = ipaddress.ip_address(raw)
        if not _is_public(address):
            raise InvalidInput(
                f"{url.host!r} resolves to {address}, which is not a public address",
                code="webhook.private_address",
                field="url",
            )


def _check_event_id(event_id: object) -> str:
    if (
        not isinstance(event_id, str)
        or not 1 <= len(event_id) <= _MAX_EVENT_ID_LENGTH
        or not set(event_id) <= _EVENT_ID_CHARACTERS
    ):
        raise InvalidInput(
            f"the event id must be 1-{_MAX_EVENT_ID_LENGTH} characters among letters, digits and -_.:",
            code="webhook.bad_event_id",
            field="event_id",
        )
    return event_id


def _retry_after(value: str | None) -> int | None:
    # Only the delta-seconds form; an HTTP date would need a clock this class does not have.
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


class WebhookSender:
    """Posts signed deliveries; owns (and closes) its HTTP client unless one is given.

    A given ``client`` is used as is (proxies, TLS settings, transports), except
    that redirects are never followed and ``timeout`` applies to each request.
    The default client ignores the environment (``trust_env=False``): proxy
    variables and ``.netrc`` credentials must not leak to insureds' endpoints.
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        *,
        allow_private_networks: bool = True,
    ) -> None:
        if not timeout > 0:
            raise InvalidInput("the webhook timeout must be positive", code="webhook.bad_settings", field="timeout")
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(trust_env=False, follow_redirects=False)
        self._timeout = httpx.Timeout(timeout)
        self.allow_private_networks = allow_private_networks

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def post(
        self,
        *,
        url: str,
        secret: str,
        event_id: str,
        body: bytes,
        now: int,
        old_secrets: Sequence[str] = (),
    ) -> int:
        """Deliver ``body`` once; return the 2xx status or raise :class:`DeliveryFailed`.

        ``now`` (Unix seconds) is the signing timestamp. ``old_secrets`` are
        secrets being retired: each adds a signature to the header so that a
        receiver not yet switched to ``secret`` still verifies.
        Malformed arguments raise :class:`InvalidInput` before anything is sent.
        """
        parsed = check_url(url)
        _check_event_id(event_id)
        if not isinstance(body, bytes):
            raise InvalidInput("the webhook body must be bytes (serialised JSON)", code="webhook.bad_body")
        if isinstance(old_secrets, str):
            raise InvalidInput("old_secrets must be a sequence of secrets", code="webhook.bad_secret")
        signature = sign_many([secret, *old_secrets], now, body)
        if not self.allow_private_networks:
            _refuse_private(parsed)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: str(now),
            SIGNATURE_HEADER: signature,
            EVENT_ID_HEADER: event_id,
        }
        where = f"{parsed.scheme}://{parsed.netloc.decode('ascii', errors='replace')}"
        try:
            # stream(): the status is all we need; the endpoint's body is never read,
            # so a huge or endless answer costs nothing.
            with self._client.stream(
                "POST", parsed, content=body, headers=headers, follow_redirects=False, timeout=self._timeout
            ) as response:
                status = response.status_code
                reason = response.reason_phrase
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except httpx.TimeoutException as error:
            raise DeliveryFailed(f"{where} did not answer in time ({type(error).__name__})", False) from error
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"cannot deliver to {where}: {type(error).__name__}: {error}", False) from error
        if 200 <= status < 300:
            return status
        message = f"{where} answered {status} {reason}".rstrip()
        if 300 <= status < 400:
            raise DeliveryFailed(message + " (redirects are not followed: register the final URL)", True, status=status)
        if 400 <= status < 500 and status not in (408, 429):
            raise DeliveryFailed(message, True, status=status)
        raise DeliveryFailed(message, False, status=status, retry_after_seconds=retry_after)
