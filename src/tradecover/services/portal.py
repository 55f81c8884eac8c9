"""What the portal's home pages show, read through the existing use cases (nothing is written).

Each role has its view: an insured its policies' exposure per buyer, its open alerts and its deadlines coming
(overdue invoices to notify, claims waiting for documents, turnover to declare); a broker its
mandated insureds side by side; the insurer's staff the work waiting for them (referrals, claims,
alerts) and, for whoever reads the portfolio in depth, the accumulation summary.

Exposure, utilisation and the accumulation are the rules of :mod:`tradecover.services.exposure` and
:mod:`tradecover.services.portfolio`, the deadlines those of the notification, claims and premium services
and of their domain functions; this module only selects, sums and orders their results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from urllib.parse import quote

from tradecover.domain.accumulation import Cap, Concentration, Dimension
from tradecover.domain.claims import Claim, ClaimCause, ClaimStatus, DocumentKind, SettlementStatus
from tradecover.domain.credit_limits import RequestState
from tradecover.domain.deadlines import deadline_passed, notification_deadline
from tradecover.domain.errors import NotAuthenticated
from tradecover.domain.money import Money
from tradecover.domain.monitoring import Alert, AlertState
from tradecover.domain.overdues import NotificationTerms, PaymentTermExtension, effective_due_date
from tradecover.domain.parties import MandateScope, Role
from tradecover.domain.periods import FixedClock, Period
from tradecover.domain.policies import Policy, terms_in_force
from tradecover.domain.premium import covered_by, declaration_calendar, declaration_due_date, periods_to_declare
from tradecover.services import accounts, claims, collection, exposure, overdues, portfolio, premium
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


class DeadlineKind(StrEnum):
    OVERDUE_NOTIFICATION = "overdue_notification"
    CLAIM_DOCUMENTS = "claim_documents"
    TURNOVER_DECLARATION = "turnover_declaration"


@dataclass(frozen=True)
class Deadline:
    """Something the insured must do by a date: notify a buyer's overdue invoices, complete a claim's file,
    declare a period's turnover."""

    kind: DeadlineKind
    due: date | None  # None: nothing dates it (a claim's documents outside an insolvency)
    policy_number: str
    subject: str  # the buyer's name, the claim's reference, or the period ("2026-01-01/2026-03-31")
    link: str  # the page where it is done
    passed: bool
    amount: Money | None = None  # the unpaid amount to notify
    count: int | None = None  # invoices to notify
    missing: tuple[DocumentKind, ...] = ()  # a claim's missing documents
    period: Period | None = None  # a declaration's period


#: How far ahead the home looks for deadlines; those already passed show while still to act on.
DEADLINE_HORIZON_DAYS = 30


def _at_noon(on: date) -> FixedClock:
    """A clock on ``on``: the notification rules read today through a clock, in the policy's time zone, and
    noon UTC is the same calendar day in every zone they use."""
    return FixedClock(datetime.combine(on, time(12), UTC))


def _notification_deadlines(
    uow: UnitOfWork, actor: Actor, held: Sequence[Policy], on: date, until: date
) -> list[Deadline]:
    """Per policy, buyer and currency: the overdue invoices not yet accepted in a notification
    (:func:`tradecover.services.overdues.notifiable_invoices`) whose deadline
    (:func:`tradecover.domain.deadlines.notification_deadline`, as an extension of terms reads it) falls by
    ``until`` — a passed one only while the invoice was never notified —, with the earliest of them."""
    policies_by_id = {p.id: p for p in held}
    groups: dict[tuple[str, str, str], list[tuple[date, Money]]] = {}
    names: dict[str, str] = {}
    known: dict[tuple[str, str], tuple[NotificationTerms, date | None, list[PaymentTermExtension], set[str]]] = {}
    for invoice in overdues.notifiable_invoices(uow, _at_noon(on), actor, overdue_only=True):
        policy = policies_by_id.get(invoice.policy_id)
        if policy is None:  # a broker's other insured
            continue
        pair = (policy.id, invoice.buyer_id)
        if pair not in known:
            buyer = uow.buyers.get(invoice.buyer_id)
            if buyer is None:
                continue
            _, terms = overdues.cover_conditions(uow, policy, buyer, on, None)
            publication, _ = overdues.insolvency_dates(uow, buyer.id)
            named = {line.invoice_id for n in uow.claims.notifications_of(policy.id, buyer.id) for line in n.lines}
            known[pair] = (terms, publication, uow.claims.extensions_of(policy.id, buyer.id), named)
        terms, publication, extensions, named = known[pair]
        deadline = notification_deadline(
            issue_date=invoice.item.invoice.issue_date,
            due_date=effective_due_date(invoice.item.invoice, extensions),
            max_credit_period_days=terms.max_credit_period_days,
            overdue_notification_days=terms.overdue_notification_days,
            insolvency_publication_date=publication,
            insolvency_notification_days=terms.insolvency_notification_days,
        )
        # Notified after its deadline, an invoice was refused for good: nothing is left to do about it.
        if deadline > until or (deadline_passed(deadline, on) and invoice.invoice_id in named):
            continue
        names[invoice.buyer_id] = invoice.buyer_name
        key = (policy.id, invoice.buyer_id, invoice.item.invoice.currency)
        groups.setdefault(key, []).append((deadline, invoice.item.open_gross))
    found: list[Deadline] = []
    for (policy_id, buyer_id, currency), lines in groups.items():
        earliest = min(deadline for deadline, _ in lines)
        found.append(
            Deadline(
                DeadlineKind.OVERDUE_NOTIFICATION,
                earliest,
                policies_by_id[policy_id].number,
                names[buyer_id],
                "/overdues/new",
                deadline_passed(earliest, on),
                amount=sum((amount for _, amount in lines), Money.zero(currency)),
                count=len(lines),
            )
        )
    return found


