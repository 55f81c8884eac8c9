"""Overdue notifications, claims, settlements and recoveries through the services and the real unit of
work, on SQLite and PostgreSQL (DOMAIN.md §7–8).

The world: insured A and insured B, each with a policy from 1 January 2026 (A's terms may be set per
test); every buyer gets its 50,000 EUR limit on 2 January, before any invoice falls due. Invoices are
issued in January and fall due in February; the overdue notification is made on 15 March, so the
150-day waiting period of protracted default ends on 12 August — the date of loss — and the clock moves
there to file and settle.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tradecover.bootstrap import Container
from tradecover.domain.claims import Claim, ClaimCause, ClaimStatus, DocumentKind, required_documents
from tradecover.domain.collection import CollectionCase, Receipt
from tradecover.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleBroken
from tradecover.domain.money import Money
from tradecover.domain.monitoring import GradeRecord, LegalEvent, LegalEventKind
from tradecover.domain.overdues import NotificationStatus
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.domain.periods import FixedClock
from tradecover.domain.receivables import Invoice
from tradecover.services import (
    accounts,
    buyers,
    claim_statements,
    claims,
    collection,
    credit_limits,
    ledger,
    overdues,
    policies,
)
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.claims import SettlementOutcome
from tradecover.services.overdues import NotificationResult
from tradecover.services.ports import Page

EUR = "EUR"
START = date(2026, 1, 2)
NOTIFIED = date(2026, 3, 15)
DATE_OF_LOSS = NOTIFIED + timedelta(days=150)  # 12 August 2026
PDF = b"%PDF-1.4\n% scan\n%%EOF\n"
T = TypeVar("T")

#: Every table a notification, a claim or a recovery writes to.
TABLES = (
    "overdue_notifications",
    "overdue_notification_lines",
    "payment_term_extensions",
    "collection_cases",
    "collection_case_debts",
    "collection_receipts",
    "claims",
    "claim_documents",
    "claim_settlements",
    "claim_movements",
    "claim_recoveries",
    "ledger_invoices",
    "ledger_payments",
    "audit_events",
)
#: The tables migration 0005 makes append-only, with a column to try to change.
APPEND_ONLY = {
    "overdue_notification_lines": "refusal_code",
    "payment_term_extensions": "reason",
    "claim_movements": "account",
    "claim_recoveries": "source",
}
_sirens = iter(range(10_000_000, 99_999_999, 7_919))


def eur(amount: str | int) -> Money:
    return Money.of(amount, EUR)


def raises(kind: type[DomainError], code: str, action: Callable[[], object]) -> DomainError:
    with pytest.raises(kind) as caught:
        action()
    assert caught.value.code == code, caught.value
    return caught.value


def siren() -> str:
    from tradecover.domain.identifiers import generate_siren

    return generate_siren(next(_sirens))


def staff(role: Role, name: str, insurer_id: str) -> Actor:
    return Actor(name, f"{name}@insurer.example", insurer_id, OrganisationKind.INSURER, role)


class World:
    """The insurer's staff, insureds A and B with a policy each, their users; a buyer per test as needed."""

    def __init__(self, container: Container, **terms_a: Any) -> None:
        self.container = container
        self.clock: FixedClock = container.clock  # type: ignore[assignment]
        self.on(START)
        with container.uow() as uow:
            insurer = accounts.ensure_insurer(uow, self.clock)
            uow.commit()
        self.admin = system_actor(insurer.id)
        self.handler = staff(Role.CLAIMS_HANDLER, "handler-1", insurer.id)
        self.second_handler = staff(Role.CLAIMS_HANDLER, "handler-2", insurer.id)
        self.collector = staff(Role.COLLECTOR, "collector-1", insurer.id)
        self.underwriter = staff(Role.UNDERWRITER, "uw-1", insurer.id)
        self.a, self.policy_a = self.insured("Insured A SAS", "732829320", **terms_a)
        self.b, self.policy_b = self.insured("Insured B SARL")
        self.insured_a = Actor("user-a", "user-a", self.a, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)
        self.insured_b = Actor("user-b", "user-b", self.b, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)

    # --- plumbing

    def on(self, day: date) -> None:
        self.clock.set(datetime.combine(day, time(10, 0), tzinfo=UTC))

    def later(self) -> None:
        """A minute later, the same day: what is recorded next is ordered after what was."""
        self.clock.set(self.clock.now() + timedelta(minutes=1))

    def do(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a use case in its own unit of work and commit, as the API does."""
        with self.container.uow() as uow:
            result = action(uow, *args, **kwargs)
            uow.commit()
            return result

    def read(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.container.uow() as uow:
            return action(uow, *args, **kwargs)

    def counts(self) -> dict[str, int]:
        with self.container.engine.connect() as connection:
            return {
                table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()) for table in TABLES
            }

    def refused(self, kind: type[DomainError], code: str, action: Callable[[], object]) -> DomainError:
        """The use case refuses with ``code`` and nothing at all is written."""
        before = self.counts()
        error = raises(kind, code, action)
        assert self.counts() == before, code
        return error

    # --- the book

    def insured(self, name: str, registration: str | None = None, **terms: Any) -> tuple[str, str]:
        with self.container.uow() as uow:
            organisation = accounts.create_organisation(
                uow, self.clock, self.admin, kind=OrganisationKind.POLICYHOLDER, name=name, country="FR",
                siren=registration,
            )  # fmt: skip
            uow.commit()
        with self.container.uow() as uow:
            policy, _ = policies.issue_policy(
                uow, self.clock, self.admin, policyholder_id=organisation.id, start_date=date(2026, 1, 1),
                terms=terms or None,
            )  # fmt: skip
        return organisation.id, policy.id

    def actor_of(self, policy_id: str) -> Actor:
        return self.insured_b if policy_id == self.policy_b else self.insured_a

    def buyer(self, *, policy_id: str | None = None, limit: str = "50000") -> str:
        """A new buyer in the book of the policy's insured, graded, with a limit in force from 2 January."""
        policy_id = policy_id or self.policy_a
        now = self.clock.now()
        self.on(START)
        holder = self.b if policy_id == self.policy_b else self.a
        created, _ = self.read(
            buyers.add_buyer, self.clock, self.admin, identifiers=[("siren", siren())], legal_name="Acheteur",
            country="FR", organisation_id=holder,
        )  # fmt: skip
        with self.container.uow() as uow:
            uow.buyers.record_grade(
                GradeRecord(
                    buyer_id=created.id, grade=3, probability_of_default=Decimal("0.01"), factors={"test": 1.0},
                    model_version="test", run_id=str(uuid.uuid4()), inputs_version=created.inputs_version,
                    graded_at=self.clock.now(), previous_grade=None,
                )
            )  # fmt: skip
            uow.commit()
        self.read(credit_limits.set_capacity, self.clock, self.underwriter, created.id, amount="1000000", reason="t")
        outcome = self.read(
            credit_limits.request_limit, self.clock, self.actor_of(policy_id), policy_id=policy_id,
            buyer_id=created.id, amount=limit,
        )  # fmt: skip
        assert outcome.decision is not None, outcome.request
        assert (outcome.decision.granted_amount, outcome.decision.effective_date) == (eur(limit), START)
        self.clock.set(now)
        return created.id

    def invoice(
        self,
        buyer_id: str,
        number: str,
        issued: date,
        net: str,
        vat: str = "0",
        *,
        due: date | None = None,
        policy_id: str | None = None,
        currency: str = EUR,
        factor: str | None = None,
    ) -> Invoice:
        policy_id = policy_id or self.policy_a
        recorded = self.do(
            ledger.record_invoice, self.clock, self.actor_of(policy_id), policy_id=policy_id, buyer_id=buyer_id,
            number=number, issue_date=issued, delivery_date=None, due_date=due or issued + timedelta(days=30),
            amount_excl_vat=Money.of(net, currency), vat_amount=Money.of(vat, currency), factor=factor,
        )  # fmt: skip
        assert isinstance(recorded.entry, Invoice)
        return recorded.entry

    def notify(
        self, buyer_id: str, invoices: list[str] | None = None, *, policy_id: str | None = None
    ) -> NotificationResult:
        policy_id = policy_id or self.policy_a
        return self.do(
            overdues.declare_overdue, self.clock, self.actor_of(policy_id), policy_id=policy_id, buyer_id=buyer_id,
            invoices=invoices,
        )  # fmt: skip

    def file(self, buyer_id: str, *, policy_id: str | None = None) -> Claim:
        policy_id = policy_id or self.policy_a
        return self.do(claims.file_claim, self.clock, self.actor_of(policy_id), policy_id=policy_id, buyer_id=buyer_id)

    def document(self, claim: Claim, kind: DocumentKind, content: bytes = PDF, name: str = "scan.pdf") -> None:
        self.do(
            claims.add_document, self.clock, self.actor_of(claim.policy_id), claim.id, kind=kind.value,
            filename=name, content_type=None, content=content,
        )  # fmt: skip

    def complete(self, claim: Claim) -> None:
        for kind in required_documents(claim.cause):
            self.document(claim, kind)

    def settle(self, claim_id: str, *, actor: Actor | None = None, threshold: str | None = None) -> SettlementOutcome:
        return self.do(
            claims.settle_claim, self.clock, actor or self.handler, claim_id,
            approval_threshold=None if threshold is None else Decimal(threshold),
        )  # fmt: skip

    def claimed(self, buyer_id: str, *, policy_id: str | None = None) -> Claim:
        """Notified today (every overdue invoice), then on the date of loss filed with its documents."""
        notified_on = self.clock.today()
        result = self.notify(buyer_id, policy_id=policy_id)
        assert result.notification.accepted, result.judged
        self.on(notified_on + timedelta(days=150))
        claim = self.file(buyer_id, policy_id=policy_id)
        self.complete(claim)
        return claim

    def view(self, claim_id: str) -> claims.ClaimView:
        return self.read(claims.get_claim, self.handler, claim_id)

    def case_of(self, buyer_id: str, policy_id: str | None = None) -> CollectionCase | None:
        found, _ = self.read(
            collection.list_cases, self.collector, page=Page(limit=10), policy_id=policy_id or self.policy_a,
            buyer_id=buyer_id,
        )  # fmt: skip
        return found[0] if found else None

    def receive(self, case_id: str, amount: str, on: date) -> Receipt:
        return self.do(
            collection.receive_payment, self.clock, self.collector, case_id=case_id, amount=eur(amount), received_on=on
        )


@pytest.fixture
def world(container: Container) -> World:
    built = World(container)
    built.on(NOTIFIED)
    return built


def line_amounts(outcome: SettlementOutcome) -> dict[str, str | None]:
    assert outcome.computation is not None
    return {
        line.code: None if line.amount is None else line.amount.quantize_str()
        for line in outcome.computation.indemnity.lines
    }


def transaction_sums(view: claims.ClaimView) -> dict[str, Money]:
    totals: dict[str, Money] = {}
    for movement in view.movements:
        totals[movement.transaction_id] = totals.get(movement.transaction_id, eur(0)) + movement.amount
    return totals


# ============================================================================ notifications


def test_a_notification_refused_whole_writes_nothing_and_opens_no_case(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "N-1", date(2026, 3, 1), "1000.00", "200.00", due=date(2026, 4, 30))  # not due yet
    world.invoice(buyer, "N-2", date(2026, 1, 10), "500.00", "100.00")  # overdue, but paid in full
    world.do(
        ledger.record_payment, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
        amount=eur("600.00"), received_on=date(2026, 3, 1), invoices=["N-2"],
    )  # fmt: skip
    error = world.refused(RuleBroken, "overdue.no_overdue_invoice", lambda: world.notify(buyer))
    assert error.context == {"invoices": {}}
    error = world.refused(RuleBroken, "overdue.no_overdue_invoice", lambda: world.notify(buyer, ["N-1", "N-2"]))
    assert error.context == {"invoices": {"N-1": "overdue.not_overdue", "N-2": "overdue.invoice_paid"}}
    error = world.refused(InvalidInput, "overdue.unknown_invoice", lambda: world.notify(buyer, ["N-1", "N-404"]))
    assert error.field == "invoices[1]"
    world.refused(InvalidInput, "overdue.no_invoice", lambda: world.notify(buyer, []))
    theirs = world.buyer(policy_id=world.policy_b)
    world.refused(NotFound, "buyer.not_found", lambda: world.notify(theirs))
    world.refused(
        NotFound,
        "policy.not_found",
        lambda: world.do(
            overdues.declare_overdue, world.clock, world.insured_a, policy_id=world.policy_b, buyer_id=theirs
        ),
    )
    world.refused(
        Forbidden,
        "auth.forbidden",
        lambda: world.do(
            overdues.declare_overdue, world.clock, world.underwriter, policy_id=world.policy_a, buyer_id=buyer
        ),
    )
    assert world.case_of(buyer) is None
    found, total = world.read(overdues.list_notifications, world.handler, policy_id=None, buyer_id=None, page=Page())
    assert (found, total) == ([], 0)
    # Nothing was notified, so nothing stops shipments: a delivery today is still covered.
    assert world.read(lambda uow: uow.claims.notifications_of(world.policy_a, buyer)) == []


def test_a_notification_whose_every_invoice_is_refused_is_recorded_but_guarantees_nothing(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "D-1", date(2026, 1, 10), "1000.00", "200.00")
    world.do(
        ledger.open_dispute, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
        invoice_number="D-1", on=date(2026, 3, 1), reason="quality",
    )  # fmt: skip
    result = world.notify(buyer)
    assert result.status is NotificationStatus.REFUSED
    assert [(j.invoice.number, j.refusal and j.refusal.value) for j in result.judged] == [("D-1", "overdue.disputed")]
    # The buyer is notified (stop-ship from today); its file went to the collectors without any guaranteed
    # debt (DOMAIN.md §7: the insurer collects non-guaranteed debts for a commission).
    case = world.case_of(buyer)
    assert case is not None
    assert result.case_id == case.id
    assert [(d.number, d.guaranteed) for d in case.debts] == [("D-1", False)]
    [recorded] = world.read(lambda uow: uow.claims.notifications_of(world.policy_a, buyer))
    assert (recorded.status, recorded.accepted) == (NotificationStatus.REFUSED, ())
    # No accepted invoice: no claim can be filed on it, ever.
    world.on(DATE_OF_LOSS)
    world.refused(RuleBroken, "claim.no_accepted_notification", lambda: world.file(buyer))


def test_a_late_notification_never_yields_an_indemnity_on_that_invoice(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "L-1", date(2026, 1, 5), "4000.00", "800.00", due=date(2026, 2, 4))  # deadline 5 May
    world.invoice(buyer, "L-2", date(2026, 3, 1), "3000.00", "600.00", due=date(2026, 3, 31))  # deadline 29 June
    late_only = world.buyer()
    world.invoice(late_only, "L-9", date(2026, 1, 5), "9000.00", "1800.00", due=date(2026, 2, 4))
    world.on(date(2026, 5, 10))
    result = world.notify(buyer)
    verdicts = {j.invoice.number: (j.verdict.value, j.refusal and j.refusal.value, j.deadline) for j in result.judged}
    assert verdicts == {
        "L-1": ("refused", "overdue.deadline_passed", date(2026, 5, 5)),
        "L-2": ("accepted", None, date(2026, 6, 29)),
    }
    # Notified again later, the late invoice is still refused: its cover is lost for good.
    world.on(date(2026, 5, 20))
    again = world.notify(buyer, ["L-1"])
    assert [j.refusal and j.refusal.value for j in again.judged] == ["overdue.deadline_passed"]
    assert world.notify(late_only).status is NotificationStatus.REFUSED

    world.on(date(2026, 10, 7))  # 10 May + 150 days
    world.refused(RuleBroken, "claim.no_accepted_notification", lambda: world.file(late_only))
    claim = world.file(buyer)
    assert (claim.cause, claim.date_of_loss) == (ClaimCause.PROTRACTED_DEFAULT, date(2026, 10, 7))
    world.complete(claim)
    outcome = world.settle(claim.id)
    assert outcome.status == "settled"
    assert outcome.computation is not None
    assert [i.number for i in outcome.computation.invoices] == ["L-2"]
    assert line_amounts(outcome) == {
        "invoices_unpaid": "3000.00",
        "loss": "3000.00",
        "covered_loss": "3000.00",
        "indemnity_rate": "2700.00",
        "indemnity": "2700.00",
    }


def test_a_payment_term_extension_is_recorded_once_and_not_after_the_notification(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "X-1", date(2026, 1, 10), "1000.00", "200.00")  # due 9 February
    world.invoice(buyer, "X-2", date(2026, 1, 12), "1000.00", "200.00")  # due 11 February

    def extend(number: str, new_due: date) -> Any:
        return world.do(
            overdues.extend_payment_term, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
            invoice_number=number, new_due_date=new_due, reason="buyer asked",
        )  # fmt: skip

    assert extend("X-1", date(2026, 4, 10)).within_allowance is True
    world.refused(InvalidInput, "overdue.extension_not_later", lambda: extend("X-1", date(2026, 4, 1)))
    result = world.notify(buyer)
    assert [j.invoice.number for j in result.judged] == ["X-2"]
    world.refused(RuleBroken, "overdue.extension_after_notification", lambda: extend("X-2", date(2026, 4, 11)))
    extensions = world.read(overdues.list_extensions, world.handler, world.policy_a, buyer_id=buyer)
    assert [(e.invoice_number, e.new_due_date) for e in extensions] == [("X-1", date(2026, 4, 10))]


# ============================================================================ refusals write nothing


def test_every_claim_refusal_writes_nothing(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "C-1", date(2026, 1, 10), "3000.00", "600.00")
    world.refused(RuleBroken, "claim.no_accepted_notification", lambda: world.file(buyer))
    world.notify(buyer)
    error = world.refused(RuleBroken, "claim.waiting_period_running", lambda: world.file(buyer))
    assert error.context == {"date_of_loss": DATE_OF_LOSS.isoformat()}
    world.on(DATE_OF_LOSS - timedelta(days=1))
    world.refused(RuleBroken, "claim.waiting_period_running", lambda: world.file(buyer))
    world.on(DATE_OF_LOSS)

    def file_as(actor: Actor, policy_id: str) -> Any:
        return world.do(claims.file_claim, world.clock, actor, policy_id=policy_id, buyer_id=buyer)

    world.refused(NotFound, "policy.not_found", lambda: file_as(world.insured_b, world.policy_a))
    world.refused(NotFound, "buyer.not_found", lambda: file_as(world.insured_b, world.policy_b))
    world.refused(Forbidden, "auth.forbidden", lambda: file_as(world.collector, world.policy_a))
    claim = world.file(buyer)
    assert (claim.status, claim.date_of_loss, claim.reference) == (ClaimStatus.PENDING, DATE_OF_LOSS, "CLM-2026-000001")
    world.refused(Conflict, "claim.already_open", lambda: world.file(buyer))

    def add(content: bytes, name: str, content_type: str | None, kind: str = "unpaid_invoices", **kw: Any) -> Any:
        return world.do(
            claims.add_document, world.clock, kw.pop("actor", world.insured_a), claim.id, kind=kind,
            filename=name, content_type=content_type, content=content, **kw,
        )  # fmt: skip

    world.refused(InvalidInput, "claim.document_type", lambda: add(b"#!/bin/sh\necho\n", "script.pdf", None))
    world.refused(InvalidInput, "claim.document_type", lambda: add(PDF, "scan.pdf", "image/png"))
    world.refused(InvalidInput, "claim.document_type", lambda: add(PDF, "scan.exe", "application/pdf"))
    world.refused(InvalidInput, "claim.document_type", lambda: add(b"GIF89a....", "scan.gif", "image/gif"))
    world.refused(InvalidInput, "claim.document_empty", lambda: add(b"", "scan.pdf", None))
    too_large = world.refused(
        InvalidInput, "claim.document_too_large", lambda: add(PDF + b"0" * 2048, "scan.pdf", None, max_bytes=2048)
    )
    assert too_large.context == {"size": len(PDF) + 2048, "max_bytes": 2048}
    world.refused(InvalidInput, "claim.document_kind", lambda: add(PDF, "scan.pdf", None, kind="selfie"))
    world.refused(NotFound, "claim.not_found", lambda: add(PDF, "scan.pdf", None, actor=world.insured_b))
    world.refused(Forbidden, "auth.forbidden", lambda: add(PDF, "scan.pdf", None, actor=world.underwriter))

    # Settling with documents missing answers "pending" — and the unit of work it commits holds nothing.
    before = world.counts()
    pending = world.settle(claim.id)
    assert (pending.status, pending.code, pending.missing) == (
        "pending",
        "claim.documents_missing",
        (DocumentKind.UNPAID_INVOICES, DocumentKind.PROOF_OF_DELIVERY, DocumentKind.COLLECTION_ATTEMPTS),
    )
    assert world.counts() == before
    world.refused(Forbidden, "auth.forbidden", lambda: world.settle(claim.id, actor=world.insured_a))
    world.refused(Forbidden, "auth.forbidden", lambda: world.settle(claim.id, actor=world.collector))

    def approve(actor: Actor, yes: bool = True) -> Any:
        return world.do(claims.approve_settlement, world.clock, actor, claim.id, approve=yes, reason="checked")

    world.refused(RuleBroken, "claim.nothing_to_approve", lambda: approve(world.second_handler))
    world.complete(claim)
    assert world.view(claim.id).claim.status is ClaimStatus.COMPLETE
    awaiting = world.settle(claim.id, threshold="1000")
    assert awaiting.status == "awaiting_approval"
    world.refused(Forbidden, "claim.same_approver", lambda: approve(world.handler))
    world.refused(Forbidden, "claim.same_approver", lambda: approve(world.handler, yes=False))
    world.refused(Forbidden, "auth.forbidden", lambda: approve(world.insured_a))
    world.refused(RuleBroken, "claim.not_settleable", lambda: world.settle(claim.id, actor=world.second_handler))
    assert approve(world.second_handler).status == "settled"
    world.refused(RuleBroken, "claim.not_settleable", lambda: world.settle(claim.id))
    world.refused(RuleBroken, "claim.nothing_to_approve", lambda: approve(world.second_handler))
    world.refused(RuleBroken, "claim.closed", lambda: add(PDF, "late.pdf", None, kind="other"))
    world.refused(Conflict, "claim.already_open", lambda: world.file(buyer))


# ============================================================================ append-only facts


def test_notification_lines_extensions_movements_and_recoveries_are_append_only(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "A-1", date(2026, 1, 10), "2000.00", "400.00")
    world.invoice(buyer, "A-2", date(2026, 3, 1), "1000.00", "200.00")
    world.do(
        overdues.extend_payment_term, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
        invoice_number="A-2", new_due_date=date(2026, 4, 15),
    )  # fmt: skip
    claim = world.claimed(buyer)
    assert world.settle(claim.id).status == "settled"
    case = world.case_of(buyer)
    assert case is not None
    world.receive(case.id, "240.00", world.clock.today())
    before = world.counts()
    assert all(before[table] > 0 for table in APPEND_ONLY), before
    for table, column in APPEND_ONLY.items():
        for statement in (f"UPDATE {table} SET {column} = 'edited'", f"DELETE FROM {table}"):
            with world.container.engine.connect() as connection, pytest.raises(DBAPIError) as caught:
                connection.execute(text(statement))
            assert "append-only" in str(caught.value), caught.value
    assert world.counts() == before
    view = world.view(claim.id)
    assert {m.account for m in view.movements} >= {"insurer", f"insured:{world.a}"}
    assert [r.amount for r in view.recoveries] == [eur("240.00")]


# ============================================================================ settlement


def test_four_eyes_a_withdrawal_a_stale_computation_and_no_second_settlement(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "G-1", date(2026, 1, 10), "30000.00", "6000.00")
    claim = world.claimed(buyer)

    def approve(yes: bool) -> SettlementOutcome:
        return world.do(
            claims.approve_settlement, world.clock, world.second_handler, claim.id, approve=yes, reason="reviewed"
        )

    first = world.settle(claim.id, threshold="20000")
    assert first.status == "awaiting_approval"
    assert first.settlement is not None
    assert first.settlement.indemnity == eur("27000.00")
    assert world.view(claim.id).claim.status is ClaimStatus.AWAITING_APPROVAL
    world.later()
    assert approve(False).status == "withdrawn"
    view = world.view(claim.id)
    assert view.claim.status is ClaimStatus.COMPLETE
    assert [s.status.value for s in view.settlements] == ["withdrawn"]
    assert view.movements == []

    world.later()
    assert world.settle(claim.id, threshold="20000").status == "awaiting_approval"
    # The buyer pays 1,200 incl. VAT on the day of the computation: what was computed no longer holds.
    world.do(
        ledger.record_payment, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
        amount=eur("1200.00"), received_on=world.clock.today(), reference="VIR-9",
    )  # fmt: skip
    stale = world.refused(Conflict, "claim.settlement_stale", lambda: approve(True))
    assert stale.context == {"computed": "27000.00", "now": "26100.00"}
    world.later()
    assert approve(False).status == "withdrawn"
    world.later()
    third = world.settle(claim.id, threshold="20000")
    assert third.status == "awaiting_approval"
    assert line_amounts(third) == {
        "invoices_unpaid": "30000.00",
        "payments_before_settlement": "-1000.00",
        "loss": "29000.00",
        "covered_loss": "29000.00",
        "indemnity_rate": "26100.00",
        "indemnity": "26100.00",
    }
    world.later()
    settled = approve(True)
    assert settled.status == "settled"
    view = world.view(claim.id)
    assert view.claim.status is ClaimStatus.SETTLED
    assert [s.status.value for s in view.settlements] == ["withdrawn", "withdrawn", "settled"]
    assert view.settlements[-1].approved_by == "user:handler-2"
    assert sorted((m.account, m.amount) for m in view.movements) == [
        ("insured:" + world.a, eur("26100.00")),
        ("insurer", eur("-26100.00")),
    ]
    assert set(transaction_sums(view).values()) == {eur(0)}
    world.refused(RuleBroken, "claim.not_settleable", lambda: world.settle(claim.id))
    world.refused(RuleBroken, "claim.not_settleable", lambda: world.settle(claim.id, actor=world.second_handler))


@pytest.fixture
def aggregate(container: Container) -> World:
    """Insured A's policy has an annual aggregate deductible of 3,000 EUR."""
    built = World(container, deductible="3000", deductible_kind="annual_aggregate")
    built.on(NOTIFIED)
    return built


def test_the_annual_aggregate_deductible_is_consumed_across_the_claims_of_the_policy_year(aggregate: World) -> None:
    world = aggregate
    first_buyer, second_buyer = world.buyer(), world.buyer()
    world.invoice(first_buyer, "AG-1", date(2026, 1, 10), "2000.00", "400.00")
    world.invoice(second_buyer, "AG-2", date(2026, 1, 12), "5000.00", "1000.00")
    assert world.notify(first_buyer).notification.accepted
    assert world.notify(second_buyer).notification.accepted
    world.on(DATE_OF_LOSS)
    first, second = world.file(first_buyer), world.file(second_buyer)
    world.complete(first)
    world.complete(second)
    # First claim: 2,000 × 90 % = 1,800, all of it taken by the deductible (1,800 of 3,000 consumed).
    one = world.settle(first.id)
    assert line_amounts(one) == {
        "invoices_unpaid": "2000.00",
        "loss": "2000.00",
        "covered_loss": "2000.00",
        "indemnity_rate": "1800.00",
        "aggregate_deductible": "-1800.00",
        "indemnity": "0.00",
    }
    assert one.settlement is not None
    assert one.settlement.aggregate_deductible == eur("1800.00")
    # Second claim: 5,000 × 90 % = 4,500 less what remains of the deductible (1,200) = 3,300.
    two = world.settle(second.id)
    assert two.status == "settled"
    assert line_amounts(two) == {
        "invoices_unpaid": "5000.00",
        "loss": "5000.00",
        "covered_loss": "5000.00",
        "indemnity_rate": "4500.00",
        "aggregate_deductible": "-1200.00",
        "indemnity": "3300.00",
    }
    assert two.computation is not None
    rule = next(line.rule for line in two.computation.indemnity.lines if line.code == "aggregate_deductible")
    assert "1800.00" in rule
    view = world.view(second.id)
    assert sorted(m.amount for m in view.movements) == [eur("-3300.00"), eur("3300.00")]
    assert set(transaction_sums(view).values()) == {eur(0)}


@pytest.fixture
def capped(container: Container) -> World:
    """Insured A's policy pays at most 10,000 EUR a policy year."""
    built = World(container, max_liability_amount="10000")
    built.on(NOTIFIED)
    return built


def test_the_maximum_liability_is_consumed_across_claims_and_caps_the_second(capped: World) -> None:
    world = capped
    first_buyer, second_buyer = world.buyer(), world.buyer()
    world.invoice(first_buyer, "ML-1", date(2026, 1, 10), "8000.00", "1600.00")
    world.invoice(second_buyer, "ML-2", date(2026, 1, 12), "5000.00", "1000.00")
    world.notify(first_buyer)
    world.notify(second_buyer)
    world.on(DATE_OF_LOSS)
    first, second = world.file(first_buyer), world.file(second_buyer)
    world.complete(first)
    world.complete(second)
    one = world.settle(first.id)
    assert one.settlement is not None
    assert one.settlement.indemnity == eur("7200.00")
    assert "max_liability" not in line_amounts(one)
    # 5,000 × 90 % = 4,500, but only 10,000 − 7,200 = 2,800 remains of the year's maximum liability.
    two = world.settle(second.id)
    assert line_amounts(two) == {
        "invoices_unpaid": "5000.00",
        "loss": "5000.00",
        "covered_loss": "5000.00",
        "indemnity_rate": "4500.00",
        "max_liability": "-1700.00",
        "indemnity": "2800.00",
    }
    assert two.computation is not None
    assert two.computation.indemnity.capped_by == eur("2800.00")
    paid = [m.amount for claim in (first, second) for m in world.view(claim.id).movements if m.account == "insurer"]
    assert sum(paid, eur(0)) == eur("-10000.00")


def test_an_indemnity_on_an_invoice_assigned_to_a_factor_is_paid_to_the_factor(world: World) -> None:
    from tradecover.services import factoring

    with world.container.uow() as uow:
        factor = accounts.create_organisation(
            uow, world.clock, world.admin, kind=OrganisationKind.FACTOR, name="Factor SA", country="FR"
        ).id
    world.do(
        factoring.create_delegation, world.clock, world.admin, policy_id=world.policy_a, factor_id=factor,
        start_date=date(2026, 1, 1), reason="affacturage",
    )  # fmt: skip
    buyer = world.buyer()
    world.invoice(buyer, "FA-1", date(2026, 1, 10), "6000.00", "1200.00")
    world.invoice(buyer, "FA-2", date(2026, 1, 12), "4000.00", "800.00")
    world.do(
        ledger.assign_to_factor, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
        invoice_number="FA-1", factor="Factor SA", on=date(2026, 1, 15),
    )  # fmt: skip
    claim = world.claimed(buyer)
    outcome = world.settle(claim.id)
    assert outcome.status == "settled"
    assert outcome.computation is not None
    # 10,000 × 90 % = 9,000, shared in proportion to what remains unpaid: 6,000 / 4,000.
    assert [(p.name, p.role, p.amount) for p in outcome.computation.indemnity.payees] == [
        ("insured", "insured", eur("3600.00")),
        ("Factor SA", "factor", eur("5400.00")),
    ]
    assert [(i.number, i.factor) for i in outcome.computation.invoices] == [("FA-1", "Factor SA"), ("FA-2", None)]
    view = world.view(claim.id)
    assert sorted((m.account, m.amount) for m in view.movements) == [
        (f"factor:{factor}", eur("5400.00")),
        ("insured:" + world.a, eur("3600.00")),
        ("insurer", eur("-5400.00")),
        ("insurer", eur("-3600.00")),
    ]
    assert set(transaction_sums(view).values()) == {eur(0)}
    statement = view.settlements[-1].statement
    assert statement["payees"] == [
        {"name": "insured", "role": "insured", "amount": "3600.00"},
        {"name": "Factor SA", "role": "factor", "amount": "5400.00", "id": factor},
    ]


def test_a_claim_in_another_currency_is_converted_at_the_notification_dates_rate(world: World) -> None:
    world.do(
        ledger.add_exchange_rates, world.clock, world.admin,
        [("USD", "EUR", date(2026, 3, 1), "0.95"), ("USD", "EUR", NOTIFIED, "0.90"),
         ("USD", "EUR", date(2026, 8, 1), "0.80")],
    )  # fmt: skip
    buyer = world.buyer()
    world.invoice(buyer, "US-1", date(2026, 1, 10), "10000.00", currency="USD")
    claim = world.claimed(buyer)
    outcome = world.settle(claim.id)
    assert outcome.status == "settled"
    # 10,000 USD at 0.90 (15 March, the notification) = 9,000 EUR; × 90 % = 8,100 EUR.
    assert line_amounts(outcome) == {
        "invoices_unpaid": "9000.00",
        "loss": "9000.00",
        "covered_loss": "9000.00",
        "indemnity_rate": "8100.00",
        "indemnity": "8100.00",
    }
    assert outcome.settlement is not None
    assert outcome.settlement.indemnity == eur("8100.00")


def test_a_claim_in_a_currency_without_a_rate_is_refused_and_writes_nothing(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "CH-1", date(2026, 1, 10), "10000.00", currency="CHF")
    claim = world.claimed(buyer)
    world.refused(RuleBroken, "claim.no_exchange_rate", lambda: world.settle(claim.id))
    assert world.view(claim.id).claim.status is ClaimStatus.COMPLETE


# ============================================================================ recoveries


@pytest.fixture
def deductible(container: Container) -> World:
    """Insured A's policy has a deductible of 100 EUR per claim: indemnity ÷ loss is no round ratio."""
    built = World(container, deductible="100")
    built.on(NOTIFIED)
    return built


def test_recoveries_reduce_the_loss_before_settlement_and_are_shared_after_it(deductible: World) -> None:
    world = deductible
    buyer = world.buyer()
    world.invoice(buyer, "R-1", date(2026, 1, 10), "3000.00", "600.00")
    world.invoice(buyer, "R-2", date(2026, 1, 20), "1000.00", "200.00")
    world.notify(buyer)
    case = world.case_of(buyer)
    assert case is not None
    assert [(d.number, d.guaranteed) for d in case.debts] == [("R-1", True), ("R-2", True)]
    # Before settlement the collectors obtain 1,200 (incl. VAT): R-1, the oldest, is reduced by 1,000.
    world.on(date(2026, 4, 1))
    world.receive(case.id, "1200.00", date(2026, 4, 1))
    world.on(DATE_OF_LOSS)
    claim = world.file(buyer)
    world.complete(claim)
    outcome = world.settle(claim.id)
    # (4,000 − 1,000) × 90 % = 2,700 − 100 = 2,600.
    assert line_amounts(outcome) == {
        "invoices_unpaid": "4000.00",
        "recoveries_before_settlement": "-1000.00",
        "loss": "3000.00",
        "covered_loss": "3000.00",
        "indemnity_rate": "2700.00",
        "deductible": "-100.00",
        "indemnity": "2600.00",
    }
    assert world.view(claim.id).recoveries == []

    # After settlement the collectors obtain 120 incl. VAT on R-1: 100 excl. VAT of the loss. The insurer
    # takes 100 × 2,600 ÷ 3,000 = 86.666… → 86.67; the insured the rest of the cash, 33.33.
    world.on(DATE_OF_LOSS + timedelta(days=5))
    world.receive(case.id, "120.00", world.clock.today())
    [first] = world.view(claim.id).recoveries
    assert (first.amount, first.insurer_share, first.insured_share) == (eur("120.00"), eur("86.67"), eur("33.33"))
    assert first.insurer_share + first.insured_share == first.amount
    exact = Decimal("100.00") * Decimal("2600") / Decimal("3000")
    assert abs(first.insurer_share.amount - exact) < Decimal("0.005")
    # The rest of the debts (3,480 incl. VAT, 2,900 excl.): 2,900 × 2,600 ÷ 3,000 = 2,513.33, and the whole
    # loss being recovered, the insurer has recovered exactly its indemnity, never more.
    world.receive(case.id, "3480.00", world.clock.today())
    view = world.view(claim.id)
    second = view.recoveries[-1]
    assert (second.insurer_share, second.insured_share) == (eur("2513.33"), eur("966.67"))
    assert sum((r.insurer_share for r in view.recoveries), eur(0)) == eur("2600.00")
    shares = [m for m in view.movements if m.kind == "recovery_share"]
    assert sorted((m.account, m.amount) for m in shares) == [
        ("insured:" + world.a, eur("-2513.33")),
        ("insured:" + world.a, eur("-86.67")),
        ("insurer", eur("86.67")),
        ("insurer", eur("2513.33")),
    ]
    assert set(transaction_sums(view).values()) == {eur(0)}
    pdf, name = world.read(claim_statements.recovery_statement_pdf, world.insured_a, claim.id, first.id, language="fr")
    assert pdf.startswith(b"%PDF")
    assert name.endswith("-fr.pdf")


def test_a_recovery_on_a_debt_outside_the_claim_is_not_shared_with_the_insurer(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "O-1", date(2026, 1, 5), "5000.00", "1000.00", due=date(2026, 2, 4))  # deadline 5 May
    world.invoice(buyer, "O-2", date(2026, 3, 1), "9000.00", "1800.00", due=date(2026, 3, 31))
    world.on(date(2026, 5, 10))
    result = world.notify(buyer)
    assert {j.invoice.number: j.verdict.value for j in result.judged} == {"O-1": "refused", "O-2": "accepted"}
    world.on(date(2026, 10, 7))
    claim = world.file(buyer)
    world.complete(claim)
    settled = world.settle(claim.id)
    assert settled.settlement is not None
    assert settled.settlement.indemnity == eur("8100.00")
    case = world.case_of(buyer)
    assert case is not None
    # The collectors obtain 6,000: O-1, the oldest debt, takes it all. O-1 is no part of the claim (its
    # notification was late): the insurer, subrogated in the claim's loss only, has no share of it and takes
    # its 10 % collection commission instead (examples/claim_late_notification.yaml).
    world.on(date(2026, 12, 1))
    receipt = world.receive(case.id, "6000.00", date(2026, 12, 1))
    assert [(line.number, line.guaranteed) for line in receipt.lines] == [("O-1", False)]
    assert receipt.commission_amount == eur("600.00")
    view = world.view(claim.id)
    assert all(not r.insurer_share.is_positive() for r in view.recoveries), view.recoveries
    assert [m for m in view.movements if m.kind == "recovery_share"] == []


def test_an_approval_is_not_stale_because_of_its_own_aggregate_deductible(aggregate: World) -> None:
    world = aggregate
    buyer = world.buyer()
    world.invoice(buyer, "AD-1", date(2026, 1, 10), "30000.00", "6000.00")
    claim = world.claimed(buyer)
    computed = world.settle(claim.id, threshold="20000")
    # 30,000 × 90 % = 27,000 less the whole 3,000 deductible = 24,000, above the approval amount.
    assert computed.status == "awaiting_approval"
    assert computed.settlement is not None
    assert computed.settlement.indemnity == eur("24000.00")
    world.later()
    approved = world.do(
        claims.approve_settlement, world.clock, world.second_handler, claim.id, approve=True, reason="reviewed"
    )
    assert approved.status == "settled"
    assert approved.computation is not None
    assert approved.computation.indemnity.indemnity == eur("24000.00")


def test_an_approval_is_not_stale_because_of_its_own_use_of_the_maximum_liability(capped: World) -> None:
    world = capped
    buyer = world.buyer()
    world.invoice(buyer, "MA-1", date(2026, 1, 10), "8000.00", "1600.00")
    claim = world.claimed(buyer)
    computed = world.settle(claim.id, threshold="5000")
    # 8,000 × 90 % = 7,200, within the 10,000 maximum liability, above the approval amount.
    assert computed.status == "awaiting_approval"
    assert computed.settlement is not None
    assert computed.settlement.indemnity == eur("7200.00")
    world.later()
    approved = world.do(
        claims.approve_settlement, world.clock, world.second_handler, claim.id, approve=True, reason="reviewed"
    )
    assert approved.status == "settled"
    assert approved.computation is not None
    assert approved.computation.indemnity.indemnity == eur("7200.00")


def test_a_recovery_between_the_computation_and_its_approval_is_not_lost(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "W-1", date(2026, 1, 10), "30000.00", "6000.00")
    claim = world.claimed(buyer)
    computed = world.settle(claim.id, threshold="20000")
    assert computed.status == "awaiting_approval"
    case = world.case_of(buyer)
    assert case is not None
    # The next day, before the second claims handler approves, the collectors obtain 1,200 incl. VAT.
    world.on(DATE_OF_LOSS + timedelta(days=1))
    world.receive(case.id, "1200.00", world.clock.today())
    world.on(DATE_OF_LOSS + timedelta(days=2))
    stale: Conflict | None = None
    try:
        outcome = world.do(
            claims.approve_settlement, world.clock, world.second_handler, claim.id, approve=True, reason="ok"
        )
    except Conflict as error:
        stale = error
    if stale is not None:  # the ledger changed: computing again counts the recovery in the loss
        assert stale.code == "claim.settlement_stale"
        return
    # Or the indemnity computed before it is paid, and the recovery is shared as one received after it.
    assert outcome.status == "settled"
    view = world.view(claim.id)
    assert [(r.amount, r.insurer_share) for r in view.recoveries] == [(eur("1200.00"), eur("900.00"))]


def test_notifications_listed_by_buyer_are_counted_by_buyer(world: World) -> None:
    first, second = world.buyer(), world.buyer()
    world.invoice(first, "P-1", date(2026, 1, 10), "1000.00", "200.00")
    world.invoice(second, "P-2", date(2026, 1, 10), "1000.00", "200.00")
    world.notify(first)
    world.later()
    world.notify(second)
    for page in (Page(), Page(limit=1)):
        found, total = world.read(overdues.list_notifications, world.handler, policy_id=None, buyer_id=first, page=page)
        assert ([n.buyer_id for n in found], total) == ([first], 1)
        found, total = world.read(
            overdues.list_notifications, world.insured_a, policy_id=world.policy_a, buyer_id=first, page=page
        )
        assert ([n.buyer_id for n in found], total) == ([first], 1)


# ============================================================================ more rules


def test_an_insolvency_claim_opens_at_once_and_its_notification_covers_invoices_not_yet_due(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "I-1", date(2026, 1, 20), "6000.00", "1200.00")  # due 19 February
    world.invoice(buyer, "I-2", date(2026, 3, 2), "2000.00", "400.00", due=date(2026, 4, 30))  # not due yet
    with world.container.uow() as uow:
        uow.monitoring.add_legal_event(
            LegalEvent(
                str(uuid.uuid4()), buyer, LegalEventKind.LIQUIDATION, "Jugement de liquidation judiciaire",
                date(2026, 3, 5), date(2026, 3, 12), "bodacc", "test-1", None, world.clock.now(),
            )
        )  # fmt: skip
        uow.commit()
    # Published on 12 March: every invoice is to be notified by 11 April, those not yet due included.
    result = world.notify(buyer)
    assert {j.invoice.number: (j.verdict.value, j.deadline) for j in result.judged} == {
        "I-1": ("accepted", date(2026, 4, 11)),
        "I-2": ("accepted", date(2026, 4, 11)),
    }
    claim = world.file(buyer)  # no waiting period: the judgment makes the loss
    assert (claim.cause, claim.date_of_loss) == (ClaimCause.INSOLVENCY, date(2026, 3, 5))
    world.complete(claim)
    assert DocumentKind.ADMINISTRATOR_CLAIM_FILING in required_documents(claim.cause)
    outcome = world.settle(claim.id)
    assert outcome.status == "settled"
    assert line_amounts(outcome) == {
        "invoices_unpaid": "8000.00",
        "loss": "8000.00",
        "covered_loss": "8000.00",
        "indemnity_rate": "7200.00",
        "indemnity": "7200.00",
    }


def test_a_delivery_after_the_notification_is_refused_in_a_later_one_and_left_out_of_the_claim(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "S-1", date(2026, 1, 10), "2000.00", "400.00")
    world.notify(buyer)
    world.on(date(2026, 3, 20))
    world.invoice(buyer, "S-2", date(2026, 3, 20), "1500.00", "300.00", due=date(2026, 4, 19))  # after stop-ship
    world.on(date(2026, 5, 1))
    later = world.notify(buyer)
    [judged] = later.judged
    assert (judged.invoice.number, judged.refusal and judged.refusal.value, judged.detail) == (
        "S-2",
        "overdue.not_covered",
        "delivered_after_overdue_notification",
    )
    world.on(DATE_OF_LOSS)
    claim = world.file(buyer)
    world.complete(claim)
    outcome = world.settle(claim.id)
    assert outcome.computation is not None
    assert [i.number for i in outcome.computation.invoices] == ["S-1"]
    assert outcome.settlement is not None
    assert outcome.settlement.indemnity == eur("1800.00")


def test_a_loss_below_the_non_qualifying_amount_is_refused_and_pays_nothing(world: World) -> None:
    buyer = world.buyer()
    world.invoice(buyer, "Q-1", date(2026, 1, 10), "900.00", "180.00")
    claim = world.claimed(buyer)
    outcome = world.settle(claim.id)
    assert (outcome.status, outcome.code) == ("refused", "claim.non_qualifying_loss")
    assert line_amounts(outcome) == {
        "invoices_unpaid": "900.00",
        "loss": "900.00",
        "covered_loss": "900.00",
        "non_qualifying_loss": None,
        "indemnity": "0.00",
    }
    view = world.view(claim.id)
    assert view.claim.status is ClaimStatus.REFUSED
    assert [s.status.value for s in view.settlements] == ["refused"]
    assert view.movements == []
    world.refused(RuleBroken, "claim.not_settleable", lambda: world.settle(claim.id))
