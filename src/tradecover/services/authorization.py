"""Authorisation, in one place.

Who may do what (roles → permissions) and whose data an actor may see
(tenancy). Another tenant's object is reported as *not found*, exactly as a
nonexistent one, so that ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from tradecover.domain.errors import Forbidden, NotFound
from tradecover.domain.parties import STAFF_ROLES, MandateScope, OrganisationKind, Role


class Permission(StrEnum):
    ORGANISATION_CREATE = "organisation.create"
    USER_CREATE = "user.create"
    MANDATE_CREATE = "mandate.create"
    POLICY_ISSUE = "policy.issue"
    POLICY_ENDORSE = "policy.endorse"
    POLICY_RENEW = "policy.renew"
    BUYER_ADD = "buyer.add"
    AUDIT_READ = "audit.read"
    API_KEY_MANAGE = "api_key.manage"
    FINANCIALS_RECORD = "financials.record"
    MONITORING_INGEST = "monitoring.ingest"
    GRADING_RUN = "grading.run"
    LIMIT_REQUEST = "limit.request"
    LIMIT_DECIDE = "limit.decide"
    OVERDUE_NOTIFY = "overdue.notify"
    CLAIM_FILE = "claim.file"
    CLAIM_SETTLE = "claim.settle"
    QUOTE_REQUEST = "quote.request"
    QUOTE_DECIDE = "quote.decide"
    TURNOVER_DECLARE = "turnover.declare"
    PREMIUM_MANAGE = "premium.manage"
    POLICY_NOTICE = "policy.notice"
    POLICY_TERMINATE = "policy.terminate"
    PORTFOLIO_READ = "portfolio.read"


_ALL_ROLES = frozenset(Role)

ROLE_PERMISSIONS: Mapping[Permission, frozenset[Role]] = {
    Permission.ORGANISATION_CREATE: frozenset({Role.ADMIN}),
    Permission.USER_CREATE: frozenset({Role.ADMIN}),
    Permission.MANDATE_CREATE: frozenset({Role.ADMIN}),
    Permission.POLICY_ISSUE: frozenset({Role.ADMIN, Role.UNDERWRITER}),
    Permission.POLICY_ENDORSE: frozenset({Role.ADMIN, Role.UNDERWRITER}),
    Permission.POLICY_RENEW: frozenset({Role.ADMIN, Role.UNDERWRITER}),
    Permission.BUYER_ADD: frozenset({Role.ADMIN, Role.UNDERWRITER, Role.INSURED_USER, Role.BROKER_USER}),
    Permission.AUDIT_READ: frozenset({Role.ADMIN, Role.RISK_MANAGER}),
    Permission.API_KEY_MANAGE: _ALL_ROLES,
    Permission.FINANCIALS_RECORD: frozenset({Role.ADMIN, Role.UNDERWRITER}),
    Permission.MONITORING_INGEST: frozenset({Role.ADMIN, Role.UNDERWRITER, Role.RISK_MANAGER}),
    Permission.GRADING_RUN: frozenset({Role.ADMIN, Role.UNDERWRITER, Role.RISK_MANAGER}),
    Permission.LIMIT_REQUEST: frozenset({Role.ADMIN, Role.UNDERWRITER, Role.INSURED_USER, Role.BROKER_USER}),
    Permission.LIMIT_DECIDE: frozenset({Role.ADMIN, Role.UNDERWRITER}),
    # The insured declares its overdues and files its claims (or its broker with an "act" mandate, or the
    # insurer's staff on its behalf); only claims handlers settle.
    Permission.OVERDUE_NOTIFY: frozenset(
        {Role.ADMIN, Role.CLAIMS_HANDLER, Role.COLLECTOR, Role.INSURED_USER, Role.BROKER_USER}
    ),
    Permission.CLAIM_FILE: frozenset({Role.ADMIN, Role.CLAIMS_HANDLER, Role.INSURED_USER, Role.BROKER_USER}),
    Permission.CLAIM_SETTLE: frozenset({Role.ADMIN, Role.CLAIMS_HANDLER}),
    # The insured (or its broker) applies for a quote, declares its turnover and gives notice; the
    # underwriters price, issue, terminate; premium runs, year ends and payments are the insurer's.
    Permission.QUOTE_REQUEST: frozenset({Role.ADMIN, Role.UNDERWRITER, Role.INSURED_USER, Role.BROKER_USER}),
    Permission.QUOTE_DECIDE: frozenset({Role.ADMIN, Role.UNDERWRITER}),
    Permission.TURNOVER_DECLARE: frozenset({Role.ADMIN, Role.UNDERWRITER, Role.INSURED_USER, Role.BROKER_USER}),
    Permission.PREMIUM_MANAGE: frozenset({Role.ADMIN, Role.UNDERWRITER}),
    Permission.POLICY_NOTICE: frozenset({Role.ADMIN, Role.UNDERWRITER, Role.INSURED_USER, Role.BROKER_USER}),
    Permission.POLICY_TERMINATE: frozenset({Role.ADMIN, Role.UNDERWRITER}),
    # The whole book (every insured's limits and exposure): the insurer's staff only.
    Permission.PORTFOLIO_READ: STAFF_ROLES,
}


@dataclass(frozen=True)
class Actor:
    """The authenticated user a use case acts for, with its mandates in force today."""

    user_id: str
    label: str
    organisation_id: str
    organisation_kind: OrganisationKind
    role: Role
    mandates: Mapping[str, MandateScope] = field(default_factory=dict)
    api_key_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.organisation_kind is OrganisationKind.INSURER and self.role in STAFF_ROLES

    def audit_label(self, on_behalf_of: str | None = None) -> str:
        """``user:<id>``, plus the broker's mandate and the API key when they were used."""
        text = f"user:{self.user_id}"
        if self.api_key_id:
            text += f" via api_key:{self.api_key_id}"
        if on_behalf_of and on_behalf_of in self.mandates:
            text += f" for organisation:{on_behalf_of} (broker mandate)"
        return text


