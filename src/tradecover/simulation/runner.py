"""The replay: a scenario's events run through the real services on a fresh in-memory database.

The database is SQLite in memory (``sqlite://``), migrated with the shipped
Alembic migrations. SQLAlchemy gives such an engine a ``SingletonThreadPool``:
one connection per thread, so the whole replay runs in the calling thread and
never holds two units of work open at once (each service call commits or rolls
back in its own ``with container.uow()``). The database vanishes with the engine.

Who acts (as in reality, with the permissions of the real roles):

* the set-up (policyholders, policies, buyers, financials, grades, capacities),
  BODACC judgments and the grading job: the system actor, an insurer admin;
* ``request_limit`` and ``prospect_query``: a user of the policyholder
  (``insured_user``), created with the policy;
* ``decide_limit``, ``reduce_limit``, ``cancel_limit``: underwriters of the
  insurer. Above the four-eyes threshold a decision needs a second
  underwriter's confirmation: the simulator has two, and the second confirms
  the first one's decision at once (the outcome says so with the reason
  ``four_eyes_second_approval``).

Each event runs with the clock at 10:00 UTC on its date. A refusal or an error
of the rules on one event becomes that event's outcome and the replay goes on.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from tradecover.bootstrap import Container, build
from tradecover.config import Environment, Settings
from tradecover.domain.claims import ClaimStatus
from tradecover.domain.credit_limits import (
    LimitRequest,
    RequestState,
    amount_in_force,
    latest_status,
)
from tradecover.domain.errors import DomainError, InvalidInput, RuleBroken
from tradecover.domain.grades import DEFAULT_GRADE_SCALE
from tradecover.domain.money import Money
from tradecover.domain.monitoring import GradeRecord
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.domain.periods import FixedClock, Period
from tradecover.domain.premium import PremiumDocument, YearFigures
from tradecover.domain.receivables import EntryKind
from tradecover.ingest.bodacc import BodaccAnnouncement, ProcedureKind
from tradecover.persistence.migrate import upgrade
from tradecover.services import (
    accounts,
    buyers,
    claims,
    collection,
    credit_limits,
    exposure,
    factoring,
    financials,
    grading,
    ledger,
    monitoring,
    overdues,
    policies,
    premium,
)
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.ports import Page
from tradecover.services.recording import new_id
from tradecover.simulation.scenario import (
    BuyerSpec,
    DecideLimit,
    Event,
    Insolvency,
    Location,
    NotBuiltYet,
    PolicySpec,
    ProspectQuery,
    RequestLimit,
    ReviseLimit,
    Scenario,
    scenario_error,
)

__all__ = ["DATABASE_URL", "EVENT_HOUR", "EventResult", "SimulationResult", "run_scenario"]

#: In-memory SQLite: one connection per thread (SingletonThreadPool), gone when the engine is disposed.
DATABASE_URL = "sqlite://"
EVENT_HOUR = time(10, 0)
GRADE_MODEL_VERSION = "scenario"
FOUR_EYES_REASON = "four_eyes_second_approval"
NOT_BUILT_CODE = "simulation.not_supported_yet"
LEDGER_KINDS = frozenset({"invoice", "payment", "credit_note", "dispute", "resolve_dispute", "order_check"})
CLAIM_KINDS = frozenset({"notify_overdue", "claim", "settle_claim", "recovery"})
PREMIUM_KINDS = frozenset({"declare_turnover", "close_year"})

_NATURES = {
    ProcedureKind.SAFEGUARD: "Jugement d'ouverture d'une procédure de sauvegarde",
    ProcedureKind.RECEIVERSHIP: "Jugement d'ouverture d'une procédure de redressement judiciaire",
    ProcedureKind.LIQUIDATION: "Jugement d'ouverture d'une procédure de liquidation judiciaire",
}
_OPEN_REQUEST_STATES = (RequestState.REFERRED, RequestState.AWAITING_SECOND_APPROVAL)


@dataclass(frozen=True)
class EventResult:
    index: int
    date: date
    kind: str
    policy: str | None
    buyer: str | None
    outcome: dict[str, Any]


@dataclass(frozen=True)
class SimulationResult:
    scenario: Scenario
    events: list[EventResult]
    final: dict[str, Any]


def _year_json(f: YearFigures, *, closed: bool) -> dict[str, Any]:
    return {
        "year_start": f.year.start.isoformat(),
        "year_end": f.year.last_day.isoformat(),
        "closed": closed,
        "minimum_amount": f.minimum.quantize_str(),
        "earned_amount": f.earned.quantize_str(),
        "premium_amount": f.premium.quantize_str(),
        "paid_amount": f.called.quantize_str(),
        "adjustment_amount": f.adjustment.quantize_str(),
        "fees_amount": f.fees.quantize_str(),
        "indemnities_amount": f.indemnities.quantize_str(),
        "bonus_amount": f.bonus.quantize_str(),
        "max_liability_amount": None if f.max_liability is None else f.max_liability.quantize_str(),
        "loss_ratio": None if f.loss_ratio is None else str(f.loss_ratio),
        "declared_periods": f.declared_periods,
        "expected_periods": f.expected_periods,
    }


def _document_json(d: PremiumDocument) -> dict[str, Any]:
    return {
        "number": d.number,
        "kind": d.kind.value,
        "item": d.item.value,
        "amount": d.amount.quantize_str(),
        "issued_on": d.issued_on.isoformat(),
    }


def _at(day: date) -> datetime:
    return datetime.combine(day, EVENT_HOUR, tzinfo=UTC)


def run_scenario(scenario: Scenario) -> SimulationResult:
    """Replay ``scenario`` on a database of its own; set-up errors raise :class:`InvalidInput` naming the line."""
    clock = FixedClock(_at(scenario.start_date()))
    container = build(Settings(database_url=DATABASE_URL, environment=Environment.TEST), clock=clock)
    try:
        upgrade(container.engine)
        world = _World(container, clock, scenario)
        world.set_up()
        results = [world.run(event) for event in scenario.timeline()]
        return SimulationResult(scenario, results, world.final())
    finally:
        container.dispose()


# A one-page PDF standing for the scanned documents a claim is filed with: the simulator files the same
# checked upload a user would.
_SCENARIO_DOCUMENT = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class _World:
    container: Container
    clock: FixedClock
    scenario: Scenario
    system: Actor | None = None
    underwriters: list[Actor] = field(default_factory=list)
    claims_handlers: list[Actor] = field(default_factory=list)
    collector: Actor | None = None
    insured: dict[str, Actor] = field(default_factory=dict)  # policy key → the insured's user
    policy_ids: dict[str, str] = field(default_factory=dict)
    buyer_ids: dict[str, str] = field(default_factory=dict)
    # Referred requests in the order the replay made them: timestamps tie within a day, ids are random.
    referrals: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))

    # ------------------------------------------------------------------ set-up

    @property
    def currency(self) -> str:
        return self.scenario.currency

    @property
    def actor(self) -> Actor:
        assert self.system is not None, "set_up() first"
        return self.system

    @contextmanager
    def _placed(self, location: Location) -> Iterator[None]:
        """A set-up step: a refusal names the scenario's line, and the file is refused whole."""
        try:
            yield
        except DomainError as error:
            raise scenario_error(
                self.scenario.file, location.line, location.field, error.message, code=error.code
            ) from error

    def set_up(self) -> None:
        clock = self.clock
        with self.container.uow() as uow:
            insurer = accounts.ensure_insurer(uow, clock)
        self.system = system_actor(insurer.id)
        for n in (1, 2):
            self.underwriters.append(
                self._user(
                    insurer.id, f"underwriter.{n}@insurer.simulation.invalid", f"Underwriter {n}", Role.UNDERWRITER
                )
            )
        for n in (1, 2):
            self.claims_handlers.append(
                self._user(
                    insurer.id, f"claims.{n}@insurer.simulation.invalid", f"Claims handler {n}", Role.CLAIMS_HANDLER
                )
            )
        self.collector = self._user(insurer.id, "collector@insurer.simulation.invalid", "Collector", Role.COLLECTOR)
        holders: dict[str, Actor] = {}
        for number, policy in enumerate(self.scenario.policies, start=1):
            self._issue(policy, number, holders)
        for spec in self.scenario.buyers:
            self._add_buyer(spec)
        # The engine grades the buyers without an override, from what their entry gives; the overrides
        # are written after their inputs, so that the grading job leaves them as they are.
        for spec in self.scenario.buyers:
            if spec.grade is not None:
                self._grade(spec)
        if any(spec.grade is None for spec in self.scenario.buyers):
            grading.regrade(self.container.uow, clock, self.actor)
        for spec in self.scenario.buyers:
            if spec.capacity is not None:
                placed = self._placed(Location(spec.location.line, f"{spec.location.field}.capacity"))
                with placed, self.container.uow() as uow:
                    credit_limits.set_capacity(
                        uow,
                        clock,
                        self.underwriters[0],
                        self.buyer_ids[spec.key],
                        amount=spec.capacity,
                        currency=self.currency,
                        reason="scenario capacity",
                    )

    def _user(self, organisation_id: str, email: str, name: str, role: Role) -> Actor:
        with self.container.uow() as uow:
            user = accounts.create_user(
                uow,
                self.clock,
                self.actor,
                organisation_id=organisation_id,
                email=email,
                full_name=name,
                role=role,
                password=secrets.token_urlsafe(24),  # nobody logs in to a replay
            )
            return accounts.actor_for_user(uow, self.clock, user.id)

    def _issue(self, spec: PolicySpec, number: int, holders: dict[str, Actor]) -> None:
        """The policy, and its policyholder with a user the first time that policyholder is named."""
        holder = spec.policyholder
        insured = holders.get(holder.name)
        if insured is None:
            with self._placed(holder.location):
                with self.container.uow() as uow:
                    organisation = accounts.create_organisation(
                        uow,
                        self.clock,
                        self.actor,
                        kind=OrganisationKind.POLICYHOLDER,
                        name=holder.name,
                        country=holder.country,
                        siren=holder.siren,
                    )
                insured = holders[holder.name] = self._user(
                    organisation.id,
                    f"insured.{number}@policyholder.simulation.invalid",
                    f"{holder.name} credit manager",
                    Role.INSURED_USER,
                )
        self.insured[spec.key] = insured
        with self._placed(spec.location):
            with self.container.uow() as uow:
                policy, _ = policies.issue_policy(
                    uow,
                    self.clock,
                    self.actor,
                    policyholder_id=insured.organisation_id,
                    start_date=spec.start_date,
                    currency=self.currency,
                    terms=spec.terms,
                    reason="scenario policy",
                )
            self.policy_ids[spec.key] = policy.id

    def _add_buyer(self, spec: BuyerSpec) -> None:
        with self._placed(spec.location):
            for organisation_id in dict.fromkeys(actor.organisation_id for actor in self.insured.values()):
                with self.container.uow() as uow:
                    buyer, _ = buyers.add_buyer(
                        uow,
                        self.clock,
                        self.actor,
                        identifiers=spec.identifiers,
                        legal_name=spec.name,
                        country=spec.country,
                        organisation_id=organisation_id,
                        naf_code=spec.naf_code,
                        legal_form=spec.legal_form,
                        customer_reference=spec.key,
                    )
                self.buyer_ids[spec.key] = buyer.id
        statement = spec.financials
        if statement is not None:
            with self._placed(statement.location), self.container.uow() as uow:
                financials.record_financials(
                    uow,
                    self.clock,
                    self.actor,
                    self.buyer_ids[spec.key],
                    fiscal_year_end=statement.fiscal_year_end,
                    currency=statement.currency,
                    amounts=statement.amounts,
                    source="scenario",
                )

    def _grade(self, spec: BuyerSpec) -> None:
        assert spec.grade is not None
        with self.container.uow() as uow:
            buyer = uow.buyers.get(self.buyer_ids[spec.key])
            assert buyer is not None
            uow.buyers.record_grade(
                GradeRecord(
                    buyer_id=buyer.id,
                    grade=spec.grade,
                    probability_of_default=DEFAULT_GRADE_SCALE.pd_of(spec.grade),
                    factors={"scenario": 0.0},
                    model_version=GRADE_MODEL_VERSION,
                    run_id=new_id(),
                    inputs_version=buyer.inputs_version,
                    graded_at=self.clock.now(),
                    previous_grade=buyer.risk_grade,
                )
            )
            uow.commit()

    # ------------------------------------------------------------------ events

    def run(self, event: Event) -> EventResult:
        self.clock.set(_at(event.date))
        self._premium_run(event.date)
        try:
            outcome = self._dispatch(event)
        except DomainError as error:
            refused = isinstance(error, RuleBroken | InvalidInput)
            outcome = {"status": "refused" if refused else "error", "code": error.code, "message": error.message}
        return EventResult(event.index, event.date, event.kind, event.policy, event.buyer, outcome)

    def _dispatch(self, event: Event) -> dict[str, Any]:
        action = event.action
        if isinstance(action, NotBuiltYet) and event.kind in LEDGER_KINDS:
            return self._ledger(event, action)
        if isinstance(action, NotBuiltYet) and event.kind in CLAIM_KINDS:
            return self._claims(event, action)
        if isinstance(action, NotBuiltYet) and event.kind in PREMIUM_KINDS:
            return self._premium(event, action)
        if isinstance(action, NotBuiltYet):
            return {
                "status": "error",
                "code": NOT_BUILT_CODE,
                "message": f"{event.kind} events are not simulated yet; the replay goes on without it",
            }
        if isinstance(action, Insolvency):
            return self._insolvency(event, action)
        assert event.policy is not None
        policy_id = self.policy_ids[event.policy]
        buyer_id = self.buyer_ids[action.buyer]
        if isinstance(action, RequestLimit):
            return self._request(event.policy, policy_id, buyer_id, action)
        if isinstance(action, ProspectQuery):
            with self.container.uow() as uow:
                decision = credit_limits.prospect_query(
                    uow,
                    self.clock,
                    self.insured[event.policy],
                    policy_id=policy_id,
                    buyer_id=buyer_id,
                    amount=action.amount,
                )
            outcome: dict[str, Any] = {
                "status": decision.status.value,
                "granted_amount": decision.granted.quantize_str(),
                "reasons": [r.value for r in decision.reasons],
            }
            if decision.suggestion is not None:
                outcome["suggested_amount"] = decision.suggestion.quantize_str()
            return outcome
        if isinstance(action, DecideLimit):
            return self._decide(event.policy, buyer_id, action)
        assert isinstance(action, ReviseLimit)
        with self.container.uow() as uow:
            revision = credit_limits.revise_limit(
                uow,
                self.clock,
                self.underwriters[0],
                policy_id=policy_id,
                buyer_id=buyer_id,
                amount=action.amount,
                reason=action.reason or "insurer revision",
            )
        return {
            "status": "done",
            "granted_amount": revision.granted_amount.quantize_str(),
            "effective_date": revision.effective_date.isoformat(),
        }

    def _premium_run(self, day: date) -> None:
        """The daily premium batch, as the server runs it: renewals, instalments due, late declarations."""
        with self.container.uow() as uow:
            premium.run_premium(uow, self.clock, self.actor, as_of=day)

    def _premium(self, event: Event, action: NotBuiltYet) -> dict[str, Any]:
        """Turnover declarations by the insured; the year end by the insurer."""
        assert event.policy is not None
        policy_id = self.policy_ids[event.policy]
        f = action.fields
        if event.kind == "declare_turnover":
            with self.container.uow() as uow:
                result = premium.declare_turnover(
                    uow,
                    self.clock,
                    self.insured[event.policy],
                    policy_id,
                    period_start=f["period_start"],
                    period_end=f["period_end"],
                    domestic=f["domestic"],
                    export=f["export"],
                    reason=f.get("reason"),
                )
            with self.container.uow() as uow:
                policy = uow.policies.get(policy_id)
                assert policy is not None
                figures = premium.figures_of(uow, policy, result.year)
            declared = result.declaration
            outcome: dict[str, Any] = {
                "status": "done",
                "version": declared.version,
                "period_start": declared.period.start.isoformat(),
                "period_end": declared.period.last_day.isoformat(),
                "domestic_amount": declared.domestic.insurable.quantize_str(),
                "export_amount": declared.export.insurable.quantize_str(),
                "premium_amount": result.premium.quantize_str(),
                "earned_amount": figures.earned.quantize_str(),
                "due_date": result.due_on.isoformat(),
                "late": result.late,
            }
            if result.year_end is not None:
                outcome["year_end"] = _year_json(result.year_end.figures, closed=True)
                outcome["documents"] = [_document_json(d) for d in result.documents]
            return outcome
        with self.container.uow() as uow:
            year_end, documents = premium.close_year(uow, self.clock, self.actor, policy_id)
        return {
            "status": "done",
            **_year_json(year_end.figures, closed=True),
            "documents": [_document_json(d) for d in documents],
        }

    def _final_premium(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        today = self.clock.today()
        with self.container.uow() as uow:
            for spec in self.scenario.policies:
                policy = uow.policies.get(self.policy_ids[spec.key])
                assert policy is not None
                closings = {y.year for y in uow.premium.year_ends_of(policy.id)}
                declared = {d.period.start for d in uow.premium.declarations_of(policy.id)}
                active = [y for y in policy.periods if y in closings or any(y.contains(d) for d in declared)]
                year = active[-1] if active else (policy.period_on(today) or policy.periods[0])
                years = []
                for period in policy.periods:
                    closed = uow.premium.year_ends_of(policy.id, period.start)
                    figures = closed[-1].figures if closed else premium.figures_of(uow, policy, period)
                    years.append(_year_json(figures, closed=bool(closed)))
                chosen = years[policy.periods.index(year)]
                out[spec.key] = {**chosen, "years": years}
        return out if self.scenario.uses_policies else out[self.scenario.policies[0].key]

    def _ledger(self, event: Event, action: NotBuiltYet) -> dict[str, Any]:
        """Invoices, payments, credit notes, disputes and order checks, as the insured's ERP sends them."""
        assert event.policy is not None
        assert action.buyer is not None
        policy_id = self.policy_ids[event.policy]
        buyer_id = self.buyer_ids[action.buyer]
        actor = self.insured[event.policy]
        f = action.fields
        day = event.date
        with self.container.uow() as uow:
            if event.kind in ("invoice", "credit_note"):
                is_invoice = event.kind == "invoice"
                factor_id = None
                if f.get("assigned_to_factor"):
                    policy = uow.policies.get(policy_id)
                    assert policy is not None
                    factor_id = factoring.simulated_factor(uow, self.clock, self.actor, policy, "factor").id
                recorded = ledger.record_invoice(
                    uow,
                    self.clock,
                    actor,
                    policy_id=policy_id,
                    buyer_id=buyer_id,
                    number=f["number"],
                    issue_date=f.get("issue_date", day),
                    delivery_date=f.get("delivery_date", day),
                    due_date=f.get("due_date", day),
                    amount_excl_vat=Money.of(f["amount_excl_vat"], self.currency),
                    vat_amount=Money.of(f["vat_amount"], self.currency),
                    kind=EntryKind.INVOICE if is_invoice else EntryKind.CREDIT_NOTE,
                    invoice_reference=f.get("invoice"),
                    factor_id=factor_id,
                )
                outcome: dict[str, Any] = {"status": "done" if recorded.created else "duplicate"}
            elif event.kind == "payment":
                ledger.record_payment(
                    uow,
                    self.clock,
                    actor,
                    policy_id=policy_id,
                    buyer_id=buyer_id,
                    amount=Money.of(f["amount"], self.currency),
                    received_on=day,
                    reference=f"event-{event.index}",
                    invoices=f.get("invoices", []),
                )
                outcome = {"status": "done"}
            elif event.kind in ("dispute", "resolve_dispute"):
                operation = ledger.open_dispute if event.kind == "dispute" else ledger.resolve_dispute
                operation(
                    uow, self.clock, actor, policy_id=policy_id, buyer_id=buyer_id, invoice_number=f["invoice"], on=day
                )
                outcome = {"status": "done"}
            else:
                check = exposure.order_check(
                    uow,
                    self.clock,
                    actor,
                    policy_id=policy_id,
                    buyer_id=buyer_id,
                    amount=Money.of(f["amount"], self.currency),
                )
                outcome = {
                    "status": check.status.value,
                    "covered_amount": check.covered.quantize_str(),
                    "headroom_amount": check.headroom.quantize_str(),
                    "reasons": [r.value for r in check.reasons],
                }
            uow.commit()
        return outcome

    def _claims(self, event: Event, action: NotBuiltYet) -> dict[str, Any]:
        """Overdue notifications, claims, settlements and recoveries, each by whom it falls to in reality."""
        assert event.policy is not None
        assert action.buyer is not None
        policy_id = self.policy_ids[event.policy]
        buyer_id = self.buyer_ids[action.buyer]
        insured = self.insured[event.policy]
        f = action.fields
        if event.kind == "notify_overdue":
            with self.container.uow() as uow:
                result = overdues.declare_overdue(
                    uow, self.clock, insured, policy_id=policy_id, buyer_id=buyer_id, invoices=f.get("invoices")
                )
                uow.commit()
            return {
                "status": result.status.value,
                "invoices": [
                    {
                        "number": j.invoice.number,
                        "status": j.verdict.value,
                        "code": None if j.refusal is None else j.refusal.value,
                        **({"deadline": j.deadline.isoformat()} if j.deadline is not None else {}),
                    }
                    for j in result.judged
                ],
            }
        if event.kind == "claim":
            return self._file_claim(policy_id, buyer_id, insured, list(f.get("documents", [])))
        if event.kind == "settle_claim":
            return self._settle(policy_id, buyer_id)
        return self._recovery(event, policy_id, buyer_id, Money.of(f["amount"], self.currency))

    def _file_claim(self, policy_id: str, buyer_id: str, insured: Actor, documents: list[str]) -> dict[str, Any]:
        with self.container.uow() as uow:
            existing = claims.claim_of_buyer(uow, policy_id, buyer_id)
        if existing is None or existing.status is ClaimStatus.REFUSED:
            with self.container.uow() as uow:
                existing = claims.file_claim(uow, self.clock, insured, policy_id=policy_id, buyer_id=buyer_id)
                uow.commit()
        for kind in documents:
            with self.container.uow() as uow:
                claims.add_document(
                    uow,
                    self.clock,
                    insured,
                    existing.id,
                    kind=kind,
                    filename=f"{kind}.pdf",
                    content_type="application/pdf",
                    content=_SCENARIO_DOCUMENT,
                )
                uow.commit()
        with self.container.uow() as uow:
            view = claims.get_claim(uow, insured, existing.id)
        outcome: dict[str, Any] = {
            "status": "pending" if view.missing else "complete",
            "claim_reference": view.claim.reference,
            "cause": view.claim.cause.value,
            "date_of_loss": view.claim.date_of_loss.isoformat(),
        }
        if view.missing:
            outcome["missing_documents"] = [m.value for m in view.missing]
        return outcome

    def _settle(self, policy_id: str, buyer_id: str) -> dict[str, Any]:
        with self.container.uow() as uow:
            claim = claims.claim_of_buyer(uow, policy_id, buyer_id)
        if claim is None:
            raise RuleBroken("no claim was filed on this buyer under this policy", code="claim.not_filed")
        threshold = self.container.settings.indemnity_approval_amount
        closings_before = self._closings(policy_id)
        with self.container.uow() as uow:
            outcome = claims.settle_claim(
                uow, self.clock, self.claims_handlers[0], claim.id, approval_threshold=threshold
            )
            uow.commit()
        approvals = 1
        if outcome.status == "awaiting_approval":
            with self.container.uow() as uow:
                outcome = claims.approve_settlement(
                    uow, self.clock, self.claims_handlers[1], claim.id, approve=True, reason="scenario second approval"
                )
                uow.commit()
            approvals = 2
        result: dict[str, Any] = {"status": outcome.status}
        if outcome.code is not None:
            result["code"] = outcome.code
        if outcome.message is not None:
            result["message"] = outcome.message
        if outcome.missing:
            result["missing_documents"] = [m.value for m in outcome.missing]
        c = outcome.computation
        if c is not None:
            i = c.indemnity
            result.update(
                {
                    "loss_amount": i.loss.quantize_str(),
                    "covered_loss_amount": i.covered_loss.quantize_str(),
                    "indemnity_amount": i.indemnity.quantize_str()
                    if outcome.status == "settled"
                    else Money.zero(self.currency).quantize_str(),
                    "date_of_loss": c.event.date_of_loss.isoformat(),
                    "cause": c.event.cause.value,
                    "lines": [
                        {
                            "code": line.code,
                            "label": line.label,
                            "amount": None if line.amount is None else line.amount.quantize_str(),
                            "rule": line.rule,
                        }
                        for line in i.lines
                    ],
                    "payees": [
                        {"name": p.name, "role": p.role, "amount": p.amount.quantize_str()}
                        for p in (i.payees if outcome.status == "settled" else ())
                    ],
                }
            )
            if outcome.status == "settled":
                result["approvals"] = approvals
            result.update(self._reclosing(policy_id, c.year, closings_before))
        return result

    def _closings(self, policy_id: str) -> dict[date, int]:
        with self.container.uow() as uow:
            policy = uow.policies.get(policy_id)
            assert policy is not None
            return {y.start: len(uow.premium.year_ends_of(policy_id, y.start)) for y in policy.periods}

    def _reclosing(self, policy_id: str, year: Period, before: dict[date, int]) -> dict[str, Any]:
        """A settlement on a loss of a closed year re-closes it (bonus, loss ratio): say so, as a correction does."""
        with self.container.uow() as uow:
            closings = uow.premium.year_ends_of(policy_id, year.start)
            if len(closings) <= before.get(year.start, 0):
                return {}
            latest = closings[-1]
            prefix = f"year_end:{policy_id}:{year.start.isoformat()}:v{latest.version}:"
            issued = [d for d in uow.premium.documents_of(policy_id) if d.source_key.startswith(prefix)]
        return {
            "year_end": {**_year_json(latest.figures, closed=True), "version": latest.version},
            "documents": [_document_json(d) for d in issued],
        }

    def _recovery(self, event: Event, policy_id: str, buyer_id: str, amount: Money) -> dict[str, Any]:
        assert self.collector is not None
        with self.container.uow() as uow:
            cases, _ = collection.list_cases(
                uow, self.collector, page=Page(limit=1), policy_id=policy_id, buyer_id=buyer_id
            )
        if not cases:
            raise RuleBroken(
                "no collection case on this buyer: recoveries follow an overdue notification",
                code="recovery.no_collection_case",
            )
        with self.container.uow() as uow:
            receipt = collection.receive_payment(
                uow, self.clock, self.collector, case_id=cases[0].id, amount=amount, received_on=event.date,
                reference=f"event-{event.index}",
            )  # fmt: skip
            uow.commit()
        with self.container.uow() as uow:
            claim = claims.claim_of_buyer(uow, policy_id, buyer_id)
            shared = (
                None
                if claim is None
                else next((r for r in uow.claims.recoveries_of(claim.id) if r.reference == receipt.id), None)
            )
        if shared is None:
            return {
                "status": "done",
                "insurer_share_amount": Money.zero(self.currency).quantize_str(),
                "insured_share_amount": amount.quantize_str(),
                "note": "before settlement: the recovery reduces the loss",
                "commission_amount": receipt.commission_amount.quantize_str(),
            }
        return {
            "status": "done",
            "insurer_share_amount": shared.insurer_share.quantize_str(),
            "insured_share_amount": shared.insured_share.quantize_str(),
            "commission_amount": receipt.commission_amount.quantize_str(),
        }

    def _request(self, policy_key: str, policy_id: str, buyer_id: str, action: RequestLimit) -> dict[str, Any]:
        with self.container.uow() as uow:
            result = credit_limits.request_limit(
                uow,
                self.clock,
                self.insured[policy_key],
                policy_id=policy_id,
                buyer_id=buyer_id,
                amount=action.amount,
                request_type=action.request_type,
                temporary_until=action.temporary_until,
            )
        request = result.request
        if result.decision is None:
            self.referrals[(policy_key, buyer_id)].append(request.id)
            outcome: dict[str, Any] = {
                "status": "referred",
                "granted_amount": Money.zero(self.currency).quantize_str(),
                "reasons": list(request.reasons),
            }
            if request.suggestion is not None:
                outcome["suggested_amount"] = request.suggestion.quantize_str()
            return outcome
        assert request.response is not None
        outcome = {
            "status": request.response.value,
            "granted_amount": result.decision.granted_amount.quantize_str(),
            "reasons": list(request.reasons),
        }
        if result.decision.expires_on is not None:
            outcome["expires_on"] = result.decision.expires_on.isoformat()
        return outcome

    def _open_referral(self, policy_key: str, buyer_id: str) -> LimitRequest | None:
        with self.container.uow() as uow:
            for request_id in reversed(self.referrals.get((policy_key, buyer_id), [])):
                request = uow.limits.get_request(request_id)
                if request is not None and request.state in _OPEN_REQUEST_STATES:
                    return request
        return None

    def _decide(self, policy_key: str, buyer_id: str, action: DecideLimit) -> dict[str, Any]:
        request = self._open_referral(policy_key, buyer_id)
        if request is None:
            raise RuleBroken(
                "no referred request of this policy on this buyer awaits a decision",
                code="simulation.no_referred_request",
            )
        reason = action.reason or "scenario decision"
        approvals = 0
        for underwriter in self.underwriters:
            amount = action.amount if approvals == 0 else request.proposed
            response = action.status if approvals == 0 else (request.proposed_response or action.status)
            with self.container.uow() as uow:
                result = credit_limits.decide_referral(
                    uow, self.clock, underwriter, request.id, response=response, amount=amount, reason=reason
                )
            approvals += 1
            request = result.request
            if result.decision is not None:
                break
        decision = result.decision
        assert decision is not None, "the second underwriter decides"
        assert request.response is not None
        reasons = list(request.reasons) + ([FOUR_EYES_REASON] if approvals > 1 else [])
        return {
            "status": request.response.value,
            "granted_amount": decision.granted_amount.quantize_str(),
            "reasons": reasons,
            "approvals": approvals,
        }

    def _insolvency(self, event: Event, action: Insolvency) -> dict[str, Any]:
        spec = next(b for b in self.scenario.buyers if b.key == action.buyer)
        assert spec.siren is not None  # checked when the file was read
        announcement = BodaccAnnouncement(
            source="scenario",
            record=event.index,
            announcement_id=f"scenario-{event.index}",
            sirens=(spec.siren,),
            publication_date=action.publication_date,
            judgment_date=action.judgment_date,
            kind=action.procedure,
            nature=_NATURES[action.procedure],
            tribunal=None,
            company_name=spec.name,
            notice_type="initial",
            family="Procédures collectives",
            target=action.procedure,
        )
        with self.container.uow() as uow:
            summary = monitoring.ingest_bodacc(uow, self.clock, self.actor, [announcement], files=["scenario"])
        with self.container.uow() as uow:
            buyer = uow.buyers.get(self.buyer_ids[action.buyer])
            assert buyer is not None
        return {
            "status": "done",
            "legal_status": buyer.legal_status.value,
            "limits_cancelled": summary.limits_affected,
        }

    # ------------------------------------------------------------------ final state

    def _final_claims(self) -> list[dict[str, Any]]:
        keys = {v: k for k, v in self.buyer_ids.items()}
        policies = {v: k for k, v in self.policy_ids.items()}
        out: list[dict[str, Any]] = []
        with self.container.uow() as uow:
            for policy_key, policy_id in self.policy_ids.items():
                for buyer_key, buyer_id in self.buyer_ids.items():
                    for claim in uow.claims.claims_of(policy_id, buyer_id):
                        computed = uow.claims.settlements_of(claim.id)
                        settled = [s for s in computed if s.status.value == "settled"]
                        recoveries = uow.claims.recoveries_of(claim.id)
                        zero = Money.zero(self.currency)
                        entry: dict[str, Any] = {
                            "reference": claim.reference,
                            "buyer": keys.get(claim.buyer_id, buyer_key),
                            "status": claim.status.value,
                            "cause": claim.cause.value,
                            "date_of_loss": claim.date_of_loss.isoformat(),
                            "indemnity_amount": (settled[-1].indemnity if settled else zero).quantize_str(),
                            "recovered_amount": sum((r.amount for r in recoveries), zero).quantize_str(),
                            "insurer_recovered_amount": sum((r.insurer_share for r in recoveries), zero).quantize_str(),
                        }
                        if computed:
                            entry["loss_amount"] = computed[-1].loss.quantize_str()
                            entry["covered_loss_amount"] = computed[-1].covered_loss.quantize_str()
                        if self.scenario.uses_policies:
                            entry["policy"] = policies.get(claim.policy_id, policy_key)
                        out.append(entry)
        return out

    def final(self) -> dict[str, Any]:
        today = self.clock.today()
        by_policy: dict[str, dict[str, Any]] = {}
        exposures: dict[str, dict[str, Any]] = {}
        keys = {v: k for k, v in self.buyer_ids.items()}
        with self.container.uow() as uow:
            for spec in self.scenario.policies:
                policy = uow.policies.get(self.policy_ids[spec.key])
                assert policy is not None
                computed = exposure.exposures_of_policy(uow, policy, on=today)
                exposures[spec.key] = {
                    keys[buyer.id]: {
                        "outstanding_amount": e.outstanding.quantize_str(),
                        "covered_amount": e.covered.quantize_str(),
                        "uncovered_amount": e.uncovered.quantize_str(),
                        "limit_in_force_amount": e.limit_in_force.quantize_str(),
                    }
                    for buyer, e in computed.buyers
                    if buyer.id in keys
                }
                limits: dict[str, Any] = {}
                for buyer in self.scenario.buyers:
                    buyer_id = self.buyer_ids[buyer.key]
                    history = uow.limits.history(self.policy_ids[spec.key], buyer_id)
                    open_referral = any(
                        (r := uow.limits.get_request(request_id)) is not None and r.state in _OPEN_REQUEST_STATES
                        for request_id in self.referrals.get((spec.key, buyer_id), [])
                    )
                    status = latest_status(history)
                    later = sorted({d.effective_date for d in history if d.effective_date > today})
                    limits[buyer.key] = {
                        "amount_in_force": amount_in_force(history, today, self.currency).quantize_str(),
                        "status": status.value if status is not None else ("referred" if open_referral else "none"),
                        "referral_pending": open_referral,
                        "next_change": None
                        if not later
                        else {
                            "effective_date": later[0].isoformat(),
                            "amount_in_force": amount_in_force(history, later[0], self.currency).quantize_str(),
                        },
                    }
                by_policy[spec.key] = limits
        return {
            "as_of": today.isoformat(),
            "limits": by_policy if self.scenario.uses_policies else by_policy[self.scenario.policies[0].key],
            "exposure": exposures if self.scenario.uses_policies else exposures[self.scenario.policies[0].key],
            "claims": self._final_claims(),
            "premium": self._final_premium(),
        }
