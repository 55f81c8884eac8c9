"""Policies: issue, read, endorse (new terms version), renew (next period)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.parties import OrganisationKind
from tradecover.domain.periods import Clock, Period
from tradecover.domain.policies import (
    Policy,
    PolicyStatus,
    TermsVersion,
    TermsVersionRef,
    check_endorsement_date,
    next_period,
    policy_number,
    terms_in_force,
)
from tradecover.domain.terms import PolicyTerms
from tradecover.services.accounts import get_organisation
from tradecover.services.authorization import (
    Actor,
    Permission,
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
) -> tuple[Policy, TermsVersion]:
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
    """Open the next 12-month period; the terms in force carry over."""
    policy = get_policy(uow, actor, policy_id)
    require(actor, Permission.POLICY_RENEW)
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
