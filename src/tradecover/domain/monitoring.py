"""Legal events, insolvency clocks, grades with their reasons, and alerts (DOMAIN.md §4, §6, §7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from tradecover.domain.buyers import LegalStatus
from tradecover.domain.deadlines import (  # re-exported: it now lives with the other dates
    insolvency_notification_deadline as insolvency_notification_deadline,
)


class LegalEventKind(StrEnum):
    SAFEGUARD = "safeguard"
    RECEIVERSHIP = "receivership"
    LIQUIDATION = "liquidation"
    CONVERSION = "conversion"
    PLAN = "plan"
    CLOSURE = "closure"
    CEASED = "ceased"  # SIRENE: the company is struck off


@dataclass(frozen=True)
class LegalEvent:
    """A judgment or registry fact about a buyer, as published (BODACC, SIRENE)."""

    id: str
    buyer_id: str
    kind: LegalEventKind
    nature: str
    judgment_date: date | None
    publication_date: date
    source: str
    reference: str  # the announcement's id: the same announcement is recorded once
    resulting_status: LegalStatus | None
    recorded_at: datetime


@dataclass(frozen=True)
class InsolvencyClock:
    """The 30-day clock an insolvency publication starts for one insured trading with the buyer."""

    organisation_id: str
    buyer_id: str
    legal_event_id: str
    publication_date: date
    deadline: date
    started_at: datetime


@dataclass(frozen=True)
class GradeRecord:
    """One grade given to a buyer, with the factors that made it (log-odds contributions)."""

    buyer_id: str
    grade: int
    probability_of_default: Decimal
    factors: Mapping[str, float]
    model_version: str
    run_id: str
    inputs_version: int
    graded_at: datetime
    previous_grade: int | None

    def reasons(self, top: int = 3) -> list[tuple[str, float]]:
        """The factors that moved this buyer's risk most from the average firm, largest first."""
        movers = [(name, value) for name, value in self.factors.items() if name != "baseline"]
        return sorted(movers, key=lambda item: (-abs(item[1]), item[0]))[:top]


class AlertKind(StrEnum):
    INSOLVENCY_PUBLISHED = "insolvency_published"
    BUYER_CEASED = "buyer_ceased"
    BUYER_DOWNGRADED = "buyer_downgraded"
    LIMIT_REVIEW_PROPOSED = "limit_review_proposed"
    LIMIT_REVISED = "limit_revised"
    NEAR_LIMIT = "near_limit"
    OVER_LIMIT = "over_limit"
    NOTIFICATION_DEADLINE_NEAR = "notification_deadline_near"
    NOTIFICATION_DEADLINE_PASSED = "notification_deadline_passed"
    TURNOVER_DECLARATION_LATE = "turnover_declaration_late"


class AlertState(StrEnum):
    NEW = "new"
    SEEN = "seen"
    CLOSED = "closed"


ALERT_STATE_MOVES: Mapping[AlertState, frozenset[AlertState]] = {
    AlertState.NEW: frozenset({AlertState.SEEN, AlertState.CLOSED}),
    AlertState.SEEN: frozenset({AlertState.CLOSED}),
    AlertState.CLOSED: frozenset(),
}


@dataclass(frozen=True)
class Alert:
    """Something a user must act on; ``key`` makes raising the same alert twice a no-op."""

    id: str
    organisation_id: str  # the insured, or the insurer for staff alerts
    kind: AlertKind
    buyer_id: str | None
    message: str
    key: str
    created_at: datetime
    due_date: date | None = None
    policy_id: str | None = None
    state: AlertState = AlertState.NEW


DOWNGRADE_ALERT_STEPS = 2  # DOMAIN.md §6: "buyer downgraded by ≥ 2 grades"


def is_significant_downgrade(previous: int | None, new: int) -> bool:
    return previous is not None and new - previous >= DOWNGRADE_ALERT_STEPS
