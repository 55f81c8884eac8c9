"""Credit limits: requests and automatic decisions, referrals with four eyes, insurer revisions,
capacity overrides, prospect queries, expiry (DOMAIN.md §5).

Every decision on a buyer runs with the buyer (and its group head) locked, so
two concurrent requests can never together exceed its capacity.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from tradecover.domain.buyers import Buyer
from tradecover.domain.credit_limits import (
    STATUS_OF_RESPONSE,
    Accumulation,
    BuyerRiskView,
    Decision,
    EngineSettings,
    LimitDecision,
    LimitRequest,
    LimitStatus,
    RequestState,
    amount_in_force,
    buyer_capacity,
    check_transition,
    coverability,
    decide,
    decision_in_force,
    reduction_effective_date,
    yearly_review_date,
)
from tradecover.domain.errors import Forbidden, InvalidInput, NotFound, RateLimited, RuleBroken
from tradecover.domain.identifiers import IdentifierKind
from tradecover.domain.money import Money
from tradecover.domain.monitoring import Alert, AlertKind
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy, ensure_not_terminated, terms_in_force
from tradecover.domain.receco import ReasonCode, RequestType, ResponseType
from tradecover.services.authorization import (
    Actor,
    Permission,
    ensure_can_act,
    not_found,
    require,
    visible_organisations,
)
from tradecover.services.buyers import get_buyer
from tradecover.services.policies import get_policy
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import new_id, record

DEFAULT_SETTINGS = EngineSettings()


@dataclass(frozen=True)
class RequestOutcome:
    request: LimitRequest
    decision: LimitDecision | None  # None while referred


def _amount(value: Money | str | Decimal, currency: str) -> Money:
    money = value if isinstance(value, Money) else Money.of(value, currency)
    if money.currency != currency:
        raise InvalidInput(
            f"the amount is in {money.currency}; the policy's currency is {currency}",
            code="credit_limit.currency_mismatch",
            field="amount",
        )
    if money.round() != money:
        raise InvalidInput(
            "the amount has more decimals than its currency allows", code="credit_limit.invalid_amount", field="amount"
        )
    if money.is_negative():
        raise InvalidInput("a limit cannot be negative", code="credit_limit.invalid_amount", field="amount")
    return money


def risk_view(uow: UnitOfWork, buyer: Buyer, currency: str) -> BuyerRiskView:
    statements = uow.financials.current(buyer.id)
    latest = statements[0] if statements else None

    def figure(name: str) -> Decimal | None:
        if latest is None or latest.currency != currency:
            return None  # another currency: no conversion rate here, so no size-based capacity
        money = latest.amounts.get(name)
        return None if money is None else money.amount

    override = uow.limits.capacity_override(buyer.id)
    if override is not None and override.currency != currency:
        override = None  # no conversion rate here: a capacity set in another currency does not apply
    return BuyerRiskView(
        buyer_id=buyer.id,
        country=buyer.country,
        legal_status=buyer.legal_status,
        risk_grade=buyer.risk_grade,
        legal_form=buyer.legal_form,
        siren=buyer.identifier(IdentifierKind.SIREN),
        naf_code=buyer.naf_code,
        equity=figure("equity"),
        turnover=figure("turnover"),
        capacity_override=None if override is None else override.amount,
    )


def _in_force_by_policy(decisions: list[LimitDecision], on: date, currency: str) -> dict[tuple[str, str], Decimal]:
    grouped: dict[tuple[str, str], list[LimitDecision]] = defaultdict(list)
    for d in decisions:
        grouped[(d.policy_id, d.buyer_id)].append(d)
    return {key: amount_in_force(history, on, currency).amount for key, history in grouped.items()}


def accumulation(
    uow: UnitOfWork,
    buyer: Buyer,
    *,
    excluding_policy: str | None,
    on: date,
    currency: str,
    settings: EngineSettings,
) -> Accumulation:
    """Limits in force on the buyer and on its group, over all policies but ``excluding_policy``.

    The group is the head (the buyer's parent, or the buyer itself when others name it as parent) and
    every buyer under it; the head's capacity caps the group.
    """
    head = buyer.parent_id or buyer.id
    members = uow.limits.group_members(head)
    in_force = _in_force_by_policy(uow.limits.decisions_on(members), on, currency)
    on_buyer = sum((a for (p, b), a in in_force.items() if b == buyer.id and p != excluding_policy), Decimal(0))
    if len(members) <= 1:
        return Accumulation(on_buyer, on_buyer, None)
    # The request is the new total for this policy on this buyer only; its limits on the others count.
    on_group = sum((a for (p, b), a in in_force.items() if (p, b) != (excluding_policy, buyer.id)), Decimal(0))
    head_buyer = buyer if head == buyer.id else uow.buyers.get(head)
    group_capacity = None
    if head_buyer is not None:
        group_capacity = buyer_capacity(risk_view(uow, head_buyer, currency), settings).amount
    return Accumulation(on_buyer, on_group, group_capacity)


def _policy_for_request(uow: UnitOfWork, actor: Actor, policy_id: str, on: date) -> tuple[Policy, object]:
    policy = get_policy(uow, actor, policy_id)
    ensure_can_act(actor, policy.policyholder_id, "policy", policy_id)
    ensure_not_terminated(policy, on)  # termination stops new limits: ``policy.terminated``
    if policy.period_on(on) is None:
        raise RuleBroken(
            f"policy {policy.number} is not in force on {on}",
            code="credit_limit.policy_not_in_force",
            field="policy_id",
        )
    terms = terms_in_force(uow.policies.terms_versions(policy.id), on).terms
    return policy, terms


def _engine_decision(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    terms: object,
    buyer: Buyer,
    requested: Money,
    settings: EngineSettings,
) -> Decision:
    from tradecover.domain.terms import PolicyTerms

    assert isinstance(terms, PolicyTerms)
    holder = uow.organisations.get(policy.policyholder_id)
    view = risk_view(uow, buyer, policy.currency)
    return decide(
        requested=requested,
        buyer=view,
        capacity=buyer_capacity(view, settings),
        accumulation=accumulation(
            uow, buyer, excluding_policy=policy.id, on=clock.today(), currency=policy.currency, settings=settings
        ),
        covered_countries=terms.covered_countries,
        policyholder_siren=None if holder is None else holder.siren,
        settings=settings,
    )


def _lock(uow: UnitOfWork, buyer: Buyer) -> None:
    uow.limits.lock_buyers([buyer.id] + ([buyer.parent_id] if buyer.parent_id else []))


def _append(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy: Policy,
    buyer_id: str,
    request_type: RequestType,
    status: LimitStatus,
    requested: Money | None,
    granted: Money,
    effective: date,
    expires_on: date | None,
    reasons: tuple[str, ...],
    request_id: str | None,
    revision: bool = False,
    history: list[LimitDecision] | None = None,
) -> LimitDecision:
    """Append a decision to the limit's history (``history`` when the caller has just read it)."""
    if history is None:
        history = uow.limits.history(policy.id, buyer_id)
    # A decision on a request passes through "requested"; a revision moves the state of the limit in force.
    in_force = decision_in_force(history, effective)
    check_transition((None if in_force is None else in_force.status) if revision else LimitStatus.REQUESTED, status)
    decision = LimitDecision(
        id=new_id(),
        policy_id=policy.id,
        buyer_id=buyer_id,
        sequence=len(history) + 1,
        request_type=request_type,
        status=status,
        requested_amount=requested,
        granted_amount=granted,
        effective_date=effective,
        expires_on=expires_on,
        reasons=reasons,
        decided_by=actor.audit_label(),
        decided_at=clock.now(),
        request_id=request_id,
    )
    uow.limits.add_decision(decision, review_on=yearly_review_date(effective))
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action=f"credit_limit.{status.value}",
        object_type="credit_limit",
        object_id=f"{policy.id}:{buyer_id}",
        summary={
            "sequence": decision.sequence,
            "request_type": request_type.value,
            "requested": None if requested is None else requested.to_json(),
            "granted": granted.to_json(),
            "effective_date": effective,
            "expires_on": expires_on,
            "reasons": list(reasons),
        },
    )
    return decision


