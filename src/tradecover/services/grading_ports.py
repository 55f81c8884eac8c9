"""What the re-grading job needs from storage: column batches in, grade batches out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from tradecover.domain.monitoring import Alert

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RunState:
    id: str
    mode: str  # "all" or "changed"
    model_version: str
    cursor: str
    processed: int
    changed: int
    resumed: bool


@dataclass
class GradingBatch:
    """Buyers in id order with their latest statement's figures (NaN when unknown) as columns."""

    buyer_ids: list[str]
    inputs_version: IntArray
    previous_grade: IntArray  # 0 when never graded
    legal_status: list[str]
    naf_code: list[str | None]
    country: list[str]
    statements: dict[str, FloatArray]
    days_beyond_terms: FloatArray  # NaN: no payment experience reported yet
    overdue_notifications: FloatArray

    def __len__(self) -> int:
        return len(self.buyer_ids)


@dataclass
class GradeBatchResult:
    buyer_ids: list[str]
    grade: IntArray
    pd: FloatArray
    factors: list[dict[str, float]]
    inputs_version: IntArray
    previous_grade: IntArray
    alerts: list[Alert] = field(default_factory=list)


class GradingStore(Protocol):
    def open_run(self, *, mode: str, model_version: str, run_id: str, now: datetime) -> RunState:
        """The unfinished run to resume, or a new one."""
        ...

    def next_batch(self, run: RunState, size: int) -> GradingBatch | None: ...
    def write_batch(self, run: RunState, result: GradeBatchResult, now: datetime) -> RunState: ...
    def finish_run(self, run: RunState, now: datetime) -> None: ...
    def book_organisations(self, buyer_ids: Sequence[str]) -> dict[str, list[str]]: ...
    def count_to_grade(self, run: RunState) -> int: ...
