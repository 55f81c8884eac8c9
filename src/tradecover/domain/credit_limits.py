"""Credit limits (DOMAIN.md §5): the automatic decision, capacity, accumulation, and limit history.

Pure rules. A limit is the history of decisions on one (policy, buyer): each
decision states the amount in force from its effective date (and until its
expiry for a temporary limit). Nothing is overwritten: a reduction is a new
decision, so the amount in force on any delivery date can be read back
(the covered-exposure rule of §6 depends on it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from tradecover.domain.buyers import INSOLVENCY_STATUSES, LegalStatus
from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.grades import NOT_COVERABLE_FROM_GRADE
from tradecover.domain.money import Money
from tradecover.domain.receco import ReasonCode, RequestType, ResponseType


class LimitStatus(StrEnum):
    """States of a limit decision; the transitions are in ``TRANSITIONS``."""

    REQUESTED = "requested"
    APPROVED = "approved"
    PARTIAL = "partially_approved"
    REFUSED = "refused"
    REFERRED = "referred"
    REDUCED = "reduced"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# Explicit transition table (DOMAIN.md §5): from a limit's current state, the states a decision may lead to.
TRANSITIONS: Mapping[LimitStatus, frozenset[LimitStatus]] = {
    LimitStatus.REQUESTED: frozenset(
        {LimitStatus.APPROVED, LimitStatus.PARTIAL, LimitStatus.REFUSED, LimitStatus.REFERRED}
    ),
    LimitStatus.REFERRED: frozenset({LimitStatus.APPROVED, LimitStatus.PARTIAL, LimitStatus.REFUSED}),
    LimitStatus.APPROVED: frozenset(
        {LimitStatus.REDUCED, LimitStatus.CANCELLED, LimitStatus.EXPIRED, LimitStatus.REQUESTED}
    ),
    LimitStatus.PARTIAL: frozenset(
        {LimitStatus.REDUCED, LimitStatus.CANCELLED, LimitStatus.EXPIRED, LimitStatus.REQUESTED}
    ),
    LimitStatus.REDUCED: frozenset(
        {LimitStatus.REDUCED, LimitStatus.CANCELLED, LimitStatus.EXPIRED, LimitStatus.REQUESTED}
    ),
    LimitStatus.REFUSED: frozenset({LimitStatus.REQUESTED}),
    LimitStatus.CANCELLED: frozenset({LimitStatus.REQUESTED}),
    LimitStatus.EXPIRED: frozenset({LimitStatus.REQUESTED}),
}

IN_FORCE_STATUSES = frozenset({LimitStatus.APPROVED, LimitStatus.PARTIAL, LimitStatus.REDUCED})


def check_transition(current: LimitStatus | None, new: LimitStatus) -> None:
    """Refuse a move the table does not allow; a limit that does not exist yet can only be requested."""
    allowed = TRANSITIONS[current] if current is not None else frozenset({LimitStatus.REQUESTED})
    if new not in allowed:
        state = "none" if current is None else current.value
        raise RuleBroken(
            f"a limit in state {state} cannot become {new.value}",
            code="credit_limit.invalid_transition",
            context={"from": state, "to": new.value},
        )


@dataclass(frozen=True)
class EngineSettings:
    """The insurer's engine settings (not policy terms)."""

    minimum_useful_amount: Decimal = Decimal("5000")
    automatic_ceiling: Decimal = Decimal("150000")
    four_eyes_threshold: Decimal = Decimal("500000")
    equity_share: Decimal = Decimal("0.25")
    turnover_share: Decimal = Decimal("0.05")
    grade_multipliers: Mapping[int, Decimal] = field(
        default_factory=lambda: {
            1: Decimal("1.00"),
            2: Decimal("0.90"),
            3: Decimal("0.80"),
            4: Decimal("0.70"),
            5: Decimal("0.55"),
            6: Decimal("0.40"),
            7: Decimal("0.25"),
            8: Decimal("0.10"),
            9: Decimal(0),
            10: Decimal(0),
        }
    )
    # Per-buyer caps by NAF division range and by country risk class, in the insurer's currency.
    sector_caps: Mapping[range, Decimal] = field(
        default_factory=lambda: {range(41, 44): Decimal("1000000"), range(55, 57): Decimal("500000")}
    )
    default_sector_cap: Decimal = Decimal("5000000")
    low_risk_countries: frozenset[str] = frozenset({"FR", "DE", "NL", "BE", "LU", "AT", "CH", "DK", "SE", "NO", "FI"})
    low_risk_country_cap: Decimal = Decimal("10000000")
    other_country_cap: Decimal = Decimal("2000000")
    prospect_queries_per_hour: int = 30

    def sector_cap(self, naf_code: str | None) -> Decimal:
        if naf_code and naf_code[:2].isdigit():
            division = int(naf_code[:2])
            for span, cap in self.sector_caps.items():
                if division in span:
                    return cap
        return self.default_sector_cap

    def country_cap(self, country: str) -> Decimal:
        return self.low_risk_country_cap if country in self.low_risk_countries else self.other_country_cap


