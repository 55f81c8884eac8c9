"""Collection cases through the services and the real unit of work, on SQLite and PostgreSQL (DOMAIN.md §7).

Opening a case on an overdue notification (and adding later debts to the open case), actions and the
stage they move to, costs, cash received from the buyer (on the ledger, allocated oldest first with the
commission on non-guaranteed debts), closure, who may read and act, the late-payment penalties with
configured base rates, the administrator claim-filing deadline, and the formal notice as a PDF.

The world: insured A (policy from 1 January 2026) sells to buyer 1; its ledger holds F-1 (guaranteed,
1,200 incl. VAT), F-2 (guaranteed, 600) and F-3 (not guaranteed, 1,000); insured B has its own buyer
and invoice. The clock stands at 2026-03-15.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tradecover.bootstrap import Container
from tradecover.domain.collection import ActionKind, CaseDebt, CaseStage, ClosureOutcome, CostKind
from tradecover.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleBroken
from tradecover.domain.late_payment import default_base_rates
from tradecover.domain.money import Money
from tradecover.domain.monitoring import LegalEvent, LegalEventKind
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.domain.periods import FixedClock
from tradecover.domain.receivables import Invoice, settle
from tradecover.persistence import tables as t
from tradecover.services import accounts, buyers, collection, ledger, policies
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.ports import Page

EUR = "EUR"
TODAY = date(2026, 3, 15)
OPENED = date(2026, 3, 10)
T = TypeVar("T")


def eur(amount: str | int) -> Money:
    return Money.of(amount, EUR)


def raises(kind: type[DomainError], code: str, action: Callable[[], object]) -> DomainError:
    with pytest.raises(kind) as caught:
        action()
    assert caught.value.code == code, caught.value
    return caught.value


@dataclass
class World:
    container: Container
    clock: FixedClock
    admin: Actor
    collector: Actor
    claims_handler: Actor
    underwriter: Actor
    insured_a: Actor
    insured_b: Actor
    a: str
    b: str
    policy_a: str
    policy_b: str
    buyer: str
    buyer_b: str
    invoices: dict[str, Invoice]
    invoice_b: Invoice

    def do(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a service in its own unit of work and commit."""
        with self.container.uow() as uow:
            result = action(uow, *args, **kwargs)
            uow.commit()
            return result

    def read(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.container.uow() as uow:
            return action(uow, *args, **kwargs)

    def count(self, table: str) -> int:
        with self.container.engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())

    def debts(self, *numbers: str, guaranteed: tuple[str, ...] = ("F-1", "F-2")) -> list[CaseDebt]:
        return [
            CaseDebt(
                invoice_id=self.invoices[n].id,
                number=n,
                issue_date=self.invoices[n].issue_date,
                due_date=self.invoices[n].due_date,
                amount_incl_vat=self.invoices[n].amount_incl_vat,
                unpaid_amount=self.invoices[n].amount_incl_vat,
                guaranteed=n in guaranteed,
            )
            for n in numbers
        ]

    def open(self, *numbers: str, actor: Actor | None = None, on: date = OPENED) -> collection.CollectionCase:
        return self.do(
            collection.open_case, self.clock, actor or self.insured_a, policy_id=self.policy_a, buyer_id=self.buyer,
            notification_id=str(uuid.uuid4()), opened_on=on, debts=self.debts(*numbers),
        )  # fmt: skip


def staff(role: Role, insurer_id: str) -> Actor:
    return Actor(f"{role.value}-1", f"{role.value}@insurer.example", insurer_id, OrganisationKind.INSURER, role)


