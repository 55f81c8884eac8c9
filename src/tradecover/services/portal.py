"""What the portal's home pages show, read through the existing use cases (nothing is written).

Each role has its view: an insured its policies' exposure per buyer and its open alerts; a broker its
mandated insureds side by side; the insurer's staff the work waiting for them (referrals, claims,
alerts) and, for whoever reads the portfolio in depth, the accumulation summary.

Exposure, utilisation and the accumulation are the rules of :mod:`tradecover.services.exposure` and
:mod:`tradecover.services.portfolio`; this module only selects, sums and orders their results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tradecover.domain.accumulation import Cap, Concentration, Dimension
from tradecover.domain.claims import Claim, ClaimStatus
from tradecover.domain.credit_limits import RequestState
from tradecover.domain.errors import NotAuthenticated
from tradecover.domain.money import Money
from tradecover.domain.monitoring import Alert, AlertState
from tradecover.domain.parties import MandateScope, Role
from tradecover.domain.policies import Policy
from tradecover.services import accounts, claims, exposure, portfolio
from tradecover.services.authorization import (
    ROLE_PERMISSIONS,
    Actor,
    Permission,
    can_read,
    ensure_can_read,
    require,
    visible_organisations,
)
from tradecover.services.policies import get_policy
from tradecover.services.ports import Page, UnitOfWork

#: Alerts still to act on: not closed.
OPEN_ALERT_STATES = (AlertState.NEW, AlertState.SEEN)
#: Claims not settled nor refused yet, in the order of their progress.
OPEN_CLAIM_STATES = (ClaimStatus.PENDING, ClaimStatus.COMPLETE, ClaimStatus.AWAITING_APPROVAL)
#: The underwriters' queue, as :func:`tradecover.services.credit_limits.referrals` reads it.
REFERRAL_STATES = (RequestState.REFERRED, RequestState.AWAITING_SECOND_APPROVAL)
#: The roles whose home shows the accumulation summary (computing it reads the whole book).
ACCUMULATION_ROLES = frozenset({Role.ADMIN, Role.RISK_MANAGER})
MAX_POLICIES = 100


@dataclass(frozen=True)
class Identity:
    """Who is logged in, as the portal's header names them."""

    full_name: str
    email: str
    role: Role
    organisation_name: str


def identity(uow: UnitOfWork, actor: Actor) -> Identity:
    user = uow.users.get(actor.user_id)
    organisation = uow.organisations.get(actor.organisation_id)
    if user is None or organisation is None:
        raise NotAuthenticated("the account is unknown or disabled", code="auth.invalid_credentials")
    return Identity(user.full_name, user.email, user.role, organisation.name)


# --- Exposure of a policy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuyerLine:
    """One buyer of a policy: outstanding and covered exposure against its limit in force (policy currency)."""

    buyer_id: str
    buyer_name: str
    outstanding: Money
    covered: Money
    uncovered: Money
    limit_in_force: Money
    utilisation_rate: Decimal | None  # outstanding ÷ limit in force; None without a limit

    @property
    def over_limit(self) -> bool:
        return self.utilisation_rate is not None and self.utilisation_rate > 1


@dataclass(frozen=True)
class ExposureTotals:
    """Sums over buyers, in one currency.

    ``utilisation_rate`` = Σ outstanding ÷ Σ limit in force over the buyers that have a limit: the ratio of
    :attr:`BuyerExposure.utilisation` summed over the book (None without any limit).
    """

    currency: str
    outstanding: Money
    covered: Money
    limit_in_force: Money
    outstanding_within_limits: Money  # Σ outstanding of the buyers with a limit in force

    @property
    def uncovered(self) -> Money:
        return self.outstanding - self.covered

    @property
    def utilisation_rate(self) -> Decimal | None:
        if not self.limit_in_force.is_positive():
            return None
        ratio = self.outstanding_within_limits.amount / self.limit_in_force.amount
        return ratio.quantize(Decimal("0.0001"), ROUND_HALF_UP)

    @classmethod
    def of(cls, currency: str, lines: Sequence[BuyerLine]) -> ExposureTotals:
        zero = Money.zero(currency)
        limited = [line for line in lines if line.limit_in_force.is_positive()]
        return cls(
            currency,
            sum((line.outstanding for line in lines), zero),
            sum((line.covered for line in lines), zero),
            sum((line.limit_in_force for line in limited), zero),
            sum((line.outstanding for line in limited), zero),
        )

    def __add__(self, other: ExposureTotals) -> ExposureTotals:
        return ExposureTotals(
            self.currency,
            self.outstanding + other.outstanding,
            self.covered + other.covered,
            self.limit_in_force + other.limit_in_force,
            self.outstanding_within_limits + other.outstanding_within_limits,
        )


