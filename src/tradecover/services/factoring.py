"""Factoring: the delegation endorsement (délégation de police) and the factor an assignment names.

DOMAIN.md §3 and §10: a factor financing an insured's invoices with recourse bears no credit risk
itself; the insurer endorses the policy to name it loss payee of the invoices assigned to it. An
invoice is assigned to a factor *organisation* (never to a free-text name), and only while a
delegation of the policy to that factor is in force on the assignment date.

The factor's own read views (its invoices with their cover, its claims) are in
:mod:`tradecover.services.factoring_views`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tradecover.domain.errors import Conflict, Forbidden, InvalidInput, RuleBroken
from tradecover.domain.factoring import (
    MAX_REASON,
    Delegation,
    delegation_in_force,
    validate_delegation_period,
)
from tradecover.domain.parties import Organisation, OrganisationKind, Role
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy
from tradecover.services.authorization import Actor, Permission, require
from tradecover.services.policies import get_policy
from tradecover.services.ports import UnitOfWork
from tradecover.services.recording import new_id, record


@dataclass(frozen=True)
class DelegationView:
    delegation: Delegation
    factor_name: str


def _not_a_factor(reference: str, field: str) -> InvalidInput:
    # An unknown id and another kind of organisation answer alike: ids cannot be probed.
    return InvalidInput(
        f"{reference} is not a factor organisation",
        code="factoring.not_a_factor",
        field=field,
        context={"factor": reference},
    )


def get_factor(uow: UnitOfWork, factor_id: str, *, field: str = "factor_id") -> Organisation:
    organisation = uow.organisations.get(factor_id)
    if organisation is None or organisation.kind is not OrganisationKind.FACTOR:
        raise _not_a_factor(f"organisation {factor_id}", field)
    return organisation


def resolve_factor(uow: UnitOfWork, *, factor_id: str | None, name: str | None) -> Organisation:
    """The factor organisation an assignment names: by id, or by a name that is exactly a factor's."""
    name = (name or "").strip() or None
    if factor_id:
        factor = get_factor(uow, factor_id)
        if name is not None and name != factor.name:
            raise InvalidInput(
                f"the factor {factor_id} is named {factor.name!r}, not {name!r}",
                code="factoring.factor_mismatch",
                field="factor",
            )
        return factor
    if name is None:
        raise InvalidInput("name the factor organisation (factor_id)", code="ledger.bad_factor", field="factor_id")
    found = uow.organisations.find_by_name(name) if len(name) <= 200 else None
    if found is None or found.kind is not OrganisationKind.FACTOR:
        raise InvalidInput(
            f"no factor organisation is named {name!r}: the factor must be registered (name it by factor_id)",
            code="factoring.unknown_factor",
            field="factor",
            context={"factor": name[:200]},
        )
    return found


def delegation_for(uow: UnitOfWork, policy: Policy, factor: Organisation, on: date) -> Delegation:
    """The delegation of ``policy`` to ``factor`` in force on ``on``; else the assignment is refused."""
    delegation = delegation_in_force(uow.factoring.delegations_of(policy.id), factor.id, on)
    if delegation is None:
        raise RuleBroken(
            f"policy {policy.number} names no delegation to {factor.name} in force on {on}: the insurer "
            "must endorse the policy (délégation) before invoices are assigned to that factor",
            code="factoring.no_delegation",
            field="factor_id",
            context={"factor_id": factor.id, "date": on.isoformat()},
        )
    return delegation


def factor_for_assignment(
    uow: UnitOfWork, policy: Policy, *, factor_id: str | None, name: str | None, on: date
) -> Organisation:
    factor = resolve_factor(uow, factor_id=factor_id, name=name)
    delegation_for(uow, policy, factor, on)
    return factor


