"""Alerts: the list with states, preferences and subscriptions per policy, the delivery log."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.receivables_schemas import (
    AlertOut,
    AlertStateIn,
    DeliveryOut,
    PreferencesIn,
    PreferencesOut,
    SubscriptionIn,
    SubscriptionOut,
)
from tradecover.api.schemas import Paged
from tradecover.domain.monitoring import AlertState
from tradecover.services import alerts

router = APIRouter(tags=["alerts"])


@router.get("/alerts", response_model=Paged[AlertOut])
def list_alerts(
    container: ContainerDep,
    actor: ActorDep,
    page: PageDep,
    policy_id: str | None = None,
    state: Annotated[list[Literal["new", "seen", "closed"]] | None, Query()] = None,
) -> Paged[AlertOut]:
    with container.uow() as uow:
        items, total = alerts.list_alerts(
            uow, actor, page=page, policy_id=policy_id, states=[AlertState(s) for s in state or []]
        )
    return Paged(items=[AlertOut.of(a) for a in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def get_alert(container: ContainerDep, actor: ActorDep, alert_id: str) -> AlertOut:
    with container.uow() as uow:
        return AlertOut.of(alerts.get_alert(uow, actor, alert_id))


@router.post("/alerts/{alert_id}/state", response_model=AlertOut)
def move_alert(container: ContainerDep, actor: ActorDep, alert_id: str, body: AlertStateIn) -> AlertOut:
    with container.uow() as uow:
        alert = alerts.move_alert(uow, container.clock, actor, alert_id, AlertState(body.state))
        uow.commit()
    return AlertOut.of(alert)


@router.get("/policies/{policy_id}/alert-preferences", response_model=PreferencesOut)
def get_preferences(container: ContainerDep, actor: ActorDep, policy_id: str) -> PreferencesOut:
    with container.uow() as uow:
        return PreferencesOut.of(alerts.get_preferences(uow, actor, policy_id))


@router.put("/policies/{policy_id}/alert-preferences", response_model=PreferencesOut)
def set_preferences(container: ContainerDep, actor: ActorDep, policy_id: str, body: PreferencesIn) -> PreferencesOut:
    with container.uow() as uow:
        preferences = alerts.set_preferences(
            uow,
            container.clock,
            actor,
            policy_id,
            utilisation_threshold=Decimal(body.utilisation_threshold),
            deadline_warning_days=body.deadline_warning_days,
        )
        uow.commit()
    return PreferencesOut.of(preferences)


@router.get("/policies/{policy_id}/alert-subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(container: ContainerDep, actor: ActorDep, policy_id: str) -> list[SubscriptionOut]:
    with container.uow() as uow:
        return [SubscriptionOut.of(s) for s in alerts.subscriptions(uow, actor, policy_id)]


@router.post(
    "/policies/{policy_id}/alert-subscriptions", response_model=SubscriptionOut, status_code=status.HTTP_201_CREATED
)
def subscribe(container: ContainerDep, actor: ActorDep, policy_id: str, body: SubscriptionIn) -> SubscriptionOut:
    with container.uow() as uow:
        subscription = alerts.subscribe(
            uow, container.clock, actor, policy_id, channel=body.channel, target=body.target, kinds=body.kinds
        )
        uow.commit()
    return SubscriptionOut.of(subscription, with_secret=True)


@router.delete("/policies/{policy_id}/alert-subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def unsubscribe(container: ContainerDep, actor: ActorDep, policy_id: str, subscription_id: str) -> None:
    with container.uow() as uow:
        alerts.unsubscribe(uow, container.clock, actor, policy_id, subscription_id)
        uow.commit()


@router.get("/policies/{policy_id}/alert-deliveries", response_model=Paged[DeliveryOut])
def delivery_log(container: ContainerDep, actor: ActorDep, page: PageDep, policy_id: str) -> Paged[DeliveryOut]:
    with container.uow() as uow:
        items, total = alerts.delivery_log(uow, actor, policy_id, page)
    return Paged(items=[DeliveryOut.of(d) for d in items], total=total, limit=page.limit, offset=page.offset)
