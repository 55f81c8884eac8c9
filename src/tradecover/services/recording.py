"""Appending audit events from use cases."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from tradecover.domain.periods import Clock
from tradecover.services.authorization import Actor
from tradecover.services.ports import UnitOfWork

INSURER_TENANT = "insurer"


def new_id() -> str:
    return str(uuid.uuid4())


def record(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    tenant: str,
    action: str,
    object_type: str,
    object_id: str,
    summary: Mapping[str, Any],
    reason: str | None = None,
) -> None:
    uow.audit.append(
        tenant=tenant,
        actor=actor.audit_label(on_behalf_of=tenant),
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary,
        reason=reason,
        at=clock.now(),
    )
