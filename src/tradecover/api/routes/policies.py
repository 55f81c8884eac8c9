"""Policies: issue, read, terms history, endorsements, renewals, notice and termination."""

from __future__ import annotations

from fastapi import APIRouter, status

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.schemas import (
    EndorsementIn,
    Paged,
    PolicyIn,
    PolicyOut,
    RenewalIn,
    TerminationIn,
    TerminationNoticeIn,
    TermsVersionOut,
)
from tradecover.services import policies

router = APIRouter(tags=["policies"])


@router.get("/policies", response_model=Paged[PolicyOut])
def list_policies(container: ContainerDep, actor: ActorDep, page: PageDep) -> Paged[PolicyOut]:
    with container.uow() as uow:
        items, total = policies.list_policies(uow, actor, page)
    today = container.clock.today()
    return Paged(items=[PolicyOut.of(p, on=today) for p in items], total=total, limit=page.limit, offset=page.offset)


@router.post("/policies", response_model=PolicyOut, status_code=status.HTTP_201_CREATED)
def issue_policy(container: ContainerDep, actor: ActorDep, body: PolicyIn) -> PolicyOut:
    with container.uow() as uow:
        policy, terms = policies.issue_policy(
            uow,
            container.clock,
            actor,
            policyholder_id=body.policyholder_id,
            start_date=body.start_date,
            currency=body.currency,
            terms=body.terms.overrides(),
            reason=body.reason,
        )
    return PolicyOut.of(policy, terms, on=container.clock.today())


@router.get("/policies/{policy_id}", response_model=PolicyOut)
def get_policy(container: ContainerDep, actor: ActorDep, policy_id: str) -> PolicyOut:
    with container.uow() as uow:
        policy = policies.get_policy(uow, actor, policy_id)
        terms = policies.current_terms(uow, actor, policy_id, container.clock.today())
    return PolicyOut.of(policy, terms, on=container.clock.today())


@router.get("/policies/{policy_id}/terms", response_model=list[TermsVersionOut])
def terms_history(container: ContainerDep, actor: ActorDep, policy_id: str) -> list[TermsVersionOut]:
    with container.uow() as uow:
        return [TermsVersionOut.of(v) for v in policies.terms_history(uow, actor, policy_id)]


@router.post("/policies/{policy_id}/endorsements", response_model=TermsVersionOut, status_code=status.HTTP_201_CREATED)
def endorse_policy(container: ContainerDep, actor: ActorDep, policy_id: str, body: EndorsementIn) -> TermsVersionOut:
    with container.uow() as uow:
        version = policies.endorse_policy(
            uow,
            container.clock,
            actor,
            policy_id,
            effective_date=body.effective_date,
            changes=body.changes.overrides(),
            reason=body.reason,
        )
    return TermsVersionOut.of(version)


@router.post("/policies/{policy_id}/renewals", response_model=PolicyOut, status_code=status.HTTP_201_CREATED)
def renew_policy(container: ContainerDep, actor: ActorDep, policy_id: str, body: RenewalIn) -> PolicyOut:
    with container.uow() as uow:
        policy = policies.renew_policy(uow, container.clock, actor, policy_id, reason=body.reason)
    return PolicyOut.of(policy, on=container.clock.today())


@router.post("/policies/{policy_id}/termination-notice", response_model=PolicyOut, status_code=status.HTTP_201_CREATED)
def give_termination_notice(
    container: ContainerDep, actor: ActorDep, policy_id: str, body: TerminationNoticeIn
) -> PolicyOut:
    """Notice of non-renewal: in time, the policy ends at the end of the running period; late, one period
    later (``termination_notice.outcome`` says which)."""
    with container.uow() as uow:
        policy, _ = policies.give_termination_notice(
            uow,
            container.clock,
            actor,
            policy_id,
            reason=body.reason,
            given_by=body.given_by,
            given_on=body.given_on,
        )
    return PolicyOut.of(policy, on=container.clock.today())


@router.post("/policies/{policy_id}/termination", response_model=PolicyOut, status_code=status.HTTP_201_CREATED)
def terminate_policy(container: ContainerDep, actor: ActorDep, policy_id: str, body: TerminationIn) -> PolicyOut:
    """The insurer terminates the policy from a date; deliveries made before stay covered (run-off)."""
    with container.uow() as uow:
        policy = policies.terminate_policy(
            uow, container.clock, actor, policy_id, effective_date=body.effective_date, reason=body.reason
        )
    return PolicyOut.of(policy, on=container.clock.today())