@pytest.fixture
def world(container: Container) -> World:
    clock: FixedClock = container.clock  # type: ignore[assignment]
    clock.set(datetime.combine(TODAY, time(10, 0), tzinfo=UTC))
    with container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, clock)
        uow.commit()
    admin = system_actor(insurer.id)

    def insured(name: str, siren: str | None) -> tuple[str, str]:
        with container.uow() as uow:
            organisation = accounts.create_organisation(
                uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name=name, country="FR", siren=siren
            )
            uow.commit()
        with container.uow() as uow:
            policy, _ = policies.issue_policy(
                uow, clock, admin, policyholder_id=organisation.id, start_date=date(2026, 1, 1)
            )
        return organisation.id, policy.id

    a, policy_a = insured("Insured A SAS", "732829320")
    b, policy_b = insured("Insured B SARL", None)

    def buyer(siren: str, organisation_id: str, name: str) -> str:
        with container.uow() as uow:
            created, _ = buyers.add_buyer(
                uow, clock, admin, identifiers=[("siren", siren)], legal_name=name, country="FR",
                organisation_id=organisation_id, city="Lyon",
            )  # fmt: skip
            uow.commit()
        return created.id

    buyer_a = buyer("552100554", a, "Acheteur Un SA")
    buyer_b = buyer("542051180", b, "Acheteur Deux SA")

    def invoice(policy_id: str, buyer_id: str, number: str, issued: date, net: str, vat: str) -> Invoice:
        with container.uow() as uow:
            recorded = ledger.record_invoice(
                uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id, number=number, issue_date=issued,
                delivery_date=None, due_date=issued + timedelta(days=30), amount_excl_vat=eur(net),
                vat_amount=eur(vat),
            )  # fmt: skip
            uow.commit()
        assert isinstance(recorded.entry, Invoice)
        return recorded.entry

    invoices = {
        "F-2": invoice(policy_a, buyer_a, "F-2", date(2026, 1, 10), "500.00", "100.00"),
        "F-1": invoice(policy_a, buyer_a, "F-1", date(2026, 1, 5), "1000.00", "200.00"),
        "F-3": invoice(policy_a, buyer_a, "F-3", date(2026, 1, 20), "1000.00", "0"),
    }
    invoice_b = invoice(policy_b, buyer_b, "B-1", date(2026, 1, 5), "800.00", "160.00")
    return World(
        container, clock, admin, staff(Role.COLLECTOR, insurer.id), staff(Role.CLAIMS_HANDLER, insurer.id),
        staff(Role.UNDERWRITER, insurer.id),
        Actor("user-a", "credit@a.example", a, OrganisationKind.POLICYHOLDER, Role.INSURED_USER),
        Actor("user-b", "credit@b.example", b, OrganisationKind.POLICYHOLDER, Role.INSURED_USER),
        a, b, policy_a, policy_b, buyer_a, buyer_b, invoices, invoice_b,
    )  # fmt: skip


# --- Opening ------------------------------------------------------------------------------------------------


def test_a_notification_opens_an_amicable_case_numbered_per_year(world: World) -> None:
    case = world.open("F-2", "F-1")
    assert case.reference == "COL-2026-000001"
    assert case.stage is CaseStage.AMICABLE
    assert case.organisation_id == world.a
    assert [d.number for d in case.debts] == ["F-1", "F-2"]  # oldest first
    stored = world.read(collection.get_case, world.collector, case.id)
    assert [d.number for d in stored.debts] == ["F-1", "F-2"]
    assert stored.debts[0].notification_id is not None
    assert stored.commission_rate == Decimal("0.10")
    with world.container.engine.connect() as connection:
        actions = connection.execute(
            select(t.AuditEventRow.action).where(t.AuditEventRow.object_id == case.id)
        ).scalars()
        assert list(actions) == ["collection.case_opened"]


def test_a_second_notification_adds_its_new_debts_to_the_open_case(world: World) -> None:
    first = world.open("F-1")
    second = world.open("F-1", "F-3")  # F-1 is on the case already
    assert second.id == first.id
    assert [d.number for d in second.debts] == ["F-1", "F-3"]
    assert world.count("collection_case_debts") == 2
    assert world.count("collection_cases") == 1


