"""Factoring with recourse: the policy names the factor loss payee of the invoices assigned to it.

DOMAIN.md §3 (délégation / bénéficiaire) and §10: a factor that finances an insured's invoices
with recourse bears no credit risk itself, so the insurer endorses the policy with a *délégation*:
from a date (and until another, or open-ended), the indemnity on invoices assigned to that factor
is paid to it. An invoice may be assigned to a factor only while such a delegation is in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tradecover.domain.errors import InvalidInput

MAX_REASON = 500


@dataclass(frozen=True)
class Delegation:
    """The policy's endorsement naming ``factor_id`` loss payee of the invoices assigned to it.

    The period is half-open: in force from ``start_date`` up to, not including, ``end_date``
    (open-ended when ``None``).
    """

    id: str
    policy_id: str
    factor_id: str
    start_date: date
    end_date: date | None
    reason: str
    created_by: str
    created_at: datetime

    def in_force(self, on: date) -> bool:
        return self.start_date <= on and (self.end_date is None or on < self.end_date)

    def overlaps(self, start_date: date, end_date: date | None) -> bool:
        """Whether [start_date, end_date) shares a day with this delegation's period."""
        starts_before_other_ends = end_date is None or self.start_date < end_date
        ends_after_other_starts = self.end_date is None or start_date < self.end_date
        return starts_before_other_ends and ends_after_other_starts


def validate_delegation_period(start_date: date, end_date: date | None) -> None:
    if end_date is not None and end_date <= start_date:
        raise InvalidInput(
            f"the delegation's end date {end_date} must come after its start date {start_date}",
            code="delegation.bad_period",
            field="end_date",
        )


def delegation_in_force(delegations: list[Delegation], factor_id: str, on: date) -> Delegation | None:
    """The delegation naming ``factor_id`` in force on ``on``, if any."""
    return next((d for d in delegations if d.factor_id == factor_id and d.in_force(on)), None)
