"""The domain's error hierarchy.

Every error carries a stable ``code`` (what API clients and tests match on),
a human message, and typed context such as the offending ``field``. Only the
API layer maps these to HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error the rules raise on purpose."""

    code: str = "domain.error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.context: dict[str, Any] = dict(context or {})

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            data["field"] = self.field
        if self.context:
            data["context"] = {k: str(v) for k, v in self.context.items()}
        return data

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidInput(DomainError):
    """A value is malformed or out of its allowed range."""

    code = "input.invalid"


class RuleBroken(DomainError):
    """The input is well-formed but a business rule forbids the action."""

    code = "rule.broken"


class NotFound(DomainError):
    """The object does not exist or is not visible to the actor."""

    code = "not_found"


class Conflict(DomainError):
    """The action conflicts with the current state (duplicate, stale version)."""

    code = "conflict"


class NotAuthenticated(DomainError):
    """No valid credentials were presented."""

    code = "auth.not_authenticated"


class Forbidden(DomainError):
    """The actor is known but its role does not allow the action."""

    code = "auth.forbidden"


class RateLimited(DomainError):
    """Too many requests of one kind in a window (e.g. prospect queries: no limit shopping)."""

    code = "rate_limited"