def test_once_closed_a_new_notification_opens_a_new_case(world: World) -> None:
    first = world.open("F-1")
    world.do(
        collection.close_case, world.clock, world.collector, case_id=first.id,
        outcome=ClosureOutcome.IRRECOVERABLE, on=TODAY, reason="buyer vanished",
    )  # fmt: skip
    second = world.open("F-3")
    assert second.id != first.id
    assert second.reference == "COL-2026-000002"


def test_a_case_holds_only_invoices_of_its_policy_and_buyer(world: World) -> None:
    foreign = CaseDebt(
        world.invoice_b.id, "B-1", world.invoice_b.issue_date, world.invoice_b.due_date,
        world.invoice_b.amount_incl_vat, world.invoice_b.amount_incl_vat, True,
    )  # fmt: skip
    raises(
        InvalidInput,
        "collection.unknown_invoice",
        lambda: world.do(
            collection.open_case,
            world.clock,
            world.admin,
            policy_id=world.policy_a,
            buyer_id=world.buyer,
            notification_id="n",
            opened_on=OPENED,
            debts=[foreign],
        ),
    )
    assert world.count("collection_cases") == 0


def test_an_insured_opens_no_case_on_another_insureds_policy(world: World) -> None:
    raises(
        NotFound,
        "policy.not_found",
        lambda: world.do(
            collection.open_case,
            world.clock,
            world.insured_b,
            policy_id=world.policy_a,
            buyer_id=world.buyer,
            notification_id="n",
            opened_on=OPENED,
            debts=world.debts("F-1"),
        ),
    )


def test_the_database_holds_one_open_case_per_policy_and_buyer(world: World) -> None:
    case = world.open("F-1")
    with world.container.uow() as uow:
        row = uow.session.get(t.CollectionCaseRow, case.id)  # type: ignore[attr-defined]
        assert row is not None
        uow.session.add(  # type: ignore[attr-defined]
            t.CollectionCaseRow(
                id=str(uuid.uuid4()), reference="COL-2026-999999", policy_id=row.policy_id, buyer_id=row.buyer_id,
                organisation_id=row.organisation_id, currency=EUR, stage="judicial", opened_on=OPENED,
                opened_at=row.opened_at, opened_by="test", commission_rate=Decimal("0.1"),
            )
        )  # fmt: skip
        with pytest.raises(IntegrityError):
            uow.session.flush()  # type: ignore[attr-defined]


def test_what_a_case_recorded_cannot_be_changed_or_deleted(world: World) -> None:
    case = world.open("F-1")
    world.do(collection.record_action, world.clock, world.collector, case_id=case.id, kind="reminder", on=TODAY)
    for statement in ("UPDATE collection_actions SET note = 'x'", "DELETE FROM collection_case_debts"):
        with pytest.raises(DBAPIError), world.container.engine.begin() as connection:
            connection.execute(text(statement))


# --- Actions and costs --------------------------------------------------------------------------------------


def test_an_action_is_dated_with_its_author(world: World) -> None:
    case = world.open("F-1")
    action = world.do(
        collection.record_action, world.clock, world.collector, case_id=case.id, kind=ActionKind.PHONE_CALL,
        on=date(2026, 3, 12), note="promised to pay next week",
    )  # fmt: skip
    [stored] = world.read(collection.case_view, world.insured_a, case.id).actions
    assert stored == action
    assert stored.on == date(2026, 3, 12)
    assert "collector@insurer.example" in stored.author
    assert "user:collector-1" in stored.author