def request_limit(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    amount: Money | str | Decimal,
    request_type: RequestType = RequestType.NEW,
    temporary_until: date | None = None,
    settings: EngineSettings = DEFAULT_SETTINGS,
) -> RequestOutcome:
    """An insured's (or broker's, or underwriter's) request; the engine answers at once or refers it."""
    require(actor, Permission.LIMIT_REQUEST)
    today = clock.today()
    policy, terms = _policy_for_request(uow, actor, policy_id, today)
    buyer = get_buyer(uow, actor, buyer_id)
    requested = _amount(amount, policy.currency)
    if request_type is RequestType.PRELIMINARY_ASSESSMENT:
        raise InvalidInput(
            "a preliminary assessment is a prospect query", code="credit_limit.use_prospect_query", field="request_type"
        )
    if temporary_until is not None and temporary_until <= today:
        raise InvalidInput(
            "a temporary limit must end after today", code="credit_limit.invalid_end_date", field="temporary_until"
        )
    _lock(uow, buyer)
    history = uow.limits.history(policy.id, buyer.id)
    current = amount_in_force(history, today, policy.currency)
    request = LimitRequest(
        id=new_id(),
        policy_id=policy.id,
        buyer_id=buyer.id,
        organisation_id=policy.policyholder_id,
        request_type=request_type,
        requested=requested if request_type is not RequestType.CANCELLATION else Money.zero(policy.currency),
        temporary_until=temporary_until,
        requested_by=actor.audit_label(),
        requested_at=clock.now(),
        state=RequestState.DECIDED,
    )
    if request_type in (RequestType.REDUCTION, RequestType.CANCELLATION):
        target = Money.zero(policy.currency) if request_type is RequestType.CANCELLATION else requested
        in_force = decision_in_force(history, today)
        if target.amount >= current.amount and request_type is RequestType.REDUCTION:
            raise InvalidInput(
                f"a reduction must be below the limit in force ({current})",
                code="credit_limit.not_a_reduction",
                field="amount",
            )
        if current.is_zero():
            raise RuleBroken("there is no limit in force to reduce or cancel", code="credit_limit.none_in_force")
        reason = ReasonCode.CANCELLED_AT_INSURED_REQUEST if target.is_zero() else ReasonCode.REDUCED_AT_INSURED_REQUEST
        status = LimitStatus.CANCELLED if target.is_zero() else LimitStatus.REDUCED
        request.response, request.granted, request.reasons = ResponseType.APPROVED, target, (reason.value,)
        request.decided_at = clock.now()
        uow.limits.save_request(request)
        decision = _append(
            uow,
            clock,
            actor,
            policy=policy,
            buyer_id=buyer.id,
            request_type=request_type,
            status=status,
            requested=target,
            granted=target,
            effective=today,
            expires_on=None if in_force is None or target.is_zero() else in_force.expires_on,
            reasons=(reason.value,),
            request_id=request.id,
            revision=True,
            history=history,
        )
        uow.commit()
        return RequestOutcome(request, decision)
    if request_type is RequestType.PROLONGATION and current.is_zero():
        raise RuleBroken("there is no limit in force to prolong", code="credit_limit.none_in_force")
    engine = _engine_decision(uow, clock, policy, terms, buyer, requested, settings)
    if engine.status is ResponseType.PARTLY_APPROVED and engine.granted < current:
        # Cutting a limit takes the insurer's revision, with its notice: an increase that cannot be
        # granted is refused and the limit in force stays as it is.
        engine = Decision(ResponseType.NOT_APPROVED, Money.zero(policy.currency), engine.reasons)
    request.response, request.granted, request.suggestion = engine.status, engine.granted, engine.suggestion
    request.reasons = tuple(r.value for r in engine.reasons)
    if engine.status is ResponseType.STILL_INVESTIGATING:
        request.state = RequestState.REFERRED
        uow.limits.save_request(request)
        record(
            uow,
            clock,
            actor,
            tenant=policy.policyholder_id,
            action="credit_limit.referred",
            object_type="limit_request",
            object_id=request.id,
            summary={"buyer_id": buyer.id, "requested": requested.to_json(), "reasons": list(request.reasons)},
        )
        uow.commit()
        return RequestOutcome(request, None)
    request.decided_at = clock.now()
    uow.limits.save_request(request)
    status = STATUS_OF_RESPONSE[engine.status]
    granted = Money.zero(policy.currency) if status is LimitStatus.REFUSED else engine.granted
    decision = _append(
        uow,
        clock,
        actor,
        policy=policy,
        buyer_id=buyer.id,
        request_type=request_type,
        status=status,
        requested=requested,
        granted=granted,
        effective=today,
        expires_on=temporary_until,
        reasons=request.reasons,
        request_id=request.id,
        history=history,
    )
    uow.commit()
    return RequestOutcome(request, decision)