@dataclass(frozen=True)
class BuyerRiskView:
    """What the engine knows of a buyer when it decides."""

    buyer_id: str
    country: str
    legal_status: LegalStatus
    risk_grade: int | None
    legal_form: str | None  # INSEE legal category (e.g. 5710 SAS, 7xxx public bodies, 1000 individuals)
    siren: str | None
    naf_code: str | None
    equity: Decimal | None  # latest statement, policy currency
    turnover: Decimal | None
    capacity_override: Decimal | None  # an underwriter's explicit capacity


@dataclass(frozen=True)
class Capacity:
    amount: Decimal | None  # None: cannot be computed (missing data)
    reasons: tuple[ReasonCode, ...]


def buyer_capacity(buyer: BuyerRiskView, settings: EngineSettings) -> Capacity:
    """The most the insurer carries on the buyer over all insureds (DOMAIN.md §5 step 2)."""
    if buyer.capacity_override is not None:
        return Capacity(buyer.capacity_override, (ReasonCode.CAPACITY_OVERRIDE,))
    if buyer.risk_grade is None:
        return Capacity(None, (ReasonCode.NOT_GRADED,))
    if buyer.equity is None and buyer.turnover is None:
        return Capacity(None, (ReasonCode.NO_FINANCIALS,))
    size = max(
        max(buyer.equity or Decimal(0), Decimal(0)) * settings.equity_share,
        max(buyer.turnover or Decimal(0), Decimal(0)) * settings.turnover_share,
    )
    by_grade = size * settings.grade_multipliers.get(buyer.risk_grade, Decimal(0))
    amount = min(by_grade, settings.sector_cap(buyer.naf_code), settings.country_cap(buyer.country))
    return Capacity(amount.quantize(Decimal(1)), (ReasonCode.WITHIN_CAPACITY,))


def coverability(
    buyer: BuyerRiskView, *, covered_countries: Sequence[str], policyholder_siren: str | None
) -> ReasonCode | None:
    """Why the buyer cannot be covered at all (DOMAIN.md §3, §5 step 1), or None."""
    if buyer.legal_status in INSOLVENCY_STATUSES:
        return ReasonCode.INSOLVENCY_PROCEDURE
    if buyer.legal_status is LegalStatus.CEASED:
        return ReasonCode.BUYER_CEASED
    if buyer.country not in covered_countries:
        return ReasonCode.COUNTRY_NOT_COVERED
    if buyer.legal_form and buyer.legal_form.startswith("7"):
        return ReasonCode.PUBLIC_BODY
    if buyer.legal_form and buyer.legal_form.startswith("1"):
        return ReasonCode.PRIVATE_INDIVIDUAL
    if policyholder_siren is not None and buyer.siren == policyholder_siren:
        return ReasonCode.OWN_GROUP
    if buyer.risk_grade is not None and buyer.risk_grade >= NOT_COVERABLE_FROM_GRADE:
        return ReasonCode.GRADE_TOO_LOW
    return None


@dataclass(frozen=True)
class Decision:
    status: ResponseType
    granted: Money
    reasons: tuple[ReasonCode, ...]
    suggestion: Money | None = None  # for a referral: what the engine would grant


@dataclass(frozen=True)
class Accumulation:
    """Limits in force on the buyer (and its group), over all policies, excluding this policy's own."""

    on_buyer: Decimal
    on_group: Decimal
    group_capacity: Decimal | None  # None when the buyer has no group