def test_a_judicial_action_moves_the_case_to_judicial_and_the_reminders_stop(world: World) -> None:
    case = world.open("F-1")
    world.do(collection.record_action, world.clock, world.collector, case_id=case.id, kind="reminder", on=OPENED)
    world.do(collection.record_action, world.clock, world.claims_handler, case_id=case.id, kind="suit", on=TODAY)
    assert world.read(collection.get_case, world.admin, case.id).stage is CaseStage.JUDICIAL
    raises(
        Conflict,
        "collection.action_not_allowed",
        lambda: world.do(
            collection.record_action, world.clock, world.collector, case_id=case.id, kind="reminder", on=TODAY
        ),
    )
    world.do(collection.record_action, world.clock, world.collector, case_id=case.id, kind="payment_plan", on=TODAY)
    assert len(world.read(collection.case_view, world.admin, case.id).actions) == 3


def test_an_action_is_neither_in_the_future_nor_before_the_opening_nor_of_an_unknown_kind(world: World) -> None:
    case = world.open("F-1")

    def act(kind: str, on: date) -> Callable[[], object]:
        return lambda: world.do(
            collection.record_action, world.clock, world.collector, case_id=case.id, kind=kind, on=on
        )

    raises(InvalidInput, "collection.date_in_future", act("reminder", TODAY + timedelta(days=1)))
    raises(InvalidInput, "collection.date_before_opening", act("reminder", OPENED - timedelta(days=1)))
    raises(InvalidInput, "collection.unknown_action_kind", act("carrier_pigeon", TODAY))
    assert world.count("collection_actions") == 0


def test_costs_are_recorded_in_the_cases_currency(world: World) -> None:
    case = world.open("F-1")
    world.do(
        collection.record_cost, world.clock, world.collector, case_id=case.id, kind=CostKind.BAILIFF,
        amount=eur("85.40"), incurred_on=TODAY, description="signification",
    )  # fmt: skip
    raises(
        InvalidInput,
        "collection.currency_mismatch",
        lambda: world.do(
            collection.record_cost,
            world.clock,
            world.collector,
            case_id=case.id,
            kind="lawyer",
            amount=Money.of("10", "USD"),
            incurred_on=TODAY,
        ),
    )
    raises(
        InvalidInput,
        "collection.unknown_cost_kind",
        lambda: world.do(
            collection.record_cost,
            world.clock,
            world.collector,
            case_id=case.id,
            kind="bribe",
            amount=eur("10"),
            incurred_on=TODAY,
        ),
    )
    view = world.read(collection.case_view, world.collector, case.id)
    assert view.balance.costs == eur("85.40")
    assert [c.kind for c in view.costs] == [CostKind.BAILIFF]


# --- Cash received ------------------------------------------------------------------------------------------


def test_cash_received_goes_to_the_ledger_and_to_the_oldest_debts_with_a_commission_on_non_guaranteed_ones(
    world: World,
) -> None:
    case = world.open("F-1", "F-2", "F-3")  # 1,200 + 600 guaranteed, then 1,000 not guaranteed
    receipt = world.do(
        collection.receive_payment, world.clock, world.collector, case_id=case.id, amount=eur("2300.00"),
        received_on=TODAY, reference="VIR-123",
    )  # fmt: skip
    assert [(line.number, line.amount) for line in receipt.lines] == [
        ("F-1", eur("1200.00")),
        ("F-2", eur("600.00")),
        ("F-3", eur("500.00")),
    ]
    assert (receipt.guaranteed_amount, receipt.non_guaranteed_amount) == (eur("1800.00"), eur("500.00"))
    assert receipt.commission_amount == eur("50.00")
    # the ledger sees it: a payment of source "collection" that settles the same invoices
    with world.container.uow() as uow:
        payment = uow.ledger.get_payment(receipt.ledger_payment_id or "")
        assert payment is not None
        assert (payment.source, payment.amount, payment.reference) == ("collection", eur("2300.00"), "VIR-123")
        invoices, payments = uow.ledger.entries(world.policy_a, [world.buyer])
        [settlement] = settle(invoices[world.buyer], payments[world.buyer], on=TODAY).values()
        open_by_number = {i.invoice.number: i.open_gross for i in settlement.items}
        assert open_by_number == {"F-1": eur(0), "F-2": eur(0), "F-3": eur("500.00")}
    view = world.read(collection.case_view, world.insured_a, case.id)
    assert view.balance.received == eur("2300.00")
    assert view.balance.remaining == view.balance.remaining_non_guaranteed == eur("500.00")
    assert view.balance.commission == eur("50.00")
    assert view.receipts == [receipt]