@dataclass(frozen=True)
class PolicyOverview:
    """A policy's exposure on a date: totals over every buyer, and its buyers by outstanding, largest first."""

    policy_id: str
    policy_number: str
    policyholder_id: str
    on: date
    totals: ExposureTotals
    buyers: tuple[BuyerLine, ...]  # the ``top`` largest (all of them without a top)
    buyer_count: int  # buyers with ledger entries, listed or not


def policy_overview(
    uow: UnitOfWork, actor: Actor, policy_id: str, *, on: date, top: int | None = None
) -> PolicyOverview:
    """The policy's exposure report (one pass over its ledger), its buyers ordered for the dashboard."""
    policy = get_policy(uow, actor, policy_id)
    return _overview(exposure.exposures_of_policy(uow, policy, on=on), policy.policyholder_id, on, top)


def _overview(report: exposure.PolicyExposure, policyholder_id: str, on: date, top: int | None) -> PolicyOverview:
    lines = [
        BuyerLine(
            buyer.id,
            buyer.legal_name,
            found.outstanding,
            found.covered,
            found.uncovered,
            found.limit_in_force,
            found.utilisation,
        )
        for buyer, found in report.buyers
    ]
    lines.sort(key=lambda line: (-line.outstanding.amount, -line.covered.amount, line.buyer_name, line.buyer_id))
    shown = lines if top is None else lines[:top]
    return PolicyOverview(
        report.policy_id,
        report.policy_number,
        policyholder_id,
        on,
        ExposureTotals.of(report.currency, lines),
        tuple(shown),
        len(lines),
    )


def _policies_of(uow: UnitOfWork, actor: Actor, organisation_id: str) -> list[Policy]:
    """The organisation's policies, oldest first (none when the actor may not read it)."""
    if not can_read(actor, organisation_id):
        return []
    found, _ = uow.policies.list_page(policyholder_ids=frozenset({organisation_id}), page=Page(limit=MAX_POLICIES))
    return sorted(found, key=lambda p: (p.created_at, p.number))


# --- Alerts ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertLine:
    alert: Alert
    buyer_name: str | None
    policy_number: str | None


@dataclass(frozen=True)
class OpenAlerts:
    """Alerts not closed yet: how many, and the latest few with their buyer's and policy's names."""

    count: int
    latest: tuple[AlertLine, ...]


def open_alerts(uow: UnitOfWork, actor: Actor, *, organisation_id: str | None = None, latest: int = 5) -> OpenAlerts:
    """The actor's open alerts (its own organisation, its mandates', or all for the insurer's staff);
    with ``organisation_id``, that organisation's only (when the actor may read it)."""
    visible = visible_organisations(actor)
    scope = visible
    if organisation_id is not None:
        if visible is not None and organisation_id not in visible:
            return OpenAlerts(0, ())
        scope = frozenset({organisation_id})
    found, count = uow.alerts.find(
        organisation_ids=scope, policy_id=None, states=list(OPEN_ALERT_STATES), limit=latest, offset=0
    )
    buyers = uow.buyers.get_many(sorted({a.buyer_id for a in found if a.buyer_id}))
    numbers: dict[str, str] = {}
    for policy_id in sorted({a.policy_id for a in found if a.policy_id}):
        policy = uow.policies.get(policy_id)
        if policy is not None:
            numbers[policy_id] = policy.number
    lines = tuple(
        AlertLine(
            a,
            buyers[a.buyer_id].legal_name if a.buyer_id and a.buyer_id in buyers else None,
            numbers.get(a.policy_id) if a.policy_id else None,
        )
        for a in found
    )
    return OpenAlerts(count, lines)


# --- The insured's home ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InsuredHome:
    policies: tuple[PolicyOverview, ...]
    alerts: OpenAlerts


def insured_home(
    uow: UnitOfWork, actor: Actor, *, on: date, top: int = 20, organisation_id: str | None = None
) -> InsuredHome:
    """An insured's policies (its own, or those of the insured a broker acts for), each with its ``top`` buyers,
    and its open alerts."""
    insured = organisation_id or actor.organisation_id
    ensure_can_read(actor, insured, "organisation", insured)
    held = _policies_of(uow, actor, insured)
    overviews = tuple(policy_overview(uow, actor, policy.id, on=on, top=top) for policy in held)
    return InsuredHome(overviews, open_alerts(uow, actor, organisation_id=insured))


