"""Policies: periods, numbering, endorsements, renewal and termination (DOMAIN.md §3).

A policy runs in 12-month half-open periods. Its terms are never edited:
an endorsement adds a version effective from a date inside the current
period; renewal opens the next period.

Renewal is tacit: when a period ends, the next twelve months open with the
same terms, unless notice was given ``renewal_notice_days`` before the end
(:func:`renewal_notice_deadline`). Notice in time ends the policy at the end
of the period it was given in; late notice ends it one period later (the
policy is tacitly renewed once more). The insurer may also terminate it at a
date (unpaid premium, say). From its ``termination_date`` a policy covers no
new delivery and takes no new limit; deliveries made before stay covered
(run-off).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.periods import Period
from tradecover.domain.terms import PolicyTerms


class PolicyStatus(StrEnum):
    """The stored status is ``in_force`` or ``cancelled``; ``terminated`` is computed (:func:`status_on`)."""

    IN_FORCE = "in_force"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"


class NoticeParty(StrEnum):
    """Who gives notice of non-renewal."""

    INSURED = "insured"
    INSURER = "insurer"


class TerminationKind(StrEnum):
    NOTICE = "notice"  # notice of non-renewal: the policy ends at a period end
    INSURER_DECISION = "insurer_decision"  # the insurer terminates at a date (e.g. unpaid premium)


class NoticeOutcome(StrEnum):
    ENDS_AT_PERIOD_END = "ends_at_period_end"  # notice in time: the period it was given in is the last
    RENEWED_ONCE_MORE = "renewed_once_more"  # late notice: the policy ends at the end of the next period


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


@dataclass(frozen=True)
class TerminationNotice:
    """A notice of non-renewal, with the deadline it was judged against and the termination it gives."""

    given_by: NoticeParty
    given_on: date
    reason: str
    deadline: date  # the last day on which notice ended the period it was given in
    effective_date: date  # the termination date it gives: first day with no cover for new deliveries

    @property
    def in_time(self) -> bool:
        return self.given_on <= self.deadline

    @property
    def outcome(self) -> NoticeOutcome:
        return NoticeOutcome.ENDS_AT_PERIOD_END if self.in_time else NoticeOutcome.RENEWED_ONCE_MORE

    def explain(self) -> str:
        last_day = (self.effective_date - timedelta(days=1)).isoformat()
        if self.in_time:
            return (
                f"notice given on {self.given_on.isoformat()}, on or before the deadline {self.deadline.isoformat()}: "
                f"the policy terminates on {self.effective_date.isoformat()} (last day of cover {last_day})"
            )
        return (
            f"notice given on {self.given_on.isoformat()}, after the deadline {self.deadline.isoformat()}: "
            f"the policy is renewed once more and terminates on {self.effective_date.isoformat()} "
            f"(last day of cover {last_day})"
        )


@dataclass
class Policy:
    id: str
    number: str
    policyholder_id: str
    currency: str
    status: PolicyStatus
    periods: list[Period]
    created_at: datetime
    #: First day with no cover for new deliveries (and no new limit); None: not terminated.
    termination_date: date | None = None
    termination_kind: TerminationKind | None = None
    termination_reason: str | None = None
    termination_notice: TerminationNotice | None = None

    @property
    def current_period(self) -> Period:
        return self.periods[-1]

    def period_on(self, day: date) -> Period | None:
        return next((p for p in self.periods if p.contains(day)), None)

    def contract_period_on(self, day: date) -> Period:
        """The policy year that contains ``day``, counting the years tacit renewal opens by then.

        Before the first period: the first period. After the last one: the twelve-month periods that
        follow it (the renewal batch may not have run yet).
        """
        found = self.period_on(day)
        if found is not None:
            return found
        if day < self.periods[0].start:
            return self.periods[0]
        current = self.current_period
        while not current.contains(day):
            current = current.next_twelve_months()
        return current

    def period_after(self, period: Period) -> Period:
        """The period that follows ``period``: the recorded one, or the next twelve months."""
        return next((p for p in self.periods if p.start == period.end), period.next_twelve_months())

    def give_notice(
        self, *, given_by: NoticeParty, given_on: date, reason: str, renewal_notice_days: int
    ) -> TerminationNotice:
        """Notice of non-renewal given on ``given_on``: the policy terminates at the end of the period it
        was given in if on or before its deadline, else at the end of the next period."""
        self._ensure_not_terminated()
        if given_on < self.periods[0].start:
            raise InvalidInput(
                f"notice cannot be given before the policy starts on {self.periods[0].start}",
                code="policy.notice_before_start",
                field="given_on",
            )
        period = self.contract_period_on(given_on)
        deadline = renewal_notice_deadline(period.end, renewal_notice_days)
        in_time = given_on <= deadline
        effective = period.end if in_time else self.period_after(period).end
        notice = TerminationNotice(given_by, given_on, reason, deadline, effective)
        self.termination_date = effective
        self.termination_kind = TerminationKind.NOTICE
        self.termination_reason = reason
        self.termination_notice = notice
        return notice

    def terminate(self, *, effective_date: date, reason: str, today: date) -> None:
        """The insurer terminates the policy from ``effective_date`` (no cover for deliveries from then on).

        The date lies between today and the end of the last period (both included): never in the past,
        so deliveries already made keep their cover. A termination scheduled by a notice may be brought
        forward; a second termination decision, or one that changes nothing, is refused.
        """
        if self.termination_kind is TerminationKind.INSURER_DECISION:
            raise RuleBroken(
                f"the policy is already terminated from {self.termination_date}",
                code="policy.already_terminated",
                context={"termination_date": self.termination_date},
            )
        if self.termination_date is not None and (
            effective_date >= self.termination_date or is_terminated(self, today)
        ):
            raise RuleBroken(
                f"the policy already terminates on {self.termination_date} after notice",
                code="policy.already_terminated",
                context={"termination_date": self.termination_date},
            )
        self._ensure_in_force()
        if effective_date < today:
            # Deliveries made while the policy was in force keep their cover (run-off): never backwards.
            raise RuleBroken(
                f"a termination cannot take effect before today ({today}): deliveries already made stay covered",
                code="policy.termination_retroactive",
                field="effective_date",
            )
        running = self.period_on(today) or self.current_period
        if not running.start <= effective_date <= self.current_period.end:
            raise RuleBroken(
                f"a termination takes effect between {running.start} (start of the running period) and "
                f"{self.current_period.end} (end of the last period)",
                code="policy.termination_outside_period",
                field="effective_date",
            )
        self.termination_date = effective_date
        self.termination_kind = TerminationKind.INSURER_DECISION
        self.termination_reason = reason

    def renew_tacitly(self, as_of: date) -> list[Period]:
        """Append the periods tacit renewal has opened by ``as_of`` (none when they are there already)."""
        due = renewals_due(self, as_of)
        self.periods.extend(due)
        return due

    def _ensure_not_terminated(self) -> None:
        if self.termination_date is not None:
            raise RuleBroken(
                f"the policy already terminates on {self.termination_date}",
                code="policy.already_terminated",
                context={"termination_date": self.termination_date},
            )
        self._ensure_in_force()

    def _ensure_in_force(self) -> None:
        if self.status is not PolicyStatus.IN_FORCE:
            raise RuleBroken(f"the policy is {self.status.value}", code="policy.not_in_force")


def renewal_notice_deadline(period_end: date, renewal_notice_days: int) -> date:
    """Last day on which notice ends the policy at ``period_end`` (DOMAIN.md §3 ``renewal_notice_days``).

    ``period_end`` is the period's exclusive end, the first day of the next period: for the period
    ``[2026-01-01, 2027-01-01)`` and 90 days, the deadline is 2026-10-03, exactly 90 days before
    2027-01-01 (and 89 days before 2026-12-31, the last covered day). Notice on the deadline is in time;
    the day after, it is late.
    """
    if isinstance(renewal_notice_days, bool) or not isinstance(renewal_notice_days, int) or renewal_notice_days < 0:
        raise InvalidInput(
            f"renewal_notice_days must be a whole number of days ≥ 0, got {renewal_notice_days!r}",
            code="policy.invalid_notice_days",
            field="renewal_notice_days",
        )
    return period_end - timedelta(days=renewal_notice_days)


def is_terminated(policy: Policy, on: date) -> bool:
    """True from the termination date on: no new delivery is covered, no new limit is granted."""
    return policy.termination_date is not None and on >= policy.termination_date


def status_on(policy: Policy, on: date) -> PolicyStatus:
    """The status on a date: ``terminated`` once the termination date has come, else the stored status."""
    return PolicyStatus.TERMINATED if is_terminated(policy, on) else policy.status


def ensure_not_terminated(policy: Policy, on: date) -> None:
    """Refuse an act (a new limit, a declaration…) on a policy terminated on ``on``: ``policy.terminated``."""
    if is_terminated(policy, on):
        raise RuleBroken(
            f"policy {policy.number} is terminated since {policy.termination_date}",
            code="policy.terminated",
            field="policy_id",
            context={"termination_date": policy.termination_date},
        )


def renewals_due(policy: Policy, as_of: date) -> list[Period]:
    """The periods tacit renewal opens by ``as_of``.

    While the last period has ended on or before ``as_of`` (``end <= as_of``) and the policy does not
    terminate at (or before) that end, the next twelve months open — several when ``as_of`` is years
    later. A policy that is not in force is never renewed.
    """
    if policy.status is not PolicyStatus.IN_FORCE:
        return []
    due: list[Period] = []
    current = policy.current_period
    while current.end <= as_of and not (policy.termination_date is not None and policy.termination_date <= current.end):
        current = next_period(current, policy.status)
        due.append(current)
    return due


def ensure_renewable(policy: Policy) -> None:
    """A manual renewal must not open a period that starts on or after the termination date."""
    if policy.termination_date is not None and policy.termination_date <= policy.current_period.end:
        raise RuleBroken(
            f"policy {policy.number} terminates on {policy.termination_date}: it is not renewed",
            code="policy.terminated",
            context={"termination_date": policy.termination_date},
        )


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