def test_what_the_buyer_paid_the_insured_directly_is_no_longer_due_on_the_case(world: World) -> None:
    case = world.open("F-1", "F-2", "F-3")  # 2,800 handed over
    world.do(
        ledger.record_payment, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=world.buyer,
        amount=eur("1500.00"), received_on=date(2026, 3, 12), reference="VIR-DIRECT",
    )  # fmt: skip
    view = world.read(collection.case_view, world.collector, case.id)
    assert view.balance.received == eur(0)
    assert view.balance.settled_otherwise == eur("1500.00")
    assert view.balance.remaining == eur("1300.00")
    assert view.balance.remaining_by_debt == {  # the ledger settled the oldest first
        world.invoices["F-1"].id: eur(0),
        world.invoices["F-2"].id: eur("300.00"),
        world.invoices["F-3"].id: eur("1000.00"),
    }
    before = world.count("ledger_payments")
    raises(
        RuleBroken,
        "collection.receipt_exceeds_debt",
        lambda: world.do(
            collection.receive_payment, world.clock, world.collector, case_id=case.id, amount=eur("1300.01"),
            received_on=TODAY,
        ),
    )  # fmt: skip
    assert world.count("ledger_payments") == before
    [(debt, penalty)] = world.read(collection.penalties_of_case, world.collector, case.id, TODAY)[:1]
    assert (debt.number, penalty.amount) == ("F-2", eur("300.00"))
    closed = world.do(
        collection.close_case, world.clock, world.collector, case_id=case.id, outcome="partly_paid", on=TODAY
    )
    assert closed.outcome is ClosureOutcome.PARTLY_PAID


def test_a_receipt_without_reference_is_its_own_ledger_payment(world: World) -> None:
    case = world.open("F-1")
    for _ in range(2):  # the same amount on the same day, twice: two payments
        world.do(
            collection.receive_payment, world.clock, world.collector, case_id=case.id, amount=eur("100.00"),
            received_on=TODAY,
        )  # fmt: skip
    view = world.read(collection.case_view, world.collector, case.id)
    assert view.balance.received == eur("200.00")
    assert len({r.ledger_payment_id for r in view.receipts}) == 2


def test_re_sending_a_receipt_with_its_reference_records_it_once(world: World) -> None:
    case = world.open("F-1")

    def send(amount: str) -> collection.Receipt:
        return world.do(
            collection.receive_payment, world.clock, world.collector, case_id=case.id, amount=eur(amount),
            received_on=TODAY, reference="CHQ-9",
        )  # fmt: skip

    first = send("1000.00")
    assert send("1000.00") == first  # even though only 200 remain: it is the same cash
    raises(Conflict, "collection.conflicting_resend", lambda: send("999.00"))
    assert world.count("collection_receipts") == 1


def test_a_receipt_larger_than_the_debt_is_refused_with_nothing_written(world: World) -> None:
    case = world.open("F-1", "F-2")
    before = {name: world.count(name) for name in ("ledger_payments", "collection_receipts", "audit_events")}
    raises(
        RuleBroken,
        "collection.receipt_exceeds_debt",
        lambda: world.do(
            collection.receive_payment,
            world.clock,
            world.collector,
            case_id=case.id,
            amount=eur("1800.01"),
            received_on=TODAY,
        ),
    )
    assert {name: world.count(name) for name in before} == before


