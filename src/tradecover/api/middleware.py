"""ASGI middlewares: request body size limit and ``Idempotency-Key`` on POST."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradecover.api.problems import TITLES
from tradecover.api.tokens import subject_of
from tradecover.bootstrap import Container
from tradecover.domain.errors import NotAuthenticated
from tradecover.services import accounts
from tradecover.services.security import API_KEY_MARK

PROBLEM = b"application/problem+json"


def _problem_bytes(status: int, code: str, detail: str) -> bytes:
    return json.dumps(
        {
            "type": f"urn:tradecover:problem:{code}",
            "title": TITLES.get(status, "Error"),
            "status": status,
            "detail": detail,
            "code": code,
        }
    ).encode()


async def _send_problem(send: Send, status: int, code: str, detail: str) -> None:
    body = _problem_bytes(status, code, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", PROBLEM), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """Refuse bodies over the limit with 413, whether or not Content-Length is declared."""

    def __init__(self, app: ASGIApp, max_bytes: Callable[[str], int]) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes(scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_problem(send, 413, "request.too_large", f"the request body exceeds {limit} bytes")
            return
        if declared is not None:
            # The server holds the body to its declared length: the check above suffices.
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read up to the limit before the app sees anything.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_problem(send, 413, "request.too_large", f"the request body exceeds {limit} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def buffered_receive() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, buffered_receive, send)


class Idempotency:
    """Same key and same request → the stored response; same key, other request → 422.

    Keys are scoped by the authenticated principal, so two users' keys never
    meet. Responses of 5xx are not kept: the client may retry them.
    """

    EXEMPT = ("/api/v1/auth/token",)  # creates nothing; a token is never stored

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container
        self._in_flight: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def _principal(self, headers: dict[bytes, bytes]) -> str | None:
        """The user the credentials prove, fully checked (a replay is a read of a response)."""
        api_key = headers.get(b"x-api-key", b"").decode("latin-1")
        auth = headers.get(b"authorization", b"").decode("latin-1")
        credential = api_key or (auth[7:].strip() if auth.lower().startswith("bearer ") else "")
        if not credential:
            return None
        container = self.container
        try:
            with container.uow() as uow:
                if credential.startswith(f"{API_KEY_MARK}_"):
                    user_id = accounts.verified_api_key(uow, credential).user_id
                else:
                    user_id = subject_of(credential, container.settings.secret_key, container.clock.now())
                actor = accounts.actor_for_user(uow, container.clock, user_id)
        except NotAuthenticated:
            return None  # the route answers 401 itself
        return f"user:{actor.user_id}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(b"idempotency-key")
        principal = await anyio.to_thread.run_sync(self._principal, headers) if raw_key is not None else None
        if raw_key is None or principal is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > 200 or not key.isprintable():
            await _send_problem(
                send,
                400,
                "idempotency.invalid_key",
                "Idempotency-Key must have 1 to 200 printable characters",
            )
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        fingerprint = hashlib.sha256(
            b"\n".join(
                [
                    scope["path"].encode(),
                    scope.get("query_string", b""),
                    headers.get(b"content-type", b""),
                    body,
                ]
            )
        ).hexdigest()
        stored = await anyio.to_thread.run_sync(self._lookup, principal, key)
        if stored is not None:
            stored_fingerprint, status, stored_body, media_type = stored
            if stored_fingerprint != fingerprint:
                await _send_problem(
                    send,
                    422,
                    "idempotency.key_reused",
                    "this Idempotency-Key was used with a different request",
                )
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", media_type.encode()),
                        (b"content-length", str(len(stored_body)).encode()),
                        (b"idempotent-replayed", b"true"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": stored_body})
            return
        slot = (principal, key)
        with self._lock:
            busy = slot in self._in_flight
            if not busy:
                self._in_flight.add(slot)
        if busy:
            await _send_problem(
                send,
                409,
                "idempotency.in_progress",
                "a request with this Idempotency-Key is still being processed",
            )
            return
        try:
            await self._forward(scope, body, send, principal, key, fingerprint)
        finally:
            with self._lock:
                self._in_flight.discard(slot)

    async def _forward(self, scope: Scope, body: bytes, send: Send, principal: str, key: str, fingerprint: str) -> None:
        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        media_type = "application/json"
        response_chunks: list[bytes] = []

        async def capture_send(message: Message) -> None:
            nonlocal status, media_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        media_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                response_chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay_receive, capture_send)
        if status < 500:
            await anyio.to_thread.run_sync(
                self._remember, principal, key, fingerprint, status, b"".join(response_chunks), media_type
            )

    def _lookup(self, principal: str, key: str) -> tuple[str, int, bytes, str] | None:
        """The stored response, once expired keys (older than ``idempotency_hours``) are purged."""
        horizon = self.container.clock.now() - timedelta(hours=self.container.settings.idempotency_hours)
        with self.container.uow() as uow:
            uow.idempotency.purge_before(horizon)
            uow.commit()
            return uow.idempotency.lookup(principal, key)

    def _remember(self, principal: str, key: str, fingerprint: str, status: int, body: bytes, media_type: str) -> None:
        try:
            with self.container.uow() as uow:
                uow.idempotency.remember(
                    principal, key, fingerprint, status, body, media_type, self.container.clock.now()
                )
                uow.commit()
        except IntegrityError:
            pass  # another process stored the same key first; its response stands


UPLOAD_PAGES = frozenset({"/invoices/import", "/offers/comparison"})


def upload_aware_limit(container: Container) -> Callable[[str], int]:
    settings = container.settings

    def limit(path: str) -> int:
        # the API's imports, a ledger to compare offers on, an offer's limits, and the portal's own uploads
        if path.endswith(("/imports", "/offers/comparison", "/limits")) or path in UPLOAD_PAGES:
            return settings.max_upload_bytes
        if path.endswith("/documents"):
            # The multipart envelope around the largest document the claims accept.
            return settings.max_document_bytes + 64 * 1024
        return settings.max_request_bytes

    return limit


__all__: list[Any] = ["BodySizeLimit", "Idempotency", "upload_aware_limit"]
