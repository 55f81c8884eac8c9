"""Premium use cases: declare turnover, run what is due, close a year, record premium payments.

The premium account of a policy is a ledger of paired movements (the insured's account and the
insurer's): each premium invoice, credit note and payment writes two entries summing to zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tradecover.domain.credit_limits import amount_in_force
from tradecover.domain.errors import Conflict, InvalidInput, NotFound, RuleBroken
from tradecover.domain.money import Money, sum_money
from tradecover.domain.monitoring import Alert, AlertKind, AlertState
from tradecover.domain.periods import Clock, Period
from tradecover.domain.policies import Policy, TermsVersion, terms_in_force
from tradecover.domain.premium import (
    EXCLUSIONS,
    DocumentKind,
    EarnedLine,
    PremiumDocument,
    PremiumItem,
    PremiumPayment,
    Territory,
    TerritoryTurnover,
    TurnoverDeclaration,
    YearEnd,
    YearFigures,
    check_year_can_close,
    covered_by,
    declaration_calendar,
    declaration_due_date,
    declared_period,
    document_number,
    earned_lines,
    instalment_schedule,
    latest_versions,
    next_version,
    paid_per_document,
    paired_movements,
    periods_to_declare,
    signed_document,
    statement_balance,
    year_figures,
    year_premium,
)
from tradecover.domain.terms import PolicyTerms
from tradecover.services.authorization import Actor, Permission, ensure_can_act, require
from tradecover.services.policies import check_not_ahead, get_policy, renew_due_policies
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import new_id, record

INSURER_ACCOUNT = "insurer"
#: Days the insured has to pay a premium invoice.
PREMIUM_PAYMENT_DAYS = 30
_ALL = Page(limit=1_000_000)


def insured_account(policy: Policy) -> str:
    return f"insured:{policy.policyholder_id}"


def termination_date(policy: Policy) -> date | None:
    """The first day without cover for new deliveries, if the policy is terminated."""
    return policy.termination_date


# ------------------------------------------------------------------------------------- reading input


def _money(value: Any, currency: str, field: str, code: str = "turnover.invalid") -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, float | bool):
        raise InvalidInput(f"{field} must be a decimal string, not a float", code=code, field=field)
    try:
        return Money.of(Decimal(str(value)), currency)
    except Exception as error:  # an unreadable amount is the caller's input error, named by field
        raise InvalidInput(f"{field} is not an amount: {value!r}", code=code, field=field) from error


def territory_turnover(territory: Territory, currency: str, value: Any) -> TerritoryTurnover:
    """A territory's figures from an amount (insurable turnover) or a mapping with the exclusions."""
    prefix = territory.value
    if value is None:
        value = "0"
    if isinstance(value, Mapping):
        unknown = set(value) - {"turnover", *EXCLUSIONS}
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidInput(
                f"unknown field {prefix}.{name}", code="turnover.unknown_field", field=f"{prefix}.{name}"
            )
        parts = {name: _money(value.get(name, "0"), currency, f"{prefix}.{name}") for name in ("turnover", *EXCLUSIONS)}
        result = TerritoryTurnover(territory, **parts)
    else:
        result = TerritoryTurnover.insurable_only(territory, _money(value, currency, prefix))
    result.check(currency)
    return result


# ------------------------------------------------------------------------------------------ helpers


def _versions(uow: UnitOfWork, policy: Policy) -> list[TermsVersion]:
    return uow.policies.terms_versions(policy.id)


def _terms_on(versions: list[TermsVersion], day: date) -> PolicyTerms:
    return terms_in_force(versions, day).terms


def _year_of(policy: Policy, day: date, field: str) -> Period:
    year = policy.period_on(day)
    if year is None:
        first, last = policy.periods[0], policy.current_period
        raise InvalidInput(
            f"{day.isoformat()} is outside the policy's years {first.start.isoformat()} to {last.last_day.isoformat()}",
            code="turnover.outside_policy_year",
            field=field,
        )
    return year