def test_only_collectors_claims_handlers_and_administrators_act(world: World) -> None:
    case = world.open("F-1")
    for actor in (world.underwriter, world.insured_a):
        raises(
            Forbidden,
            "auth.forbidden",
            lambda actor=actor: world.do(  # type: ignore[misc]
                collection.receive_payment, world.clock, actor, case_id=case.id, amount=eur("1"), received_on=TODAY
            ),
        )
    raises(
        NotFound,
        "collection_case.not_found",
        lambda: world.do(
            collection.record_action, world.clock, world.insured_b, case_id=case.id, kind="note", on=TODAY
        ),
    )
    world.do(collection.record_action, world.clock, world.admin, case_id=case.id, kind="note", on=TODAY)


def test_each_insured_lists_and_reads_its_own_cases_only(world: World) -> None:
    case_a = world.open("F-1")
    with world.container.uow() as uow:
        foreign = CaseDebt(
            world.invoice_b.id, "B-1", world.invoice_b.issue_date, world.invoice_b.due_date,
            world.invoice_b.amount_incl_vat, world.invoice_b.amount_incl_vat, True,
        )  # fmt: skip
        case_b = collection.open_case(
            uow, world.clock, world.insured_b, policy_id=world.policy_b, buyer_id=world.buyer_b,
            notification_id="n-b", opened_on=OPENED, debts=[foreign],
        )  # fmt: skip
        uow.commit()
    page = Page(limit=50)
    assert [c.id for c in world.read(collection.list_cases, world.insured_a, page=page)[0]] == [case_a.id]
    assert [c.id for c in world.read(collection.list_cases, world.insured_b, page=page)[0]] == [case_b.id]
    staff_view, total = world.read(collection.list_cases, world.underwriter, page=page)
    assert total == 2
    assert {c.id for c in staff_view} == {case_a.id, case_b.id}
    filtered, _ = world.read(collection.list_cases, world.collector, page=page, policy_id=world.policy_b)
    assert [c.id for c in filtered] == [case_b.id]
    assert world.read(collection.list_cases, world.collector, page=page, stage="judicial") == ([], 0)
    raises(NotFound, "collection_case.not_found", lambda: world.read(collection.get_case, world.insured_b, case_a.id))
    raises(NotFound, "policy.not_found", lambda: world.read(collection.list_cases, world.insured_b, page=page,
                                                            policy_id=world.policy_a))  # fmt: skip


# --- Closure ------------------------------------------------------------------------------------------------


def test_a_case_closes_as_paid_only_when_nothing_remains(world: World) -> None:
    case = world.open("F-1")

    def close(outcome: str, reason: str | None = None) -> collection.CollectionCase:
        return world.do(
            collection.close_case, world.clock, world.collector, case_id=case.id, outcome=outcome, on=TODAY,
            reason=reason,
        )  # fmt: skip

    raises(RuleBroken, "collection.outcome_not_allowed", lambda: close("paid"))
    raises(RuleBroken, "collection.outcome_not_allowed", lambda: close("partly_paid"))
    raises(InvalidInput, "collection.reason_required", lambda: close("irrecoverable"))
    raises(InvalidInput, "collection.unknown_outcome", lambda: close("forgiven"))
    world.do(
        collection.receive_payment, world.clock, world.collector, case_id=case.id, amount=eur("1200.00"),
        received_on=TODAY,
    )  # fmt: skip
    closed = close("paid")
    assert (closed.stage, closed.outcome, closed.closed_on) == (CaseStage.CLOSED, ClosureOutcome.PAID, TODAY)
    stored = world.read(collection.get_case, world.insured_a, case.id)
    assert (stored.stage, stored.outcome) == (CaseStage.CLOSED, ClosureOutcome.PAID)
    raises(Conflict, "collection.case_closed", lambda: close("paid"))
    raises(
        Conflict,
        "collection.case_closed",
        lambda: world.do(
            collection.record_action, world.clock, world.collector, case_id=case.id, kind="note", on=TODAY
        ),
    )


