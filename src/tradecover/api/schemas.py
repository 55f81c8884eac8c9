"""Request and response bodies. Amounts travel as strings: ``{"amount": "1250.00", "currency": "EUR"}``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

from tradecover.domain.audit import AuditRecord
from tradecover.domain.buyers import Buyer
from tradecover.domain.credit_limits import LimitDecision, LimitRequest
from tradecover.domain.financials import FinancialStatement
from tradecover.domain.money import Money
from tradecover.domain.monitoring import GradeRecord
from tradecover.domain.parties import (
    ApiKey,
    Mandate,
    MandateScope,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from tradecover.domain.policies import NoticeParty, Policy, TerminationNotice, TermsVersion, status_on
from tradecover.domain.receco import ReasonCode, RequestType, ResponseType, label

DecimalText = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,12})?$", max_length=30)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL, and no business text needs it: refused for every field.
        if _holds_nul(value):
            raise ValueError("text must not contain the NUL character")
        return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(_holds_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


class MoneyBody(Strict):
    amount: DecimalText = Field(description='decimal as a string, e.g. "1250.00"')
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)] = Field(examples=["EUR"])

    @classmethod
    def of(cls, money: Money) -> MoneyBody:
        data = money.to_json()
        return cls(amount=data["amount"], currency=data["currency"])


T = TypeVar("T")


class Paged(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class OrganisationIn(Strict):
    kind: OrganisationKind
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    country: Annotated[str, StringConstraints(min_length=2, max_length=2)] = "FR"
    siren: Annotated[str, StringConstraints(max_length=20)] | None = None


class OrganisationOut(BaseModel):
    id: str
    kind: OrganisationKind
    name: str
    country: str
    siren: str | None
    created_at: datetime

    @classmethod
    def of(cls, o: Organisation) -> OrganisationOut:
        return cls(id=o.id, kind=o.kind, name=o.name, country=o.country, siren=o.siren, created_at=o.created_at)


class UserIn(Strict):
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    full_name: Annotated[str, StringConstraints(max_length=200)] = ""
    role: Role
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class UserChangeIn(Strict):
    """An administrator's change to an account: disable or re-enable it, give it another role, and why."""

    active: bool | None = None
    role: Role | None = None
    reason: Annotated[str, StringConstraints(max_length=500)]


class UserOut(BaseModel):
    id: str
    organisation_id: str
    email: str
    full_name: str
    role: Role
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            id=u.id,
            organisation_id=u.organisation_id,
            email=u.email,
            full_name=u.full_name,
            role=u.role,
            active=u.active,
            created_at=u.created_at,
        )


class MeOut(BaseModel):
    user_id: str
    email: str
    role: Role
    organisation: OrganisationOut
    mandates: dict[str, MandateScope]
    via_api_key: str | None


class MandateIn(Strict):
    broker_id: str
    insured_id: str
    start_date: date
    end_date: date | None = None
    scope: MandateScope = MandateScope.ACT


class MandateOut(BaseModel):
    id: str
    broker_id: str
    insured_id: str
    start_date: date
    end_date: date | None
    scope: MandateScope
    created_at: datetime

    @classmethod
    def of(cls, m: Mandate) -> MandateOut:
        return cls(
            id=m.id,
            broker_id=m.broker_id,
            insured_id=m.insured_id,
            start_date=m.terms.start_date,
            end_date=m.terms.end_date,
            scope=m.terms.scope,
            created_at=m.created_at,
        )


class ApiKeyIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ApiKeyOut(BaseModel):
    id: str
    user_id: str
    organisation_id: str
    name: str
    prefix: str
    active: bool
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyOut:
        return cls(
            id=k.id,
            user_id=k.user_id,
            organisation_id=k.organisation_id,
            name=k.name,
            prefix=k.prefix,
            active=k.active,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
            last_used_at=k.last_used_at,
        )


class ApiKeyCreated(ApiKeyOut):
    token: str = Field(description="the key itself: shown once, never again")


class IdentifierIn(Strict):
    kind: Annotated[str, StringConstraints(min_length=1, max_length=10)] = Field(
        description="siren, siret, vat_fr, vat, lei or duns"
    )
    value: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class BuyerIn(Strict):
    identifiers: list[IdentifierIn] = Field(min_length=1, max_length=10)
    legal_name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    country: Annotated[str, StringConstraints(min_length=2, max_length=2)] = "FR"
    organisation_id: str | None = Field(default=None, description="the insured whose book it joins")
    naf_code: Annotated[str, StringConstraints(max_length=10)] | None = None
    legal_form: Annotated[str, StringConstraints(max_length=10)] | None = None
    parent_id: str | None = None
    city: Annotated[str, StringConstraints(max_length=100)] | None = None
    customer_reference: Annotated[str, StringConstraints(max_length=100)] | None = None


