"""Port of the quote use cases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from tradecover.domain.quotes import Quote, QuoteVersion


class QuotesStore(Protocol):
    def next_sequence(self, year: int) -> int:
        """The next quote number of ``year`` (1, 2, …), taken under a lock."""
        ...

    def add_quote(self, quote: Quote) -> None:
        """The quote with its application (turnover, buyers, loss history)."""
        ...

    def add_version(self, version: QuoteVersion) -> None: ...
    def get_quote(self, quote_id: str, *, lock: bool = False) -> Quote | None: ...
    def by_reference(self, reference: str) -> str | None:
        """The id of the quote with this reference (``QUO-2026-000001``), if any."""
        ...

    def versions_of(self, quote_id: str) -> list[QuoteVersion]:
        """Every version, oldest first."""
        ...

    def list_quotes(
        self, policyholder_ids: frozenset[str] | None, *, offset: int, limit: int
    ) -> tuple[list[tuple[Quote, QuoteVersion]], int]:
        """Quotes with their latest version, newest first; ``None``: every policyholder's."""
        ...

    def mark_issued(self, quote_id: str, *, policy_id: str, version: int, on: date, by: str, at: datetime) -> None: ...
