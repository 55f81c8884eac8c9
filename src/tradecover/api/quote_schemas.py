"""Bodies of the quote endpoints: the application, the quote with its versions, the issue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictInt, StringConstraints

from tradecover.api.schemas import MoneyBody, PolicyOut, Strict, TermsIn
from tradecover.domain.quotes import Quote, QuoteLine, QuoteVersion
from tradecover.services.quotes import IssuedQuote, QuoteSummary, QuoteView

Currency = Annotated[str, StringConstraints(min_length=3, max_length=3)]


class TurnoverIn(Strict):
    """Yearly turnover excluding VAT by territory; a territory left out is zero."""

    domestic: MoneyBody | None = None
    export: MoneyBody | None = None


class QuoteBuyerIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    identifier: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None,
        description="SIREN, SIRET, VAT number or any registration; French numbers are validated (check digits)",
    )
    identifier_kind: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        default=None, description="siren, siret, vat_fr, vat, lei or duns: validated as such; other kinds are kept"
    )
    country: Annotated[str, StringConstraints(min_length=2, max_length=2)]
    outstanding: MoneyBody = Field(description="what the buyer owes today (encours)")
    risk_grade: StrictInt | None = Field(
        default=None, description="1 (best) … 10 (insolvent); none: ungraded; 9 and 10 are not coverable"
    )


class LossYearIn(Strict):
    year: StrictInt = Field(description="a complete year before the application's, the last 10 at most")
    losses: MoneyBody = Field(description="the year's credit losses: indemnities received or unpaid losses")


class QuoteIn(Strict):
    """An application for a policy (DOMAIN.md §2 step 0)."""

    policyholder_id: str
    currency: Currency = "EUR"
    turnover: TurnoverIn
    sector: Annotated[str, StringConstraints(min_length=1, max_length=10)] = Field(
        description="NAF/NACE code (46.69B) or section letter (G)"
    )
    buyers: list[QuoteBuyerIn] = Field(default_factory=list, max_length=5000)
    loss_history: list[LossYearIn] = Field(default_factory=list, max_length=10)

    def application(self) -> dict[str, Any]:
        """Plain data the domain validates (negative amounts, currencies, grades, years)."""
        return self.model_dump(exclude={"policyholder_id"}, exclude_none=True)


class QuoteTermsIn(TermsIn):
    """Any term of a quote, including the premium schedule terms the policy inherits (README "Quotes":
    underwriters adjust *any* term; the domain validates each, e.g. ``premium_instalments`` in 1, 2, 4, 12)."""

    premium_instalments: StrictInt | None = None
    declaration_frequency: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        default=None, description="monthly or quarterly"
    )
    declaration_days: StrictInt | None = None


class QuoteRevisionIn(Strict):
    changes: QuoteTermsIn = Field(description="any terms; a premium_rates object may name one rate only")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class QuoteIssueIn(Strict):
    start_date: date = Field(description="between the latest version's date − 90 days and + 365 days")
    version: StrictInt | None = Field(default=None, description="the version seen; refused if superseded")


class QuoteLineOut(BaseModel):
    code: str
    label: str
    figure: str
    unit: str = Field(description="a currency code, or rate, factor, years, countries, term")

    @classmethod
    def of(cls, line: QuoteLine) -> QuoteLineOut:
        return cls(code=line.code, label=line.label, figure=line.figure, unit=line.unit)


class QuoteVersionOut(BaseModel):
    version: int
    created_on: date
    valid_until: date = Field(description="the last day this version may be issued")
    reason: str
    created_by: str
    created_at: datetime
    expected_premium: MoneyBody
    terms: dict[str, Any]
    lines: list[QuoteLineOut]
    referral_reasons: list[str] = Field(
        description="why the engine referred the quote; such a quote is issued only from version 2 on"
    )

    @classmethod
    def of(cls, v: QuoteVersion) -> QuoteVersionOut:
        return cls(
            version=v.version,
            created_on=v.created_on,
            valid_until=v.valid_until,
            reason=v.reason,
            created_by=v.created_by,
            created_at=v.created_at,
            expected_premium=MoneyBody.of(v.expected_premium),
            terms=v.terms.to_dict(),
            lines=[QuoteLineOut.of(line) for line in v.lines],
            referral_reasons=[r.value for r in v.referral_reasons],
        )


class QuoteOut(BaseModel):
    id: str
    reference: str
    policyholder_id: str
    currency: str
    status: str = Field(description="proposed | issued | expired")
    version: int = Field(description="the latest version")
    valid_until: date
    expected_premium: MoneyBody
    premium_rates: dict[str, str]
    requested_on: date
    issued_policy_id: str | None
    issued_version: int | None
    referral_reasons: list[str] = Field(description="the latest version's: an underwriter must look at them")

    @classmethod
    def of(cls, s: QuoteSummary) -> QuoteOut:
        return cls(**_summary(s.quote, s.latest, s.status.value))


def _summary(q: Quote, latest: QuoteVersion, status: str) -> dict[str, Any]:
    rates = latest.terms.premium_rates
    return {
        "id": q.id,
        "reference": q.reference,
        "policyholder_id": q.policyholder_id,
        "currency": q.application.currency,
        "status": status,
        "version": latest.version,
        "valid_until": latest.valid_until,
        "expected_premium": MoneyBody.of(latest.expected_premium),
        "premium_rates": {"domestic_rate": str(rates.domestic_rate), "export_rate": str(rates.export_rate)},
        "requested_on": q.requested_on,
        "issued_policy_id": q.issued_policy_id,
        "issued_version": q.issued_version,
        "referral_reasons": [r.value for r in latest.referral_reasons],
    }


class ApplicationOut(BaseModel):
    turnover: dict[str, MoneyBody]
    sector: str
    section: str
    buyers: list[dict[str, Any]]
    loss_history: list[dict[str, Any]]


class QuoteDetailOut(QuoteOut):
    created_by: str
    created_at: datetime
    issued_on: date | None
    application: ApplicationOut
    versions: list[QuoteVersionOut] = Field(description="oldest first; the last one is offered")

    @classmethod
    def of_view(cls, view: QuoteView) -> QuoteDetailOut:
        q = view.quote
        app = q.application
        return cls(
            **_summary(q, view.latest, view.status.value),
            created_by=q.created_by,
            created_at=q.created_at,
            issued_on=q.issued_on,
            application=ApplicationOut(
                turnover={"domestic": MoneyBody.of(app.domestic_turnover), "export": MoneyBody.of(app.export_turnover)},
                sector=app.sector,
                section=app.section,
                buyers=[
                    {
                        "name": b.name,
                        "identifier": b.identifier,
                        "country": b.country,
                        "outstanding": b.outstanding_amount.to_json(),
                        "risk_grade": b.risk_grade,
                        "coverable": b.coverable,
                    }
                    for b in app.buyers
                ],
                loss_history=[{"year": y.year, "losses": y.losses.to_json()} for y in app.loss_history],
            ),
            versions=[QuoteVersionOut.of(v) for v in view.versions],
        )


class QuoteIssuedOut(BaseModel):
    quote: QuoteDetailOut
    policy: PolicyOut

    @classmethod
    def of(cls, issued: IssuedQuote) -> QuoteIssuedOut:
        return cls(quote=QuoteDetailOut.of_view(issued.view), policy=PolicyOut.of(issued.policy, issued.terms))