class BuyerOut(BaseModel):
    id: str
    legal_name: str
    country: str
    identifiers: dict[str, str]
    naf_code: str | None
    legal_form: str | None
    legal_status: str
    parent_id: str | None
    city: str | None
    risk_grade: int | None
    probability_of_default: str | None
    created_at: datetime

    @classmethod
    def of(cls, b: Buyer) -> BuyerOut:
        pd = b.probability_of_default
        return cls(
            id=b.id,
            legal_name=b.legal_name,
            country=b.country,
            identifiers={i.kind.value: i.value for i in b.identifiers},
            naf_code=b.naf_code,
            legal_form=b.legal_form,
            legal_status=b.legal_status.value,
            parent_id=b.parent_id,
            city=b.city,
            risk_grade=b.risk_grade,
            probability_of_default=None if pd is None else str(pd),
            created_at=b.created_at,
        )


class PremiumRatesIn(Strict):
    domestic_rate: DecimalText | None = None
    export_rate: DecimalText | None = None


class TermsIn(Strict):
    """Any subset of the terms of DOMAIN.md §3; rates are fractions as strings (0.90, not 90)."""

    indemnity_rate: DecimalText | None = None
    deductible: MoneyBody | None = None
    deductible_kind: str | None = None
    non_qualifying_loss: MoneyBody | None = None
    max_credit_period_days: StrictInt | None = None
    overdue_notification_days: StrictInt | None = None
    insolvency_notification_days: StrictInt | None = None
    waiting_period_days: StrictInt | None = None
    max_liability_multiple: DecimalText | None = None
    max_liability_amount: MoneyBody | None = None
    discretionary_limit: MoneyBody | None = None
    covered_countries: list[Annotated[str, StringConstraints(min_length=2, max_length=2)]] | None = None
    premium_rates: PremiumRatesIn | None = None
    minimum_premium: MoneyBody | None = None
    request_fee: MoneyBody | None = None
    monitoring_fee: MoneyBody | None = None
    no_claims_bonus_rate: DecimalText | None = None
    no_claims_bonus_threshold: DecimalText | None = None
    reduction_notice_days: StrictInt | None = None
    max_extension_days: StrictInt | None = None
    renewal_notice_days: StrictInt | None = None
    declaration_frequency: str | None = None
    declaration_days: StrictInt | None = None
    premium_instalments: StrictInt | None = None

    def overrides(self) -> dict[str, Any]:
        """The fields the client sent, as plain values the domain validates."""
        data = self.model_dump(exclude_unset=True)
        if "premium_rates" in data and data["premium_rates"] is not None:
            data["premium_rates"] = {k: Decimal(v) for k, v in data["premium_rates"].items() if v is not None}
        return data


class PolicyIn(Strict):
    policyholder_id: str
    start_date: date
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)] = "EUR"
    terms: TermsIn = Field(default_factory=TermsIn)
    reason: Annotated[str, StringConstraints(max_length=500)] = "policy issued"


