"""The whole book's loss distribution (DOMAIN.md §11): the loss model run on a book file or on the live book.

One verb, :func:`live_loss`, for the insurer's staff (:data:`Permission.PORTFOLIO_READ`, as the live book
itself: an insured or a broker is refused with ``auth.forbidden``): read the live book
(:func:`tradecover.services.portfolio.live_book`) in a unit of work of its own, then run the model
outside any transaction, since a run may take minutes on a large book. :func:`run_loss` is the model
on a book already read (``tradecover portfolio loss --book FILE``).

Parameters are checked here, before any work, so that a bad one is an :class:`InvalidInput` naming its
field (422 in the API, exit 1 on the command line), never a failure half-way through a run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.risk.factor_model import FactorCorrelation, FactorCorrelationError
from tradecover.risk.portfolio_book import BookError, PortfolioBook
from tradecover.risk.portfolio_loss import PortfolioLossModel, PortfolioLossResult
from tradecover.risk.reinsurance import Reinsurance
from tradecover.risk.stress import Stress
from tradecover.services import portfolio
from tradecover.services.authorization import Actor, Permission, require
from tradecover.services.ports import UnitOfWork

__all__ = [
    "DEFAULT_LEVELS",
    "MODELS",
    "LiveLoss",
    "LossParameters",
    "check_parameters",
    "live_book",
    "live_loss",
    "make_reinsurance",
    "make_stress",
    "run_loss",
]

MODELS = ("mc", "creditriskplus")
FACTORS = ("sector_country", "single")
DEFAULT_LEVELS = (0.99, 0.995, 0.999)
MIN_SCENARIOS = 100
MAX_LEVELS = 10
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LossParameters:
    """What a run of the loss model is asked for (see :class:`PortfolioLossModel` for each one's meaning)."""

    model: str = "mc"
    n_scenarios: int = 10_000
    seed: int = 0
    factors: str = "sector_country"
    asset_correlation: float | Literal["basel"] = "basel"
    factor_correlation: FactorCorrelation | None = None
    levels: tuple[float, ...] = DEFAULT_LEVELS
    contribution_level: float = 0.995
    importance_sampling: bool = True
    stress: Stress | None = None
    reinsurance: Reinsurance | None = None
    chunk_size: int = 1_000
    target_relative_error: float | None = None
    max_scenarios: int = 2_000_000


def _invalid(message: str, name: str) -> InvalidInput:
    return InvalidInput(message, code="portfolio_loss.invalid_parameter", field=name)


def _rate_in_open_unit(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
        raise _invalid(f"{name} {value!r} must lie strictly between 0 and 1 (0.995, not 99.5)", name)


def check_parameters(parameters: LossParameters, *, max_scenarios: int | None = None) -> None:
    """Refuse a parameter the model cannot use, naming it; ``max_scenarios`` caps the scenarios asked for."""
    p = parameters
    if p.model not in MODELS:
        raise _invalid(f"model must be one of {', '.join(MODELS)}, not {p.model!r}", "model")
    if p.factors not in FACTORS:
        raise _invalid(f"factors must be one of {', '.join(FACTORS)}, not {p.factors!r}", "factors")
    ceiling = max_scenarios if max_scenarios is not None else p.max_scenarios
    if isinstance(p.n_scenarios, bool) or not isinstance(p.n_scenarios, int) or p.n_scenarios < MIN_SCENARIOS:
        raise _invalid(f"scenarios {p.n_scenarios!r} must be an integer ≥ {MIN_SCENARIOS}", "scenarios")
    if p.n_scenarios > ceiling:
        raise _invalid(f"scenarios {p.n_scenarios:,} exceeds the limit of {ceiling:,}", "scenarios")
    if isinstance(p.seed, bool) or not isinstance(p.seed, int) or not 0 <= p.seed < 2**63:
        raise _invalid(f"seed {p.seed!r} must be an integer ≥ 0", "seed")
    if p.asset_correlation != "basel" and (
        isinstance(p.asset_correlation, bool)
        or not isinstance(p.asset_correlation, int | float)
        or not 0.0 <= p.asset_correlation < 1.0
    ):
        raise _invalid(
            f"asset_correlation {p.asset_correlation!r} must be 'basel' or a number in [0, 1)", "asset_correlation"
        )
    if not p.levels:
        raise _invalid("at least one confidence level is needed", "levels")
    if len(p.levels) > MAX_LEVELS:
        raise _invalid(f"at most {MAX_LEVELS} confidence levels, not {len(p.levels)}", "levels")
    for level in p.levels:
        _rate_in_open_unit(level, "levels")
    _rate_in_open_unit(p.contribution_level, "contribution_level")
    if isinstance(p.chunk_size, bool) or not isinstance(p.chunk_size, int) or p.chunk_size < 1:
        raise _invalid(f"chunk_size {p.chunk_size!r} must be an integer ≥ 1", "chunk_size")
    if p.target_relative_error is not None and not (
        isinstance(p.target_relative_error, int | float) and 0.0 < p.target_relative_error < 1.0
    ):
        raise _invalid(
            f"target relative error {p.target_relative_error!r} must lie in (0, 1), e.g. 0.01", "target_relative_error"
        )
    if p.target_relative_error is not None and p.model != "mc":
        raise _invalid("a target relative error is for the Monte Carlo model only", "target_relative_error")


def make_stress(
    *,
    name: str = "stress",
    sector_pd_multipliers: Mapping[str, float] | None = None,
    country_pd_multipliers: Mapping[str, float] | None = None,
    asset_correlation_multiplier: float = 1.0,
    factor_correlation_shift: float = 0.0,
) -> Stress:
    """A :class:`Stress`, or an :class:`InvalidInput` naming the field (``stress.…``) that is wrong."""
    try:
        return Stress(
            name=name,
            sector_pd_multipliers=dict(sector_pd_multipliers or {}),
            country_pd_multipliers=dict(country_pd_multipliers or {}),
            asset_correlation_multiplier=asset_correlation_multiplier,
            factor_correlation_shift=factor_correlation_shift,
        )
    except ValueError as error:
        message = str(error)
        culprit = next(
            (key for key in ("asset_correlation_multiplier", "factor_correlation_shift") if message.startswith(key)),
            "sector_pd_multipliers" if message.startswith("sector") else "country_pd_multipliers",
        )
        raise _invalid(message, f"stress.{culprit}") from None


def make_reinsurance(
    *,
    quota_share_rate: float = 0.0,
    xol_retention: float | None = None,
    xol_limit: float | None = None,
    stop_loss_attachment: float | None = None,
    stop_loss_limit: float | None = None,
) -> Reinsurance:
    """A :class:`Reinsurance`, or an :class:`InvalidInput` naming the field (``reinsurance.…``) that is wrong."""
    try:
        return Reinsurance(
            quota_share_rate=quota_share_rate,
            xol_retention=xol_retention,
            xol_limit=xol_limit,
            stop_loss_attachment=stop_loss_attachment,
            stop_loss_limit=stop_loss_limit,
        )
    except ValueError as error:
        message = str(error)
        keys = ("quota_share_rate", "xol_retention", "xol_limit", "stop_loss_attachment", "stop_loss_limit")
        culprit = next((key for key in keys if message.startswith(key)), "reinsurance")
        raise _invalid(message, culprit if culprit == "reinsurance" else f"reinsurance.{culprit}") from None


def loss_model(parameters: LossParameters) -> PortfolioLossModel:
    """The estimator, unfitted, for these parameters."""
    p = parameters
    return PortfolioLossModel(
        model="creditriskplus" if p.model == "creditriskplus" else "mc",
        n_scenarios=p.n_scenarios,
        seed=p.seed,
        factors=p.factors,
        factor_correlation=p.factor_correlation,
        asset_correlation=p.asset_correlation,
        importance_sampling=p.importance_sampling,
        levels=tuple(p.levels),
        contribution_level=p.contribution_level,
        reinsurance=p.reinsurance,
        stress=p.stress,
        chunk_size=p.chunk_size,
        target_relative_error=p.target_relative_error,
        max_scenarios=max(p.max_scenarios, p.n_scenarios),
    )


def run_loss(
    book: PortfolioBook, parameters: LossParameters, *, client: Any = None, progress: Progress | None = None
) -> PortfolioLossResult:
    """The loss distribution of ``book``: chunks on ``client`` (a dask.distributed Client) if given.

    A stress naming a sector or country the book does not have, or a correlation matrix without a
    factor of the book, is an :class:`InvalidInput` (field ``stress`` or ``correlation``).
    """
    check_parameters(parameters)
    if book.size == 0:
        raise RuleBroken("the book has no obligors", code="portfolio_loss.empty_book")
    try:
        model = loss_model(parameters).fit(book, client=client, progress=progress)
    except FactorCorrelationError as error:
        raise _invalid(str(error), "correlation") from None
    except BookError as error:
        raise _invalid(str(error), "stress" if str(error).startswith("stress") else "correlation") from None
    result: PortfolioLossResult = model.result_
    return result


def live_book(
    uow: UnitOfWork,
    actor: Actor,
    as_of: date,
    lgd_rate: Decimal = portfolio.DEFAULT_LGD_RATE,
    *,
    currency: str = "EUR",
) -> PortfolioBook:
    """The live book on ``as_of`` as the loss model reads it (one obligor per buyer); staff only."""
    require(actor, Permission.PORTFOLIO_READ)
    rows = portfolio.live_book(uow, actor, as_of, lgd_rate, currency=currency)
    if not rows:
        raise RuleBroken(
            f"the live book has no obligor on {as_of}: no limit in force nor covered exposure",
            code="portfolio_loss.empty_book",
        )
    return PortfolioBook.from_rows(
        [row.obligor_id for row in rows],
        [float(row.ead) for row in rows],
        [float(row.pd) for row in rows],
        [float(row.lgd) for row in rows],
        [row.sector for row in rows],
        [row.country for row in rows],
    )


@dataclass(frozen=True)
class LiveLoss:
    """The loss model's result on the live book of ``as_of``, amounts in ``currency``."""

    as_of: date
    currency: str
    lgd_rate: Decimal
    result: PortfolioLossResult


def live_loss(
    uow_factory: Callable[[], UnitOfWork],
    actor: Actor,
    as_of: date,
    parameters: LossParameters,
    *,
    lgd_rate: Decimal = portfolio.DEFAULT_LGD_RATE,
    currency: str = "EUR",
    max_scenarios: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> LiveLoss:
    """Run the loss model on the live book of ``as_of``: staff only; parameters checked before the book is read.

    The book is read in a unit of work of its own, closed before the model runs.
    """
    require(actor, Permission.PORTFOLIO_READ)
    check_parameters(parameters, max_scenarios=max_scenarios)
    with uow_factory() as uow:
        book = live_book(uow, actor, as_of, lgd_rate, currency=currency)
    result = run_loss(book, parameters, client=client, progress=progress)
    return LiveLoss(as_of=as_of, currency=currency, lgd_rate=lgd_rate, result=result)