def prospect_query(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    amount: Money | str | Decimal,
    settings: EngineSettings = DEFAULT_SETTINGS,
) -> Decision:
    """What the engine would grant now; creates no limit and commits the insurer to nothing."""
    require(actor, Permission.LIMIT_REQUEST)
    today = clock.today()
    policy, terms = _policy_for_request(uow, actor, policy_id, today)
    buyer = get_buyer(uow, actor, buyer_id)
    requested = _amount(amount, policy.currency)
    since = clock.now() - timedelta(hours=1)
    if uow.limits.count_prospect_queries(policy.policyholder_id, since) >= settings.prospect_queries_per_hour:
        raise RateLimited(
            f"at most {settings.prospect_queries_per_hour} prospect queries an hour per insured",
            code="credit_limit.prospect_rate_limited",
            context={"retry_after_seconds": 3600},
        )
    uow.limits.add_prospect_query(
        id=new_id(), organisation_id=policy.policyholder_id, buyer_id=buyer.id, at=clock.now()
    )
    engine = _engine_decision(uow, clock, policy, terms, buyer, requested, settings)
    uow.commit()  # only the query's time, for the rate limit
    return replace(engine, reasons=(*engine.reasons, ReasonCode.INDICATION_ONLY))


@dataclass(frozen=True)
class Referral:
    request: LimitRequest
    buyer: Buyer
    accumulation: Accumulation
    capacity: Decimal | None
    latest_financials: dict[str, str | None]


