"""Policies: issue, read, endorse (new terms version), renew (next period), notice and termination."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tradecover.domain.deadlines import local_date, policy_time_zone
from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.parties import OrganisationKind
from tradecover.domain.periods import Clock, Period
from tradecover.domain.policies import (
    NoticeParty,
    Policy,
    PolicyStatus,
    TerminationNotice,
    TermsVersion,
    TermsVersionRef,
    check_endorsement_date,
    ensure_renewable,
    next_period,
    policy_number,
    terms_in_force,
)
from tradecover.domain.terms import PolicyTerms
from tradecover.services.accounts import get_organisation
from tradecover.services.authorization import (
    Actor,
    Permission,
    ensure_can_act,
    ensure_can_read,
    not_found,
    require,
    visible_organisations,
)
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import new_id, record


def _reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidInput("a reason is required", code="policy.reason_required", field="reason")
    return text[:500]


def issue_policy(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policyholder_id: str,
    start_date: date,
    currency: str = "EUR",
    terms: Mapping[str, Any] | None = None,
    reason: str = "policy issued",
    commit: bool = True,
) -> tuple[Policy, TermsVersion]:
    """Issue a policy; ``commit=False`` leaves the commit to a caller that writes more in the same
    transaction (a quote marked issued with the policy, all or nothing)."""
    require(actor, Permission.POLICY_ISSUE)
    holder = get_organisation(uow, actor, policyholder_id)
    if holder.kind is not OrganisationKind.POLICYHOLDER:
        raise InvalidInput(
            "policies are issued to policyholders", code="policy.not_a_policyholder", field="policyholder_id"
        )
    policy_terms = PolicyTerms.build(currency_code=currency, policyholder_country=holder.country, overrides=terms)
    period = Period.twelve_months(start_date)
    number = policy_number(start_date.year, uow.policies.next_number(start_date.year))
    now = clock.now()
    policy = Policy(new_id(), number, holder.id, policy_terms.currency, PolicyStatus.IN_FORCE, [period], now)
    version = TermsVersion(policy.id, 1, start_date, policy_terms, _reason(reason), actor.audit_label(), now)
    uow.policies.add(policy)
    uow.policies.add_terms(version)
    record(
        uow,
        clock,
        actor,
        tenant=holder.id,
        action="policy.issued",
        object_type="policy",
        object_id=policy.id,
        summary={"after": {"number": number, "period": str(period), "terms": policy_terms.to_dict()}},
        reason=version.reason,
    )
    if commit:
        uow.commit()
    return policy, version


def get_policy(uow: UnitOfWork, actor: Actor, policy_id: str) -> Policy:
    policy = uow.policies.get(policy_id)
    if policy is None:
        raise not_found("policy", policy_id)
    ensure_can_read(actor, policy.policyholder_id, "policy", policy_id)
    return policy


def list_policies(uow: UnitOfWork, actor: Actor, page: Page) -> tuple[list[Policy], int]:
    return uow.policies.list_page(policyholder_ids=visible_organisations(actor), page=page)


def terms_history(uow: UnitOfWork, actor: Actor, policy_id: str) -> list[TermsVersion]:
    policy = get_policy(uow, actor, policy_id)
    return uow.policies.terms_versions(policy.id)


def current_terms(uow: UnitOfWork, actor: Actor, policy_id: str, on: date) -> TermsVersion:
    return terms_in_force(terms_history(uow, actor, policy_id), on)


def endorse_policy(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy_id: str,
    *,
    effective_date: date,
    changes: Mapping[str, Any],
    reason: str,
) -> TermsVersion:
    """A new terms version effective from ``effective_date``; earlier versions stay."""
    policy = get_policy(uow, actor, policy_id)
    require(actor, Permission.POLICY_ENDORSE)
    if not changes:
        raise InvalidInput("an endorsement changes at least one term", code="policy.no_change", field="changes")
    if policy.termination_date is not None and effective_date >= policy.termination_date:
        raise RuleBroken(
            f"the policy terminates on {policy.termination_date}: nothing can change from then on",
            code="policy.terminated",
            field="effective_date",
            context={"termination_date": policy.termination_date},
        )
    versions = uow.policies.terms_versions(policy.id)
    # A renewed policy may still be endorsed in the year that is running.
    check_endorsement_date(
        policy.period_on(effective_date) or policy.current_period,
        effective_date,
        [TermsVersionRef(v.version, v.effective_date) for v in versions],
    )
    latest = max(versions, key=lambda v: v.version)
    new_terms = latest.terms.amend(changes)
    diff = new_terms.changes_from(latest.terms)
    if not diff:
        raise InvalidInput("the endorsement changes nothing", code="policy.no_change", field="changes")
    version = TermsVersion(
        policy.id,
        latest.version + 1,
        effective_date,
        new_terms,
        _reason(reason),
        actor.audit_label(),
        clock.now(),
    )
    uow.policies.add_terms(version)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="policy.endorsed",
        object_type="policy",
        object_id=policy.id,
        summary={
            "version": version.version,
            "effective_date": effective_date.isoformat(),
            "before": {k: v[0] for k, v in diff.items()},
            "after": {k: v[1] for k, v in diff.items()},
        },
        reason=version.reason,
    )
    uow.commit()
    return version


def renew_policy(uow: UnitOfWork, clock: Clock, actor: Actor, policy_id: str, *, reason: str) -> Policy:
    """Open the next 12-month period; the terms in force carry over. Refused once termination is set for
    the end of the last period (``policy.terminated``)."""
    policy = get_policy(uow, actor, policy_id)
    require(actor, Permission.POLICY_RENEW)
    policy = _locked(uow, policy)
    ensure_renewable(policy)
    if clock.today() < policy.current_period.start:
        raise RuleBroken(
            f"the policy is already renewed up to {policy.current_period.end}",
            code="policy.already_renewed",
        )
    new_period = next_period(policy.current_period, policy.status)
    policy.periods.append(new_period)
    uow.policies.save(policy)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="policy.renewed",
        object_type="policy",
        object_id=policy.id,
        summary={"after": {"period": str(new_period), "periods": len(policy.periods)}},
        reason=_reason(reason),
    )
    uow.commit()
    return policy


def _locked(uow: UnitOfWork, policy: Policy) -> Policy:
    """The policy read again, its row locked until commit or rollback (renewals, notices, terminations)."""
    locked = uow.policies.get(policy.id, lock=True)
    assert locked is not None
    return locked


def policy_today(uow: UnitOfWork, clock: Clock, policy: Policy) -> date:
    """Today in the policy's time zone: notice deadlines are calendar dates there."""
    holder = uow.organisations.get(policy.policyholder_id)
    return local_date(clock.now(), policy_time_zone(holder.country if holder is not None else "FR"))