def _claim_deadlines(uow: UnitOfWork, actor: Actor, held: Sequence[Policy], on: date) -> list[Deadline]:
    """The claims still waiting for documents (:func:`tradecover.services.claims.get_claim`); in an insolvency,
    dated by the filing with the administrator when the collection case has not recorded it yet."""
    found: list[Deadline] = []
    for policy in held:
        pending, _ = claims.list_claims(
            uow, actor, policy_id=policy.id, status=ClaimStatus.PENDING, page=Page(limit=MAX_POLICIES)
        )
        for claim in pending:
            view = claims.get_claim(uow, actor, claim.id)
            if not view.missing:
                continue
            due = None
            if claim.cause is ClaimCause.INSOLVENCY:
                cases, _ = collection.list_cases(
                    uow, actor, page=Page(limit=1), policy_id=policy.id, buyer_id=claim.buyer_id
                )
                filing = collection.case_view(uow, actor, cases[0].id).claim_filing if cases else None
                if filing is not None and filing.filed_on is None:
                    due = filing.deadline
            found.append(
                Deadline(
                    DeadlineKind.CLAIM_DOCUMENTS,
                    due,
                    policy.number,
                    claim.reference,
                    f"/claims/{quote(claim.id, safe='')}",
                    due is not None and deadline_passed(due, on),
                    missing=view.missing,
                )
            )
    return found


def _declaration_deadlines(
    uow: UnitOfWork, actor: Actor, held: Sequence[Policy], on: date, until: date
) -> list[Deadline]:
    """The turnover declarations due by ``until`` and not declared in full, as the premium run reads the
    calendar to raise its late-declaration alerts."""
    found: list[Deadline] = []
    for policy in held:
        versions = uow.policies.terms_versions(policy.id)
        declared = [d.period for d in premium.declarations(uow, actor, policy.id)]
        for year in policy.periods:
            if year.start > until:
                continue
            terms = terms_in_force(versions, year.start).terms
            calendar = declaration_calendar(year, terms.declaration_frequency)
            owed = periods_to_declare(year, terms.declaration_frequency, policy.termination_date)
            for calendar_period, period in zip(calendar, owed, strict=False):
                due = declaration_due_date(calendar_period, terms.declaration_days)
                if due > until or covered_by(period, declared):
                    continue
                found.append(
                    Deadline(
                        DeadlineKind.TURNOVER_DECLARATION,
                        due,
                        policy.number,
                        f"{period.start.isoformat()}/{period.last_day.isoformat()}",
                        f"/premium?policy={quote(policy.id, safe='')}",
                        deadline_passed(due, on),
                        period=period,
                    )
                )
    return found


def insured_deadlines(
    uow: UnitOfWork, actor: Actor, held: Sequence[Policy], *, on: date, horizon_days: int = DEADLINE_HORIZON_DAYS
) -> tuple[Deadline, ...]:
    """What the insured holding ``held`` must do within ``horizon_days`` of ``on`` or should already have done,
    by date (the passed ones first, undated ones last).

    Meant for the insured's own screens: its user, or a broker narrowed to it (the overdue invoices are read
    over the policies the actor may list, then kept to ``held``)."""
    until = on + timedelta(days=horizon_days)
    found = [
        *_notification_deadlines(uow, actor, held, on, until),
        *_claim_deadlines(uow, actor, held, on),
        *_declaration_deadlines(uow, actor, held, on, until),
    ]
    found.sort(key=lambda d: (d.due is None, d.due or on, d.kind.value, d.policy_number, d.subject))
    return tuple(found)


@dataclass(frozen=True)
class InsuredHome:
    policies: tuple[PolicyOverview, ...]
    alerts: OpenAlerts
    deadlines: tuple[Deadline, ...] = ()


def insured_home(
    uow: UnitOfWork, actor: Actor, *, on: date, top: int = 20, organisation_id: str | None = None
) -> InsuredHome:
    """An insured's policies (its own, or those of the insured a broker acts for), each with its ``top`` buyers,
    its open alerts and its deadlines coming (:func:`insured_deadlines`)."""
    insured = organisation_id or actor.organisation_id
    ensure_can_read(actor, insured, "organisation", insured)
    held = _policies_of(uow, actor, insured)
    overviews = tuple(policy_overview(uow, actor, policy.id, on=on, top=top) for policy in held)
    return InsuredHome(
        overviews, open_alerts(uow, actor, organisation_id=insured), insured_deadlines(uow, actor, held, on=on)
    )


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
    indemnity: Money | None = None  # of its settlement once approved (the claim row itself does not carry it)


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

    def indemnity(claim: Claim) -> Money | None:
        settled = [s for s in uow.claims.settlements_of(claim.id) if s.status is SettlementStatus.SETTLED]
        return settled[-1].indemnity if settled else None

    lines = [
        ClaimLine(
            c,
            buyers[c.buyer_id].legal_name if c.buyer_id in buyers else c.buyer_id,
            numbers[c.policy_id],
            indemnity(c),
        )
        for c in found
    ]
    return lines, total
