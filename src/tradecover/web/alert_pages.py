"""The portal's pages for alerts to act on and the alert settings (channels, thresholds, webhook).

``/alerts`` lists the insured's open alerts (new, then seen: latest first) and, below, the latest closed ones;
each open alert is marked seen or closed by a form (``POST /alerts/{id}/state``), as the service allows.
``/alerts/settings?policy=...`` shows a policy's thresholds (the share of a credit limit that raises a
"near the limit" alert, the days of warning before an overdue notification deadline), its subscriptions (an
e-mail address or a webhook URL, for every kind of alert or some) and the latest deliveries. A webhook's signing
secret is made by the service: it is shown once, on the page that answers the subscription, and never again
(the list says only that one is set), as the API does. Bad input is shown in the form (422, nothing stored);
another insured's alert or policy is not found; a broker whose mandate is read-only is refused (403).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from tradecover.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from tradecover.domain.monitoring import ALERT_STATE_MOVES, AlertKind, AlertState
from tradecover.domain.policies import Policy
from tradecover.services import alerts, policies
from tradecover.services.authorization import Actor
from tradecover.services.ledger_ports import AlertSubscription
from tradecover.services.portal import OPEN_ALERT_STATES
from tradecover.services.ports import Page, UnitOfWork
from tradecover.web.access import insured_form, insured_screen
from tradecover.web.context import PageContext
from tradecover.web.paging import pager

router = APIRouter(include_in_schema=False)

ALERTS_PAGE_SIZE = 50
CLOSED_SHOWN = 20
DELIVERIES_SHOWN = 20
MAX_POLICIES = 100
MAX_ID_LENGTH = 100
# A percentage as people type it: 80, 80.5 or 80,5 (the service checks the range).
PERCENT = re.compile(r"^\d{1,3}(?:[.,]\d{1,2})?$")
DAYS = re.compile(r"^\d{1,3}$")

FormText = Annotated[str, Form()]
IdQuery = Annotated[str, Query(max_length=MAX_ID_LENGTH)]
OffsetQuery = Annotated[int, Query(ge=0, le=1_000_000)]


# --- Alerts to act on ---------------------------------------------------------------------------------------


def _lines(uow: UnitOfWork, found: list[Any], numbers: dict[str, str]) -> list[dict[str, Any]]:
    buyers = uow.buyers.get_many(sorted({a.buyer_id for a in found if a.buyer_id}))
    return [
        {
            "alert": a,
            "buyer_name": buyers[a.buyer_id].legal_name if a.buyer_id and a.buyer_id in buyers else None,
            "policy_number": numbers.get(a.policy_id or ""),
            "moves": sorted(s.value for s in ALERT_STATE_MOVES[a.state]),
        }
        for a in found
    ]


@router.get("/alerts")
def alert_list(request: Request, offset: OffsetQuery = 0) -> Response:
    """The open alerts (new and seen), latest first, each with its possible moves; then the latest closed."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
            numbers = {p.id: p.number for p in held}
            found, total = alerts.list_alerts(
                uow, actor, page=Page(limit=ALERTS_PAGE_SIZE, offset=offset), states=OPEN_ALERT_STATES
            )
            closed, closed_total = alerts.list_alerts(
                uow, actor, page=Page(limit=CLOSED_SHOWN), states=[AlertState.CLOSED]
            )
            open_lines, closed_lines = _lines(uow, found, numbers), _lines(uow, closed, numbers)
        values = {
            "open_alerts": open_lines,
            "closed_alerts": closed_lines,
            "closed_total": closed_total,
            "policies": held,
            "pager": pager(offset, total, ALERTS_PAGE_SIZE),
            "current": "alerts",
        }
        return page.render("alert_list.html", values)

    return insured_screen(request, build)


@router.post("/alerts/{alert_id}/state")
def move_alert(request: Request, alert_id: str, state: FormText = "", csrf_token: FormText = "") -> Response:
    """Mark an alert seen or closed; the service refuses a move its state does not allow (400 page)."""

    def build(page: PageContext, actor: Actor) -> Response:
        try:
            wanted = AlertState(state)
        except ValueError as error:
            raise InvalidInput(f"no alert state {state[:20]!r}", code="alert.bad_state", field="state") from error
        with page.container.uow() as uow:
            alerts.move_alert(uow, page.container.clock, actor, alert_id, wanted)
            uow.commit()
        return page.redirect("/alerts")

    return insured_form(request, csrf_token, build)


# --- Settings -------------------------------------------------------------------------------------------------


def _policy(uow: UnitOfWork, actor: Actor, policy_id: str) -> tuple[list[Policy], Policy]:
    """The insured's policies and the one to set: the one named (the service checks it), else the first."""
    held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
    if policy_id:
        return held, policies.get_policy(uow, actor, policy_id[:MAX_ID_LENGTH])
    if not held:
        raise NotFound("the insured holds no policy", code="policy.not_found")
    return held, held[0]