def give_termination_notice(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy_id: str,
    *,
    reason: str,
    given_by: NoticeParty | None = None,
    given_on: date | None = None,
) -> tuple[Policy, TerminationNotice]:
    """Notice of non-renewal (DOMAIN.md §3 ``renewal_notice_days``), by the insured or by the insurer.

    Given on or before the deadline (end of the running period − ``renewal_notice_days``), the policy
    terminates at the end of that period; later, it is tacitly renewed once more and terminates at the
    end of the next one: the notice returned says which (``in_time``, ``outcome``, ``effective_date``).
    The insured (or its broker with an ``act`` mandate) gives notice for the insured, today; the
    insurer's staff give it for either party and may record a letter received on an earlier day.
    """
    policy = get_policy(uow, actor, policy_id)
    require(actor, Permission.POLICY_NOTICE)
    ensure_can_act(actor, policy.policyholder_id, "policy", policy_id)
    policy = _locked(uow, policy)
    text = _reason(reason)
    today = policy_today(uow, clock, policy)
    party = given_by or (NoticeParty.INSURER if actor.is_staff else NoticeParty.INSURED)
    if not actor.is_staff and party is not NoticeParty.INSURED:
        raise InvalidInput(
            "only the insurer's staff give notice on the insurer's behalf", code="policy.notice_party", field="given_by"
        )
    day = given_on or today
    if day > today:
        raise InvalidInput("notice cannot be given in the future", code="policy.notice_in_future", field="given_on")
    if day != today and not actor.is_staff:
        raise InvalidInput(
            "notice is given today; only the insurer's staff record a letter received earlier",
            code="policy.notice_backdated",
            field="given_on",
        )
    versions = uow.policies.terms_versions(policy.id)
    notice_days = terms_in_force(versions, day).terms.renewal_notice_days
    notice = policy.give_notice(given_by=party, given_on=day, reason=text, renewal_notice_days=notice_days)
    uow.policies.save(policy)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="policy.notice_given",
        object_type="policy",
        object_id=policy.id,
        summary={
            "given_by": notice.given_by.value,
            "given_on": notice.given_on.isoformat(),
            "renewal_notice_days": notice_days,
            "deadline": notice.deadline.isoformat(),
            "in_time": notice.in_time,
            "outcome": notice.outcome.value,
            "after": {"termination_date": notice.effective_date.isoformat()},
        },
        reason=text,
    )
    uow.commit()
    return policy, notice