def _reason(reason: str | None, default: str) -> str:
    text = " ".join((reason or "").split())
    return (text or default)[:500]


@dataclass(frozen=True)
class DeclarationOutcome:
    declaration: TurnoverDeclaration
    year: Period
    lines: list[EarnedLine]
    premium: Money  # what this declaration earns
    due_on: date
    late: bool
    supersedes: TurnoverDeclaration | None
    year_end: YearEnd | None  # a new closing version when the year was already closed
    documents: list[PremiumDocument] = field(default_factory=list)


def declare_turnover(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy_id: str,
    *,
    period_start: date,
    period_end: date,
    domestic: Any,
    export: Any,
    reason: str | None = None,
) -> DeclarationOutcome:
    """Declare (or correct, as a new version) the insurable turnover of one period of a policy year."""
    policy = get_policy(uow, actor, policy_id)
    ensure_can_act(actor, policy.policyholder_id, "policy", policy.id)
    require(actor, Permission.TURNOVER_DECLARE)
    today = clock.today()
    cur = policy.currency
    domestic_part = territory_turnover(Territory.DOMESTIC, cur, domestic)
    export_part = territory_turnover(Territory.EXPORT, cur, export)
    year = _year_of(policy, period_start, "period_start")
    versions = _versions(uow, policy)
    terms = _terms_on(versions, period_start)
    calendar = declaration_calendar(year, terms.declaration_frequency)
    ended = termination_date(policy)
    # The termination date (first day without cover) ends the last period owed, as a calendar boundary does.
    boundaries = [p.start for p in calendar] + [year.end] + ([ended] if ended is not None else [])
    period = declared_period(period_start, period_end, boundaries)
    if ended is not None and period.end > ended:
        raise RuleBroken(
            f"the policy is terminated from {ended.isoformat()}: no turnover is declared after that day",
            code="turnover.policy_terminated",
            field="period_end",
        )
    if period.start > today:
        raise InvalidInput(
            f"the period starting {period.start.isoformat()} has not begun",
            code="turnover.future_period",
            field="period_start",
        )
    known = uow.premium.declarations_of(policy.id)
    version = next_version(period, year, known)
    previous = next((d for d in known if d.period == period and d.version == version - 1), None)
    declaration = TurnoverDeclaration(
        id=new_id(),
        policy_id=policy.id,
        period=period,
        version=version,
        domestic=domestic_part,
        export=export_part,
        declared_by=actor.audit_label(on_behalf_of=policy.policyholder_id),
        declared_at=clock.now(),
        declared_on=today,
        reason=None if version == 1 and not reason else _reason(reason, "correction"),
    )
    uow.premium.add_declaration(declaration)
    declared = [d.period for d in known] + [period]
    owed = periods_to_declare(year, terms.declaration_frequency, ended)
    _close_late_alerts(uow, clock, policy, [p for p in owed if p.overlaps(period) and covered_by(p, declared)])
    lines = earned_lines(declaration, terms.premium_rates)
    premium = sum_money((line.premium for line in lines), cur)
    due_on = declaration_due_date(period, terms.declaration_days)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="turnover.declared" if version == 1 else "turnover.corrected",
        object_type="policy",
        object_id=policy.id,
        summary={
            "period": str(period),
            "version": version,
            "domestic_insurable": domestic_part.insurable.quantize_str(),
            "export_insurable": export_part.insurable.quantize_str(),
            "premium": premium.quantize_str(),
            **(
                {}
                if previous is None
                else {
                    "before": {
                        "domestic": previous.domestic.insurable.quantize_str(),
                        "export": previous.export.insurable.quantize_str(),
                    }
                }
            ),
        },
        reason=declaration.reason,
    )
    year_end: YearEnd | None = None
    issued: list[PremiumDocument] = []
    if uow.premium.year_ends_of(policy.id, year.start):
        # The year was closed: the correction re-computes it, and the difference is invoiced or credited.
        year_end, issued = _close(uow, clock, actor, policy, year, f"correction of {period}")
    uow.commit()
    return DeclarationOutcome(
        declaration, year, lines, premium, due_on, version == 1 and today > due_on, previous, year_end, issued
    )