def _settings_page(
    page: PageContext,
    actor: Actor,
    policy_id: str,
    *,
    saved: str = "",
    preferences_form: dict[str, str] | None = None,
    preferences_error: DomainError | None = None,
    subscription_form: dict[str, Any] | None = None,
    subscription_error: DomainError | None = None,
    created: AlertSubscription | None = None,
    status_code: int = 200,
) -> Response:
    with page.container.uow() as uow:
        held, policy = _policy(uow, actor, policy_id)
        current = alerts.get_preferences(uow, actor, policy.id)
        subscriptions = [s for s in alerts.subscriptions(uow, actor, policy.id) if s.active]
        deliveries, delivery_total = alerts.delivery_log(uow, actor, policy.id, Page(limit=DELIVERIES_SHOWN))
    values = {
        "policies": held,
        "policy": policy,
        "saved": saved,
        "preferences_form": preferences_form
        or {
            "utilisation_threshold": _percent_text(current.utilisation_threshold),
            "deadline_warning_days": str(current.deadline_warning_days),
        },
        "preferences_error": preferences_error,
        "subscription_form": subscription_form or {"channel": "email", "target": "", "kinds": []},
        "subscription_error": subscription_error,
        "subscriptions": subscriptions,
        "created": created,
        "deliveries": deliveries,
        "delivery_total": delivery_total,
        "kinds": [k.value for k in AlertKind],
        "current": "alerts",
    }
    return page.render("alert_settings.html", values, status_code=status_code)


def _percent_text(share: Decimal) -> str:
    """0.8 as "80", 0.825 as "82.5": the form speaks in percent of the limit."""
    return format((share * 100).normalize(), "f")


def _settings_url(policy_id: str, saved: str) -> str:
    return f"/alerts/settings?policy={quote(policy_id, safe='')}&saved={saved}"


@router.get("/alerts/settings")
def alert_settings(request: Request, policy: IdQuery = "", saved: IdQuery = "") -> Response:
    """A policy's thresholds, subscriptions and latest deliveries."""
    wanted = saved if saved in {"preferences", "subscription", "removed"} else ""
    return insured_screen(request, lambda page, actor: _settings_page(page, actor, policy, saved=wanted))


@router.post("/alerts/settings/preferences")
def save_preferences(
    request: Request,
    policy: FormText = "",
    utilisation_threshold: FormText = "",
    deadline_warning_days: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Set the policy's thresholds (a percentage of the limit, days of warning); refused ones show in the form."""

    def build(page: PageContext, actor: Actor) -> Response:
        form = {
            "utilisation_threshold": utilisation_threshold[:20],
            "deadline_warning_days": deadline_warning_days[:20],
        }
        typed_share = "".join(utilisation_threshold.split()).rstrip("%")
        typed_days = deadline_warning_days.strip()
        problem: DomainError | None = None
        if not PERCENT.match(typed_share):
            problem = InvalidInput(
                f"{typed_share!r} is not a percentage", code="alerts.bad_threshold", field="utilisation_threshold"
            )
        elif not DAYS.match(typed_days):
            problem = InvalidInput(
                f"{typed_days!r} is not a number of days", code="alerts.bad_warning", field="deadline_warning_days"
            )
        if problem is None:
            with page.container.uow() as uow:
                try:
                    alerts.set_preferences(
                        uow,
                        page.container.clock,
                        actor,
                        policy[:MAX_ID_LENGTH],
                        utilisation_threshold=Decimal(typed_share.replace(",", ".")) / 100,
                        deadline_warning_days=int(typed_days),
                    )
                except (NotFound, Forbidden):
                    raise
                except DomainError as refused:
                    uow.rollback()
                    problem = refused
                else:
                    uow.commit()
                    return page.redirect(_settings_url(policy, "preferences"))
        return _settings_page(page, actor, policy, preferences_form=form, preferences_error=problem, status_code=422)

    return insured_form(request, csrf_token, build)


@router.post("/alerts/settings/subscriptions")
def add_subscription(
    request: Request,
    policy: FormText = "",
    channel: FormText = "",
    target: FormText = "",
    kinds: Annotated[list[str] | None, Form()] = None,
    csrf_token: FormText = "",
) -> Response:
    """Subscribe an e-mail address or a webhook URL; a webhook's signing secret is shown on this answer only."""

    def build(page: PageContext, actor: Actor) -> Response:
        chosen = list(dict.fromkeys(k[:40] for k in (kinds or []) if k))[:20]
        form = {"channel": channel[:20], "target": target[:500], "kinds": chosen}
        with page.container.uow() as uow:
            try:
                created = alerts.subscribe(
                    uow,
                    page.container.clock,
                    actor,
                    policy[:MAX_ID_LENGTH],
                    channel=channel,
                    target=target[:1000],
                    kinds=chosen,
                )
            except (NotFound, Forbidden):
                raise
            except DomainError as refused:
                uow.rollback()
                return _settings_page(
                    page, actor, policy, subscription_form=form, subscription_error=refused, status_code=422
                )
            uow.commit()
        if created.secret is None:
            return page.redirect(_settings_url(policy, "subscription"))
        # Not a redirect: the secret must not travel in a URL nor be found again by reloading a page.
        return _settings_page(page, actor, policy, saved="subscription", created=created)

    return insured_form(request, csrf_token, build)


@router.post("/alerts/settings/subscriptions/{subscription_id}/delete")
def remove_subscription(
    request: Request, subscription_id: str, policy: FormText = "", csrf_token: FormText = ""
) -> Response:
    """Stop sending the policy's alerts to that address or webhook."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            alerts.unsubscribe(uow, page.container.clock, actor, policy[:MAX_ID_LENGTH], subscription_id)
            uow.commit()
        return page.redirect(_settings_url(policy, "removed"))

    return insured_form(request, csrf_token, build)