def test_a_case_closes_as_partly_paid_once_something_was_received(world: World) -> None:
    case = world.open("F-1", "F-3")
    world.do(
        collection.receive_payment, world.clock, world.collector, case_id=case.id, amount=eur("500.00"),
        received_on=TODAY,
    )  # fmt: skip
    closed = world.do(
        collection.close_case, world.clock, world.collector, case_id=case.id, outcome="partly_paid", on=TODAY
    )
    assert closed.outcome is ClosureOutcome.PARTLY_PAID


# --- Late-payment penalties ---------------------------------------------------------------------------------


def test_configured_base_rates_extend_the_ecb_table_and_win_on_the_same_date(world: World) -> None:
    shipped = default_base_rates().rates[-1]
    world.do(collection.add_base_rate, world.clock, world.collector, effective_date=shipped.effective_date,
             rate=Decimal("0.05"))  # fmt: skip
    world.do(collection.add_base_rate, world.clock, world.admin, effective_date=date(2031, 1, 1), rate=Decimal("0.01"))
    raises(
        Conflict,
        "collection.base_rate_exists",
        lambda: world.do(
            collection.add_base_rate, world.clock, world.admin, effective_date=date(2031, 1, 1), rate=Decimal("0.02")
        ),
    )
    raises(
        InvalidInput,
        "late_payment.invalid_rate",
        lambda: world.do(
            collection.add_base_rate, world.clock, world.admin, effective_date=date(2032, 1, 1), rate=Decimal("4.5")
        ),
    )
    raises(
        Forbidden,
        "auth.forbidden",
        lambda: world.do(
            collection.add_base_rate,
            world.clock,
            world.insured_a,
            effective_date=date(2032, 1, 1),
            rate=Decimal("0.02"),
        ),
    )
    lines = world.read(collection.list_base_rates, world.insured_a)
    assert lines[0] == collection.BaseRateLine(date(2031, 1, 1), Decimal("0.01"), "configured", "user:system")
    by_date = {line.effective_date: line for line in lines}
    assert by_date[shipped.effective_date].source == "configured"
    assert by_date[shipped.effective_date].rate == Decimal("0.05")
    assert len(lines) == len(default_base_rates()) + 1
    table = world.read(collection.base_rate_table)
    assert table.rate_on(date(2031, 6, 1)) == Decimal("0.01")


def test_penalties_run_on_what_remains_unpaid_of_each_debt(world: World) -> None:
    case = world.open("F-1", "F-2")  # F-1: 1,200 due 4 February; F-2: 600 due 9 February
    world.do(
        collection.receive_payment, world.clock, world.collector, case_id=case.id, amount=eur("1500.00"),
        received_on=TODAY,
    )  # fmt: skip
    world.do(collection.add_base_rate, world.clock, world.collector, effective_date=date(2026, 1, 1),
             rate=Decimal("0.02"))  # fmt: skip
    [(debt, penalty)] = world.read(collection.penalties_of_case, world.insured_a, case.id, TODAY)
    assert debt.number == "F-2"
    assert penalty.amount == eur("300.00")
    assert penalty.days_late == 34  # 10 February to 15 March
    assert [s.annual_rate for s in penalty.segments] == [Decimal("0.12")]
    assert penalty.interest == (eur("300.00") * Decimal("0.12") * 34 / 365).round()
    assert penalty.fixed_indemnity == eur("40")


# --- The insolvency administrator -------------------------------------------------------------------------------


