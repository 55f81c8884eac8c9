"""The portal's staff pages: a referral's buyer file and its decision, the loss model on the live book, the
audit chain's verification.

``/referrals/{id}`` shows what an underwriter needs (buyer, grade, the request's reasons, latest financials,
the limits already held on the buyer over every policy) and posts the decision to the credit-limit service,
which applies four eyes above its threshold. ``/portfolio/loss`` starts the loss model in a background
thread (:mod:`tradecover.web.jobs`) and sends to ``/portfolio/loss/{job}``, which refreshes
itself until the figures and charts are there. ``/audit`` verifies the hash chain on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from tradecover.documents.portfolio_charts import contributions_png, loss_distribution_png
from tradecover.domain.credit_limits import RequestState, buyer_capacity
from tradecover.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from tradecover.domain.money import Money
from tradecover.domain.receco import ReasonCode, ResponseType, label
from tradecover.services import audit, credit_limits, financials, portfolio_loss
from tradecover.services.authorization import Actor, Permission, require
from tradecover.services.buyers import get_buyer
from tradecover.web.access import error_page, logged_in, posted
from tradecover.web.context import PageContext
from tradecover.web.jobs import JOBS, Job
from tradecover.web.rendering import SECURITY_HEADERS

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]
MAX_SCENARIOS = 20_000
MAX_REASON_LENGTH = 2000
MAX_SEED = 2**31 - 1
CHART_BARS = 15


_error = error_page
_logged_in = logged_in
_posted = posted


# --- A referral's buyer file and its decision ----------------------------------------------------------------


def _reason_label(code: str, language: str) -> str:
    try:
        return label(ReasonCode(code), language)
    except ValueError:
        return code


def _referral_file(page: PageContext, actor: Actor, request_id: str) -> dict[str, Any]:
    """The request, its buyer, and the figures the decision rests on."""
    require(actor, Permission.LIMIT_DECIDE)
    today = page.container.clock.today()
    with page.container.uow() as uow:
        limit_request = credit_limits.get_request(uow, actor, request_id)
        buyer = get_buyer(uow, actor, limit_request.buyer_id)
        currency = limit_request.requested.currency
        held = credit_limits.accumulation(
            uow,
            buyer,
            excluding_policy=limit_request.policy_id,
            on=today,
            currency=currency,
            settings=credit_limits.DEFAULT_SETTINGS,
        )
        view = credit_limits.risk_view(uow, buyer, currency)
        capacity = buyer_capacity(view, credit_limits.DEFAULT_SETTINGS).amount
        statements = financials.statements_of(uow, actor, buyer.id)
    return {
        "item": limit_request,
        "buyer": buyer,
        "held": held,
        "capacity": capacity,
        "currency": currency,
        "statement": statements[0] if statements else None,
        "reasons": [_reason_label(code, page.language) for code in limit_request.reasons],
        "open": limit_request.state is not RequestState.DECIDED,
        "current": "referrals",
    }


def _referral_page(
    page: PageContext,
    actor: Actor,
    request_id: str,
    *,
    error: DomainError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The file, with the service's refusal of a decision as an alert (403 for four eyes, 422 otherwise)."""
    values = _referral_file(page, actor, request_id)
    values.update(error=error, form=form or {"decision": "grant", "amount": "", "reason": ""})
    status_code = 200 if error is None else 403 if isinstance(error, Forbidden) else 422
    return page.render("staff_referral.html", values, status_code=status_code)


@router.get("/referrals/{request_id}")
def referral(request: Request, request_id: str) -> Response:
    return _logged_in(request, lambda page, actor: _referral_page(page, actor, request_id[:100]))