def decide(
    *,
    requested: Money,
    buyer: BuyerRiskView,
    capacity: Capacity,
    accumulation: Accumulation,
    covered_countries: Sequence[str],
    policyholder_siren: str | None,
    settings: EngineSettings,
) -> Decision:
    """The automatic decision of DOMAIN.md §5 on a request for ``requested`` (the new total)."""
    zero = Money.zero(requested.currency)
    if not requested.is_positive():
        raise InvalidInput("the requested amount must be positive", code="credit_limit.invalid_amount", field="amount")
    excluded = coverability(buyer, covered_countries=covered_countries, policyholder_siren=policyholder_siren)
    if excluded is not None:
        return Decision(ResponseType.NOT_APPROVED, zero, (excluded,))
    if capacity.amount is None:
        return Decision(ResponseType.STILL_INVESTIGATING, zero, capacity.reasons)
    remaining = capacity.amount - accumulation.on_buyer
    reasons: list[ReasonCode] = [capacity.reasons[0]]
    if accumulation.group_capacity is not None:
        group_remaining = accumulation.group_capacity - accumulation.on_group
        if group_remaining < remaining:
            remaining = group_remaining
            reasons = [ReasonCode.GROUP_CAPACITY_REACHED]
    remaining = max(remaining, Decimal(0))
    grant = min(requested.amount, remaining)
    granted = Money(grant, requested.currency).round()
    if requested.amount > settings.automatic_ceiling:
        return Decision(
            ResponseType.STILL_INVESTIGATING, zero, (ReasonCode.ABOVE_AUTOMATIC_CEILING,), suggestion=granted
        )
    if requested.amount < settings.minimum_useful_amount:
        return Decision(ResponseType.NOT_APPROVED, zero, (ReasonCode.BELOW_MINIMUM_USEFUL_AMOUNT,))
    if granted.amount < settings.minimum_useful_amount:
        full = (
            ReasonCode.GROUP_CAPACITY_REACHED
            if reasons[0] is ReasonCode.GROUP_CAPACITY_REACHED
            else ReasonCode.CAPACITY_REACHED
        )
        return Decision(ResponseType.NOT_APPROVED, zero, (full, ReasonCode.BELOW_MINIMUM_USEFUL_AMOUNT))
    if granted.amount < requested.amount:
        full = (
            ReasonCode.GROUP_CAPACITY_REACHED
            if reasons[0] is ReasonCode.GROUP_CAPACITY_REACHED
            else ReasonCode.CAPACITY_REACHED
        )
        return Decision(ResponseType.PARTLY_APPROVED, granted, (full,))
    return Decision(ResponseType.APPROVED, granted, (ReasonCode.APPROVED_IN_FULL,))


@dataclass(frozen=True)
class LimitDecision:
    """One dated decision on a (policy, buyer) limit; the limit's history is the list of them."""

    id: str
    policy_id: str
    buyer_id: str
    sequence: int
    request_type: RequestType
    status: LimitStatus
    requested_amount: Money | None
    granted_amount: Money
    effective_date: date
    expires_on: date | None
    reasons: tuple[str, ...]
    decided_by: str
    decided_at: datetime
    request_id: str | None = None


STATUS_OF_RESPONSE: Mapping[ResponseType, LimitStatus] = {
    ResponseType.APPROVED: LimitStatus.APPROVED,
    ResponseType.PARTLY_APPROVED: LimitStatus.PARTIAL,
    ResponseType.NOT_APPROVED: LimitStatus.REFUSED,
    ResponseType.STILL_INVESTIGATING: LimitStatus.REFERRED,
}


def decision_in_force(history: Sequence[LimitDecision], on: date) -> LimitDecision | None:
    """The decision that sets the limit on ``on``: the latest one (by sequence) effective by then.

    A later decision overrides earlier ones from its effective date, including an earlier decision
    whose own effective date is still to come (a pending reduction does not undo a later cancellation).
    A refusal changes nothing, so it never sets the limit.
    """
    effective = [
        d
        for d in history
        if d.effective_date <= on and d.status not in (LimitStatus.REFERRED, LimitStatus.REQUESTED, LimitStatus.REFUSED)
    ]
    return max(effective, key=lambda d: d.sequence) if effective else None