def terminate_policy(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy_id: str,
    *,
    effective_date: date,
    reason: str,
) -> Policy:
    """The insurer terminates the policy from ``effective_date`` (e.g. for unpaid premium).

    The date lies between the start of the running period and the end of the last one. Deliveries made
    from that date are not covered and no new limit is granted; earlier deliveries stay covered (run-off).
    A termination already scheduled by a notice may be brought forward; a second decision is refused
    (``policy.already_terminated``).
    """
    policy = get_policy(uow, actor, policy_id)
    require(actor, Permission.POLICY_TERMINATE)
    policy = _locked(uow, policy)
    text = _reason(reason)
    before = policy.termination_date
    policy.terminate(effective_date=effective_date, reason=text, today=policy_today(uow, clock, policy))
    uow.policies.save(policy)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="policy.terminated",
        object_type="policy",
        object_id=policy.id,
        summary={
            "before": {"termination_date": None if before is None else before.isoformat()},
            "after": {"termination_date": effective_date.isoformat()},
        },
        reason=text,
    )
    uow.commit()
    return policy


@dataclass(frozen=True)
class Renewal:
    """One period opened by tacit renewal."""

    policy_id: str
    policy_number: str
    period: Period


TACIT_RENEWAL = "tacit renewal"


def check_not_ahead(clock: Clock, as_of: date) -> None:
    """A batch runs as of today at the latest: run ahead, it would renew and invoice what is not due.

    One day of slack covers policy time zones ahead of UTC.
    """
    if as_of > clock.today() + timedelta(days=1):
        raise InvalidInput(
            f"as_of {as_of.isoformat()} is after today ({clock.today().isoformat()}): nothing is due yet",
            code="batch.as_of_in_future",
            field="as_of",
        )


def renew_due_policies(uow: UnitOfWork, clock: Clock, actor: Actor, *, as_of: date) -> list[Renewal]:
    """Tacit renewal (DOMAIN.md §3): every policy whose last period ended on or before ``as_of`` and that
    does not terminate at that end gets the next twelve months (several if ``as_of`` is years later),
    with the terms in force carried over; a policy terminating at that end is left as it is.

    Commits after each policy renewed (with whatever the caller's unit of work holds), so a stopped run
    keeps its work and a second run adds nothing; each policy row is locked while it is renewed. Returns
    the periods opened, in policy-number order.
    """
    require(actor, Permission.POLICY_RENEW)
    check_not_ahead(clock, as_of)
    renewed: list[Renewal] = []
    for policy_id in uow.policies.renewal_candidates(as_of):
        policy = uow.policies.get(policy_id, lock=True)
        if policy is None:
            continue
        added = policy.renew_tacitly(as_of)
        if not added:  # renewed meanwhile by another run
            continue
        uow.policies.save(policy)
        for period in added:
            record(
                uow,
                clock,
                actor,
                tenant=policy.policyholder_id,
                action="policy.renewed",
                object_type="policy",
                object_id=policy.id,
                summary={
                    "as_of": as_of.isoformat(),
                    "after": {"period": str(period), "periods": policy.periods.index(period) + 1},
                },
                reason=TACIT_RENEWAL,
            )
            renewed.append(Renewal(policy.id, policy.number, period))
        uow.commit()
    return renewed
