"""The portfolio loss model on the live book: figures (JSON) and charts (PNG).

Staff only, as the live book (an insured or a broker gets 403 ``auth.forbidden``). The three endpoints
take the same body and run the model afresh: the same body (and seed) gives the same figures. Amounts
are ``{"amount", "currency"}`` with decimal strings rounded to the cent; levels and rates are decimal
strings. A bad value is a 422 problem naming its field.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StrictInt, StringConstraints

from tradecover.api.deps import ActorDep, ContainerDep
from tradecover.api.schemas import DecimalText, Strict
from tradecover.bootstrap import Container
from tradecover.documents.portfolio_charts import contributions_png, loss_distribution_png
from tradecover.services import portfolio, portfolio_loss
from tradecover.services.authorization import Actor
from tradecover.services.portfolio_loss import DEFAULT_LEVELS, LiveLoss, LossParameters

router = APIRouter(tags=["portfolio"])

#: Scenarios one request may ask for: a run of the API must end in a request's time.
MAX_API_SCENARIOS = 200_000
#: Bars of the contributions chart.
MAX_CHART_BARS = 50
PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}}}

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class StressIn(Strict):
    """PD multipliers by sector (NAF section) and country, and correlation shocks."""

    name: Label = "stress"
    sector_pd_multipliers: dict[Label, DecimalText] = Field(
        default_factory=dict, max_length=1000, description='e.g. {"C": "2"}: PDs of section C doubled'
    )
    country_pd_multipliers: dict[Label, DecimalText] = Field(default_factory=dict, max_length=1000)
    asset_correlation_multiplier: DecimalText = Field("1", description="ρ multiplied by this, > 0")
    factor_correlation_shift: DecimalText = Field(
        "0", description="factor correlations moved this fraction of the way to 1 (negative: towards 0)"
    )


class ReinsuranceIn(Strict):
    """Treaties in the order they inure: per-buyer excess of loss, quota share, aggregate stop loss."""

    quota_share_rate: DecimalText = Field("0", description="share ceded, 0..1")
    xol_retention: DecimalText | None = Field(None, description="per buyer, in the book's currency")
    xol_limit: DecimalText | None = Field(None, description="per buyer; unlimited when absent")
    stop_loss_attachment: DecimalText | None = Field(None, description="on the year's retained total")
    stop_loss_limit: DecimalText | None = Field(None, description="unlimited when absent")


def _float(value: str | None) -> float | None:
    return None if value is None else float(Decimal(value))


class PortfolioLossIn(Strict):
    model: Literal["mc", "creditriskplus"] = Field("mc", description="Monte Carlo, or analytic CreditRisk+")
    scenarios: StrictInt = Field(10_000, ge=100, le=MAX_API_SCENARIOS, description="Monte Carlo scenarios")
    seed: StrictInt = Field(0, ge=0, le=2**32 - 1)
    factors: Literal["sector_country", "single"] = "sector_country"
    asset_correlation: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^(basel|0(\.[0-9]{1,12})?)$")
    ] = Field("basel", description="'basel' (the IRB formula of each PD) or a decimal in [0, 1)")
    levels: list[DecimalText] = Field(
        default_factory=lambda: [str(level) for level in DEFAULT_LEVELS], min_length=1, max_length=10
    )
    contribution_level: DecimalText = Field("0.995", description="level of the TVaR allocated to obligors")
    importance_sampling: bool = True
    stress: StressIn | None = None
    reinsurance: ReinsuranceIn | None = None
    as_of: date | None = Field(None, description="the live book on this date (default: today)")
    lgd: DecimalText = Field(str(portfolio.DEFAULT_LGD_RATE), description="loss given default, 0..1")
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)] = "EUR"
    top: StrictInt = Field(20, ge=1, le=1000, description="obligors listed (bars charted: at most 50)")

    def parameters(self) -> LossParameters:
        stress = None
        if self.stress is not None:
            s = self.stress
            stress = portfolio_loss.make_stress(
                name=s.name,
                sector_pd_multipliers={k: float(Decimal(v)) for k, v in s.sector_pd_multipliers.items()},
                country_pd_multipliers={k: float(Decimal(v)) for k, v in s.country_pd_multipliers.items()},
                asset_correlation_multiplier=float(Decimal(s.asset_correlation_multiplier)),
                factor_correlation_shift=float(Decimal(s.factor_correlation_shift)),
            )
        reinsurance = None
        if self.reinsurance is not None:
            r = self.reinsurance
            reinsurance = portfolio_loss.make_reinsurance(
                quota_share_rate=float(Decimal(r.quota_share_rate)),
                xol_retention=_float(r.xol_retention),
                xol_limit=_float(r.xol_limit),
                stop_loss_attachment=_float(r.stop_loss_attachment),
                stop_loss_limit=_float(r.stop_loss_limit),
            )
        return LossParameters(
            model=self.model,
            n_scenarios=self.scenarios,
            seed=self.seed,
            factors=self.factors,
            asset_correlation="basel" if self.asset_correlation == "basel" else float(self.asset_correlation),
            levels=tuple(sorted({float(Decimal(level)) for level in self.levels})),
            contribution_level=float(Decimal(self.contribution_level)),
            importance_sampling=self.importance_sampling,
            stress=stress,
            reinsurance=reinsurance,
        )


class AmountOut(BaseModel):
    amount: str | None = Field(description="decimal rounded to the cent; null if not finite")
    currency: str


class MeasureOut(BaseModel):
    level: str
    var: AmountOut = Field(description="value at risk: the loss exceeded with probability 1 − level")
    var_se: AmountOut = Field(description="its Monte Carlo standard error (0 if exact)")
    tvar: AmountOut = Field(description="tail value at risk: the mean of the worst 1 − level of years")
    tvar_se: AmountOut


class FiguresOut(BaseModel):
    expected_loss: AmountOut
    expected_loss_se: AmountOut
    standard_deviation: AmountOut
    measures: list[MeasureOut]


class ContributionOut(BaseModel):
    key: str = Field(description="sector, country or obligor (buyer id)")
    contribution: AmountOut


class ContributionsOut(BaseModel):
    level: str = Field(description="the TVaR allocated; the contributions add up to it")
    total: AmountOut
    sectors: list[ContributionOut]
    countries: list[ContributionOut]
    top_obligors: list[ContributionOut]


class PortfolioLossOut(BaseModel):
    as_of: date
    currency: str
    lgd: str
    model: str
    obligors: int
    scenarios: int = Field(description="Monte Carlo scenarios (0 for CreditRisk+)")
    seed: int
    importance_sampling: bool
    stress: str | None
    total_ead: AmountOut
    analytic_expected_loss: AmountOut = Field(description="Σ EAD × PD × LGD of the (stressed) book")
    gross: FiguresOut
    net: FiguresOut | None = Field(description="net of reinsurance (Monte Carlo with a reinsurance only)")
    contributions: ContributionsOut

    @classmethod
    def of(cls, live: LiveLoss, top: int) -> PortfolioLossOut:
        data = live.result.to_dict(top=top)
        currency = live.currency

        def amount(value: str | None) -> AmountOut:
            return AmountOut(amount=value, currency=currency)

        def figures(f: dict[str, Any]) -> FiguresOut:
            return FiguresOut(
                expected_loss=amount(f["expected_loss"]),
                expected_loss_se=amount(f["expected_loss_se"]),
                standard_deviation=amount(f["standard_deviation"]),
                measures=[
                    MeasureOut(
                        level=m["level"],
                        var=amount(m["var"]),
                        var_se=amount(m["var_se"]),
                        tvar=amount(m["tvar"]),
                        tvar_se=amount(m["tvar_se"]),
                    )
                    for m in f["measures"]
                ],
            )

        def ranked(values: dict[str, str | None]) -> list[ContributionOut]:
            order = sorted(values, key=lambda key: (-float(values[key] or 0), key))
            return [ContributionOut(key=key, contribution=amount(values[key])) for key in order]

        c = data["contributions"]
        return cls(
            as_of=live.as_of,
            currency=currency,
            lgd=str(live.lgd_rate),
            model=data["model"],
            obligors=data["obligors"],
            scenarios=data["scenarios"],
            seed=data["seed"],
            importance_sampling=data["importance_sampling"],
            stress=data["stress"],
            total_ead=amount(data["total_ead"]),
            analytic_expected_loss=amount(data["analytic_expected_loss"]),
            gross=figures(data["gross"]),
            net=figures(data["net"]) if data["net"] is not None else None,
            contributions=ContributionsOut(
                level=c["level"],
                total=amount(c["total"]),
                sectors=ranked(c["sectors"]),
                countries=ranked(c["countries"]),
                top_obligors=[
                    ContributionOut(key=o["obligor_id"], contribution=amount(o["contribution"]))
                    for o in c["top_obligors"]
                ],
            ),
        )


def _run(container: Container, actor: Actor, body: PortfolioLossIn) -> LiveLoss:
    return portfolio_loss.live_loss(
        container.uow,
        actor,
        body.as_of or container.clock.today(),
        body.parameters(),
        lgd_rate=Decimal(body.lgd),
        currency=body.currency,
        max_scenarios=MAX_API_SCENARIOS,
    )


@router.post("/portfolio/loss", response_model=PortfolioLossOut)
def portfolio_loss_figures(container: ContainerDep, actor: ActorDep, body: PortfolioLossIn) -> PortfolioLossOut:
    """The live book's loss distribution under correlated defaults: expected loss, standard deviation,
    VaR and TVaR at each level with their Monte Carlo standard errors, gross and net of the reinsurance
    given, and the contributions of sectors, countries and the largest obligors to TVaR."""
    return PortfolioLossOut.of(_run(container, actor, body), body.top)


@router.post("/portfolio/loss/distribution.png", responses=PNG, response_class=Response)
def portfolio_loss_distribution_png(container: ContainerDep, actor: ActorDep, body: PortfolioLossIn) -> Response:
    """The loss distribution (probability per loss band, log scale) with VaR and TVaR at each level."""
    return Response(loss_distribution_png(_run(container, actor, body).result), media_type="image/png")


@router.post("/portfolio/loss/contributions.png", responses=PNG, response_class=Response)
def portfolio_loss_contributions_png(container: ContainerDep, actor: ActorDep, body: PortfolioLossIn) -> Response:
    """Contributions to TVaR at the contribution level: per sector and the `top` largest obligors (50 at most)."""
    result = _run(container, actor, body).result
    return Response(contributions_png(result, top=min(body.top, MAX_CHART_BARS)), media_type="image/png")