def amount_in_force(history: Sequence[LimitDecision], on: date, currency: str) -> Money:
    """The limit in force on a delivery date (zero after a cancellation or an expiry)."""
    decision = decision_in_force(history, on)
    if decision is None or decision.status in (LimitStatus.EXPIRED, LimitStatus.CANCELLED):
        return Money.zero(currency)
    if decision.expires_on is not None and on >= decision.expires_on:
        return Money.zero(currency)
    return decision.granted_amount


def latest_status(history: Sequence[LimitDecision]) -> LimitStatus | None:
    return max(history, key=lambda d: d.sequence).status if history else None


@dataclass(frozen=True)
class LimitPeriod:
    """A half-open period [start, end) during which one limit amount was in force (end None: open)."""

    start: date
    end: date | None
    amount: Money


def limit_periods(history: Sequence[LimitDecision], currency: str, until: date) -> list[LimitPeriod]:
    """The dated amounts of a limit, for the covered-exposure rule of DOMAIN.md §6."""
    changes = sorted(
        {d.effective_date for d in history if d.effective_date <= until}
        | {d.expires_on for d in history if d.expires_on is not None and d.expires_on <= until}
    )
    periods: list[LimitPeriod] = []
    for i, start in enumerate(changes):
        end = changes[i + 1] if i + 1 < len(changes) else None
        amount = amount_in_force(history, start, currency)
        if periods and periods[-1].amount == amount:
            periods[-1] = LimitPeriod(periods[-1].start, end, amount)
        else:
            periods.append(LimitPeriod(start, end, amount))
    return periods


def reduction_effective_date(notified_on: date, reduction_notice_days: int) -> date:
    """An insurer's reduction or cancellation applies to deliveries from this date (DOMAIN.md §5)."""
    return notified_on + timedelta(days=reduction_notice_days)


def yearly_review_date(decided_on: date) -> date:
    """Every limit is reviewed at least yearly."""
    try:
        return decided_on.replace(year=decided_on.year + 1)
    except ValueError:  # 29 February
        return decided_on.replace(year=decided_on.year + 1, day=28)


DISCRETIONARY_MIN_EXPERIENCE_MONTHS = 12
DISCRETIONARY_MAX_OVERDUE_DAYS = 60


@dataclass(frozen=True)
class PaymentExperience:
    trading_since: date
    max_days_overdue_12_months: int


def discretionary_cover(
    *,
    discretionary_limit: Money,
    buyer: BuyerRiskView,
    has_insurer_decision: bool,
    experience: PaymentExperience | None,
    on: date,
    covered_countries: Sequence[str],
    policyholder_siren: str | None,
) -> Money:
    """The cover the insured grants itself without a request (DOMAIN.md §3), or zero."""
    zero = Money.zero(discretionary_limit.currency)
    if has_insurer_decision or experience is None:
        return zero  # any insurer decision on the buyer, even a refusal, overrides it
    if coverability(buyer, covered_countries=covered_countries, policyholder_siren=policyholder_siren):
        return zero
    twelve_months_ago = (
        on.replace(year=on.year - 1) if not (on.month == 2 and on.day == 29) else on.replace(year=on.year - 1, day=28)
    )
    if experience.trading_since > twelve_months_ago:
        return zero
    if experience.max_days_overdue_12_months > DISCRETIONARY_MAX_OVERDUE_DAYS:
        return zero
    return discretionary_limit


class RequestState(StrEnum):
    DECIDED = "decided"
    REFERRED = "referred"
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"


@dataclass
class LimitRequest:
    """A request and its answer; a referral waits here for an underwriter (and a second one above a threshold)."""

    id: str
    policy_id: str
    buyer_id: str
    organisation_id: str
    request_type: RequestType
    requested: Money
    temporary_until: date | None
    requested_by: str
    requested_at: datetime
    state: RequestState
    response: ResponseType | None = None
    granted: Money | None = None
    suggestion: Money | None = None
    reasons: tuple[str, ...] = ()
    decided_at: datetime | None = None
    first_approver: str | None = None
    proposed_response: ResponseType | None = None
    proposed: Money | None = None
    proposed_reason: str | None = None