def _late_key(policy: Policy, period: Period) -> str:
    return f"turnover_late:{policy.id}:{period.start.isoformat()}"


def _close_late_alerts(uow: UnitOfWork, clock: Clock, policy: Policy, periods: list[Period]) -> None:
    """The declaration answers the alerts raised while it was missing: they close (``periods``: the calendar
    periods the declarations now cover in full)."""
    keys = {_late_key(policy, p) for p in periods}
    open_alerts, _ = uow.alerts.find(
        organisation_ids=None, policy_id=policy.id, states=[AlertState.NEW, AlertState.SEEN], limit=10_000, offset=0
    )
    for alert in open_alerts:
        if alert.kind is AlertKind.TURNOVER_DECLARATION_LATE and alert.key in keys:
            uow.alerts.set_state(alert.id, AlertState.CLOSED, clock.now())


def declarations(uow: UnitOfWork, actor: Actor, policy_id: str) -> list[TurnoverDeclaration]:
    """Every version of every declaration of the policy, period by period."""
    policy = get_policy(uow, actor, policy_id)
    return uow.premium.declarations_of(policy.id)


# -------------------------------------------------------------------------------------- documents


def _issue(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy: Policy,
    *,
    item: PremiumItem,
    amount: Money,
    year: Period,
    issued_on: date,
    label: str,
    source_key: str,
) -> PremiumDocument | None:
    """An invoice (amount > 0) or a credit note (amount < 0) with its paired movements; none for zero."""
    if amount.is_zero() or uow.premium.has_source(source_key):
        return None
    kind, positive = signed_document(amount.round())
    number = document_number(kind, issued_on.year, uow.premium.next_document_sequence(issued_on.year))
    document = PremiumDocument(
        id=new_id(),
        policy_id=policy.id,
        number=number,
        kind=kind,
        item=item,
        year_start=year.start,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=PREMIUM_PAYMENT_DAYS),
        amount=positive,
        label=label,
        source_key=source_key,
        created_by=actor.audit_label(),
        created_at=clock.now(),
    )
    uow.premium.add_document(document)
    debtor, creditor = (
        (insured_account(policy), INSURER_ACCOUNT)
        if kind is DocumentKind.INVOICE
        else (INSURER_ACCOUNT, insured_account(policy))
    )
    uow.premium.add_movements(
        paired_movements(
            ids=(new_id(), new_id()),
            transaction_id=new_id(),
            policy_id=policy.id,
            kind=f"premium_{kind.value}",
            debtor=debtor,
            creditor=creditor,
            amount=positive,
            on=issued_on,
            reference=document.id,
            at=clock.now(),
        )
    )
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action=f"premium.{kind.value}_issued",
        object_type="premium_document",
        object_id=document.id,
        summary={
            "number": number,
            "item": item.value,
            "amount": positive.quantize_str(),
            "currency": positive.currency,
            "year": str(year),
        },
        reason=label,
    )
    return document


def documents(uow: UnitOfWork, actor: Actor, policy_id: str) -> list[PremiumDocument]:
    policy = get_policy(uow, actor, policy_id)
    return uow.premium.documents_of(policy.id)


def get_document(uow: UnitOfWork, actor: Actor, policy_id: str, document_id: str) -> PremiumDocument:
    policy = get_policy(uow, actor, policy_id)
    document = uow.premium.get_document(document_id)
    if document is None or document.policy_id != policy.id:
        raise NotFound(f"premium document {document_id} not found", code="premium_document.not_found")
    return document


def payments(uow: UnitOfWork, actor: Actor, policy_id: str) -> list[PremiumPayment]:
    """The premium payments received on the policy, oldest first."""
    policy = get_policy(uow, actor, policy_id)
    return uow.premium.payments_of(policy.id)


