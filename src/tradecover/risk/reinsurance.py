"""The insurer's reinsurance: what it keeps of each buyer's loss and of the year's aggregate.

Applied in the order treaties usually inure to one another:

1. per-buyer excess of loss: of each buyer's loss x, the reinsurer pays min(max(x − retention, 0), limit);
2. quota share: the reinsurer takes `quota_share_rate` of what is left;
3. aggregate stop loss: of the year's retained total T, the reinsurer pays
   min(max(T − attachment, 0), limit).

Amounts are in the book's currency units; a limit of None means unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Reinsurance"]


@dataclass(frozen=True)
class Reinsurance:
    quota_share_rate: float = 0.0
    xol_retention: float | None = None
    xol_limit: float | None = None
    stop_loss_attachment: float | None = None
    stop_loss_limit: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.quota_share_rate <= 1.0:
            raise ValueError(f"quota_share_rate {self.quota_share_rate:g} must lie in [0, 1]")
        for name in ("xol_retention", "xol_limit", "stop_loss_attachment", "stop_loss_limit"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} {value!r} must be a finite amount ≥ 0")
        if self.xol_limit is not None and self.xol_retention is None:
            raise ValueError("xol_limit needs an xol_retention")
        if self.stop_loss_limit is not None and self.stop_loss_attachment is None:
            raise ValueError("stop_loss_limit needs a stop_loss_attachment")

    @property
    def is_empty(self) -> bool:
        return self.quota_share_rate == 0 and self.xol_retention is None and self.stop_loss_attachment is None

    def retained_per_buyer(self, loss: NDArray[np.float64]) -> NDArray[np.float64]:
        """Each buyer's loss after the per-buyer excess of loss."""
        if self.xol_retention is None:
            return loss.copy()
        ceded = np.maximum(loss - self.xol_retention, 0.0)
        if self.xol_limit is not None:
            ceded = np.minimum(ceded, self.xol_limit)
        return loss - ceded

    def net_aggregate(self, retained_per_buyer_total: NDArray[np.float64]) -> NDArray[np.float64]:
        """The year's net loss from the sum of buyers' losses after the excess of loss."""
        kept = retained_per_buyer_total * (1.0 - self.quota_share_rate)
        if self.stop_loss_attachment is None:
            return kept
        ceded = np.maximum(kept - self.stop_loss_attachment, 0.0)
        if self.stop_loss_limit is not None:
            ceded = np.minimum(ceded, self.stop_loss_limit)
        return kept - ceded