def referrals(
    uow: UnitOfWork, clock: Clock, actor: Actor, page: Page, settings: EngineSettings = DEFAULT_SETTINGS
) -> tuple[list[Referral], int]:
    """The underwriters' queue: referred requests with what they need to decide."""
    require(actor, Permission.LIMIT_DECIDE)
    items, total = uow.limits.requests(
        states=[RequestState.REFERRED, RequestState.AWAITING_SECOND_APPROVAL],
        organisation_ids=None,
        policy_id=None,
        page=page,
    )
    result = []
    for request in items:
        buyer = uow.buyers.get(request.buyer_id)
        if buyer is None:
            continue
        currency = request.requested.currency
        view = risk_view(uow, buyer, currency)
        statements = uow.financials.current(buyer.id)
        figures = (
            {k: None if v is None else v.to_json()["amount"] for k, v in statements[0].amounts.items()}
            if statements
            else {}
        )
        result.append(
            Referral(
                request,
                buyer,
                accumulation(
                    uow,
                    buyer,
                    excluding_policy=request.policy_id,
                    on=clock.today(),
                    currency=currency,
                    settings=settings,
                ),
                buyer_capacity(view, settings).amount,
                figures,
            )
        )
    return result, total


def _check_still_grantable(
    uow: UnitOfWork, clock: Clock, policy: Policy, buyer: Buyer, granted: Money, settings: EngineSettings
) -> None:
    """At the moment of an underwriter's approval: the policy not terminated, the buyer still coverable and
    the capacity still there."""
    ensure_not_terminated(policy, clock.today())
    terms = terms_in_force(uow.policies.terms_versions(policy.id), clock.today()).terms
    holder = uow.organisations.get(policy.policyholder_id)
    view = risk_view(uow, buyer, policy.currency)
    excluded = coverability(
        view, covered_countries=terms.covered_countries, policyholder_siren=None if holder is None else holder.siren
    )
    if excluded is not None:
        raise RuleBroken(
            f"the buyer is no longer coverable ({excluded.value})",
            code="credit_limit.buyer_not_coverable",
            context={"reason": excluded.value},
        )
    capacity = buyer_capacity(view, settings).amount
    if capacity is None:
        return  # no capacity can be computed: the underwriter's judgement is the decision
    held = accumulation(
        uow, buyer, excluding_policy=policy.id, on=clock.today(), currency=policy.currency, settings=settings
    )
    remaining = capacity - held.on_buyer
    if held.group_capacity is not None:
        remaining = min(remaining, held.group_capacity - held.on_group)
    if granted.amount > remaining:
        raise RuleBroken(
            f"only {max(remaining, Decimal(0))} of the buyer's capacity remains; raise its capacity first",
            code="credit_limit.capacity_reached",
            field="amount",
            context={"remaining": max(remaining, Decimal(0))},
        )