def record_payment(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy_id: str,
    *,
    amount: Any,
    received_on: date,
    reference: str,
) -> PremiumPayment:
    """Premium received from the insured (recorded by the insurer's staff)."""
    require(actor, Permission.PREMIUM_MANAGE)
    policy = get_policy(uow, actor, policy_id)
    money = _money(amount, policy.currency, "amount", "premium.invalid_amount")
    if money.currency != policy.currency:
        raise InvalidInput(
            f"the payment is in {money.currency} but the policy currency is {policy.currency}",
            code="premium.currency_mismatch",
            field="amount.currency",
        )
    if not money.is_positive():
        raise InvalidInput("a premium payment is positive", code="premium.invalid_amount", field="amount")
    if money.round() != money:
        raise InvalidInput("the amount has too many decimals", code="premium.invalid_amount", field="amount")
    if received_on > clock.today():
        raise InvalidInput(
            "a payment cannot be received in the future", code="premium.future_date", field="received_on"
        )
    text = " ".join((reference or "").split())[:200]
    if not text:
        raise InvalidInput("a payment reference is required", code="premium.reference_required", field="reference")
    payment = PremiumPayment(new_id(), policy.id, money, received_on, text, actor.audit_label(), clock.now())
    uow.premium.add_payment(payment)
    uow.premium.add_movements(
        paired_movements(
            ids=(new_id(), new_id()),
            transaction_id=new_id(),
            policy_id=policy.id,
            kind="premium_payment",
            debtor=INSURER_ACCOUNT,
            creditor=insured_account(policy),
            amount=money,
            on=received_on,
            reference=payment.id,
            at=clock.now(),
        )
    )
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="premium.payment_recorded",
        object_type="policy",
        object_id=policy.id,
        summary={"amount": money.quantize_str(), "currency": money.currency, "received_on": received_on.isoformat()},
        reason=text,
    )
    uow.commit()
    return payment


# --------------------------------------------------------------------------------------- the year


def _request_count(uow: UnitOfWork, policy: Policy, year: Period) -> int:
    requests, _ = uow.limits.requests(states=None, organisation_ids=None, policy_id=policy.id, page=_ALL)
    return sum(1 for r in requests if year.contains(r.requested_at.date()))


def _buyers_monitored(uow: UnitOfWork, policy: Policy, year: Period) -> int:
    """Buyers with a limit in force on some day of the year (checked at its start and at each decision)."""
    by_buyer: dict[str, list[Any]] = {}
    for decision in uow.limits.decisions_of_policy(policy.id):
        by_buyer.setdefault(decision.buyer_id, []).append(decision)
    count = 0
    for history in by_buyer.values():
        days = [year.start, *(d.effective_date for d in history if year.contains(d.effective_date))]
        if any(amount_in_force(history, day, policy.currency).is_positive() for day in days):
            count += 1
    return count


def _earned(
    uow: UnitOfWork, policy: Policy, year: Period, versions: list[TermsVersion]
) -> tuple[Money, list[TurnoverDeclaration]]:
    """Premium earned by the latest version of each declaration of the year, at the rates then in force."""
    in_year = [d for d in latest_versions(uow.premium.declarations_of(policy.id)) if year.contains(d.period.start)]
    earned = sum_money(
        (line.premium for d in in_year for line in earned_lines(d, _terms_on(versions, d.period.start).premium_rates)),
        policy.currency,
    )
    return earned, in_year