SYSTEM_ACTOR_ID = "system"


def system_actor(insurer_id: str) -> Actor:
    """The command line's actor: an administrator of the insurer."""
    return Actor(
        user_id=SYSTEM_ACTOR_ID,
        label="command line",
        organisation_id=insurer_id,
        organisation_kind=OrganisationKind.INSURER,
        role=Role.ADMIN,
    )


def require(actor: Actor, permission: Permission) -> None:
    if actor.role not in ROLE_PERMISSIONS[permission]:
        raise Forbidden(
            f"role {actor.role.value!r} may not {permission.value}",
            code="auth.forbidden",
            context={"permission": permission.value},
        )
    if actor.role in STAFF_ROLES and actor.organisation_kind is not OrganisationKind.INSURER:
        raise Forbidden("staff roles belong to the insurer", code="auth.forbidden")


def visible_organisations(actor: Actor) -> frozenset[str] | None:
    """Organisations whose data the actor may read; ``None`` means all (insurer staff)."""
    if actor.is_staff:
        return None
    return frozenset({actor.organisation_id, *actor.mandates})


def can_read(actor: Actor, organisation_id: str) -> bool:
    visible = visible_organisations(actor)
    return visible is None or organisation_id in visible


def ensure_can_read(actor: Actor, organisation_id: str, what: str, object_id: str) -> None:
    if not can_read(actor, organisation_id):
        raise not_found(what, object_id)


def ensure_can_act(actor: Actor, organisation_id: str, what: str, object_id: str) -> None:
    """Read access first (else 404); a broker needs a mandate with the ``act`` scope."""
    ensure_can_read(actor, organisation_id, what, object_id)
    acting_for_other = actor.role is Role.BROKER_USER and organisation_id != actor.organisation_id
    if acting_for_other and actor.mandates.get(organisation_id) is not MandateScope.ACT:
        raise Forbidden(
            "the broker's mandate on this insured does not allow acting",
            code="auth.mandate_read_only",
        )


def not_found(what: str, object_id: str) -> NotFound:
    return NotFound(f"{what} {object_id} not found", code=f"{what}.not_found", context={"id": object_id})