def decide_referral(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    request_id: str,
    *,
    response: ResponseType,
    amount: Money | str | Decimal | None,
    reason: str,
    settings: EngineSettings = DEFAULT_SETTINGS,
) -> RequestOutcome:
    """An underwriter decides a referred request; above the four-eyes threshold a second one confirms."""
    require(actor, Permission.LIMIT_DECIDE)
    request = uow.limits.get_request(request_id, lock=True)
    if request is None:
        raise not_found("limit_request", request_id)
    if request.state is RequestState.DECIDED:
        raise RuleBroken("this request is already decided", code="credit_limit.already_decided")
    if response not in (ResponseType.APPROVED, ResponseType.PARTLY_APPROVED, ResponseType.NOT_APPROVED):
        raise InvalidInput(
            "decide with approved, partially_approved or refused", code="credit_limit.invalid_response", field="status"
        )
    text = " ".join(reason.split())
    if not text:
        raise InvalidInput("a reason is required", code="credit_limit.reason_required", field="reason")
    currency = request.requested.currency
    granted = (
        Money.zero(currency)
        if response is ResponseType.NOT_APPROVED
        else _amount(amount if amount is not None else request.requested, currency)
    )
    if response is not ResponseType.NOT_APPROVED and not granted.is_positive():
        raise InvalidInput("an approval grants a positive amount", code="credit_limit.invalid_amount", field="amount")
    if granted.amount > request.requested.amount:
        raise InvalidInput(
            "the insurer does not grant more than was asked", code="credit_limit.above_request", field="amount"
        )
    if response is ResponseType.APPROVED and granted != request.requested:
        response = ResponseType.PARTLY_APPROVED
    policy = uow.policies.get(request.policy_id)
    buyer = uow.buyers.get(request.buyer_id)
    assert policy is not None
    assert buyer is not None
    _lock(uow, buyer)
    if response is not ResponseType.NOT_APPROVED:
        _check_still_grantable(uow, clock, policy, buyer, granted, settings)
    if request.state is RequestState.REFERRED and granted.amount > settings.four_eyes_threshold:
        request.state = RequestState.AWAITING_SECOND_APPROVAL
        request.first_approver, request.proposed_response = actor.user_id, response
        request.proposed, request.proposed_reason = granted, text
        request.reasons = (*request.reasons, ReasonCode.FOUR_EYES_PENDING.value)
        uow.limits.save_request(request)
        record(
            uow,
            clock,
            actor,
            tenant=policy.policyholder_id,
            action="credit_limit.first_approval",
            object_type="limit_request",
            object_id=request.id,
            summary={"proposed": granted.to_json(), "response": response.value},
            reason=text,
        )
        uow.commit()
        return RequestOutcome(request, None)
    if request.state is RequestState.AWAITING_SECOND_APPROVAL:
        if actor.user_id == request.first_approver:
            raise Forbidden("the second approval must come from another underwriter", code="credit_limit.four_eyes")
        confirms = (response, granted) == (request.proposed_response, request.proposed)
        if not confirms and response is not ResponseType.NOT_APPROVED:
            raise RuleBroken(
                "the second underwriter confirms the first one's decision, or refuses",
                code="credit_limit.four_eyes_mismatch",
            )
    request.state, request.response, request.granted = RequestState.DECIDED, response, granted
    request.reasons = (ReasonCode.UNDERWRITER_DECISION.value,)
    request.decided_at = clock.now()
    uow.limits.save_request(request)
    status = STATUS_OF_RESPONSE[response]
    decision = _append(
        uow,
        clock,
        actor,
        policy=policy,
        buyer_id=buyer.id,
        request_type=request.request_type,
        status=status,
        requested=request.requested,
        granted=granted,
        effective=clock.today(),
        expires_on=request.temporary_until,
        reasons=request.reasons,
        request_id=request.id,
    )
    uow.commit()
    return RequestOutcome(request, decision)