def figures_of(uow: UnitOfWork, policy: Policy, year: Period) -> YearFigures:
    """The year's premium figures as of now, from the latest version of each declaration."""
    cur = policy.currency
    versions = _versions(uow, policy)
    year_terms = _terms_on(versions, year.last_day)
    earned, in_year = _earned(uow, policy, year, versions)
    docs = uow.premium.documents_of(policy.id)
    instalments = [d for d in docs if d.year_start == year.start and d.item is PremiumItem.INSTALMENT]
    called = sum_money((d.signed for d in instalments), cur)
    # What premium payments (cash) settled of the instalments, oldest invoice first: a credit note (the
    # no-claims bonus, say) is no payment received.
    invoices = [d for d in docs if d.kind is DocumentKind.INVOICE]
    paid_map = paid_per_document(invoices, uow.premium.payments_of(policy.id))
    paid = sum_money((paid_map.get(d.id, Money.zero(cur)) for d in instalments), cur)
    indemnities, _ = uow.claims.year_totals(policy.id, year.start, cur)
    # The calendar periods owed (up to a termination) that the declarations cover in full.
    owed = periods_to_declare(year, _terms_on(versions, year.start).declaration_frequency, termination_date(policy))
    declared = [d.period for d in in_year]
    return year_figures(
        year=year,
        terms=year_terms,
        earned=earned,
        called=called,
        paid=paid,
        request_count=_request_count(uow, policy, year),
        buyers_monitored=_buyers_monitored(uow, policy, year),
        indemnities=indemnities,
        declared_periods=sum(1 for p in owed if covered_by(p, declared)),
        expected_periods=len(owed),
    )


def year_premium_of(uow: UnitOfWork, policy: Policy, year: Period) -> Money:
    """The premium the year's maximum liability multiplies: as closed, else max(minimum, earned so far)."""
    closed = uow.premium.year_ends_of(policy.id, year.start)
    if closed:
        return closed[-1].figures.premium
    versions = _versions(uow, policy)
    minimum = _terms_on(versions, year.last_day).minimum_premium or Money.zero(policy.currency)
    return year_premium(minimum, _earned(uow, policy, year, versions)[0])


@dataclass(frozen=True)
class YearView:
    figures: YearFigures
    closings: list[YearEnd]

    @property
    def closed(self) -> bool:
        return bool(self.closings)


def years(uow: UnitOfWork, actor: Actor, policy_id: str) -> list[YearView]:
    """Each policy year's figures (live), with its closings."""
    policy = get_policy(uow, actor, policy_id)
    return [
        YearView(figures_of(uow, policy, year), uow.premium.year_ends_of(policy.id, year.start))
        for year in policy.periods
    ]


def _sum_item(docs: list[PremiumDocument], year: Period, item: PremiumItem, cur: str) -> Money:
    return sum_money((d.signed for d in docs if d.year_start == year.start and d.item is item), cur)


def _close(
    uow: UnitOfWork, clock: Clock, actor: Actor, policy: Policy, year: Period, reason: str
) -> tuple[YearEnd, list[PremiumDocument]]:
    cur = policy.currency
    figures = figures_of(uow, policy, year)
    previous = uow.premium.year_ends_of(policy.id, year.start)
    version = len(previous) + 1
    docs = uow.premium.documents_of(policy.id)
    today = clock.today()
    key = f"year_end:{policy.id}:{year.start.isoformat()}:v{version}"
    # Each document carries what is still to invoice: a re-closing issues only the difference.
    wanted = [
        (PremiumItem.ADJUSTMENT, figures.adjustment, "Régularisation de prime / Premium adjustment"),
        (PremiumItem.FEES, figures.fees, "Frais d'étude et de surveillance / Request and monitoring fees"),
        (PremiumItem.NO_CLAIMS_BONUS, -figures.bonus, "Participation bénéficiaire / No-claims bonus"),
    ]
    issued: list[PremiumDocument] = []
    for item, total, label in wanted:
        due = total - _sum_item(docs, year, item, cur)
        document = _issue(
            uow,
            clock,
            actor,
            policy,
            item=item,
            amount=due,
            year=year,
            issued_on=today,
            label=f"{label} {year.start.isoformat()}/{year.last_day.isoformat()}",
            source_key=f"{key}:{item.value}",
        )
        if document is not None:
            issued.append(document)
    year_end = YearEnd(policy.id, year, version, figures, today, actor.audit_label(), clock.now(), reason)
    uow.premium.add_year_end(year_end)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="premium.year_closed" if version == 1 else "premium.year_reclosed",
        object_type="policy",
        object_id=policy.id,
        summary={
            "year": str(year),
            "version": version,
            "earned": figures.earned.quantize_str(),
            "premium": figures.premium.quantize_str(),
            "called": figures.called.quantize_str(),
            "adjustment": figures.adjustment.quantize_str(),
            "fees": figures.fees.quantize_str(),
            "bonus": figures.bonus.quantize_str(),
            "documents": [d.number for d in issued],
        },
        reason=reason,
    )
    return year_end, issued


