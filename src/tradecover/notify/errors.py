"""The one error the delivery channels raise when a message did not get through."""

from __future__ import annotations

__all__ = ["DeliveryFailed"]


class DeliveryFailed(Exception):
    """A delivery attempt failed.

    ``permanent`` tells the outbox whether trying again can help: ``True`` for a
    refusal that will be repeated (SMTP 5xx for the recipients, HTTP 4xx such
    as 404/410, a redirect), ``False`` for what may pass (network errors,
    timeouts, SMTP 4xx, HTTP 5xx/408/429, a misconfigured or unreachable mail
    relay, which an operator fixes for every message at once).

    Malformed input (a bad address, a header with a line break, a non-http
    URL) is not a delivery failure: it is refused earlier with
    :class:`tradecover.domain.errors.InvalidInput`.
    """

    def __init__(
        self,
        message: str,
        permanent: bool,
        *,
        status: int | None = None,
        retry_after_seconds: int | None = None,
        refused: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        #: The SMTP reply code or HTTP status, when the peer answered.
        self.status = status
        #: The peer's ``Retry-After`` in seconds (HTTP 429/503), a hint the outbox may honour.
        self.retry_after_seconds = retry_after_seconds
        #: E-mail recipients the server refused (the others, if any, did receive the message).
        self.refused = refused

    def __str__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return f"{kind} delivery failure: {self.message}"

    def __repr__(self) -> str:
        return f"DeliveryFailed({self.message!r}, permanent={self.permanent!r}, status={self.status!r})"