# --- The broker's home ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MandatedInsured:
    """One insured under the broker's mandate: its exposure summed per currency over its policies."""

    organisation_id: str
    name: str
    scope: MandateScope
    policy_numbers: tuple[str, ...]
    first_policy_id: str | None
    totals: tuple[ExposureTotals, ...]  # one per currency, in the order met
    buyer_count: int
    open_alerts: int


def broker_home(uow: UnitOfWork, actor: Actor, *, on: date) -> list[MandatedInsured]:
    """The insureds whose mandate is in force today, by name: exposure, utilisation, open alerts."""
    rows: list[MandatedInsured] = []
    for insured_id, scope in actor.mandates.items():
        organisation = accounts.get_organisation(uow, actor, insured_id)
        policies = _policies_of(uow, actor, insured_id)
        by_currency: dict[str, ExposureTotals] = {}
        buyers = 0
        for policy in policies:
            overview = policy_overview(uow, actor, policy.id, on=on, top=0)
            known = by_currency.get(overview.totals.currency)
            by_currency[overview.totals.currency] = overview.totals if known is None else known + overview.totals
            buyers += overview.buyer_count
        alerts = open_alerts(uow, actor, organisation_id=insured_id, latest=0)
        rows.append(
            MandatedInsured(
                organisation.id,
                organisation.name,
                scope,
                tuple(p.number for p in policies),
                policies[0].id if policies else None,
                tuple(by_currency.values()),
                buyers,
                alerts.count,
            )
        )
    rows.sort(key=lambda row: (row.name.casefold(), row.organisation_id))
    return rows


# --- The insurer's staff --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccumulationSummary:
    """The book's totals per currency with its largest buyers, and how many caps are breached."""

    as_of: date
    lines: int
    books: tuple[tuple[str, Money, Money, tuple[Concentration, ...]], ...]  # currency, limits, covered, top
    breaches: int


@dataclass(frozen=True)
class StaffHome:
    referrals: int | None  # None: the role does not decide referrals
    open_claims: dict[ClaimStatus, int]
    alerts: OpenAlerts
    accumulation: AccumulationSummary | None  # None: not computed for this role


def staff_home(uow: UnitOfWork, actor: Actor, *, on: date, caps: Sequence[Cap], top: int = 5) -> StaffHome:
    """Counts of the work waiting for the insurer's staff; the accumulation summary for the roles that read
    the portfolio in depth (:data:`ACCUMULATION_ROLES`)."""
    require(actor, Permission.PORTFOLIO_READ)  # the insurer's staff only
    referrals = None
    if actor.role in ROLE_PERMISSIONS[Permission.LIMIT_DECIDE]:
        _, referrals = uow.limits.requests(
            states=list(REFERRAL_STATES), organisation_ids=None, policy_id=None, page=Page(limit=1)
        )
    counts = {
        status: claims.list_claims(uow, actor, policy_id=None, status=status, page=Page(limit=1))[1]
        for status in OPEN_CLAIM_STATES
    }
    summary = None
    if actor.role in ACCUMULATION_ROLES:
        result = portfolio.accumulation(uow, actor, on, caps, top, dimension=Dimension.BUYER)
        summary = AccumulationSummary(
            on,
            result.lines,
            tuple(
                (book.currency, book.total_limit_amount, book.total_covered_exposure_amount, book.top(top))
                for book in result.books
            ),
            len(result.breaches),
        )
    return StaffHome(referrals, counts, open_alerts(uow, actor, organisation_id=actor.organisation_id), summary)


# --- Lists behind the dashboards' links -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimLine:
    claim: Claim
    buyer_name: str
    policy_number: str


def claim_lines(
    uow: UnitOfWork, actor: Actor, *, status: ClaimStatus | None, page: Page
) -> tuple[list[ClaimLine], int]:
    """The claims the actor may read (:func:`tradecover.services.claims.list_claims`), with names to show."""
    found, total = claims.list_claims(uow, actor, policy_id=None, status=status, page=page)
    buyers = uow.buyers.get_many(sorted({c.buyer_id for c in found}))
    numbers: dict[str, str] = {}
    for policy_id in sorted({c.policy_id for c in found}):
        policy = uow.policies.get(policy_id)
        numbers[policy_id] = policy.number if policy is not None else policy_id
    lines = [
        ClaimLine(c, buyers[c.buyer_id].legal_name if c.buyer_id in buyers else c.buyer_id, numbers[c.policy_id])
        for c in found
    ]
    return lines, total