def reclose_if_changed(
    uow: UnitOfWork, clock: Clock, actor: Actor, policy: Policy, year: Period, reason: str
) -> YearEnd | None:
    """Re-close a closed year whose indemnities changed since (a claim settled after the year end):
    the bonus and the loss ratio follow, the difference is invoiced or credited. Not committed."""
    closings = uow.premium.year_ends_of(policy.id, year.start)
    if not closings:
        return None
    cur = policy.currency
    indemnities, _ = uow.claims.year_totals(policy.id, year.start, cur)
    if indemnities == closings[-1].figures.indemnities:
        return None
    year_end, _ = _close(uow, clock, actor, policy, year, reason)
    return year_end


def close_year(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy_id: str,
    *,
    year_start: date | None = None,
    reason: str | None = None,
) -> tuple[YearEnd, list[PremiumDocument]]:
    """Close a policy year: adjustment, fees and no-claims bonus invoiced or credited."""
    require(actor, Permission.PREMIUM_MANAGE)
    policy = get_policy(uow, actor, policy_id)
    today = clock.today()
    if year_start is not None:
        year = next((p for p in policy.periods if p.start == year_start), None)
        if year is None:
            raise NotFound(f"the policy has no year starting {year_start.isoformat()}", code="premium.unknown_year")
    else:
        open_years = [p for p in policy.periods if not uow.premium.year_ends_of(policy.id, p.start)]
        if not open_years:
            raise Conflict("every year of the policy is closed", code="premium.year_already_closed")
        year = open_years[0]
    if uow.premium.year_ends_of(policy.id, year.start):
        raise Conflict(f"the policy year {year} is already closed", code="premium.year_already_closed")
    check_year_can_close(year, today)
    result = _close(uow, clock, actor, policy, year, _reason(reason, "year end"))
    uow.commit()
    return result


# ------------------------------------------------------------------------------------ the premium run


@dataclass
class RunSummary:
    as_of: date
    policies: int = 0
    renewed: int = 0
    documents: list[PremiumDocument] = field(default_factory=list)
    alerts: int = 0


def _instalments_due(uow: UnitOfWork, clock: Clock, actor: Actor, policy: Policy, as_of: date) -> list[PremiumDocument]:
    versions = _versions(uow, policy)
    ended = termination_date(policy)
    issued = []
    for year in policy.periods:
        if year.start > as_of or (ended is not None and year.start >= ended):
            continue
        if uow.premium.year_ends_of(policy.id, year.start):
            continue  # a closed year's adjustment already settled its premium: no instalment after it
        terms = _terms_on(versions, year.start)
        for instalment in instalment_schedule(
            year, terms.minimum_premium or Money.zero(policy.currency), terms.premium_instalments
        ):
            if instalment.due_on > as_of or (ended is not None and instalment.due_on >= ended):
                continue
            document = _issue(
                uow,
                clock,
                actor,
                policy,
                item=PremiumItem.INSTALMENT,
                amount=instalment.amount,
                year=year,
                issued_on=instalment.due_on,
                label=(
                    f"Prime provisionnelle, échéance {instalment.number}/{instalment.count} / Provisional premium,"
                    f" instalment {instalment.number} of {instalment.count}"
                ),
                source_key=f"instalment:{policy.id}:{year.start.isoformat()}:{instalment.number}/{instalment.count}",
            )
            if document is not None:
                issued.append(document)
    return issued


