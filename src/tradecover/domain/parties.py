"""Organisations, roles and mandates: who may see and do what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from tradecover.domain.errors import InvalidInput


class OrganisationKind(StrEnum):
    INSURER = "insurer"
    POLICYHOLDER = "policyholder"
    BROKER = "broker"
    FACTOR = "factor"


class Role(StrEnum):
    ADMIN = "admin"
    UNDERWRITER = "underwriter"
    CLAIMS_HANDLER = "claims_handler"
    COLLECTOR = "collector"
    RISK_MANAGER = "risk_manager"
    INSURED_USER = "insured_user"
    BROKER_USER = "broker_user"
    FACTOR_USER = "factor_user"


STAFF_ROLES: frozenset[Role] = frozenset(
    {Role.ADMIN, Role.UNDERWRITER, Role.CLAIMS_HANDLER, Role.COLLECTOR, Role.RISK_MANAGER}
)

# Which roles a user of each kind of organisation may hold.
ROLES_BY_KIND: dict[OrganisationKind, frozenset[Role]] = {
    OrganisationKind.INSURER: STAFF_ROLES,
    OrganisationKind.POLICYHOLDER: frozenset({Role.INSURED_USER}),
    OrganisationKind.BROKER: frozenset({Role.BROKER_USER}),
    OrganisationKind.FACTOR: frozenset({Role.FACTOR_USER}),
}


def check_role_fits(kind: OrganisationKind, role: Role) -> None:
    """Refuse, say, an underwriter inside an insured's organisation."""
    if role not in ROLES_BY_KIND[kind]:
        allowed = ", ".join(sorted(r.value for r in ROLES_BY_KIND[kind]))
        raise InvalidInput(
            f"role {role.value!r} is not allowed in a {kind.value} organisation (allowed: {allowed})",
            code="user.role_not_allowed",
            field="role",
        )


class MandateScope(StrEnum):
    READ = "read"
    ACT = "act"


@dataclass(frozen=True)
class MandateTerms:
    """A broker's mandate from an insured, in force on ``[start_date, end_date)``."""

    start_date: date
    end_date: date | None
    scope: MandateScope

    def __post_init__(self) -> None:
        if self.end_date is not None and self.end_date <= self.start_date:
            raise InvalidInput("a mandate must end after it starts", code="mandate.invalid_period", field="end_date")

    def in_force(self, on: date) -> bool:
        return self.start_date <= on and (self.end_date is None or on < self.end_date)


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 254:
        raise InvalidInput(f"{raw!r} is not an e-mail address", code="user.invalid_email", field="email")
    return email


MIN_PASSWORD_LENGTH = 10


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters",
            code="user.weak_password",
            field="password",
        )


@dataclass
class Organisation:
    id: str
    kind: OrganisationKind
    name: str
    country: str
    siren: str | None
    created_at: datetime


@dataclass
class User:
    id: str
    organisation_id: str
    email: str
    full_name: str
    role: Role
    password_hash: str
    active: bool
    created_at: datetime


@dataclass
class Mandate:
    id: str
    broker_id: str
    insured_id: str
    terms: MandateTerms
    created_at: datetime


@dataclass
class ApiKey:
    """An ERP's key: only a digest is stored; the prefix finds the row."""

    id: str
    user_id: str
    organisation_id: str
    name: str
    prefix: str
    digest: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
