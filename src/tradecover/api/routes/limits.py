"""Credit limits: requests, prospect queries, the referral queue, revisions, capacity, history."""

from __future__ import annotations

from fastapi import APIRouter, status

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.schemas import (
    BuyerOut,
    CapacityIn,
    LimitDecisionOut,
    LimitOut,
    LimitRequestIn,
    LimitRequestOut,
    MoneyBody,
    Paged,
    ProspectOut,
    ProspectQueryIn,
    ReferralDecisionIn,
    ReferralOut,
    RevisionIn,
    reason_out,
)
from tradecover.domain.money import Money
from tradecover.services import credit_limits

router = APIRouter(tags=["credit limits"])


def _money(body: MoneyBody | None) -> Money | None:
    return None if body is None else Money.of(body.amount, body.currency)


@router.post(
    "/policies/{policy_id}/limit-requests", response_model=LimitRequestOut, status_code=status.HTTP_201_CREATED
)
def request_limit(container: ContainerDep, actor: ActorDep, policy_id: str, body: LimitRequestIn) -> LimitRequestOut:
    with container.uow() as uow:
        outcome = credit_limits.request_limit(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            buyer_id=body.buyer_id,
            amount=Money.of(body.amount.amount, body.amount.currency),
            request_type=body.request_type,
            temporary_until=body.temporary_until,
        )
    return LimitRequestOut.of(outcome.request)


@router.get("/policies/{policy_id}/limit-requests", response_model=Paged[LimitRequestOut])
def list_requests(container: ContainerDep, actor: ActorDep, page: PageDep, policy_id: str) -> Paged[LimitRequestOut]:
    with container.uow() as uow:
        items, total = credit_limits.list_requests(uow, actor, policy_id=policy_id, page=page)
    return Paged(items=[LimitRequestOut.of(r) for r in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/limit-requests/{request_id}", response_model=LimitRequestOut)
def get_request(container: ContainerDep, actor: ActorDep, request_id: str) -> LimitRequestOut:
    with container.uow() as uow:
        return LimitRequestOut.of(credit_limits.get_request(uow, actor, request_id))


@router.post("/policies/{policy_id}/prospect-queries", response_model=ProspectOut)
def prospect_query(container: ContainerDep, actor: ActorDep, policy_id: str, body: ProspectQueryIn) -> ProspectOut:
    with container.uow() as uow:
        decision = credit_limits.prospect_query(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            buyer_id=body.buyer_id,
            amount=Money.of(body.amount.amount, body.amount.currency),
        )
    return ProspectOut(
        status=decision.status.value,
        granted_amount=MoneyBody.of(decision.suggestion or decision.granted),
        reasons=[reason_out(r.value) for r in decision.reasons],
    )


@router.get("/policies/{policy_id}/limits", response_model=list[LimitOut])
def limits_of_policy(container: ContainerDep, actor: ActorDep, policy_id: str) -> list[LimitOut]:
    with container.uow() as uow:
        rows = credit_limits.limits_of_policy(uow, container.clock, actor, policy_id)
    return [
        LimitOut(buyer_id=b, amount_in_force=MoneyBody.of(a), history=[LimitDecisionOut.of(d) for d in h])
        for b, a, h in rows
    ]


@router.get("/policies/{policy_id}/limits/{buyer_id}", response_model=list[LimitDecisionOut])
def limit_history(container: ContainerDep, actor: ActorDep, policy_id: str, buyer_id: str) -> list[LimitDecisionOut]:
    with container.uow() as uow:
        return [LimitDecisionOut.of(d) for d in credit_limits.limit_history(uow, actor, policy_id, buyer_id)]


@router.post(
    "/policies/{policy_id}/limits/{buyer_id}/revisions",
    response_model=LimitDecisionOut,
    status_code=status.HTTP_201_CREATED,
)
def revise_limit(
    container: ContainerDep, actor: ActorDep, policy_id: str, buyer_id: str, body: RevisionIn
) -> LimitDecisionOut:
    with container.uow() as uow:
        decision = credit_limits.revise_limit(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            buyer_id=buyer_id,
            amount=_money(body.amount),
            reason=body.reason,
        )
    return LimitDecisionOut.of(decision)


@router.get("/referrals", response_model=Paged[ReferralOut])
def referrals(container: ContainerDep, actor: ActorDep, page: PageDep) -> Paged[ReferralOut]:
    with container.uow() as uow:
        items, total = credit_limits.referrals(uow, container.clock, actor, page)
    return Paged(
        items=[
            ReferralOut(
                request=LimitRequestOut.of(r.request),
                buyer=BuyerOut.of(r.buyer),
                capacity_amount=None if r.capacity is None else str(r.capacity),
                accumulation_on_buyer=str(r.accumulation.on_buyer),
                accumulation_on_group=str(r.accumulation.on_group),
                group_capacity_amount=None
                if r.accumulation.group_capacity is None
                else str(r.accumulation.group_capacity),
                latest_financials=r.latest_financials,
            )
            for r in items
        ],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/limit-requests/{request_id}/decision", response_model=LimitRequestOut)
def decide_referral(
    container: ContainerDep, actor: ActorDep, request_id: str, body: ReferralDecisionIn
) -> LimitRequestOut:
    with container.uow() as uow:
        outcome = credit_limits.decide_referral(
            uow,
            container.clock,
            actor,
            request_id,
            response=body.status,
            amount=_money(body.amount),
            reason=body.reason,
        )
    return LimitRequestOut.of(outcome.request)


@router.post("/buyers/{buyer_id}/capacity", status_code=status.HTTP_204_NO_CONTENT)
def set_capacity(container: ContainerDep, actor: ActorDep, buyer_id: str, body: CapacityIn) -> None:
    with container.uow() as uow:
        credit_limits.set_capacity(
            uow,
            container.clock,
            actor,
            buyer_id,
            amount=_money(body.amount),
            currency=body.amount.currency if body.amount else "EUR",
            reason=body.reason,
        )
