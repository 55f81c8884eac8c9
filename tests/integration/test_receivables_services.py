"""Receivables through the services, on SQLite and PostgreSQL (DOMAIN.md §5, §6, §7).

The ledger (invoices, credit notes, payments, disputes, reversals, factor
assignments), the covered exposure with limits decided by the real credit
limit services, exchange rates, the aged balance, the order check, the payment
experience, the alerts and their delivery to a real SMTP server and a real
HTTP endpoint, and imports of real e-invoice samples and of a FEC.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tradecover.bootstrap import Container
from tradecover.domain.credit_limits import LimitDecision, LimitStatus
from tradecover.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from tradecover.domain.exposure import BuyerExposure, Ineligibility, OrderCheck, OrderCover, OrderReason
from tradecover.domain.money import Money
from tradecover.domain.monitoring import Alert, AlertKind, AlertState, GradeRecord
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.domain.periods import FixedClock
from tradecover.domain.receco import RequestType
from tradecover.domain.receivables import EntryKind, Invoice, Payment
from tradecover.domain.webhook_signing import MAX_ATTEMPTS, retry_delay
from tradecover.ingest.einvoice import parse_einvoice
from tradecover.ingest.fec import parse_fec
from tradecover.ingest.ledger_records import InvoiceRecord, LedgerFile
from tradecover.notify.channels import SmtpAndWebhookChannels
from tradecover.notify.dispatcher import deliver_due
from tradecover.notify.email import SmtpSettings
from tradecover.notify.receiver import verify_request
from tradecover.persistence import tables as t
from tradecover.services import accounts, alerts, buyers, credit_limits, exposure, ledger, policies
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.ledger_import import ImportReport, import_ledger
from tradecover.services.ledger_ports import AlertDelivery
from tradecover.services.ports import Page

EUR = "EUR"
SIREN_A = "732829320"  # insured A's own SIREN
SIREN_1 = "552100554"
SIREN_2 = "542051180"
SIREN_3 = "345086177"
SIREN_4 = "954507976"
START = date(2026, 1, 5)  # the world begins a few days into the policy year (policies start on 1 January)
EINVOICES = Path("/work/shared/data/external/einvoice")
SENDER = "alertes@tradecover.example"
T = TypeVar("T")


def eur(amount: str | int | Decimal) -> Money:
    return Money.of(amount, EUR)


def raises(kind: type[DomainError], code: str, action: Callable[[], object]) -> DomainError:
    with pytest.raises(kind) as caught:
        action()
    assert caught.value.code == code, caught.value
    return caught.value


class World:
    """The insurer, an underwriter, insureds A and B with a policy each (A's terms may be changed), their users."""

    def __init__(self, container: Container, **terms_a: Any) -> None:
        self.container = container
        self.clock: FixedClock = container.clock  # type: ignore[assignment]
        self.on(START)
        with container.uow() as uow:
            insurer = accounts.ensure_insurer(uow, self.clock)
            self.admin: Actor = system_actor(insurer.id)
        self.a, self.policy_a = self.insured("Insured A", SIREN_A, **terms_a)
        self.b, self.policy_b = self.insured("Insured B")
        self.uw = Actor("uw-1", "uw-1", insurer.id, OrganisationKind.INSURER, Role.UNDERWRITER)
        self.insured_a = self.user("user-a", self.a)
        self.insured_b = self.user("user-b", self.b)
        self._capacity: set[str] = set()

    def insured(self, name: str, siren: str | None = None, **terms: Any) -> tuple[str, str]:
        """A new policyholder and its policy from 1 January 2026."""
        with self.container.uow() as uow:
            organisation = accounts.create_organisation(
                uow, self.clock, self.admin, kind=OrganisationKind.POLICYHOLDER, name=name, country="FR", siren=siren
            )
            policy, _ = policies.issue_policy(
                uow, self.clock, self.admin, policyholder_id=organisation.id, start_date=date(2026, 1, 1),
                terms=terms or None,
            )  # fmt: skip
        return organisation.id, policy.id

    @staticmethod
    def user(user_id: str, organisation_id: str) -> Actor:
        return Actor(user_id, user_id, organisation_id, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)

    def actor_of(self, policy_id: str) -> Actor:
        return self.insured_b if policy_id == self.policy_b else self.insured_a

    def on(self, day: date) -> None:
        """Move the clock to 10:00 UTC on ``day``."""
        self.clock.set(datetime.combine(day, time(10, 0), tzinfo=UTC))

    def do(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a service in its own unit of work and commit."""
        with self.container.uow() as uow:
            result = action(uow, *args, **kwargs)
            uow.commit()
            return result

    def read(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.container.uow() as uow:
            return action(uow, *args, **kwargs)

    def buyer(self, siren: str, *books: str, name: str | None = None, **kw: Any) -> str:
        buyer_id = ""
        for organisation_id in books or (self.a,):
            created, _ = self.read(
                buyers.add_buyer, self.clock, self.admin, identifiers=[("siren", siren)],
                legal_name=name or f"Acheteur {siren}", country="FR", organisation_id=organisation_id, **kw,
            )  # fmt: skip
            buyer_id = created.id
        return buyer_id

    def grade(self, buyer_id: str, grade: int) -> None:
        with self.container.uow() as uow:
            current = uow.buyers.get(buyer_id)
            assert current is not None
            uow.buyers.record_grade(
                GradeRecord(
                    buyer_id=buyer_id, grade=grade, probability_of_default=Decimal("0.01"), factors={"test": 1.0},
                    model_version="test", run_id=str(uuid.uuid4()), inputs_version=current.inputs_version,
                    graded_at=self.clock.now(), previous_grade=current.risk_grade,
                )
            )  # fmt: skip
            uow.commit()

    def limit(
        self,
        buyer_id: str,
        amount: str,
        *,
        policy_id: str | None = None,
        request_type: RequestType = RequestType.NEW,
    ) -> LimitDecision:
        """The insured's request, decided by the engine at once (capacity 1,000,000 on a grade-3 buyer)."""
        policy_id = policy_id or self.policy_a
        if buyer_id not in self._capacity:
            self.grade(buyer_id, 3)
            self.read(credit_limits.set_capacity, self.clock, self.uw, buyer_id, amount="1000000", reason="test")
            self._capacity.add(buyer_id)
        outcome = self.read(
            credit_limits.request_limit, self.clock, self.actor_of(policy_id), policy_id=policy_id,
            buyer_id=buyer_id, amount=amount, request_type=request_type,
        )  # fmt: skip
        assert outcome.decision is not None, outcome.request
        return outcome.decision

    def revise(self, buyer_id: str, amount: str | None, *, policy_id: str | None = None) -> LimitDecision:
        """The insurer reduces (or cancels, ``amount`` None) a limit; the policy's reduction notice applies."""
        return self.read(
            credit_limits.revise_limit, self.clock, self.uw, policy_id=policy_id or self.policy_a, buyer_id=buyer_id,
            amount=amount, reason="test revision",
        )  # fmt: skip

    def invoice(
        self,
        buyer_id: str,
        number: str,
        issued: date,
        net: str,
        vat: str = "0",
        *,
        due: date | None = None,
        delivered: date | None = None,
        policy_id: str | None = None,
        currency: str = EUR,
        **kw: Any,
    ) -> Invoice:
        policy_id = policy_id or self.policy_a
        recorded = self.do(
            ledger.record_invoice, self.clock, self.actor_of(policy_id), policy_id=policy_id, buyer_id=buyer_id,
            number=number, issue_date=issued, delivery_date=delivered, due_date=due or issued + timedelta(days=30),
            amount_excl_vat=Money.of(net, currency), vat_amount=Money.of(vat, currency), **kw,
        )  # fmt: skip
        assert isinstance(recorded.entry, Invoice)
        return recorded.entry

    def pay(
        self,
        buyer_id: str,
        amount: str,
        received: date,
        *,
        policy_id: str | None = None,
        currency: str = EUR,
        **kw: Any,
    ) -> Payment:
        policy_id = policy_id or self.policy_a
        recorded = self.do(
            ledger.record_payment, self.clock, self.actor_of(policy_id), policy_id=policy_id, buyer_id=buyer_id,
            amount=Money.of(amount, currency), received_on=received, **kw,
        )  # fmt: skip
        assert isinstance(recorded.entry, Payment)
        return recorded.entry

    def exposure(self, buyer_id: str, on: date, *, policy_id: str | None = None) -> BuyerExposure:
        policy_id = policy_id or self.policy_a
        result = self.read(exposure.policy_exposure, self.actor_of(policy_id), policy_id, on=on, buyer_id=buyer_id)
        [(_, found)] = result.buyers
        return found

    def check(self, buyer_id: str, amount: str, *, reference: str | None = None, on: date | None = None) -> OrderCheck:
        return self.do(
            exposure.order_check, self.clock, self.insured_a, policy_id=self.policy_a, buyer_id=buyer_id,
            amount=eur(amount), reference=reference, on=on,
        )  # fmt: skip

    def alerts(self, organisation_id: str | None = None) -> list[Alert]:
        with self.container.uow() as uow:
            found, _ = uow.alerts.find(
                organisation_ids=frozenset({organisation_id or self.a}), policy_id=None, states=None, limit=500,
                offset=0,
            )  # fmt: skip
        return found

    def run_alerts(self, on: date) -> int:
        return sum(self.do(alerts.run_alerts, self.clock, self.admin, on=on).values())

    def count(self, table: type[t.Base]) -> int:
        with self.container.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(table)) or 0


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def world(container: Container) -> World:
    return World(container)


@pytest.fixture
def noticed(container: Container) -> World:
    """Insured A's policy gives 30 days' notice of a reduction or cancellation."""
    return World(container, reduction_notice_days=30)


# ============================================================================ recording


def test_an_identical_resend_returns_the_recorded_invoice_and_other_content_conflicts(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    first = world.invoice(buyer, "F-1", date(2026, 1, 10), "1000.00", "200.00")
    again = world.read(
        ledger.record_invoice, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer, number=" F-1 ",
        issue_date=date(2026, 1, 10), delivery_date=None, due_date=date(2026, 2, 9),
        amount_excl_vat=eur("1000"), vat_amount=eur("200.0"),
    )  # fmt: skip
    assert (again.created, again.entry.id) == (False, first.id)
    assert world.count(t.LedgerInvoiceRow) == 1
    error = raises(
        Conflict,
        "ledger.conflicting_resend",
        lambda: world.invoice(buyer, "F-1", date(2026, 1, 10), "1000.01", "200.00"),
    )
    assert error.field == "number"
    assert error.context["recorded_id"] == first.id
    other_due = date(2026, 3, 1)
    resend = lambda: world.invoice(buyer, "F-1", date(2026, 1, 10), "1000.00", "200.00", due=other_due)  # noqa: E731
    raises(Conflict, "ledger.conflicting_resend", resend)
    assert world.count(t.LedgerInvoiceRow) == 1
    # A credit note may carry an invoice's number: it is another kind of entry.
    note = world.invoice(buyer, "F-1", date(2026, 1, 20), "10", kind=EntryKind.CREDIT_NOTE, invoice_reference="F-1")
    assert note.kind is EntryKind.CREDIT_NOTE


def test_unknown_buyer_and_another_insureds_policy_or_buyer_are_not_found(world: World) -> None:
    mine = world.buyer(SIREN_1)
    theirs = world.buyer(SIREN_2, world.b)
    raises(NotFound, "buyer.not_found", lambda: world.invoice("no-such-buyer", "F-1", date(2026, 1, 10), "100"))
    raises(NotFound, "buyer.not_found", lambda: world.invoice(theirs, "F-1", date(2026, 1, 10), "100"))
    with pytest.raises(NotFound) as caught:
        world.do(
            ledger.record_invoice, world.clock, world.insured_a, policy_id=world.policy_b, buyer_id=mine,
            number="F-1", issue_date=date(2026, 1, 10), delivery_date=None, due_date=None,
            amount_excl_vat=eur(100), vat_amount=eur(0),
        )  # fmt: skip
    assert caught.value.code == "policy.not_found"
    raises(NotFound, "policy.not_found", lambda: world.pay(mine, "10", date(2026, 1, 10), policy_id="no-such-policy"))
    with pytest.raises(NotFound):
        world.read(exposure.policy_exposure, world.insured_a, world.policy_b, on=date(2026, 1, 10))
    assert world.count(t.LedgerInvoiceRow) == 0


def test_bad_amounts_and_dates_are_refused_naming_the_field(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    day = date(2026, 1, 10)
    cases: list[tuple[Callable[[], object], str, str]] = [
        (lambda: world.invoice(buyer, "F", day, "-100"), "ledger.negative_amount", "amount_excl_vat"),
        (lambda: world.invoice(buyer, "F", day, "100", "-20"), "ledger.negative_amount", "vat_amount"),
        (lambda: world.invoice(buyer, "F", day, "0", "0"), "ledger.invalid_amount", "amount_excl_vat"),
        (lambda: world.invoice(buyer, "F", day, "10.001"), "ledger.invalid_amount", "amount_excl_vat"),
        (lambda: world.invoice(buyer, "F", day, "100", due=day - timedelta(days=1)), "ledger.invalid_due_date",
         "due_date"),
        (lambda: world.invoice(buyer, "F", day, "100", delivered=day - timedelta(days=400)),
         "ledger.invalid_delivery_date", "delivery_date"),
        (lambda: world.invoice(buyer, "  ", day, "100"), "ledger.bad_number", "number"),
        (lambda: world.pay(buyer, "0", day), "ledger.invalid_amount", "amount"),
        (lambda: world.pay(buyer, "-5", day), "ledger.invalid_amount", "amount"),
        (lambda: world.pay(buyer, "5.001", day), "ledger.invalid_amount", "amount"),
        (lambda: world.check(buyer, "0"), "order_check.invalid_amount", "amount"),
    ]  # fmt: skip
    for action, code, field_name in cases:
        error = raises(InvalidInput, code, action)
        assert error.field == field_name, (code, error.field)
    assert world.count(t.LedgerInvoiceRow) == world.count(t.LedgerPaymentRow) == 0


def test_a_credit_note_needs_a_known_invoice_and_settles_it_first(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    world.invoice(buyer, "F-1", date(2026, 1, 10), "1000", "200")
    world.invoice(buyer, "F-2", date(2026, 1, 12), "500", "100")
    error = raises(
        InvalidInput,
        "ledger.unknown_invoice",
        lambda: world.invoice(buyer, "AV-1", date(2026, 1, 20), "100", kind=EntryKind.CREDIT_NOTE,
                              invoice_reference="F-404"),
    )  # fmt: skip
    assert error.field == "invoice"
    world.invoice(buyer, "AV-1", date(2026, 1, 20), "100", "20", kind=EntryKind.CREDIT_NOTE, invoice_reference="F-2")
    lines = {line.number: line.open_net for line in world.exposure(buyer, date(2026, 1, 31)).lines}
    assert lines == {"F-1": eur("1000"), "F-2": eur("400")}


def test_a_payment_with_a_known_reference_is_recorded_once(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    world.invoice(buyer, "F-1", date(2026, 1, 10), "1000", "200")
    first = world.pay(buyer, "600", date(2026, 2, 1), reference="VIR-0001", invoices=["F-1"])
    again = world.do(
        ledger.record_payment, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
        amount=eur("600.00"), received_on=date(2026, 2, 1), reference=" VIR-0001 ",
    )  # fmt: skip
    assert (again.created, again.entry.id) == (False, first.id)
    error = raises(Conflict, "ledger.conflicting_resend", lambda: world.pay(buyer, "700", date(2026, 2, 1),
                                                                           reference="VIR-0001"))  # fmt: skip
    assert error.field == "reference"
    world.pay(buyer, "600", date(2026, 2, 1), reference="VIR-0002")  # the same amount, another transfer
    assert world.count(t.LedgerPaymentRow) == 2
    assert world.exposure(buyer, date(2026, 2, 2)).outstanding == eur(0)
    # Without a reference, a payment is known by its date, amount and the invoices it names, however many.
    numbers = [f"FACTURE-2026-{i:04d}-{'X' * 40}" for i in range(8)]
    for number in numbers:
        world.invoice(buyer, number, date(2026, 1, 15), "10")
    named = world.pay(buyer, "80", date(2026, 2, 3), invoices=numbers)
    resent = world.do(
        ledger.record_payment, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
        amount=eur("80"), received_on=date(2026, 2, 3), invoices=numbers,
    )  # fmt: skip
    assert (resent.created, resent.entry.id) == (False, named.id)
    assert world.count(t.LedgerPaymentRow) == 3


def test_a_dispute_takes_the_invoice_out_of_cover_until_it_is_resolved(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    world.limit(buyer, "50000")
    world.invoice(buyer, "F-1", date(2026, 1, 10), "20000", "4000")
    world.invoice(buyer, "F-2", date(2026, 1, 11), "5000", "1000")
    on = date(2026, 1, 20)
    world.on(on)
    assert world.exposure(buyer, on).covered == eur(25_000)

    def dispute(action: Callable[..., object], number: str, day: date) -> Any:
        return world.do(
            action, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer, invoice_number=number,
            on=day, reason="marchandise abîmée",
        )  # fmt: skip

    opened = dispute(ledger.open_dispute, "F-1", on)
    found = world.exposure(buyer, on)
    assert (found.outstanding, found.covered) == (eur(25_000), eur(5_000))
    assert {line.number: line.reason for line in found.lines} == {"F-1": Ineligibility.DISPUTED, "F-2": None}
    assert OrderReason.OPEN_DISPUTE in world.check(buyer, "100").reasons
    raises(Conflict, "dispute.already_open", lambda: dispute(ledger.open_dispute, "F-1", on))
    raises(NotFound, "invoice.not_found", lambda: dispute(ledger.open_dispute, "F-404", on))
    raises(InvalidInput, "dispute.bad_date", lambda: dispute(ledger.resolve_dispute, "F-1", on - timedelta(days=1)))

    resolved = dispute(ledger.resolve_dispute, "F-1", on + timedelta(days=5))
    assert (resolved.id, resolved.resolved_on) == (opened.id, on + timedelta(days=5))
    assert world.exposure(buyer, on + timedelta(days=2)).covered == eur(5_000)  # still disputed then
    assert world.exposure(buyer, on + timedelta(days=5)).covered == eur(25_000)  # covered again
    assert OrderReason.OPEN_DISPUTE not in world.check(buyer, "100").reasons
    raises(NotFound, "dispute.not_found", lambda: dispute(ledger.resolve_dispute, "F-1", on + timedelta(days=6)))
    [stored] = world.read(ledger.list_disputes, world.insured_a, world.policy_a, buyer_id=buyer)
    assert (stored.opened_on, stored.resolved_on, stored.reason) == (on, on + timedelta(days=5), "marchandise abîmée")


def test_a_reversed_entry_stays_in_the_ledger_and_exposure_ignores_it(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    wrong = world.invoice(buyer, "F-1", date(2026, 1, 10), "20000", "4000")
    kept = world.invoice(buyer, "F-2", date(2026, 1, 11), "10000", "2000")
    bounced = world.pay(buyer, "6000", date(2026, 1, 15), reference="CHQ-1")
    assert world.exposure(buyer, date(2026, 1, 20)).outstanding == eur(25_000)  # 6,000 paid F-1 first

    def reverse(entry_id: str, reason: str = "saisie erronée") -> None:
        world.do(ledger.reverse_entry, world.clock, world.insured_a, policy_id=world.policy_a, entry_id=entry_id,
                 reason=reason)  # fmt: skip

    reverse(wrong.id)
    reverse(bounced.id, "chèque impayé")
    found = world.exposure(buyer, date(2026, 1, 20))
    assert found.outstanding == eur(10_000)
    assert [line.number for line in found.lines] == ["F-2"]
    invoices, total, reversed_ids = world.read(
        ledger.list_invoices, world.insured_a, world.policy_a, buyer_id=buyer, limit=10, offset=0
    )
    assert total == 2
    assert {i.id for i in invoices} == {wrong.id, kept.id}  # the entry stays…
    assert reversed_ids == frozenset({wrong.id, bounced.id})  # …marked reversed
    [balance] = world.read(lambda uow: uow.ledger.balances(world.policy_a, buyer))
    assert (balance.unpaid_gross_minor, balance.unpaid_net_minor) == (1_200_000, 1_000_000)
    raises(Conflict, "ledger.already_reversed", lambda: reverse(wrong.id))
    raises(InvalidInput, "ledger.reason_required", lambda: reverse(kept.id, "  "))
    raises(NotFound, "ledger_entry.not_found", lambda: reverse("no-such-entry"))
    with world.container.engine.connect() as connection:
        rows = connection.execute(select(t.LedgerReversalRow.entry_id, t.LedgerReversalRow.reason)).all()
    reasons = {entry_id: reason for entry_id, reason in rows}
    assert reasons == {wrong.id: "saisie erronée", bounced.id: "chèque impayé"}


def test_an_invoice_is_assigned_to_a_factor_once(world: World) -> None:
    from tradecover.services import factoring

    with world.container.uow() as uow:
        factor = accounts.create_organisation(
            uow, world.clock, world.admin, kind=OrganisationKind.FACTOR, name="Factor Crédit SA", country="FR"
        )
    world.do(
        factoring.create_delegation, world.clock, world.admin, policy_id=world.policy_a, factor_id=factor.id,
        start_date=date(2026, 1, 1), reason="affacturage",
    )  # fmt: skip
    buyer = world.buyer(SIREN_1)
    at_once = world.invoice(buyer, "F-1", date(2026, 1, 10), "1000", factor="Factor Crédit SA")
    later = world.invoice(buyer, "F-2", date(2026, 1, 11), "1000")

    def assign(number: str) -> None:
        world.do(
            ledger.assign_to_factor, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
            invoice_number=number, factor=" Factor Crédit SA ", on=date(2026, 1, 20),
        )  # fmt: skip

    assign("F-2")
    assignments = world.read(lambda uow: uow.ledger.factor_assignments(world.policy_a))
    assert {k: (a.factor, a.assigned_on) for k, a in assignments.items()} == {
        at_once.id: ("Factor Crédit SA", date(2026, 1, 10)),
        later.id: ("Factor Crédit SA", date(2026, 1, 20)),
    }
    raises(Conflict, "ledger.already_assigned", lambda: assign("F-1"))
    raises(NotFound, "invoice.not_found", lambda: assign("F-404"))


def test_the_database_refuses_to_change_or_delete_recorded_entries(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    recorded = world.invoice(buyer, "F-1", date(2026, 1, 10), "1000", "200")
    world.pay(buyer, "100", date(2026, 1, 20), reference="VIR-1")
    statements = [
        "UPDATE ledger_invoices SET net_minor = 1",
        "DELETE FROM ledger_invoices",
        "UPDATE ledger_payments SET amount_minor = 1",
        "DELETE FROM ledger_payments",
    ]
    for statement in statements:
        with world.container.engine.connect() as connection, pytest.raises(DBAPIError) as caught:
            connection.execute(text(statement))
        assert "append-only" in str(caught.value), statement
    assert world.count(t.LedgerInvoiceRow) == world.count(t.LedgerPaymentRow) == 1
    with world.container.uow() as uow:
        stored = uow.ledger.get_invoice(recorded.id)
    assert stored is not None
    assert stored.amount_excl_vat == eur(1000)


# ============================================================================ covered exposure (§6)


def test_reduction_leaves_earlier_deliveries_covered_up_to_the_former_amount(noticed: World) -> None:
    w = noticed
    buyer = w.buyer(SIREN_1)
    granted = w.limit(buyer, "100000")
    assert (granted.status, granted.effective_date) == (LimitStatus.APPROVED, START)
    w.invoice(buyer, "F-1", date(2026, 2, 10), "70000", "14000", due=date(2026, 4, 10))
    w.on(date(2026, 3, 1))
    reduced = w.revise(buyer, "50000")
    # Notified on 1 March, with 30 days' notice: deliveries from 31 March.
    assert (reduced.status, reduced.effective_date, reduced.granted_amount) == (
        LimitStatus.REDUCED, date(2026, 3, 31), eur(50_000)
    )  # fmt: skip
    assert [a.kind for a in w.alerts()] == [AlertKind.LIMIT_REVISED]
    w.on(date(2026, 4, 6))
    w.invoice(buyer, "F-2", date(2026, 3, 20), "20000", "4000", due=date(2026, 5, 20))  # delivered before the reduction
    w.invoice(buyer, "F-3", date(2026, 4, 2), "15000", "3000", due=date(2026, 6, 1))  # delivered after it
    found = w.exposure(buyer, date(2026, 4, 6))
    assert found.limit_in_force == eur(50_000)
    assert found.outstanding == eur(105_000)
    assert found.covered == eur(90_000)  # F-1 and F-2 up to the former 100,000; F-3 does not fit in 50,000
    assert found.uncovered == eur(15_000)
    # On the day before the reduction applies, the former amount is in force.
    assert w.exposure(buyer, date(2026, 3, 30)).limit_in_force == eur(100_000)
    # Payments bring the total under the new amount: the later delivery is covered while the total fits.
    w.pay(buyer, "60000", date(2026, 4, 5))
    after = w.exposure(buyer, date(2026, 4, 6))
    assert after.outstanding == eur(55_000)
    assert after.covered == eur(50_000)


def test_later_delivery_is_covered_only_while_the_total_fits_the_new_amount(noticed: World) -> None:
    w = noticed
    buyer = w.buyer(SIREN_1)
    w.limit(buyer, "100000")
    w.invoice(buyer, "F-1", date(2026, 2, 10), "30000")
    w.on(date(2026, 3, 1))
    w.revise(buyer, "50000")
    w.on(date(2026, 4, 10))
    w.invoice(buyer, "F-2", date(2026, 4, 1), "40000")
    found = w.exposure(buyer, date(2026, 4, 10))
    assert (found.outstanding, found.covered, found.uncovered) == (eur(70_000), eur(50_000), eur(20_000))


def test_increase_covers_later_and_earlier_deliveries_up_to_the_new_amount(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    world.limit(buyer, "50000")
    world.invoice(buyer, "F-1", date(2026, 2, 10), "40000", "8000", due=date(2026, 3, 31))
    world.on(date(2026, 3, 1))
    increased = world.limit(buyer, "90000", request_type=RequestType.INCREASE)
    assert (increased.status, increased.effective_date, increased.sequence) == (
        LimitStatus.APPROVED, date(2026, 3, 1), 2
    )  # fmt: skip
    world.invoice(buyer, "F-2", date(2026, 3, 10), "40000", "8000")
    assert world.exposure(buyer, date(2026, 3, 15)).covered == eur(80_000)
    assert world.exposure(buyer, date(2026, 2, 28)).covered == eur(40_000)  # before the increase
    world.invoice(buyer, "F-3", date(2026, 3, 12), "20000")
    found = world.exposure(buyer, date(2026, 3, 15))
    assert (found.outstanding, found.covered, found.limit_in_force) == (eur(100_000), eur(90_000), eur(90_000))


def test_cancellation_is_a_period_with_limit_zero(noticed: World) -> None:
    w = noticed
    buyer = w.buyer(SIREN_1)
    w.limit(buyer, "60000")
    w.invoice(buyer, "F-1", date(2026, 2, 10), "30000", "6000", due=date(2026, 4, 30))
    w.on(date(2026, 3, 1))
    cancelled = w.revise(buyer, None)
    assert (cancelled.status, cancelled.effective_date) == (LimitStatus.CANCELLED, date(2026, 3, 31))
    w.on(date(2026, 4, 5))
    w.invoice(buyer, "F-2", date(2026, 4, 2), "10000", "2000")
    found = w.exposure(buyer, date(2026, 4, 5))
    assert found.limit_in_force == eur(0)
    assert (found.outstanding, found.covered, found.uncovered) == (eur(40_000), eur(30_000), eur(10_000))
    assert found.utilisation is None
    check = w.check(buyer, "1000")
    assert (check.status, check.reasons) == (OrderCover.NOT_COVERED, (OrderReason.NO_LIMIT,))


def test_exposure_converts_other_currencies_and_lists_those_without_a_rate(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    world.limit(buyer, "100000")
    world.invoice(buyer, "E-1", date(2026, 1, 10), "1000", "200")
    world.invoice(buyer, "U-1", date(2026, 1, 10), "10000", "0", currency="USD")
    world.invoice(buyer, "C-1", date(2026, 1, 11), "1000", "0", currency="CHF")
    world.invoice(buyer, "G-1", date(2026, 1, 12), "500", "100", currency="GBP")
    world.pay(buyer, "2000", date(2026, 1, 20), currency="USD")  # dollars pay the dollar invoice only
    on = date(2026, 1, 31)
    added = world.do(
        ledger.add_exchange_rates, world.clock, world.admin,
        [("USD", "EUR", date(2026, 1, 2), "0.9"), ("USD", "EUR", on + timedelta(days=1), "5"),
         ("EUR", "CHF", date(2026, 1, 2), "1.25")],
    )  # fmt: skip
    assert added == 3
    assert world.do(ledger.add_exchange_rates, world.clock, world.admin, [("USD", "EUR", date(2026, 1, 2), "1")]) == 0
    raises(InvalidInput, "rate.invalid", lambda: world.do(ledger.add_exchange_rates, world.clock, world.admin,
                                                          [("USD", "EUR", on, "abc")]))  # fmt: skip
    raises(InvalidInput, "rate.invalid", lambda: world.do(ledger.add_exchange_rates, world.clock, world.admin,
                                                          [("USD", "EUR", on, "-1")]))  # fmt: skip
    with pytest.raises(Forbidden):
        world.do(ledger.add_exchange_rates, world.clock, world.insured_a, [("USD", "EUR", on, "1")])
    # Two rates for one day in one batch are refused (they used to fail on the database's unique key).
    twice = [("USD", "EUR", date(2026, 1, 9), "0.9"), ("USD", "EUR", date(2026, 1, 9), "0.91")]
    assert raises(InvalidInput, "rate.duplicate", lambda: world.do(ledger.add_exchange_rates, world.clock,
                                                                   world.admin, twice)).field == "rate"  # fmt: skip
    found = world.exposure(buyer, on)
    # 1,000 EUR + 8,000 USD × 0.9 (the rate of 2 January, not the later one) + 1,000 CHF ÷ 1.25
    assert found.outstanding == eur(1_000 + 7_200 + 800)
    assert found.covered == eur(9_000)
    assert found.unconverted == ("G-1",)
    lines = {line.number: (line.currency, line.open_net, line.reason) for line in found.lines}
    assert lines["U-1"] == ("USD", eur(7_200), None)
    assert lines["G-1"] == ("GBP", eur(0), Ineligibility.NO_EXCHANGE_RATE)
    # The order check converts the balances too; the pound invoice it cannot convert counts nothing.
    assert world.check(buyer, "1000", on=on).unpaid == eur(9_000)


def test_aged_report_buckets_each_buyer_and_gives_the_dso(world: World) -> None:
    on = date(2026, 6, 30)
    world.on(on)
    first = world.buyer(SIREN_1, name="Dupont SA")
    second = world.buyer(SIREN_2, name="Martin SARL")
    world.invoice(first, "A-1", date(2026, 4, 2), "1000", "200", due=date(2026, 5, 31))  # 30 days overdue
    world.invoice(first, "A-2", date(2026, 6, 1), "2000", "400", due=on)  # due today: not due
    world.pay(first, "200", date(2026, 6, 15))  # settles the oldest, A-1
    world.invoice(second, "B-1", date(2026, 2, 1), "5000", "1000", due=date(2026, 3, 31))  # 91 days overdue
    world.invoice(second, "B-2", date(2026, 5, 1), "900", "0", due=date(2026, 5, 1), currency="USD")
    world.pay(second, "6500", date(2026, 6, 20), reference="VIR-OVER", invoices=["B-1"])  # 500 on account
    report = world.read(exposure.aged_report, world.insured_a, world.policy_a, on=on)
    rows = {b.legal_name: (aged, dso) for b, aged, dso in report.buyers}
    dupont, dupont_dso = rows["Dupont SA"]
    assert {k: v for k, v in dupont.buckets.items() if v.is_positive()} == {"not_due": eur(2_400), "1_30": eur(1_000)}
    assert dupont.on_account == eur(0)
    # Sales of the last 90 days incl. VAT 3,600; receivables 3,400: 3,400 × 90 / 3,600 = 85 days.
    assert dupont_dso == Decimal("85.0")
    martin, martin_dso = rows["Martin SARL"]
    assert martin.total == eur(0)
    assert martin.on_account == eur(500)
    assert martin_dso is None  # no euro sales in the window
    assert report.total.total == eur(3_400)
    assert report.total.on_account == eur(500)
    assert report.dso == Decimal("85.0")
    assert set(report.other_currencies) == {"USD"}
    assert report.other_currencies["USD"].buckets["31_60"] == Money.of("900", "USD")


# ============================================================================ order check


def test_order_check_answers_from_the_balances_with_its_reasons(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    world.limit(buyer, "100000")
    world.invoice(buyer, "F-1", date(2026, 1, 10), "30000", "6000")
    covered = world.check(buyer, "50000")
    assert (covered.status, covered.covered, covered.headroom, covered.unpaid) == (
        OrderCover.COVERED, eur(50_000), eur(70_000), eur(30_000)  # unpaid excluding VAT
    )  # fmt: skip
    assert covered.reasons == (OrderReason.WITHIN_LIMIT,)
    partly = world.check(buyer, "80000")
    assert (partly.status, partly.covered, partly.reasons) == (
        OrderCover.PARTIALLY_COVERED, eur(70_000), (OrderReason.LIMIT_EXCEEDED,)
    )  # fmt: skip
    assert world.count(t.OpenOrderRow) == 0  # without a reference, nothing is kept
    world.invoice(buyer, "F-2", date(2026, 1, 11), "70000")
    full = world.check(buyer, "1")
    assert (full.status, full.covered, full.headroom) == (OrderCover.NOT_COVERED, eur(0), eur(0))

    graded = world.buyer(SIREN_2)
    world.limit(graded, "20000")
    world.grade(graded, 8)
    watch = world.check(graded, "1000")
    assert (watch.status, watch.reasons) == (OrderCover.COVERED, (OrderReason.WITHIN_LIMIT, OrderReason.GRADE))
    world.grade(graded, 9)  # from grade 9 the buyer is not coverable
    assert world.check(graded, "1000").status is OrderCover.NOT_COVERED
    assert OrderReason.BUYER_NOT_COVERABLE in world.check(graded, "1000").reasons

    unknown = world.buyer(SIREN_3)
    nothing = world.check(unknown, "1000")
    assert (nothing.status, nothing.reasons) == (OrderCover.NOT_COVERED, (OrderReason.NO_LIMIT,))

    notified = world.buyer(SIREN_4)
    world.limit(notified, "20000")
    with world.container.uow() as uow:
        uow.ledger.add_overdue_notification(
            id=str(uuid.uuid4()), policy_id=world.policy_a, buyer_id=notified, notified_on=world.clock.today(),
            by="test", at=world.clock.now(),
        )  # fmt: skip
        uow.commit()
    stopped = world.check(notified, "1000")
    assert (stopped.status, stopped.covered, stopped.reasons) == (
        OrderCover.NOT_COVERED, eur(0), (OrderReason.OVERDUE_NOTIFICATION,)
    )  # fmt: skip
    raises(InvalidInput, "order_check.currency_mismatch", lambda: world.do(
        exposure.order_check, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
        amount=Money.of("10", "USD"),
    ))  # fmt: skip
    outside = world.check(buyer, "10", on=date(2027, 1, 1))
    assert OrderReason.POLICY_NOT_IN_FORCE in outside.reasons


def test_order_check_without_limit_applies_the_discretionary_limit_as_of_its_date(world: World) -> None:
    world.on(date(2026, 1, 15))
    buyer = world.buyer(SIREN_1)
    world.invoice(buyer, "OLD", date(2024, 12, 1), "500", due=date(2024, 12, 31))  # trading for over a year
    world.pay(buyer, "500", date(2024, 12, 31))
    world.invoice(buyer, "NEW", date(2026, 1, 10), "3000", due=date(2026, 2, 9))
    on_time = world.check(buyer, "1000", on=date(2026, 1, 15))
    assert (on_time.status, on_time.limit_in_force) == (OrderCover.COVERED, eur(10_000))  # discretionary limit
    assert world.exposure(buyer, date(2026, 1, 15)).limit_in_force == eur(10_000)
    # Nothing recorded since; on 20 April NEW is 70 days overdue (> 60): no discretionary cover any more,
    # in the order check as in the exposure (the balances index dates from the last ledger change).
    late = world.check(buyer, "1000", on=date(2026, 4, 20))
    assert (late.status, late.limit_in_force, late.reasons) == (OrderCover.NOT_COVERED, eur(0), (OrderReason.NO_LIMIT,))
    assert world.exposure(buyer, date(2026, 4, 20)).limit_in_force == eur(0)
    assert world.check(buyer, "1000", on=date(2026, 4, 10)).status is OrderCover.COVERED  # 60 days: still covered


def test_an_order_with_a_reference_counts_until_an_invoice_carries_it(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    world.limit(buyer, "100000")
    world.invoice(buyer, "F-1", date(2026, 1, 5), "20000", "4000")
    first = world.check(buyer, "50000", reference="PO-1")
    assert (first.status, first.covered, first.open_orders) == (OrderCover.COVERED, eur(50_000), eur(0))
    second = world.check(buyer, "40000")
    assert (second.status, second.covered, second.open_orders) == (
        OrderCover.PARTIALLY_COVERED, eur(30_000), eur(50_000)
    )  # fmt: skip
    # Checking PO-1 again before shipping: it is not counted against itself, nor kept twice.
    again = world.check(buyer, "50000", reference="PO-1")
    assert (again.status, again.covered, again.open_orders) == (OrderCover.COVERED, eur(50_000), eur(0))
    assert world.count(t.OpenOrderRow) == 1
    # PO-1 is invoiced: the order closes and the invoice counts instead.
    world.invoice(buyer, "F-2", date(2026, 1, 6), "45000", "9000", order_reference="PO-1")
    third = world.check(buyer, "40000")
    assert (third.status, third.covered, third.unpaid, third.open_orders) == (
        OrderCover.PARTIALLY_COVERED, eur(35_000), eur(65_000), eur(0)
    )  # fmt: skip
    # An order is kept 30 days.
    world.check(buyer, "10000", reference="PO-2")
    assert world.check(buyer, "1", on=START + timedelta(days=29)).open_orders == eur(10_000)
    assert world.check(buyer, "1", on=START + timedelta(days=30)).open_orders == eur(0)
    # An insured cannot keep an order on another insured's policy.
    with pytest.raises(NotFound):
        world.do(
            exposure.order_check, world.clock, world.insured_b, policy_id=world.policy_a, buyer_id=buyer,
            amount=eur("10"), reference="PO-X",
        )  # fmt: skip


# ============================================================================ payment experience


def test_payment_experience_own_and_market_across_two_insureds_counts_only(world: World) -> None:
    world.on(date(2026, 3, 15))
    buyer = world.buyer(SIREN_1, world.a, world.b)
    world.invoice(buyer, "A-1", date(2026, 1, 10), "1000", "200", due=date(2026, 2, 9))
    world.pay(buyer, "1200", date(2026, 2, 19))  # 10 days late
    world.invoice(buyer, "B-1", date(2026, 1, 10), "3000", "0", due=date(2026, 2, 9), policy_id=world.policy_b)
    world.pay(buyer, "3000", date(2026, 2, 9), policy_id=world.policy_b)  # on time
    world.invoice(buyer, "B-2", date(2026, 2, 1), "500", "0", due=date(2026, 3, 3), policy_id=world.policy_b)
    own, market = world.read(exposure.payment_experience, world.insured_a, world.policy_a, buyer, on=date(2026, 3, 15))
    assert (own.invoices_paid, own.invoices_paid_late, own.average_days_beyond_terms) == (1, 1, Decimal("10.0"))
    assert (own.max_days_overdue_12_months, own.trading_since) == (10, date(2026, 1, 10))
    assert (market.insureds_reporting, market.invoices_paid, market.invoices_paid_late) == (2, 2, 1)
    assert market.average_days_beyond_terms == Decimal("5.0")
    assert market.overdue_notifications == 0
    with world.container.uow() as uow:
        uow.ledger.add_overdue_notification(
            id=str(uuid.uuid4()), policy_id=world.policy_b, buyer_id=buyer, notified_on=date(2026, 3, 14), by="test",
            at=world.clock.now(),
        )  # fmt: skip
        uow.commit()
    _, market = world.read(exposure.payment_experience, world.insured_a, world.policy_a, buyer, on=date(2026, 3, 15))
    assert market.overdue_notifications == 1
    # Anonymised: numbers only, nothing that names the other insured or its policy.
    values = dataclasses.asdict(market).values()
    assert all(isinstance(v, int | Decimal) for v in values)
    with pytest.raises(NotFound):
        world.read(exposure.payment_experience, world.insured_a, world.policy_b, buyer, on=date(2026, 3, 15))


# ============================================================================ alerts


def test_near_and_over_limit_alerts_are_raised_once(world: World) -> None:
    buyer = world.buyer(SIREN_1, name="Dupont Industrie SA")
    world.limit(buyer, "100000")
    world.invoice(buyer, "F-1", date(2026, 1, 5), "79999.99", "16000")
    assert world.alerts() == []  # 79.99 % of the limit (excluding VAT)
    world.invoice(buyer, "F-2", date(2026, 1, 5), "0.01")
    [near] = world.alerts()
    assert (near.kind, near.buyer_id, near.policy_id, near.state) == (
        AlertKind.NEAR_LIMIT, buyer, world.policy_a, AlertState.NEW
    )  # fmt: skip
    assert "Dupont Industrie SA" in near.message
    assert "80 %" in near.message
    assert world.run_alerts(world.clock.today()) == 0
    assert world.run_alerts(world.clock.today()) == 0  # re-running raises nothing new
    world.invoice(buyer, "F-3", date(2026, 1, 5), "20000.01")
    kinds = sorted(a.kind for a in world.alerts())
    assert kinds == [AlertKind.NEAR_LIMIT, AlertKind.OVER_LIMIT]
    over = next(a for a in world.alerts() if a.kind is AlertKind.OVER_LIMIT)
    assert "0.01" in over.message  # the part not covered
    assert world.run_alerts(world.clock.today()) == 0
    assert len(world.alerts()) == 2
    assert world.alerts(world.b) == []  # insured B sees none of them


def test_preferences_change_the_utilisation_threshold(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    world.limit(buyer, "100000")

    def prefer(threshold: str, days: int = 15) -> object:
        return world.do(
            alerts.set_preferences, world.clock, world.insured_a, world.policy_a,
            utilisation_threshold=Decimal(threshold), deadline_warning_days=days,
        )  # fmt: skip

    prefer("0.90")
    assert world.read(alerts.get_preferences, world.insured_a, world.policy_a).utilisation_threshold == Decimal("0.9")
    world.invoice(buyer, "F-1", date(2026, 1, 5), "85000")
    assert world.alerts() == []
    world.invoice(buyer, "F-2", date(2026, 1, 5), "5000")
    assert [a.kind for a in world.alerts()] == [AlertKind.NEAR_LIMIT]
    # The deadline warning comes as many days before the deadline as the preferences say.
    prefer("0.90", 5)
    world.invoice(buyer, "G-1", date(2026, 1, 10), "100", due=date(2026, 2, 9))  # deadline 10 May

    def deadline_alerts(on: date) -> int:
        world.run_alerts(on)
        return sum(a.kind is AlertKind.NOTIFICATION_DEADLINE_NEAR and "G-1" in a.message for a in world.alerts())

    assert deadline_alerts(date(2026, 5, 4)) == 0
    assert deadline_alerts(date(2026, 5, 5)) == 1
    raises(InvalidInput, "alerts.bad_threshold", lambda: prefer("1.5"))
    raises(InvalidInput, "alerts.bad_threshold", lambda: prefer("0.01"))
    raises(InvalidInput, "alerts.bad_warning", lambda: prefer("0.8", 91))
    with pytest.raises(NotFound):
        world.do(
            alerts.set_preferences, world.clock, world.insured_b, world.policy_a,
            utilisation_threshold=Decimal("0.5"), deadline_warning_days=15,
        )  # fmt: skip


def test_notification_deadline_alerts_warn_fifteen_days_before_and_when_passed(world: World) -> None:
    buyer = world.buyer(SIREN_1, name="Durand Négoce")
    notified = world.buyer(SIREN_2)
    world.invoice(buyer, "F-1", date(2026, 1, 10), "1000", "200", due=date(2026, 2, 9))  # deadline 10 May
    world.invoice(buyer, "F-2", date(2026, 1, 10), "1000", due=date(2026, 12, 31))  # terms too long: not covered
    world.invoice(notified, "N-1", date(2026, 1, 10), "1000", due=date(2026, 2, 9))
    with world.container.uow() as uow:
        uow.ledger.add_overdue_notification(
            id=str(uuid.uuid4()), policy_id=world.policy_a, buyer_id=notified, notified_on=date(2026, 3, 1),
            by="test", at=world.clock.now(),
        )  # fmt: skip
        uow.commit()
    assert world.run_alerts(date(2026, 4, 24)) == 0  # 16 days before
    assert world.run_alerts(date(2026, 4, 25)) == 1  # 15 days before
    [near] = world.alerts()
    assert (near.kind, near.due_date, near.buyer_id) == (AlertKind.NOTIFICATION_DEADLINE_NEAR, date(2026, 5, 10), buyer)
    assert "F-1" in near.message
    assert "Durand Négoce" in near.message
    assert world.run_alerts(date(2026, 4, 25)) == 0
    assert world.run_alerts(date(2026, 5, 10)) == 0  # the last day: still a warning, already given
    assert world.run_alerts(date(2026, 5, 11)) == 1
    passed = next(a for a in world.alerts() if a.kind is AlertKind.NOTIFICATION_DEADLINE_PASSED)
    assert (passed.due_date, passed.buyer_id) == (date(2026, 5, 10), buyer)
    assert world.run_alerts(date(2026, 6, 1)) == 0
    assert {a.buyer_id for a in world.alerts()} == {buyer}  # the notified buyer's collection has started
    # Paid invoices have no deadline.
    world.pay(buyer, "1200", date(2026, 5, 12))
    other = world.buyer(SIREN_3)
    world.invoice(other, "O-1", date(2026, 1, 10), "1000", due=date(2026, 2, 9))
    world.pay(other, "1000", date(2026, 2, 9))
    assert world.run_alerts(date(2026, 5, 1)) == 0


def test_alert_states_move_new_seen_closed_and_refuse_other_moves(world: World) -> None:
    buyer = world.buyer(SIREN_1)
    world.limit(buyer, "10000")
    world.invoice(buyer, "F-1", date(2026, 1, 5), "9000")
    [alert] = world.alerts()

    def move(state: AlertState, actor: Actor | None = None) -> Alert:
        return world.do(alerts.move_alert, world.clock, actor or world.insured_a, alert.id, state)

    assert move(AlertState.SEEN).state is AlertState.SEEN
    assert move(AlertState.SEEN).state is AlertState.SEEN  # no move: nothing to do
    raises(Conflict, "alert.invalid_transition", lambda: move(AlertState.NEW))
    assert move(AlertState.CLOSED).state is AlertState.CLOSED
    raises(Conflict, "alert.invalid_transition", lambda: move(AlertState.SEEN))
    raises(Conflict, "alert.invalid_transition", lambda: move(AlertState.NEW))
    raises(NotFound, "alert.not_found", lambda: move(AlertState.CLOSED, world.insured_b))
    found, total = world.read(
        alerts.list_alerts, world.insured_a, page=Page(), policy_id=world.policy_a, states=[AlertState.CLOSED]
    )
    assert (total, [a.id for a in found]) == (1, [alert.id])
    assert world.read(alerts.list_alerts, world.insured_a, page=Page(), states=[AlertState.NEW])[1] == 0
    with world.container.uow() as uow:
        events, _ = uow.audit.list_page(tenants=frozenset({world.a}), page=Page(limit=500))
    assert [e.action for e in events if e.object_id == alert.id] == ["alert.closed", "alert.seen"]


# ============================================================================ delivery


@dataclass
class CollectingHandler:
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = BytesParser(policy=email_policy.default).parsebytes(envelope.original_content or b"")
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[int, CollectingHandler]]:
    handler = CollectingHandler()
    for _ in range(10):  # another process may take the free port in between: pick again
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10.0)
        try:
            controller.start()
        except OSError:
            controller.stop(no_assert=True)
            continue
        break
    else:
        pytest.fail("no free port for the SMTP server")
    try:
        yield controller.port, handler
    finally:
        controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Endpoint:
    """A local HTTP server: /hook answers 200, /status/N answers N, /flaky 500 twice then 200."""

    base_url: str
    received: list[Received] = field(default_factory=list)
    flaky_failures: int = 2
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path


class _Server(ThreadingHTTPServer):
    endpoint: Endpoint


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        endpoint = self.server.endpoint
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with endpoint.lock:
            endpoint.received.append(Received(self.path, dict(self.headers.items()), body))
            status = 200
            if self.path.startswith("/status/"):
                status = int(self.path.rsplit("/", 1)[1])
            elif self.path == "/flaky" and endpoint.flaky_failures > 0:
                endpoint.flaky_failures -= 1
                status = 500
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.endpoint = Endpoint(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def channels(smtp: tuple[int, CollectingHandler]) -> Iterator[SmtpAndWebhookChannels]:
    made = SmtpAndWebhookChannels(SmtpSettings(host="127.0.0.1", port=smtp[0], sender=SENDER, timeout=5.0),
                                  webhook_timeout=5.0)  # fmt: skip
    try:
        yield made
    finally:
        made.close()


def subscribe(world: World, channel: str, target: str, kinds: tuple[str, ...] = ()) -> Any:
    return world.do(
        alerts.subscribe, world.clock, world.insured_a, world.policy_a, channel=channel, target=target, kinds=kinds
    )


def deliveries(world: World, alert_id: str) -> dict[str, AlertDelivery]:
    with world.container.uow() as uow:
        return {d.target: d for d in uow.alerts.deliveries(alert_id)}


def test_an_alert_reaches_the_insured_by_email_and_signed_webhook(
    world: World, smtp: tuple[int, CollectingHandler], endpoint: Endpoint, channels: SmtpAndWebhookChannels
) -> None:
    mail = subscribe(world, "email", "credit.manager@insured-a.example")
    hook = subscribe(world, "webhook", endpoint.url("/hook"))
    subscribe(world, "webhook", endpoint.url("/status/500"), kinds=("over_limit",))  # not this kind
    assert mail.secret is None
    assert hook.secret
    raises(Conflict, "alerts.already_subscribed", lambda: subscribe(world, "email", "credit.manager@insured-a.example"))
    raises(InvalidInput, "alerts.bad_email", lambda: subscribe(world, "email", "a@b.fr\r\nBcc: x@evil.example"))
    raises(InvalidInput, "alerts.bad_url", lambda: subscribe(world, "webhook", "ftp://127.0.0.1/hook"))
    raises(InvalidInput, "alerts.unknown_kind", lambda: subscribe(world, "email", "x@insured-a.example", ("nope",)))
    buyer = world.buyer(SIREN_1, name="Dupont Industrie SA")
    world.limit(buyer, "10000")
    world.invoice(buyer, "F-1", date(2026, 1, 5), "9000")
    [alert] = world.alerts()

    summary = deliver_due(world.container.uow, world.clock, channels)
    assert (summary.delivered, summary.retried, summary.failed) == (2, 0, 0)

    [(recipients, message)] = smtp[1].messages
    assert recipients == ["credit.manager@insured-a.example"]
    assert message["To"] == "credit.manager@insured-a.example"
    # The stdlib folds this subject right after "Subject:"; its parser keeps the folding space.
    assert message["Subject"].strip() == "[tradecover] Encours proche de la limite / Outstanding near the credit limit"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    content = body.get_content()
    assert "Dupont Industrie SA" in content
    assert alert.id in content

    [request] = endpoint.received
    assert request.path == "/hook"
    event = verify_request(hook.secret, request.headers, request.body, int(world.clock.now().timestamp()))
    assert event["type"] == "alert.raised"
    assert {k: event["alert"][k] for k in ("id", "kind", "buyer_id", "policy_id")} == {
        "id": alert.id, "kind": "near_limit", "buyer_id": buyer, "policy_id": world.policy_a,
    }  # fmt: skip
    with pytest.raises(InvalidInput):  # signed with the subscription's own secret only
        verify_request("another-secret", request.headers, request.body, int(world.clock.now().timestamp()))

    logged = deliveries(world, alert.id)
    assert {target: (d.status, d.attempts) for target, d in logged.items()} == {
        "credit.manager@insured-a.example": ("delivered", 1),
        endpoint.url("/hook"): ("delivered", 1),
    }
    assert all(d.delivered_at == world.clock.now() for d in logged.values())
    summary = deliver_due(world.container.uow, world.clock, channels)
    assert (summary.delivered, summary.retried, summary.failed) == (0, 0, 0)  # delivered once
    assert len(smtp[1].messages) == len(endpoint.received) == 1


def test_a_failing_webhook_is_retried_later_with_backoff_and_a_gone_one_fails_for_good(
    world: World, endpoint: Endpoint, channels: SmtpAndWebhookChannels
) -> None:
    for path in ("/status/500", "/status/410", "/flaky"):
        subscribe(world, "webhook", endpoint.url(path))
    buyer = world.buyer(SIREN_1)
    world.limit(buyer, "10000")
    world.invoice(buyer, "F-1", date(2026, 1, 5), "9000")
    [alert] = world.alerts()
    first_try = world.clock.now()

    summary = deliver_due(world.container.uow, world.clock, channels)
    assert (summary.delivered, summary.retried, summary.failed) == (0, 2, 1)
    logged = deliveries(world, alert.id)
    failing, gone, flaky = (logged[endpoint.url(p)] for p in ("/status/500", "/status/410", "/flaky"))
    assert (failing.status, failing.attempts, failing.next_attempt_at) == (
        "pending",
        1,
        first_try + timedelta(seconds=30),
    )
    assert failing.last_error is not None
    assert "500" in failing.last_error
    assert (gone.status, gone.attempts, gone.next_attempt_at) == ("failed", 1, None)
    assert gone.last_error is not None
    assert "410" in gone.last_error
    assert (flaky.status, flaky.attempts) == ("pending", 1)

    # Nothing is due until the backoff has passed.
    assert deliver_due(world.container.uow, world.clock, channels).retried == 0
    assert len(endpoint.received) == 3
    world.clock.advance(timedelta(seconds=30))
    summary = deliver_due(world.container.uow, world.clock, channels)
    assert (summary.delivered, summary.retried, summary.failed) == (0, 2, 0)
    logged = deliveries(world, alert.id)
    assert logged[endpoint.url("/status/500")].attempts == 2
    assert logged[endpoint.url("/status/500")].next_attempt_at == world.clock.now() + timedelta(seconds=60)
    world.clock.advance(timedelta(seconds=60))
    summary = deliver_due(world.container.uow, world.clock, channels)
    assert (summary.delivered, summary.retried) == (1, 1)
    logged = deliveries(world, alert.id)
    assert {path: (logged[endpoint.url(path)].status, logged[endpoint.url(path)].attempts)
            for path in ("/status/500", "/status/410", "/flaky")} == {
        "/status/500": ("pending", 3), "/status/410": ("failed", 1), "/flaky": ("delivered", 3),
    }  # fmt: skip
    assert [r.path for r in endpoint.received].count("/status/410") == 1  # never retried
    # The delivery log of the policy shows every outbox row with its latest attempt.
    log, total = world.read(alerts.delivery_log, world.insured_a, world.policy_a, Page())
    assert total == 3
    assert {d.status for d in log} == {"pending", "failed", "delivered"}
    # The backoff doubles until the last attempt, after which the outbox gives up.
    for attempt in range(4, MAX_ATTEMPTS + 1):
        world.clock.advance(retry_delay(attempt - 1))
        assert deliver_due(world.container.uow, world.clock, channels).retried == (attempt < MAX_ATTEMPTS)
    dead = deliveries(world, alert.id)[endpoint.url("/status/500")]
    assert (dead.status, dead.attempts, dead.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)
    world.clock.advance(timedelta(days=1))
    assert deliver_due(world.container.uow, world.clock, channels).failed == 0
    assert [r.path for r in endpoint.received].count("/status/500") == MAX_ATTEMPTS


def test_an_unsubscribed_target_gets_nothing_more(world: World, endpoint: Endpoint) -> None:
    kept = subscribe(world, "webhook", endpoint.url("/hook"))
    dropped = subscribe(world, "webhook", endpoint.url("/status/200"))
    buyer = world.buyer(SIREN_1)
    world.limit(buyer, "10000")
    world.invoice(buyer, "F-1", date(2026, 1, 5), "9000")  # queued for both
    [alert] = world.alerts()
    world.do(alerts.unsubscribe, world.clock, world.insured_a, world.policy_a, dropped.id)
    assert [s.active for s in world.read(alerts.subscriptions, world.insured_a, world.policy_a)] == [True, False]
    channels = SmtpAndWebhookChannels(None, webhook_timeout=5.0)
    try:
        summary = deliver_due(world.container.uow, world.clock, channels)
    finally:
        channels.close()
    assert (summary.delivered, summary.failed) == (1, 1)
    assert [r.path for r in endpoint.received] == ["/hook"]
    logged = deliveries(world, alert.id)
    assert (logged[endpoint.url("/hook")].status, logged[endpoint.url("/status/200")].status) == ("delivered", "failed")
    assert logged[endpoint.url("/status/200")].attempts == 0
    raises(NotFound, "alert_subscription.not_found", lambda: world.do(
        alerts.unsubscribe, world.clock, world.insured_a, world.policy_a, "no-such-subscription"))  # fmt: skip
    assert kept.active


# ============================================================================ imports


def einvoice_samples() -> list[Path]:
    return sorted(EINVOICES.glob("*.xml"))


def test_every_einvoice_sample_is_imported_or_its_customer_reported_unmapped(world: World) -> None:
    samples = einvoice_samples()
    assert len(samples) >= 7
    seen: set[tuple[str, str]] = set()
    imported = unmapped = 0
    for index, path in enumerate(samples):
        content = path.read_bytes()
        parsed = parse_einvoice(content, path.name)
        [record] = parsed.records
        assert isinstance(record, InvoiceRecord)
        organisation, policy_id = world.insured(f"Insured {index}")
        actor = World.user(f"user-{index}", organisation)
        report = world.do(import_ledger, world.clock, actor, policy_id=policy_id, parsed=parsed, content=content)
        [line] = [line for line in report.lines if line.kind != "line"]  # the other lines are the parser's notes
        assert all(line.code and line.code.startswith("einvoice.") for line in report.lines if line.kind == "line")
        if not record.buyer.identifiers:
            unmapped += 1
            assert (line.outcome, line.code, line.field, line.reference) == (
                "refused", "ledger.unmapped_customer", "customer", record.number
            ), path.name  # fmt: skip
            assert report.unmapped_customers == [
                {"account": record.buyer.account, "name": record.buyer.name, "identifiers": None}
            ]
            assert (report.applied, report.created, report.buyers_created) == (False, 0, 0)
            assert world.count(t.LedgerInvoiceRow) == imported
            continue
        imported += 1
        assert (line.outcome, report.applied, report.refused) == ("created", True, 0), path.name
        new = not seen.issuperset(record.buyer.identifiers)
        seen.update(record.buyer.identifiers)
        assert report.buyers_created == int(new)
        with world.container.uow() as uow:
            entries, _ = uow.ledger.entries(policy_id)
            [(buyer_id, [invoice])] = entries.items()
            assert uow.buyers.book_entry(organisation, buyer_id) is not None  # in the insured's book
            buyer = uow.buyers.get(buyer_id)
        assert buyer is not None
        assert {(i.kind.value, i.value) for i in buyer.identifiers} >= set(record.buyer.identifiers)
        assert buyer.country == record.buyer.country
        assert (invoice.number, invoice.issue_date, invoice.kind) == (record.number, record.issue_date,
                                                                       EntryKind(record.kind.value))  # fmt: skip
        assert (invoice.amount_excl_vat, invoice.vat_amount) == (eur(record.amount_excl_vat), eur(record.vat_amount))
    assert imported >= 2
    assert unmapped >= 1
    assert world.count(t.LedgerInvoiceRow) == imported


FEC_HEADER = (
    "JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|CompAuxLib|PieceRef|PieceDate|"
    "EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|Montantdevise|Idevise"
)
CUSTOMERS = {
    "C001": f"DUPONT SA SIREN {SIREN_1}",
    "C002": f"MARTIN SARL {SIREN_2}",
    "C003": f"DURAND SAS {SIREN_3}",
    "C004": f"PETIT ET FILS {SIREN_4}",
}


def fec_line(
    journal: str, entry: str, day: str, account: str, piece: str, debit: str = "", credit: str = "", *,
    aux: str = "", letter: str = "",
) -> str:  # fmt: skip
    journal_label = {"VE": "Ventes", "BQ": "Banque", "OD": "Opérations diverses"}[journal]
    account_label = {"411": "Clients", "512": "Banque", "706": "Ventes", "709": "RRR accordés", "445": "TVA collectée"}
    return "|".join(
        [journal, journal_label, entry, day, account, account_label[account[:3]], aux, CUSTOMERS.get(aux, ""),
         piece, day, f"{piece} {aux}".strip(), debit, credit, letter, "", day, "", ""]
    )  # fmt: skip


def sale(entry: str, day: str, aux: str, piece: str, net: str, vat: str, gross: str, letter: str = "") -> list[str]:
    return [
        fec_line("VE", entry, day, "411000", piece, gross, "0,00", aux=aux, letter=letter),
        fec_line("VE", entry, day, "706000", piece, "0,00", net),
        fec_line("VE", entry, day, "445710", piece, "0,00", vat),
    ]


def fec_file(*extra: str) -> bytes:
    lines = [
        FEC_HEADER,
        *sale("1", "20260110", "C001", "F001", "1000,00", "200,00", "1200,00"),
        *sale("2", "20260115", "C001", "F002", "2000,00", "400,00", "2400,00"),
        *sale("3", "20260120", "C002", "F003", "500,00", "100,00", "600,00", letter="A"),
        *sale("4", "20260125", "C003", "F004", "3000,00", "600,00", "3600,00", letter="B"),
        *sale("5", "20260126", "C004", "F005", "500,00", "0,00", "500,00"),
        # A partial payment from C001, not lettered: it settles the oldest invoice, F001.
        fec_line("BQ", "1", "20260210", "512000", "VIR1", "1000,00", "0,00"),
        fec_line("BQ", "1", "20260210", "411000", "VIR1", "0,00", "1000,00", aux="C001"),
        # C002 pays F003 in full (lettered A).
        fec_line("BQ", "2", "20260212", "512000", "VIR2", "600,00", "0,00"),
        fec_line("BQ", "2", "20260212", "411000", "VIR2", "0,00", "600,00", aux="C002", letter="A"),
        # A credit note to C003 on F004 (lettered B), then a partial payment.
        fec_line("VE", "6", "20260215", "411000", "AV001", "0,00", "1200,00", aux="C003", letter="B"),
        fec_line("VE", "6", "20260215", "709000", "AV001", "1000,00", "0,00"),
        fec_line("VE", "6", "20260215", "445710", "AV001", "200,00", "0,00"),
        fec_line("BQ", "3", "20260220", "512000", "VIR3", "1000,00", "0,00"),
        fec_line("BQ", "3", "20260220", "411000", "VIR3", "0,00", "1000,00", aux="C003"),
        # C004 pays more than it owes: 200 stays on account.
        fec_line("BQ", "4", "20260222", "512000", "VIR4", "700,00", "0,00"),
        fec_line("BQ", "4", "20260222", "411000", "VIR4", "0,00", "700,00", aux="C004"),
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def import_fec(world: World, data: bytes, **kw: Any) -> tuple[LedgerFile, ImportReport]:
    parsed = parse_fec(data, "FEC732829320FEC20261231.txt", currency=EUR, default_terms_days=30)
    with world.container.uow() as uow:
        report = import_ledger(
            uow, world.clock, world.insured_a, policy_id=world.policy_a, parsed=parsed, content=data, **kw
        )
        if report.applied:
            uow.commit()
    return parsed, report


def test_a_fec_reconciles_with_the_ledger_and_the_exposure_with_its_open_items(world: World) -> None:
    world.on(date(2026, 3, 1))
    known = world.buyer(SIREN_1, name="Dupont SA")  # already in the book; the others are created
    parsed, report = import_fec(world, fec_file())
    assert parsed.problems == []
    assert (report.applied, report.refused, report.created, report.buyers_created) == (True, 0, 10, 3)
    assert report.unmapped_customers == []
    balances = {r.customer: (r.file_balance, r.ledger_balance, r.matches) for r in report.reconciliation}
    assert balances == {
        f"siren {SIREN_1}": (eur("2600"), eur("2600"), True),
        f"siren {SIREN_2}": (eur("0"), eur("0"), True),
        f"siren {SIREN_3}": (eur("1400"), eur("1400"), True),
        f"siren {SIREN_4}": (eur("-200"), eur("-200"), True),
    }
    assert all(r.matches for r in report.reconciliation)
    assert next(r.buyer_id for r in report.reconciliation if r.customer == f"siren {SIREN_1}") == known

    result = world.read(exposure.policy_exposure, world.insured_a, world.policy_a, on=date(2026, 3, 1))
    outstanding = {b.identifiers[0].value: e.outstanding for b, e in result.buyers}
    # Open items excluding VAT, each at its invoice's ratio: F001 200 of 1,200 → 166.67; F002 2,000;
    # F004 1,400 of 3,600 → 1,166.67; C004's cash on account does not reduce any exposure.
    assert outstanding == {
        SIREN_1: eur("2166.67"),
        SIREN_2: eur("0"),
        SIREN_3: eur("1166.67"),
        SIREN_4: eur("0"),
    }
    assert result.total("outstanding") == eur("3333.34")
    lines = {line.number: line.open_net for _, e in result.buyers for line in e.lines}
    assert lines == {"F001": eur("166.67"), "F002": eur("2000"), "F004": eur("1166.67")}
    with world.container.uow() as uow:
        for buyer, _ in result.buyers:
            assert uow.buyers.book_entry(world.a, buyer.id) is not None


def test_a_fec_dry_run_writes_nothing_a_bad_line_applies_nothing_unless_partial_and_a_reimport_is_duplicates(
    world: World,
) -> None:
    world.on(date(2026, 3, 1))
    good = fec_file()
    _, dry = import_fec(world, good, dry_run=True)
    assert (dry.dry_run, dry.applied, dry.created, dry.refused, dry.buyers_created) == (True, False, 10, 0, 4)
    assert all(r.matches for r in dry.reconciliation)  # what the ledger would hold
    assert world.count(t.LedgerInvoiceRow) == world.count(t.LedgerPaymentRow) == world.count(t.BuyerRow) == 0
    assert world.count(t.LedgerImportRow) == 0

    bad = fec_file(
        fec_line("VE", "7", "20260227", "411000", "F006", "12O,00", "0,00", aux="C001"),  # a letter O for a zero
        fec_line("VE", "7", "20260227", "706000", "F006", "0,00", "100,00"),
        fec_line("VE", "7", "20260227", "445710", "F006", "0,00", "20,00"),
    )
    _, refused = import_fec(world, bad)
    assert (refused.applied, refused.created, refused.refused) == (False, 10, 1)
    [problem] = [line for line in refused.lines if line.outcome == "refused"]
    assert (problem.code, problem.field) == ("fec.invalid_amount", "Debit")
    assert world.count(t.LedgerInvoiceRow) == world.count(t.LedgerPaymentRow) == 0
    assert world.count(t.LedgerImportRow) == 0

    _, partial = import_fec(world, bad, partial=True)
    assert (partial.applied, partial.created, partial.refused) == (True, 10, 1)
    assert world.count(t.BuyerRow) == 4
    assert world.count(t.LedgerInvoiceRow) == 6
    assert world.count(t.LedgerPaymentRow) == 4
    assert world.count(t.LedgerImportRow) == 1

    _, again = import_fec(world, good)
    assert (again.applied, again.created, again.duplicates, again.refused, again.buyers_created) == (True, 0, 10, 0, 0)
    assert all(r.matches for r in again.reconciliation)
    assert world.count(t.LedgerInvoiceRow) == 6
    assert world.count(t.LedgerPaymentRow) == 4


@SQLITE_ONLY  # the rule is the service's, whatever the database
def test_a_refused_import_creates_no_buyer(world: World) -> None:
    bad = fec_file(fec_line("VE", "7", "20260227", "411000", "F006", "12O,00", "0,00", aux="C001"))
    _, refused = import_fec(world, bad)
    assert (refused.applied, refused.refused) == (False, 1)
    assert world.count(t.LedgerInvoiceRow) == 0
    assert world.count(t.BuyerRow) == world.count(t.BookEntryRow) == 0


@SQLITE_ONLY  # the rule is the service's, whatever the database
def test_two_fec_payments_of_one_customer_with_the_same_piece_and_label_are_both_recorded(world: World) -> None:
    world.on(date(2026, 3, 1))
    _, report = import_fec(world, fec_file(
        fec_line("BQ", "8", "20260225", "512000", "REL02", "100,00", "0,00"),
        fec_line("BQ", "8", "20260225", "411000", "REL02", "0,00", "100,00", aux="C001"),
        fec_line("BQ", "9", "20260226", "512000", "REL02", "50,00", "0,00"),
        fec_line("BQ", "9", "20260226", "411000", "REL02", "0,00", "50,00", aux="C001"),
    ))  # fmt: skip
    assert (report.created, report.duplicates) == (12, 0)
    assert all(r.matches for r in report.reconciliation)