def create_delegation(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    factor_id: str,
    start_date: date,
    end_date: date | None = None,
    reason: str,
) -> DelegationView:
    """The insurer endorses the policy: the factor is loss payee of its assigned invoices from ``start_date``."""
    require(actor, Permission.POLICY_ENDORSE)
    policy = get_policy(uow, actor, policy_id)
    factor = get_factor(uow, factor_id)
    validate_delegation_period(start_date, end_date)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(
            f"a reason is required ({MAX_REASON} characters at most)", code="delegation.reason_required", field="reason"
        )
    if start_date < policy.periods[0].start:
        raise InvalidInput(
            f"the delegation starts on {start_date}, before the policy ({policy.periods[0].start})",
            code="delegation.before_policy",
            field="start_date",
        )
    existing = uow.factoring.delegations_of(policy.id, lock=True)
    clash = next((d for d in existing if d.factor_id == factor.id and d.overlaps(start_date, end_date)), None)
    if clash is not None:
        raise Conflict(
            f"policy {policy.number} already delegates to {factor.name} from {clash.start_date}"
            + ("" if clash.end_date is None else f" to {clash.end_date}"),
            code="delegation.overlapping",
            field="start_date",
            context={"delegation_id": clash.id},
        )
    delegation = Delegation(
        id=new_id(),
        policy_id=policy.id,
        factor_id=factor.id,
        start_date=start_date,
        end_date=end_date,
        reason=reason,
        created_by=actor.audit_label(),
        created_at=clock.now(),
    )
    uow.factoring.add_delegation(delegation)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="policy.delegation_endorsed",
        object_type="policy",
        object_id=policy.id,
        summary={
            "delegation_id": delegation.id,
            "policy": policy.number,
            "factor_id": factor.id,
            "factor": factor.name,
            "start_date": start_date.isoformat(),
            "end_date": None if end_date is None else end_date.isoformat(),
        },
        reason=reason,
    )
    return DelegationView(delegation, factor.name)


def delegations_of_policy(uow: UnitOfWork, actor: Actor, policy_id: str) -> list[DelegationView]:
    """The policy's delegations, for whoever may read the policy."""
    policy = get_policy(uow, actor, policy_id)
    out: list[DelegationView] = []
    for delegation in uow.factoring.delegations_of(policy.id):
        factor = uow.organisations.get(delegation.factor_id)
        out.append(DelegationView(delegation, factor.name if factor is not None else delegation.factor_id))
    return out


def require_factor(actor: Actor) -> str:
    """The factor organisation a factor's user acts for; anyone else is refused."""
    if actor.organisation_kind is not OrganisationKind.FACTOR or actor.role is not Role.FACTOR_USER:
        raise Forbidden("only a factor's users see the invoices assigned to it", code="auth.forbidden")
    return actor.organisation_id


def simulated_factor(uow: UnitOfWork, clock: Clock, actor: Actor, policy: Policy, name: str) -> Organisation:
    """The scenario simulator's factor: created (with the policy's delegation from its start) on first use."""
    factor = uow.organisations.find_by_name(name)
    if factor is None:
        holder = uow.organisations.get(policy.policyholder_id)
        country = holder.country if holder is not None else "FR"
        factor = Organisation(new_id(), OrganisationKind.FACTOR, name, country, None, clock.now())
        uow.organisations.add(factor)
        record(
            uow,
            clock,
            actor,
            tenant=factor.id,
            action="organisation.created",
            object_type="organisation",
            object_id=factor.id,
            summary={"after": {"kind": factor.kind.value, "name": name, "country": country, "siren": None}},
        )
    elif factor.kind is not OrganisationKind.FACTOR:
        raise _not_a_factor(name, "factor")
    if delegation_in_force(uow.factoring.delegations_of(policy.id), factor.id, policy.periods[0].start) is None:
        create_delegation(
            uow,
            clock,
            actor,
            policy_id=policy.id,
            factor_id=factor.id,
            start_date=policy.periods[0].start,
            reason="scenario: the policy names the factor loss payee of the invoices assigned to it",
        )
    return factor


def factor_named(uow: UnitOfWork, policy: Policy, reference: str, *, on: date) -> Organisation:
    """A ledger file's factor column: a factor organisation's id or exact name, delegated to on ``on``."""
    reference = reference.strip()
    by_id = uow.organisations.get(reference) if len(reference) <= 36 else None
    if by_id is not None and by_id.kind is OrganisationKind.FACTOR:
        factor = by_id
    else:
        factor = resolve_factor(uow, factor_id=None, name=reference)
    delegation_for(uow, policy, factor, on)
    return factor