def _late_declarations(uow: UnitOfWork, clock: Clock, policy: Policy, as_of: date) -> int:
    versions = _versions(uow, policy)
    declared = {d.period for d in uow.premium.declarations_of(policy.id)}
    ended = termination_date(policy)
    raised = 0
    for year in policy.periods:
        terms = _terms_on(versions, year.start)
        calendar = declaration_calendar(year, terms.declaration_frequency)
        for period, owed in zip(calendar, periods_to_declare(year, terms.declaration_frequency, ended), strict=False):
            # Due as the calendar says; declared once the declarations cover it in full (a declaration of
            # one day of a quarter leaves the quarter missing).
            due = declaration_due_date(period, terms.declaration_days)
            if due >= as_of or covered_by(owed, declared):
                continue
            alert = Alert(
                id=new_id(),
                organisation_id=policy.policyholder_id,
                kind=AlertKind.TURNOVER_DECLARATION_LATE,
                buyer_id=None,
                message=(
                    f"Déclaration de chiffre d'affaires manquante du {period.start.isoformat()} au"
                    f" {period.last_day.isoformat()} (attendue le {due.isoformat()}) / Turnover declaration for"
                    f" {period.start.isoformat()} to {period.last_day.isoformat()} missing (due {due.isoformat()})"
                ),
                key=_late_key(policy, period),
                created_at=clock.now(),
                due_date=due,
                policy_id=policy.id,
            )
            if uow.monitoring.raise_alert(alert):
                raised += 1
    return raised


def run_premium(uow: UnitOfWork, clock: Clock, actor: Actor, *, as_of: date) -> RunSummary:
    """What is due on ``as_of``: tacit renewals, provisional premium instalments, late-declaration alerts.

    Restartable: each item has a key, and each policy commits on its own.
    """
    require(actor, Permission.PREMIUM_MANAGE)
    check_not_ahead(clock, as_of)
    summary = RunSummary(as_of)
    summary.renewed = len(renew_due_policies(uow, clock, actor, as_of=as_of))
    # Read after the renewals, so each policy already has the periods they opened.
    listed, _ = uow.policies.list_page(policyholder_ids=None, page=_ALL)
    for policy in listed:
        summary.policies += 1
        summary.documents.extend(_instalments_due(uow, clock, actor, policy, as_of))
        summary.alerts += _late_declarations(uow, clock, policy, as_of)
        uow.commit()
    return summary


# ---------------------------------------------------------------------------------------- statement


@dataclass(frozen=True)
class StatementLine:
    on: date
    kind: str  # invoice | credit_note | payment
    number: str
    label: str
    year_start: date | None
    debit: Money  # owed by the insured
    credit: Money  # owed back to, or paid by, the insured
    balance: Money  # running: what the insured owes


@dataclass(frozen=True)
class Statement:
    policy: Policy
    currency: str
    lines: list[StatementLine]
    balance: Money
    years: list[YearView]


def statement(uow: UnitOfWork, actor: Actor, policy_id: str) -> Statement:
    """The premium account of a policy: documents and payments in date order, with the running balance."""
    policy = get_policy(uow, actor, policy_id)
    cur = policy.currency
    zero = Money.zero(cur)
    docs = uow.premium.documents_of(policy.id)
    payments = uow.premium.payments_of(policy.id)
    entries: list[tuple[date, int, str, StatementLine]] = []
    for d in docs:
        debit, credit = (d.amount, zero) if d.kind is DocumentKind.INVOICE else (zero, d.amount)
        entries.append(
            (
                d.issued_on,
                0,
                d.number,
                StatementLine(d.issued_on, d.kind.value, d.number, d.label, d.year_start, debit, credit, zero),
            )
        )
    for p in payments:
        entries.append(
            (
                p.received_on,
                1,
                p.reference,
                StatementLine(p.received_on, "payment", p.reference, "Règlement / Payment", None, zero, p.amount, zero),
            )
        )
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    running = zero
    lines = []
    for _, _, _, line in entries:
        running = running + line.debit - line.credit
        lines.append(
            StatementLine(
                line.on, line.kind, line.number, line.label, line.year_start, line.debit, line.credit, running
            )
        )
    views = [YearView(figures_of(uow, policy, y), uow.premium.year_ends_of(policy.id, y.start)) for y in policy.periods]
    return Statement(policy, cur, lines, statement_balance(docs, payments, cur), views)
