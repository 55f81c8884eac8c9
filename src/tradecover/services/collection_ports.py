"""Ports of the collection use cases: the store of cases, their debts, actions, receipts, costs and letters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from tradecover.domain.collection import (
    CaseAction,
    CaseCost,
    CaseDebt,
    CaseStage,
    ClosureOutcome,
    CollectionCase,
    Receipt,
)


@dataclass(frozen=True)
class CaseLetter:
    """A letter as it was sent on a case (the formal notice's PDF): proof of the collection attempt."""

    id: str
    case_id: str
    kind: str
    reference: str
    language: str
    letter_date: date
    media_type: str
    content: bytes
    sha256: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class ConfiguredBaseRate:
    """An ECB base rate staff configured; it extends the shipped table and wins on the same date."""

    effective_date: date
    rate: Decimal  # a fraction: 0.0215 for 2.15 %
    recorded_by: str
    recorded_at: datetime


class CollectionStore(Protocol):
    def next_case_number(self, year: int) -> int: ...
    def add_case(self, case: CollectionCase) -> None:
        """The case and its debts."""
        ...

    def add_debts(self, case_id: str, debts: Sequence[CaseDebt], *, on: date, at: datetime) -> None: ...
    def get_case(self, case_id: str, *, lock: bool = False) -> CollectionCase | None:
        """``lock``: hold the case until commit (receipts and closure are serialised on it)."""
        ...

    def open_case_of(self, policy_id: str, buyer_id: str) -> CollectionCase | None: ...
    def case_id_of(self, reference: str) -> str | None: ...
    def find_cases(
        self,
        *,
        organisation_ids: frozenset[str] | None,
        policy_id: str | None,
        buyer_id: str | None,
        stage: CaseStage | None,
        limit: int,
        offset: int,
    ) -> tuple[list[CollectionCase], int]: ...
    def set_stage(self, case_id: str, stage: CaseStage) -> None: ...
    def close_case(
        self, case_id: str, *, outcome: ClosureOutcome, on: date, reason: str | None, by: str, at: datetime
    ) -> None: ...
    def add_action(self, action: CaseAction) -> None: ...
    def actions(self, case_id: str) -> list[CaseAction]: ...
    def add_receipt(self, receipt: Receipt) -> None: ...
    def receipts(self, case_id: str) -> list[Receipt]: ...
    def receipt_of_payment(self, ledger_payment_id: str) -> Receipt | None: ...
    def add_cost(self, cost: CaseCost) -> None: ...
    def costs(self, case_id: str) -> list[CaseCost]: ...
    def add_letter(self, letter: CaseLetter) -> None: ...
    def get_letter(self, letter_id: str) -> CaseLetter | None: ...
    def count_letters(self, case_id: str) -> int: ...
    def base_rates(self) -> list[ConfiguredBaseRate]: ...
    def add_base_rate(self, rate: ConfiguredBaseRate) -> bool:
        """False when a rate is configured already on that date (nothing is written)."""
        ...