class EndorsementIn(Strict):
    effective_date: date
    changes: TermsIn
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class RenewalIn(Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class TerminationNoticeIn(Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    given_by: NoticeParty | None = Field(
        default=None, description="insured or insurer; default: insured, or insurer for the insurer's staff"
    )
    given_on: date | None = Field(
        default=None, description="default today; only the insurer's staff record a letter received earlier"
    )


class TerminationIn(Strict):
    effective_date: date = Field(description="first day with no cover for new deliveries")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class TerminationNoticeOut(BaseModel):
    given_by: str
    given_on: date
    reason: str
    deadline: date = Field(description="last day on which notice ended the period it was given in")
    in_time: bool
    outcome: str = Field(description="ends_at_period_end, or renewed_once_more (late notice)")
    effective_date: date = Field(description="the termination date this notice gave")
    message: str

    @classmethod
    def of(cls, n: TerminationNotice) -> TerminationNoticeOut:
        return cls(
            given_by=n.given_by.value,
            given_on=n.given_on,
            reason=n.reason,
            deadline=n.deadline,
            in_time=n.in_time,
            outcome=n.outcome.value,
            effective_date=n.effective_date,
            message=n.explain(),
        )


class PeriodOut(BaseModel):
    start_date: date
    end_date: date = Field(description="exclusive: the period is [start_date, end_date)")


class TermsVersionOut(BaseModel):
    version: int
    effective_date: date
    reason: str
    created_by: str
    created_at: datetime
    terms: dict[str, Any]

    @classmethod
    def of(cls, v: TermsVersion) -> TermsVersionOut:
        return cls(
            version=v.version,
            effective_date=v.effective_date,
            reason=v.reason,
            created_by=v.created_by,
            created_at=v.created_at,
            terms=v.terms.to_dict(),
        )


class PolicyOut(BaseModel):
    id: str
    number: str
    policyholder_id: str
    currency: str
    status: str
    periods: list[PeriodOut]
    current_period: PeriodOut
    terms: TermsVersionOut | None = None
    termination_date: date | None = Field(
        default=None, description="first day with no cover for new deliveries; earlier deliveries stay covered"
    )
    termination_kind: str | None = Field(default=None, description="notice or insurer_decision")
    termination_reason: str | None = None
    termination_notice: TerminationNoticeOut | None = None

    @classmethod
    def of(cls, p: Policy, terms: TermsVersion | None = None, *, on: date | None = None) -> PolicyOut:
        """``on``: the day the status is given for (``terminated`` from the termination date)."""
        periods = [PeriodOut(start_date=x.start, end_date=x.end) for x in p.periods]
        return cls(
            id=p.id,
            number=p.number,
            policyholder_id=p.policyholder_id,
            currency=p.currency,
            status=(p.status if on is None else status_on(p, on)).value,
            periods=periods,
            current_period=periods[-1],
            terms=None if terms is None else TermsVersionOut.of(terms),
            termination_date=p.termination_date,
            termination_kind=None if p.termination_kind is None else p.termination_kind.value,
            termination_reason=p.termination_reason,
            termination_notice=None if p.termination_notice is None else TerminationNoticeOut.of(p.termination_notice),
        )


class AuditEventOut(BaseModel):
    tenant: str
    sequence: int
    occurred_at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    summary: dict[str, Any]
    reason: str | None

    @classmethod
    def of(cls, r: AuditRecord) -> AuditEventOut:
        return cls(
            tenant=r.tenant,
            sequence=r.sequence,
            occurred_at=r.occurred_at,
            actor=r.actor,
            action=r.action,
            object_type=r.object_type,
            object_id=r.object_id,
            summary=dict(r.summary),
            reason=r.reason,
        )


class AuditVerifyOut(BaseModel):
    ok: bool
    tenants: int
    events: int
    breaks: list[dict[str, Any]]


class StatementIn(Strict):
    fiscal_year_end: date
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)] = "EUR"
    total_assets: DecimalText
    equity: DecimalText | None = None
    turnover: DecimalText | None = None
    ebit: DecimalText | None = None
    net_income: DecimalText | None = None
    working_capital: DecimalText | None = None
    retained_earnings: DecimalText | None = None
    current_assets: DecimalText | None = None
    current_liabilities: DecimalText | None = None
    total_liabilities: DecimalText | None = None

    def amounts(self) -> dict[str, str | None]:
        return {k: v for k, v in self.model_dump().items() if k not in ("fiscal_year_end", "currency")}


class StatementOut(BaseModel):
    buyer_id: str
    fiscal_year_end: date
    version: int
    currency: str
    amounts: dict[str, MoneyBody | None]
    source: str
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, s: FinancialStatement) -> StatementOut:
        return cls(
            buyer_id=s.buyer_id,
            fiscal_year_end=s.fiscal_year_end,
            version=s.version,
            currency=s.currency,
            amounts={k: None if v is None else MoneyBody.of(v) for k, v in s.amounts.items()},
            source=s.source,
            recorded_by=s.recorded_by,
            recorded_at=s.recorded_at,
        )


class ImportLineOut(BaseModel):
    line: int | None
    identifier: str
    fiscal_year_end: str
    outcome: str
    message: str
    field: str | None


class FinancialsImportOut(BaseModel):
    file: str
    applied: bool
    created: int
    unchanged: int
    refused: int
    lines: list[ImportLineOut]