def test_the_view_tracks_the_claim_filing_deadline_once_an_insolvency_is_published(world: World) -> None:
    case = world.open("F-1")
    assert world.read(collection.case_view, world.collector, case.id).claim_filing is None
    with world.container.uow() as uow:
        uow.monitoring.add_legal_event(
            LegalEvent(
                str(uuid.uuid4()), world.buyer, LegalEventKind.RECEIVERSHIP, "Jugement d'ouverture",
                date(2026, 2, 27), date(2026, 3, 2), "BODACC", "A-2026-1", None, world.clock.now(),
            )
        )  # fmt: skip
        uow.commit()
    filing = world.read(collection.case_view, world.insured_a, case.id).claim_filing
    assert filing is not None
    assert filing.publication_date == date(2026, 3, 2)
    assert filing.deadline == date(2026, 5, 4)  # 2 May is a Saturday: the next working day
    assert not filing.creditor_abroad
    assert filing.filed_on is None
    world.do(
        collection.record_action, world.clock, world.collector, case_id=case.id,
        kind=ActionKind.ADMINISTRATOR_CLAIM_FILING, on=TODAY, note="déclaration de créance",
    )  # fmt: skip
    view = world.read(collection.case_view, world.insured_a, case.id)
    assert view.case.stage is CaseStage.JUDICIAL
    assert view.claim_filing is not None
    assert view.claim_filing.filed_on == TODAY
    assert not view.claim_filing.late(TODAY)


# --- The formal notice -----------------------------------------------------------------------------------------


def _pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def test_the_formal_notice_preview_records_nothing(world: World) -> None:
    case = world.open("F-1", "F-3")
    for language in ("fr", "en"):
        content = world.read(collection.formal_notice_pdf, world.clock, world.insured_a, case.id, on=TODAY,
                             language=language)  # fmt: skip
        assert content.startswith(b"%PDF")
        words = _pdf_text(content)
        assert case.reference in words
        assert "F-1" in words
        assert "F-3" in words
    assert world.count("collection_actions") == 0
    assert world.count("collection_letters") == 0
    raises(
        InvalidInput,
        "documents.unknown_language",
        lambda: world.read(
            collection.formal_notice_pdf, world.clock, world.collector, case.id, on=TODAY, language="de"
        ),
    )


def test_sending_the_formal_notice_records_the_action_and_keeps_the_letter(world: World) -> None:
    case = world.open("F-1")
    sent = world.do(collection.send_formal_notice, world.clock, world.collector, case.id, on=TODAY, language="fr")
    assert sent.action.kind is ActionKind.FORMAL_NOTICE
    assert sent.action.letter_id == sent.letter.id
    assert sent.letter.reference == f"{case.reference}-MED-1"
    assert sent.letter.content.startswith(b"%PDF")
    assert "Mise en demeure" in _pdf_text(sent.letter.content)
    kept = world.read(collection.get_letter, world.insured_a, case.id, sent.letter.id)
    assert kept.content == sent.letter.content
    raises(NotFound, "collection_letter.not_found",
           lambda: world.read(collection.get_letter, world.insured_a, case.id, str(uuid.uuid4())))  # fmt: skip
    second = world.do(collection.send_formal_notice, world.clock, world.collector, case.id, on=TODAY, language="en")
    assert second.letter.reference == f"{case.reference}-MED-2"
    assert world.count("collection_actions") == 2
    world.do(collection.record_action, world.clock, world.collector, case_id=case.id, kind="order_for_payment",
             on=TODAY)  # fmt: skip
    raises(
        Conflict,
        "collection.action_not_allowed",
        lambda: world.do(collection.send_formal_notice, world.clock, world.collector, case.id, on=TODAY, language="fr"),
    )
    with world.container.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(t.CollectionLetterRow)).scalar_one() == 2


def test_there_is_no_formal_notice_when_nothing_is_due(world: World) -> None:
    case = world.open("F-1")
    world.do(
        collection.receive_payment, world.clock, world.collector, case_id=case.id, amount=eur("1200.00"),
        received_on=TODAY,
    )  # fmt: skip
    raises(
        RuleBroken,
        "collection.nothing_due",
        lambda: world.read(
            collection.formal_notice_pdf, world.clock, world.collector, case.id, on=TODAY, language="fr"
        ),
    )
