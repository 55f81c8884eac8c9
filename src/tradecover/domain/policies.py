"""Policies: periods, numbering and the endorsement rule (DOMAIN.md §3).

A policy runs in 12-month half-open periods. Its terms are never edited:
an endorsement adds a version effective from a date inside the current
period; renewal opens the next period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from tradecover.domain.errors import RuleBroken
from tradecover.domain.periods import Period
from tradecover.domain.terms import PolicyTerms


class PolicyStatus(StrEnum):
    IN_FORCE = "in_force"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class TermsVersionRef:
    version: int
    effective_date: date


def policy_number(year: int, sequence: int) -> str:
    return f"TC-{year}-{sequence:06d}"


def check_endorsement_date(current: Period, effective_date: date, versions: list[TermsVersionRef]) -> None:
    """An endorsement takes effect inside the current period, not before the last one."""
    if not current.contains(effective_date):
        raise RuleBroken(
            f"an endorsement must take effect within the current period {current}",
            code="policy.endorsement_outside_period",
            field="effective_date",
        )
    if versions and effective_date < max(v.effective_date for v in versions):
        raise RuleBroken(
            "an endorsement cannot take effect before the latest terms version",
            code="policy.endorsement_backdated",
            field="effective_date",
        )


def next_period(current: Period, status: PolicyStatus) -> Period:
    if status is not PolicyStatus.IN_FORCE:
        raise RuleBroken("only a policy in force can be renewed", code="policy.not_in_force")
    return current.next_twelve_months()


@dataclass
class Policy:
    id: str
    number: str
    policyholder_id: str
    currency: str
    status: PolicyStatus
    periods: list[Period]
    created_at: datetime

    @property
    def current_period(self) -> Period:
        return self.periods[-1]

    def period_on(self, day: date) -> Period | None:
        return next((p for p in self.periods if p.contains(day)), None)


@dataclass(frozen=True)
class TermsVersion:
    """One version of a policy's terms; version 1 is the issue, later ones endorsements."""

    policy_id: str
    version: int
    effective_date: date
    terms: PolicyTerms
    reason: str
    created_by: str
    created_at: datetime


def terms_in_force(versions: list[TermsVersion], day: date) -> TermsVersion:
    """The latest version effective on ``day`` (the first one before the policy starts)."""
    ordered = sorted(versions, key=lambda v: v.version)
    current = ordered[0]
    for version in ordered:
        if version.effective_date <= day:
            current = version
    return current