def revise_limit(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    amount: Money | str | Decimal | None,
    reason: str,
) -> LimitDecision:
    """The insurer reduces (``amount``) or cancels (None) a limit; the policy's reduction notice applies."""
    require(actor, Permission.LIMIT_DECIDE)
    policy = get_policy(uow, actor, policy_id)
    buyer = get_buyer(uow, actor, buyer_id)
    decision = _revise(uow, clock, actor, policy, buyer, amount, reason)
    uow.commit()
    return decision


def _revise(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy: Policy,
    buyer: Buyer,
    amount: Money | str | Decimal | None,
    reason: str,
    *,
    immediate: bool = False,
) -> LimitDecision:
    text = " ".join(reason.split()) or "insurer revision"
    _lock(uow, buyer)
    today = clock.today()
    history = uow.limits.history(policy.id, buyer.id)
    current = amount_in_force(history, today, policy.currency)
    in_force = decision_in_force(history, today)
    if current.is_zero():
        raise RuleBroken("there is no limit in force to revise", code="credit_limit.none_in_force")
    target = Money.zero(policy.currency) if amount is None else _amount(amount, policy.currency)
    if target.amount >= current.amount:
        raise InvalidInput(
            f"a reduction must be below the limit in force ({current})",
            code="credit_limit.not_a_reduction",
            field="amount",
        )
    terms = terms_in_force(uow.policies.terms_versions(policy.id), today).terms
    # The notice protects deliveries already planned; an insolvency ends cover for future deliveries at once.
    effective = today if immediate else reduction_effective_date(today, terms.reduction_notice_days)
    cancelled = target.is_zero()
    code = ReasonCode.CANCELLED_BY_INSURER if cancelled else ReasonCode.REDUCED_BY_INSURER
    decision = _append(
        uow,
        clock,
        actor,
        policy=policy,
        buyer_id=buyer.id,
        request_type=RequestType.CANCELLATION if cancelled else RequestType.REDUCTION,
        status=LimitStatus.CANCELLED if cancelled else LimitStatus.REDUCED,
        requested=None,
        granted=target,
        effective=effective,
        expires_on=None if cancelled or in_force is None else in_force.expires_on,  # a reduction keeps the end date
        reasons=(code.value, text),
        request_id=None,
        revision=True,
        history=history,
    )
    verb = "cancelled" if cancelled else f"reduced to {target}"
    uow.monitoring.raise_alert(
        Alert(
            new_id(),
            policy.policyholder_id,
            AlertKind.LIMIT_REVISED,
            buyer.id,
            f"{buyer.legal_name}: limit {verb} for deliveries from {effective:%d/%m/%Y} ({text}). "
            f"Deliveries before stay covered up to {current}.",
            f"limit_revised:{decision.id}",
            clock.now(),
            effective,
        )
    )
    return decision


def cancel_limits_on_buyer(uow: UnitOfWork, clock: Clock, actor: Actor, buyer_id: str, *, reason: str) -> int:
    """Cancel every limit in force on a buyer and refuse its pending referrals (after an insolvency).

    Returns how many limits were cancelled. The caller commits.
    """
    buyer = uow.buyers.get(buyer_id)
    if buyer is None:
        raise NotFound("buyer not found", code="buyer.not_found")
    today = clock.today()
    count = 0
    for policy_id in sorted({d.policy_id for d in uow.limits.decisions_on([buyer_id])}):
        policy = uow.policies.get(policy_id)
        if policy is None:
            continue
        if amount_in_force(uow.limits.history(policy_id, buyer_id), today, policy.currency).is_positive():
            _revise(uow, clock, actor, policy, buyer, None, reason, immediate=True)
            count += 1
    pending, _ = uow.limits.requests(
        states=[RequestState.REFERRED, RequestState.AWAITING_SECOND_APPROVAL],
        organisation_ids=None,
        policy_id=None,
        page=Page(limit=10_000),
        buyer_id=buyer_id,
    )
    for request in pending:
        request.state, request.response = RequestState.DECIDED, ResponseType.NOT_APPROVED
        request.granted, request.decided_at = Money.zero(request.requested.currency), clock.now()
        request.reasons = (ReasonCode.INSOLVENCY_PROCEDURE.value,)
        uow.limits.save_request(request)
    return count