@router.post("/referrals/{request_id}/decision")
def referral_decision(
    request: Request,
    request_id: str,
    decision: FormText = "",
    amount: FormText = "",
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    request_id = request_id[:100]
    form = {"decision": decision, "amount": amount[:40], "reason": reason[:MAX_REASON_LENGTH]}

    def build(page: PageContext, actor: Actor) -> Response:
        require(actor, Permission.LIMIT_DECIDE)
        try:
            with page.container.uow() as uow:
                currency = credit_limits.get_request(uow, actor, request_id).requested.currency
            response, granted = _decision(decision, form["amount"], currency)
            with page.container.uow() as uow:
                credit_limits.decide_referral(
                    uow,
                    page.container.clock,
                    actor,
                    request_id,
                    response=response,
                    amount=granted,
                    reason=form["reason"],
                )
        except NotFound:
            raise
        except DomainError as error:
            return _referral_page(page, actor, request_id, error=error, form=form)
        return page.redirect(f"/referrals/{request_id}")

    return _posted(request, csrf_token, build)


def _decision(decision: str, amount: str, currency: str) -> tuple[ResponseType, Money | None]:
    if decision == "refuse":
        return ResponseType.NOT_APPROVED, None
    if decision != "grant":
        raise InvalidInput("choose to grant or to refuse", code="credit_limit.invalid_response", field="decision")
    text = amount.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
    if not text:
        return ResponseType.APPROVED, None  # the amount requested
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput("the amount is not a number", code="credit_limit.invalid_amount", field="amount") from None
    if not value.is_finite():
        raise InvalidInput("the amount is not a number", code="credit_limit.invalid_amount", field="amount")
    return ResponseType.APPROVED, Money.of(value, currency)


# --- The loss model on the live book, in the background ------------------------------------------------------


LOSS = "loss"


def _loss_form(page: PageContext, *, error: DomainError | None = None, form: dict[str, str] | None = None) -> Response:
    values = {
        "error": error,
        "form": form or {"scenarios": "10000", "seed": "0", "model": "mc"},
        "models": portfolio_loss.MODELS,
        "max_scenarios": MAX_SCENARIOS,
        "current": "loss",
    }
    return page.render("staff_loss.html", values, status_code=422 if error else 200)


@router.get("/portfolio/loss")
def loss_form(request: Request) -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        require(actor, Permission.PORTFOLIO_READ)
        return _loss_form(page)

    return _logged_in(request, build)


def _whole(text: str, name: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", code="portfolio_loss.invalid", field=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}", code="portfolio_loss.invalid", field=name)
    return value


@router.post("/portfolio/loss")
def loss_start(
    request: Request, scenarios: FormText = "", seed: FormText = "", model: FormText = "", csrf_token: FormText = ""
) -> Response:
    form = {"scenarios": scenarios[:20], "seed": seed[:20], "model": model[:20]}

    def build(page: PageContext, actor: Actor) -> Response:
        require(actor, Permission.PORTFOLIO_READ)
        try:
            if form["model"] not in portfolio_loss.MODELS:
                raise InvalidInput("choose a model", code="portfolio_loss.invalid", field="model")
            parameters = portfolio_loss.LossParameters(
                model=form["model"],
                n_scenarios=_whole(form["scenarios"], "scenarios", portfolio_loss.MIN_SCENARIOS, MAX_SCENARIOS),
                seed=_whole(form["seed"], "seed", 0, MAX_SEED),
            )
            portfolio_loss.check_parameters(parameters, max_scenarios=MAX_SCENARIOS)
        except DomainError as error:
            return _loss_form(page, error=error, form=form)
        container = page.container
        as_of = container.clock.today()

        def work(progress: Callable[[int, int], None]) -> portfolio_loss.LiveLoss:
            return portfolio_loss.live_loss(
                container.uow, actor, as_of, parameters, max_scenarios=MAX_SCENARIOS, progress=progress
            )

        job = JOBS.start(LOSS, actor.user_id, work, parameters=parameters)
        return page.redirect(f"/portfolio/loss/{job.id}")

    return _posted(request, csrf_token, build)


def _job(actor: Actor, job_id: str) -> Job[portfolio_loss.LiveLoss]:
    require(actor, Permission.PORTFOLIO_READ)
    return JOBS.get(job_id, LOSS, owner=None)  # the risk managers share their runs


def _figures(live: portfolio_loss.LiveLoss) -> dict[str, Any]:
    def amount(value: float) -> Decimal:
        return Decimal(repr(value)).quantize(Decimal("0.01"))

    gross = live.result.gross
    return {
        "currency": live.currency,
        "as_of": live.as_of,
        "obligors": live.result.n_obligors,
        "scenarios": live.result.n_scenarios,
        "expected_loss": amount(gross.expected_loss),
        "standard_deviation": amount(gross.standard_deviation),
        "measures": [
            {"level": Decimal(repr(m.level)), "var": amount(m.var), "tvar": amount(m.tvar)} for m in gross.measures
        ],
    }


@router.get("/portfolio/loss/{job_id}")
def loss_job(request: Request, job_id: str) -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        job = _job(actor, job_id)
        values = {
            "job": job,
            "figures": _figures(job.result) if job.result is not None else None,
            "current": "loss",
        }
        return page.render("staff_loss_job.html", values)

    return _logged_in(request, build)


def _chart(request: Request, job_id: str, draw: Callable[[portfolio_loss.LiveLoss], bytes]) -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        job = _job(actor, job_id)
        if job.result is None:
            raise NotFound("the run has no result yet", code="portfolio_loss.not_found")
        return Response(draw(job.result), media_type="image/png", headers=SECURITY_HEADERS)

    return _logged_in(request, build)


@router.get("/portfolio/loss/{job_id}/distribution.png")
def loss_distribution(request: Request, job_id: str) -> Response:
    return _chart(request, job_id, lambda live: loss_distribution_png(live.result))


@router.get("/portfolio/loss/{job_id}/contributions.png")
def loss_contributions(request: Request, job_id: str) -> Response:
    return _chart(request, job_id, lambda live: contributions_png(live.result, top=CHART_BARS))


# --- The audit chain ------------------------------------------------------------------------------------------


@router.get("/audit")
def audit_page(request: Request) -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        require(actor, Permission.AUDIT_READ)
        return page.render("staff_audit.html", {"verified": None, "current": "audit"})

    return _logged_in(request, build)


@router.post("/audit/verify")
def audit_verify(request: Request, csrf_token: FormText = "") -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        require(actor, Permission.AUDIT_READ)
        with page.container.uow() as uow:
            tenants, events, breaks = audit.verify_audit(uow)
        verified = {"tenants": tenants, "events": events, "breaks": breaks}
        return page.render("staff_audit.html", {"verified": verified, "current": "audit"})

    return _posted(request, csrf_token, build)
