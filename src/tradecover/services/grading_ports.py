"""What the re-grading job needs from storage: column batches in, grade batches out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from tradecover.domain.monitoring import Alert

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]  # fixed-width text: pickles as one buffer, unlike a list of str


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
    legal_status: StrArray
    naf_code: StrArray  # "" when unknown
    country: StrArray
    statements: dict[str, FloatArray]
    days_beyond_terms: FloatArray  # NaN: no payment experience reported yet
    overdue_notifications: FloatArray

    def __len__(self) -> int:
        return len(self.buyer_ids)


@dataclass
class GradeBatchResult:
    """Grades as arrays; ``factor_values[i, j]`` is factor ``factor_names[j]``'s log-odds share for buyer i.

    Arrays rather than per-buyer objects, so results travel cheaply between processes.
    """

    buyer_ids: list[str]
    grade: IntArray
    pd: FloatArray
    factor_names: list[str]
    factor_values: npt.NDArray[np.float32]
    has_statement: npt.NDArray[np.bool_]
    inputs_version: IntArray
    previous_grade: IntArray
    alerts: list[Alert] = field(default_factory=list)

    def factors_json(self) -> list[str]:
        """Each buyer's factors as canonical JSON: the non-zero ones, and the baseline."""
        names = self.factor_names
        texts = []
        for i, row in enumerate(self.factor_values.tolist()):
            kept = {
                name: round(value, 4)
                for name, value in zip(names, row, strict=True)
                if value != 0.0 or name == "baseline"
            }
            if not self.has_statement[i]:
                kept["no_financials"] = 0.0
            texts.append(json.dumps(kept, sort_keys=True))
        return texts


class GradingStore(Protocol):
    def open_run(self, *, mode: str, model_version: str, run_id: str, now: datetime) -> RunState:
        """The unfinished run to resume, or a new one."""
        ...

    def next_batch(self, run: RunState, size: int) -> GradingBatch | None: ...
    def write_batch(self, run: RunState, result: GradeBatchResult, now: datetime) -> RunState: ...
    def finish_run(self, run: RunState, now: datetime) -> None: ...
    def book_organisations(self, buyer_ids: Sequence[str]) -> dict[str, list[str]]: ...
    def count_to_grade(self, run: RunState) -> int: ...