def set_capacity(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    buyer_id: str,
    *,
    amount: Money | str | Decimal | None,
    currency: str = "EUR",
    reason: str,
) -> None:
    """An underwriter sets a buyer's capacity explicitly (None: back to the capacity function)."""
    require(actor, Permission.LIMIT_DECIDE)
    buyer = get_buyer(uow, actor, buyer_id)
    money = None if amount is None else _amount(amount, currency)
    if money is not None and money.is_negative():
        raise InvalidInput("a capacity cannot be negative", code="credit_limit.invalid_amount", field="amount")
    _lock(uow, buyer)
    uow.limits.add_capacity_override(
        id=new_id(),
        buyer_id=buyer.id,
        amount=money,
        currency=currency,
        reason=reason,
        set_by=actor.audit_label(),
        set_at=clock.now(),
    )
    record(
        uow,
        clock,
        actor,
        tenant="insurer",
        action="buyer.capacity_set",
        object_type="buyer",
        object_id=buyer.id,
        summary={"after": None if money is None else money.to_json()},
        reason=reason,
    )
    uow.commit()


def limit_history(uow: UnitOfWork, actor: Actor, policy_id: str, buyer_id: str) -> list[LimitDecision]:
    policy = get_policy(uow, actor, policy_id)
    buyer = get_buyer(uow, actor, buyer_id)
    return uow.limits.history(policy.id, buyer.id)


def limits_of_policy(
    uow: UnitOfWork, clock: Clock, actor: Actor, policy_id: str
) -> list[tuple[str, Money, list[LimitDecision]]]:
    """(buyer, amount in force today, history) for every buyer with a decision on the policy."""
    policy = get_policy(uow, actor, policy_id)
    grouped: dict[str, list[LimitDecision]] = defaultdict(list)
    for d in uow.limits.decisions_of_policy(policy.id):
        grouped[d.buyer_id].append(d)
    today = clock.today()
    return [(b, amount_in_force(h, today, policy.currency), h) for b, h in grouped.items()]


def list_requests(
    uow: UnitOfWork, actor: Actor, *, policy_id: str | None, page: Page
) -> tuple[list[LimitRequest], int]:
    if policy_id is not None:
        get_policy(uow, actor, policy_id)
    return uow.limits.requests(
        states=None, organisation_ids=visible_organisations(actor), policy_id=policy_id, page=page
    )


def get_request(uow: UnitOfWork, actor: Actor, request_id: str) -> LimitRequest:
    request = uow.limits.get_request(request_id)
    visible = visible_organisations(actor)
    if request is None or (visible is not None and request.organisation_id not in visible):
        raise not_found("limit_request", request_id)
    return request


def expire_limits(uow: UnitOfWork, clock: Clock, actor: Actor) -> int:
    """Temporary limits whose end date has come expire by themselves (a dated decision records it)."""
    today = clock.today()
    count = 0
    for policy_id, buyer_id in uow.limits.temporary_limits(today):
        history = uow.limits.history(policy_id, buyer_id)
        in_force = decision_in_force(history, today)
        if (
            in_force is None
            or in_force.expires_on is None
            or in_force.expires_on > today
            or in_force.status in (LimitStatus.EXPIRED, LimitStatus.CANCELLED)
        ):
            continue
        policy = uow.policies.get(policy_id)
        assert policy is not None
        _append(
            uow,
            clock,
            actor,
            policy=policy,
            buyer_id=buyer_id,
            request_type=in_force.request_type,
            status=LimitStatus.EXPIRED,
            requested=None,
            granted=Money.zero(policy.currency),
            effective=in_force.expires_on,
            expires_on=None,
            reasons=(ReasonCode.EXPIRED.value,),
            request_id=None,
            revision=True,
        )
        count += 1
    uow.commit()
    return count
