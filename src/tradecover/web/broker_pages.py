"""The portal's broker pages.

``/insureds/{organisation_id}`` shows one insured as its own dashboard shows it: each policy's totals and its
largest buyers, then its open alerts. From there a broker *acts for* the insured (``POST /acting``): the
insured's own screens (buyers, limits, invoices, overdues, claims, premium, alerts) then show that insured,
until ``POST /acting/end``. A broker opens the insureds under its mandate, the insurer's staff any
insured, an insured itself only. Whose data may be read is the services' rule (:mod:`tradecover.services.
authorization`): an insured the user may not read answers the same 404 page as an id that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from tradecover.domain.parties import OrganisationKind, Role
from tradecover.services import accounts, portal
from tradecover.services.authorization import Actor, not_found
from tradecover.web.access import logged_in, posted
from tradecover.web.context import PageContext

router = APIRouter(include_in_schema=False)

#: The buyers listed per policy, as on the insured's own dashboard.
TOP_BUYERS = 20
LATEST_ALERTS = 5
MAX_ID_LENGTH = 100
FormText = Annotated[str, Form()]


@router.get("/insureds/{organisation_id}")
def insured_page(request: Request, organisation_id: str) -> Response:
    """One insured's policies, utilisation per buyer and open alerts (404 when the user may not read it)."""

    def build(page: PageContext, actor: Actor) -> Response:
        if len(organisation_id) > MAX_ID_LENGTH:  # no such id: the same page as any unknown one
            raise not_found("organisation", organisation_id[:MAX_ID_LENGTH])
        today = page.container.clock.today()
        with page.container.uow() as uow:
            organisation = accounts.get_organisation(uow, actor, organisation_id)  # refuses other tenants: 404
            if organisation.kind is not OrganisationKind.POLICYHOLDER:
                raise not_found("organisation", organisation_id)
            overviews = tuple(
                portal.policy_overview(uow, actor, policy.id, on=today, top=TOP_BUYERS)
                for policy in portal._policies_of(uow, actor, organisation.id)
            )
            alerts = portal.open_alerts(uow, actor, organisation_id=organisation.id, latest=LATEST_ALERTS)
        values = {
            "insured": organisation,
            "scope": actor.mandates.get(organisation.id),
            "policies": overviews,
            "alerts": alerts,
            "on": today,
            "current": "insureds",
        }
        return page.render("broker_insured.html", values)

    return logged_in(request, build)


@router.post("/acting")
def act_for(request: Request, insured: FormText = "", csrf_token: FormText = "") -> Response:
    """A broker acts for one of its mandated insureds: the insured's screens then show that insured (404 else)."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:  # all its mandates, not those narrowed to whom it acts for now
            full = accounts.actor_for_user(uow, page.container.clock, actor.user_id)
        if insured not in full.mandates:
            raise not_found("organisation", insured[:MAX_ID_LENGTH])
        page.new_acting = insured
        return page.redirect("/buyers")

    return posted(request, csrf_token, build, role=Role.BROKER_USER)


@router.post("/acting/end")
def stop_acting(request: Request, csrf_token: FormText = "") -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        page.new_acting = ""
        return page.redirect("/home")

    return posted(request, csrf_token, build, role=Role.BROKER_USER)