class GradeOut(BaseModel):
    grade: int
    probability_of_default: str
    previous_grade: int | None
    reasons: list[dict[str, Any]]
    factors: dict[str, float]
    model_version: str
    graded_at: datetime

    @classmethod
    def of(cls, g: GradeRecord) -> GradeOut:
        return cls(
            grade=g.grade,
            probability_of_default=str(g.probability_of_default),
            previous_grade=g.previous_grade,
            reasons=[
                {
                    "factor": name,
                    "log_odds": round(value, 4),
                    "effect": "raises risk" if value > 0 else "lowers risk",
                }
                for name, value in g.reasons()
            ],
            factors=dict(g.factors),
            model_version=g.model_version,
            graded_at=g.graded_at,
        )


class GradesOut(BaseModel):
    buyer_id: str
    current: GradeOut | None
    history: list[GradeOut]


class LegalEventOut(BaseModel):
    kind: str
    nature: str
    judgment_date: date | None
    publication_date: date
    source: str
    reference: str
    resulting_status: str | None
    insolvency_deadlines: list[dict[str, Any]]


def reason_out(code: str) -> dict[str, str]:
    """A reason code with its French and English labels (RECECO vocabulary)."""
    try:
        member = ReasonCode(code)
    except ValueError:
        return {"code": "note", "label_fr": code, "label_en": code}
    return {"code": code, "label_fr": label(member, "fr"), "label_en": label(member, "en")}


class LimitRequestIn(Strict):
    buyer_id: str
    amount: MoneyBody
    request_type: RequestType = RequestType.NEW
    temporary_until: date | None = None


class ProspectQueryIn(Strict):
    buyer_id: str
    amount: MoneyBody


class LimitDecisionOut(BaseModel):
    sequence: int
    request_type: str
    status: str
    requested_amount: MoneyBody | None
    granted_amount: MoneyBody
    effective_date: date
    expires_on: date | None
    reasons: list[dict[str, str]]
    decided_by: str
    decided_at: datetime

    @classmethod
    def of(cls, d: LimitDecision) -> LimitDecisionOut:
        return cls(
            sequence=d.sequence,
            request_type=d.request_type.value,
            status=d.status.value,
            requested_amount=None if d.requested_amount is None else MoneyBody.of(d.requested_amount),
            granted_amount=MoneyBody.of(d.granted_amount),
            effective_date=d.effective_date,
            expires_on=d.expires_on,
            reasons=[reason_out(r) for r in d.reasons],
            decided_by=d.decided_by,
            decided_at=d.decided_at,
        )


class LimitRequestOut(BaseModel):
    id: str
    policy_id: str
    buyer_id: str
    request_type: str
    requested_amount: MoneyBody
    temporary_until: date | None
    state: str
    status: str | None = Field(description="approved, partially_approved, refused or referred")
    granted_amount: MoneyBody | None
    suggested_amount: MoneyBody | None
    reasons: list[dict[str, str]]
    requested_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, r: LimitRequest) -> LimitRequestOut:
        return cls(
            id=r.id,
            policy_id=r.policy_id,
            buyer_id=r.buyer_id,
            request_type=r.request_type.value,
            requested_amount=MoneyBody.of(r.requested),
            temporary_until=r.temporary_until,
            state=r.state.value,
            status=None if r.response is None else r.response.value,
            granted_amount=None if r.granted is None else MoneyBody.of(r.granted),
            suggested_amount=None if r.suggestion is None else MoneyBody.of(r.suggestion),
            reasons=[reason_out(x) for x in r.reasons],
            requested_at=r.requested_at,
            decided_at=r.decided_at,
        )


class ProspectOut(BaseModel):
    status: str
    granted_amount: MoneyBody
    reasons: list[dict[str, str]]
    binding: bool = False


class ReferralOut(BaseModel):
    request: LimitRequestOut
    buyer: BuyerOut
    capacity_amount: str | None
    accumulation_on_buyer: str
    accumulation_on_group: str
    group_capacity_amount: str | None
    latest_financials: dict[str, str | None]


class ReferralDecisionIn(Strict):
    status: ResponseType
    amount: MoneyBody | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class RevisionIn(Strict):
    amount: MoneyBody | None = Field(default=None, description="the new limit; omit to cancel")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class CapacityIn(Strict):
    amount: MoneyBody | None = Field(default=None, description="omit to return to the capacity function")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class LimitOut(BaseModel):
    buyer_id: str
    amount_in_force: MoneyBody
    history: list[LimitDecisionOut]
