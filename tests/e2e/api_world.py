"""The API test world: the insurer's staff, two insureds (A and B), a broker mandated by A, a factor.

:func:`add_receivables` extends it with each insured's ledger (an invoice, a payment, a disputed
invoice), an alert subscription with a queued delivery, and a broker user whose mandate on B is
read-only.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tradecover.bootstrap import Container, build
from tradecover.config import Environment, Settings
from tradecover.domain.collection import CaseDebt
from tradecover.domain.money import Money
from tradecover.domain.monitoring import Alert, AlertKind, GradeRecord
from tradecover.domain.parties import STAFF_ROLES, MandateScope, OrganisationKind, Role
from tradecover.domain.periods import FixedClock
from tradecover.services import accounts, alerts, buyers, collection, credit_limits, ledger, policies
from tradecover.services.authorization import system_actor

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class LedgerSide:
    """One insured's receivables in the world, on its policy and its buyer."""

    invoice_id: str
    invoice_number: str
    payment_id: str
    disputed_invoice: str  # an invoice number with an open dispute
    dispute_id: str
    subscription_id: str
    alert_id: str  # a policy alert, raised after the subscription: one delivery queued
    delivery_id: str


@dataclass
class World:
    insurer_id: str
    insured_a: str
    insured_b: str
    broker_id: str
    factor_id: str
    policy_a: str
    policy_b: str
    buyer_a: str
    buyer_b: str
    broker_b: str = ""
    mandate_a: str = ""
    mandate_b: str = ""
    alert_a: str = ""
    alert_b: str = ""
    request_a: str = ""
    request_b: str = ""
    emails: dict[str, str] = field(default_factory=dict)  # principal name -> e-mail
    user_ids: dict[str, str] = field(default_factory=dict)
    ledger_a: LedgerSide | None = None
    ledger_b: LedgerSide | None = None

    def ledger(self, side: str) -> LedgerSide:
        found = {"a": self.ledger_a, "b": self.ledger_b}[side]
        assert found is not None, "build the world with add_receivables()"
        return found


def build_world(container: Container) -> World:
    clock = container.clock
    with container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, clock)
        admin = system_actor(insurer.id)

        def org(kind: OrganisationKind, name: str, siren: str | None = None) -> str:
            return accounts.create_organisation(uow, clock, admin, kind=kind, name=name, country="FR", siren=siren).id

        a = org(OrganisationKind.POLICYHOLDER, "Insured A SAS", "732829320")
        b = org(OrganisationKind.POLICYHOLDER, "Insured B SARL")
        broker = org(OrganisationKind.BROKER, "Broker SAS")
        factor = org(OrganisationKind.FACTOR, "Factor SA")
        mandate_a = accounts.create_mandate(
            uow,
            clock,
            admin,
            broker_id=broker,
            insured_id=a,
            start_date=date(2026, 1, 1),
            end_date=None,
            scope=MandateScope.ACT,
        )
        broker_b = org(OrganisationKind.BROKER, "Other Broker SARL")
        mandate_b = accounts.create_mandate(
            uow,
            clock,
            admin,
            broker_id=broker_b,
            insured_id=b,
            start_date=date(2026, 1, 1),
            end_date=None,
            scope=MandateScope.READ,
        )
        p_a, _ = policies.issue_policy(uow, clock, admin, policyholder_id=a, start_date=date(2026, 1, 1))
        p_b, _ = policies.issue_policy(uow, clock, admin, policyholder_id=b, start_date=date(2026, 1, 1))
        buyer_a, _ = buyers.add_buyer(
            uow,
            clock,
            admin,
            identifiers=[("siren", "552100554")],
            legal_name="Buyer of A",
            country="FR",
            organisation_id=a,
        )
        buyer_b, _ = buyers.add_buyer(
            uow,
            clock,
            admin,
            identifiers=[("siren", "542051180")],
            legal_name="Buyer of B",
            country="FR",
            organisation_id=b,
        )
        world = World(
            insurer.id,
            a,
            b,
            broker,
            factor,
            p_a.id,
            p_b.id,
            buyer_a.id,
            buyer_b.id,
            broker_b=broker_b,
            mandate_a=mandate_a.id,
            mandate_b=mandate_b.id,
        )
        principals: list[tuple[str, str, Role]] = [(r.value, insurer.id, r) for r in STAFF_ROLES]
        principals += [
            ("insured_user", a, Role.INSURED_USER),
            ("insured_user_b", b, Role.INSURED_USER),
            ("broker_user", broker, Role.BROKER_USER),
            ("factor_user", factor, Role.FACTOR_USER),
        ]
        for name, organisation_id, role in principals:
            email = f"{name}@example.fr"
            user = accounts.create_user(
                uow,
                clock,
                admin,
                organisation_id=organisation_id,
                email=email,
                full_name=name,
                role=role,
                password=PASSWORD,
            )
            world.emails[name] = email
            world.user_ids[name] = user.id
        # Graded buyers with an explicit capacity, and one approved limit each, for the credit-limit routes.
        for buyer_id in (buyer_a.id, buyer_b.id):
            uow.buyers.record_grade(
                GradeRecord(
                    buyer_id, 4, Decimal("0.003"), {"test": 0.0}, "test", str(uuid.uuid4()), 1, clock.now(), None
                )
            )
            uow.commit()
            credit_limits.set_capacity(uow, clock, admin, buyer_id, amount="1000000", reason="test world")
        world.request_a = credit_limits.request_limit(
            uow, clock, admin, policy_id=p_a.id, buyer_id=buyer_a.id, amount="50000"
        ).request.id
        world.request_b = credit_limits.request_limit(
            uow, clock, admin, policy_id=p_b.id, buyer_id=buyer_b.id, amount="50000"
        ).request.id
        for holder in (a, b):
            alert = Alert(
                str(uuid.uuid4()),
                holder,
                AlertKind.BUYER_DOWNGRADED,
                None,
                "test alert",
                f"test:{holder}",
                clock.now(),
            )
            uow.monitoring.raise_alert(alert)
            if holder == a:
                world.alert_a = alert.id
            else:
                world.alert_b = alert.id
        uow.commit()
    return world


@contextmanager
def container_with(database_url: str, clock: FixedClock, **settings: Any) -> Iterator[Container]:
    """A test container whose settings differ from the defaults (an approval amount, a size limit…)."""
    built = build(Settings(database_url=database_url, environment=Environment.TEST, **settings), clock=clock)
    try:
        yield built
    finally:
        built.dispose()


READ_ONLY_BROKER = "broker_user_b"  # a user of broker_b, whose mandate on B is read-only


def add_receivables(container: Container, world: World) -> World:
    """Each insured's ledger, subscription and queued delivery; a user for the read-only broker of B."""
    clock = container.clock
    admin = system_actor(world.insurer_id)
    eur = "EUR"
    sides: dict[str, LedgerSide] = {}
    for side, holder, policy_id, buyer_id in (
        ("a", world.insured_a, world.policy_a, world.buyer_a),
        ("b", world.insured_b, world.policy_b, world.buyer_b),
    ):
        with container.uow() as uow:

            def invoice(number: str, policy_id: str = policy_id, buyer_id: str = buyer_id) -> str:
                return ledger.record_invoice(
                    uow,
                    clock,
                    admin,
                    policy_id=policy_id,
                    buyer_id=buyer_id,
                    number=number,
                    issue_date=date(2026, 3, 1),
                    delivery_date=None,
                    due_date=date(2026, 4, 30),
                    amount_excl_vat=Money.of("1000.00", eur),
                    vat_amount=Money.of("200.00", eur),
                ).entry.id

            number = f"W{side.upper()}-1"
            invoice_id = invoice(number)
            disputed = f"W{side.upper()}-2"
            invoice(disputed)
            payment = ledger.record_payment(
                uow,
                clock,
                admin,
                policy_id=policy_id,
                buyer_id=buyer_id,
                amount=Money.of("600.00", eur),
                received_on=date(2026, 3, 10),
                reference=f"PAY-W{side.upper()}-1",
                invoices=[number],
            )
            dispute = ledger.open_dispute(
                uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id, invoice_number=disputed,
                on=date(2026, 3, 12), reason="world",
            )  # fmt: skip
            subscription = alerts.subscribe(
                uow, clock, admin, policy_id, channel="email", target=f"credit.{side}@example.fr"
            )
            alert = Alert(
                str(uuid.uuid4()), holder, AlertKind.LIMIT_REVISED, buyer_id, f"world alert of {side}",
                f"world:{policy_id}", clock.now(), None, policy_id,
            )  # fmt: skip
            assert uow.monitoring.raise_alert(alert)
            [delivery] = uow.alerts.deliveries(alert.id)
            uow.commit()
        sides[side] = LedgerSide(
            invoice_id, number, payment.entry.id, disputed, dispute.id, subscription.id, alert.id, delivery.id
        )
    world.ledger_a, world.ledger_b = sides["a"], sides["b"]
    with container.uow() as uow:
        email = f"{READ_ONLY_BROKER}@example.fr"
        user = accounts.create_user(
            uow,
            clock,
            admin,
            organisation_id=world.broker_b,
            email=email,
            full_name=READ_ONLY_BROKER,
            role=Role.BROKER_USER,
            password=PASSWORD,
        )
    world.emails[READ_ONLY_BROKER] = email
    world.user_ids[READ_ONLY_BROKER] = user.id
    return world


def login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# --------------------------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class ClaimSide:
    """One insured's overdue notification and claims in the world."""

    notification_id: str
    claim_id: str  # pending, documents missing: settling it answers "pending" and writes nothing
    document_claim_id: str  # documents are filed on this one
    document_id: str
    settled_claim_id: str  # settled, with one recovery shared
    recovery_id: str


CLAIMS_WORLD: dict[int, dict[str, ClaimSide]] = {}  # id(world) -> side -> its claims
WORLD_CONTAINERS: dict[int, Container] = {}  # id(world) -> the container it lives in


def claims_of(world: World, side: str) -> ClaimSide:
    return CLAIMS_WORLD[id(world)][side]


def overdue_invoice(container: Container, world: World, side: str) -> tuple[str, str, str]:
    """A new invoice of the side's ledger, overdue today (due 2026-02-05): (policy, buyer, number)."""
    policy_id, buyer_id = (world.policy_a, world.buyer_a) if side == "a" else (world.policy_b, world.buyer_b)
    admin = system_actor(world.insurer_id)
    number = f"OD-{side.upper()}-{uuid.uuid4().hex[:8]}"
    with container.uow() as uow:
        ledger.record_invoice(
            uow,
            container.clock,
            admin,
            policy_id=policy_id,
            buyer_id=buyer_id,
            number=number,
            issue_date=date(2026, 1, 5),
            delivery_date=None,
            due_date=date(2026, 2, 5),
            amount_excl_vat=Money.of("1000.00", "EUR"),
            vat_amount=Money.of("200.00", "EUR"),
        )
        uow.commit()
    return policy_id, buyer_id, number


def direct_claim(container: Container, world: World, side: str, notification_id: str, status: str) -> str:
    """A claim written straight to the store (the waiting period cannot run in a world frozen on one day)."""
    from tradecover.domain.claims import Claim, ClaimCause, ClaimStatus

    policy_id, buyer_id = (world.policy_a, world.buyer_a) if side == "a" else (world.policy_b, world.buyer_b)
    claim_id = str(uuid.uuid4())
    with container.uow() as uow:
        uow.claims.add_claim(
            Claim(
                id=claim_id,
                reference=f"CLM-W-{uuid.uuid4().hex[:10]}",
                policy_id=policy_id,
                buyer_id=buyer_id,
                notification_id=notification_id,
                cause=ClaimCause.PROTRACTED_DEFAULT,
                date_of_loss=date(2026, 3, 1),
                opened_on=date(2026, 3, 15),
                opened_at=container.clock.now(),
                opened_by="world",
                status=ClaimStatus(status),
            )
        )
        uow.commit()
    return claim_id


def awaiting_settlement(container: Container, claim_id: str) -> None:
    """Put an indemnity computed by someone else on the claim, awaiting a second claims handler."""
    from tradecover.domain.claims import ClaimSettlement, ClaimStatus, SettlementStatus

    with container.uow() as uow:
        claim = uow.claims.get_claim(claim_id)
        assert claim is not None
        zero = Money.zero("EUR")
        uow.claims.add_settlement(
            ClaimSettlement(
                id=str(uuid.uuid4()),
                claim_id=claim_id,
                policy_id=claim.policy_id,
                status=SettlementStatus.AWAITING_APPROVAL,
                computed_on=date(2026, 3, 15),
                computed_at=container.clock.now(),
                computed_by="user:another-claims-handler",
                cause=claim.cause,
                date_of_loss=claim.date_of_loss,
                policy_year_start=date(2026, 1, 1),
                loss=Money.of("150000", "EUR"),
                covered_loss=Money.of("150000", "EUR"),
                indemnity=Money.of("135000", "EUR"),
                aggregate_deductible=zero,
                statement={"lines": []},
            )
        )
        uow.claims.set_claim_status(claim_id, ClaimStatus.AWAITING_APPROVAL)
        uow.commit()


def add_claims(container: Container, world: World) -> World:
    """Each insured's overdue notification, a pending claim, a claim with a document, a settled claim."""
    from tradecover.domain.claims import ClaimDocument, ClaimRecovery, ClaimSettlement, DocumentKind, SettlementStatus
    from tradecover.services import overdues

    admin = system_actor(world.insurer_id)
    sides: dict[str, ClaimSide] = {}
    for side in ("a", "b"):
        policy_id, buyer_id, number = overdue_invoice(container, world, side)
        with container.uow() as uow:
            result = overdues.declare_overdue(
                uow, container.clock, admin, policy_id=policy_id, buyer_id=buyer_id, invoices=[number]
            )
            uow.commit()
        notification_id = result.notification.id
        pending = direct_claim(container, world, side, notification_id, "pending")
        with_document = direct_claim(container, world, side, notification_id, "pending")
        settled = direct_claim(container, world, side, notification_id, "settled")
        document_id = str(uuid.uuid4())
        recovery_id = str(uuid.uuid4())
        now = container.clock.now()
        eur = Money.zero("EUR")
        with container.uow() as uow:
            uow.claims.add_document(
                ClaimDocument(
                    document_id, with_document, DocumentKind.UNPAID_INVOICES, "unpaid.pdf", "application/pdf",
                    9, "0" * 64, "world", now,
                ),
                b"%PDF-1.4\n",
            )  # fmt: skip
            uow.claims.add_settlement(
                ClaimSettlement(
                    str(uuid.uuid4()), settled, policy_id, SettlementStatus.SETTLED, date(2026, 3, 15), now, "world",
                    uow.claims.get_claim(settled).cause,  # type: ignore[union-attr]
                    date(2026, 3, 1), date(2026, 1, 1), Money.of("1000", "EUR"), Money.of("1000", "EUR"),
                    Money.of("900", "EUR"), eur, {"lines": []},
                )
            )  # fmt: skip
            uow.claims.add_recovery(
                ClaimRecovery(
                    recovery_id, settled, date(2026, 3, 15), Money.of("100", "EUR"), Money.of("90", "EUR"),
                    Money.of("10", "EUR"), "world", "collection", "world", "world", now,
                )
            )  # fmt: skip
            uow.commit()
        sides[side] = ClaimSide(notification_id, pending, with_document, document_id, settled, recovery_id)
    CLAIMS_WORLD[id(world)] = sides
    WORLD_CONTAINERS[id(world)] = container
    return world


def claimable_buyer(container: Container, world: World, side: str) -> tuple[str, str]:
    """A new buyer of the side, with an accepted overdue notification and an insolvency judgment: a claim
    can be filed on it today. (policy, buyer)"""
    from tradecover.domain.monitoring import LegalEvent, LegalEventKind
    from tradecover.services import overdues

    policy_id, holder = (world.policy_a, world.insured_a) if side == "a" else (world.policy_b, world.insured_b)
    admin = system_actor(world.insurer_id)
    clock = container.clock
    buyer_id, siren = buyer_with_limit(container, world, holder, policy_id, amount="20000", name="Claimable")
    number = f"CL-{siren}"
    with container.uow() as uow:
        ledger.record_invoice(
            uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id, number=number, issue_date=date(2026, 1, 5),
            delivery_date=None, due_date=date(2026, 2, 5), amount_excl_vat=Money.of("1000.00", "EUR"),
            vat_amount=Money.of("200.00", "EUR"),
        )  # fmt: skip
        uow.commit()
    with container.uow() as uow:
        overdues.declare_overdue(uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id, invoices=[number])
        uow.monitoring.add_legal_event(
            LegalEvent(
                str(uuid.uuid4()), buyer_id, LegalEventKind.RECEIVERSHIP, "Jugement d'ouverture", date(2026, 3, 2),
                date(2026, 3, 10), "world", f"world-{siren}", None, clock.now(),
            )
        )  # fmt: skip
        uow.commit()
    return policy_id, buyer_id


def buyer_with_limit(
    container: Container, world: World, holder: str, policy_id: str, *, amount: str, name: str
) -> tuple[str, str]:
    """A new graded buyer in ``holder``'s book with a limit of ``amount`` granted on 2 January (before any
    invoice: a limit leaves out deliveries already overdue on its date). (buyer id, SIREN)"""
    from tradecover.domain.identifiers import generate_siren

    admin = system_actor(world.insurer_id)
    clock = container.clock
    siren = generate_siren(60_000_000 + uuid.uuid4().int % 30_000_000)
    with container.uow() as uow:
        buyer, _ = buyers.add_buyer(
            uow, clock, admin, identifiers=[("siren", siren)], legal_name=f"{name} {siren}", country="FR",
            organisation_id=holder,
        )  # fmt: skip
    with container.uow() as uow:
        uow.buyers.record_grade(
            GradeRecord(buyer.id, 4, Decimal("0.003"), {"test": 0.0}, "test", str(uuid.uuid4()), 1, clock.now(), None)
        )
        uow.commit()
        credit_limits.set_capacity(uow, clock, admin, buyer.id, amount="1000000", reason="test world")
    today = clock.now()
    clock.set(datetime(2026, 1, 2, 10, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    try:
        with container.uow() as uow:
            credit_limits.request_limit(uow, clock, admin, policy_id=policy_id, buyer_id=buyer.id, amount=amount)
    finally:
        clock.set(today)  # type: ignore[attr-defined]
    return buyer.id, siren


# --------------------------------------------------------------------------------------------- collection


@dataclass(frozen=True)
class CollectionSide:
    """One insured's collection case in the world, on a buyer of its own (no other test's ledger moves)."""

    case_id: str
    reference: str
    invoice_numbers: tuple[str, ...]  # the first guaranteed, the second not
    letter_id: str  # a formal notice sent on the case
    closable_buyer: str  # another buyer, with an overdue invoice: see reopened_case()


COLLECTION_WORLD: dict[int, dict[str, CollectionSide]] = {}  # id(world) -> side -> its case
_collection_sirens = itertools.count(95_000_000)


def collection_of(world: World, side: str) -> CollectionSide:
    return COLLECTION_WORLD[id(world)][side]


def collected_buyer(container: Container, world: World, side: str, *numbers: str) -> tuple[str, list[CaseDebt]]:
    """A new buyer in the side's book with an invoice of 1,200 EUR (incl. VAT) per number, overdue today."""
    from tradecover.domain.identifiers import generate_siren

    holder, policy_id = (world.insured_a, world.policy_a) if side == "a" else (world.insured_b, world.policy_b)
    admin = system_actor(world.insurer_id)
    clock = container.clock
    siren = generate_siren(next(_collection_sirens))
    with container.uow() as uow:
        buyer, _ = buyers.add_buyer(
            uow, clock, admin, identifiers=[("siren", siren)], legal_name=f"Collected {siren}", country="FR",
            organisation_id=holder, city="Lyon",
        )  # fmt: skip
    debts: list[CaseDebt] = []
    with container.uow() as uow:
        for index, number in enumerate(numbers):
            invoice = ledger.record_invoice(
                uow, clock, admin, policy_id=policy_id, buyer_id=buyer.id, number=number,
                issue_date=date(2026, 1, 5), delivery_date=None, due_date=date(2026, 2, 5),
                amount_excl_vat=Money.of("1000.00", "EUR"), vat_amount=Money.of("200.00", "EUR"),
            ).entry  # fmt: skip
            debts.append(
                CaseDebt(
                    invoice.id, number, date(2026, 1, 5), date(2026, 2, 5), Money.of("1200.00", "EUR"),
                    Money.of("1200.00", "EUR"), guaranteed=index == 0,
                )
            )  # fmt: skip
        uow.commit()
    return buyer.id, debts


def _open(container: Container, world: World, side: str, buyer_id: str, debts: list[CaseDebt]) -> str:
    policy_id = world.policy_a if side == "a" else world.policy_b
    with container.uow() as uow:
        case = collection.open_case(
            uow, container.clock, system_actor(world.insurer_id), policy_id=policy_id, buyer_id=buyer_id,
            notification_id=str(uuid.uuid4()), opened_on=container.clock.today(), debts=debts,
        )  # fmt: skip
        uow.commit()
    return case.id


def reopened_case(container: Container, world: World, side: str) -> str:
    """An open case on the side's closable buyer: the open one, or a new one once the last was closed."""
    buyer_id = collection_of(world, side).closable_buyer
    with container.uow() as uow:
        [invoice] = uow.ledger.entries(world.policy_a if side == "a" else world.policy_b, [buyer_id])[0][buyer_id]
    debt = CaseDebt(
        invoice.id, invoice.number, invoice.issue_date, invoice.due_date, invoice.amount_incl_vat,
        invoice.amount_incl_vat, guaranteed=False,
    )  # fmt: skip
    return _open(container, world, side, buyer_id, [debt])


def add_collection(container: Container, world: World) -> World:
    """Each insured's collection case (two debts, a formal notice sent) and a buyer whose case may be closed."""
    sides: dict[str, CollectionSide] = {}
    COLLECTION_WORLD[id(world)] = sides
    for side in ("a", "b"):
        numbers = (f"COL-{side.upper()}-1", f"COL-{side.upper()}-2")
        buyer_id, debts = collected_buyer(container, world, side, *numbers)
        case_id = _open(container, world, side, buyer_id, debts)
        with container.uow() as uow:
            sent = collection.send_formal_notice(
                uow, container.clock, system_actor(world.insurer_id), case_id, on=container.clock.today(),
                language="fr",
            )  # fmt: skip
            reference = collection.get_case(uow, system_actor(world.insurer_id), case_id).reference
            uow.commit()
        closable, _ = collected_buyer(container, world, side, f"COL-{side.upper()}-X")
        sides[side] = CollectionSide(case_id, reference, numbers, sent.letter.id, closable)
    return world


# --------------------------------------------------------------------------------------------- quotes


def quote_application(policyholder_id: str | None = None) -> dict[str, object]:
    """An application (DOMAIN.md §2 step 0), as the API takes it; priced by hand in tests/unit/domain/test_quotes.py:
    rates 0.0051 / 0.00816, expected premium 10,200 EUR."""
    body: dict[str, object] = {
        "currency": "EUR",
        "turnover": {
            "domestic": {"amount": "1200000.00", "currency": "EUR"},
            "export": {"amount": "500000.00", "currency": "EUR"},
        },
        "sector": "25.62A",
        "buyers": [
            {"name": "Usinage Lyonnais", "identifier": "552100554", "country": "FR",
             "outstanding": {"amount": "400000.00", "currency": "EUR"}, "risk_grade": 4},
            {"name": "Maschinenbau GmbH", "country": "DE", "outstanding": {"amount": "100000.00", "currency": "EUR"},
             "risk_grade": 8},
            {"name": "Ungraded SARL", "country": "FR", "outstanding": {"amount": "50000.00", "currency": "EUR"}},
        ],
        "loss_history": [
            {"year": 2023, "losses": {"amount": "8000.00", "currency": "EUR"}},
            {"year": 2024, "losses": {"amount": "0.00", "currency": "EUR"}},
            {"year": 2025, "losses": {"amount": "10360.00", "currency": "EUR"}},
        ],
    }  # fmt: skip
    if policyholder_id is not None:
        body["policyholder_id"] = policyholder_id
    return body


QUOTES_WORLD: dict[int, dict[str, str]] = {}  # id(world) -> side -> a quote proposed to that insured


def quotes_of(world: World, side: str) -> str:
    return QUOTES_WORLD[id(world)][side]


def add_quotes(container: Container, world: World) -> World:
    """A quote proposed to each insured (valid 30 days from the world's day, never issued)."""
    from tradecover.services import quotes

    admin = system_actor(world.insurer_id)
    sides: dict[str, str] = {}
    for side, holder in (("a", world.insured_a), ("b", world.insured_b)):
        with container.uow() as uow:
            view = quotes.request_quote(
                uow, container.clock, admin, policyholder_id=holder, application=quote_application()
            )
            uow.commit()
        sides[side] = view.quote.id
    QUOTES_WORLD[id(world)] = sides
    WORLD_CONTAINERS[id(world)] = container
    return world


# --------------------------------------------------------------------------------------------- premium


@dataclass(frozen=True)
class PremiumSide:
    """One insured's turnover declaration (January 2026) and premium invoice in the world."""

    declaration_id: str
    document_id: str
    document_number: str


PREMIUM_WORLD: dict[int, dict[str, PremiumSide]] = {}  # id(world) -> side -> its premium


def premium_of(world: World, side: str) -> PremiumSide:
    return PREMIUM_WORLD[id(world)][side]


def add_premium(container: Container, world: World) -> World:
    """Each insured's January turnover declaration and a provisional-premium invoice (written to the store:
    the world's policies have no minimum premium, so the premium run issues nothing on them)."""
    from tradecover.domain.premium import DocumentKind, PremiumDocument, PremiumItem, document_number
    from tradecover.services import premium

    admin = system_actor(world.insurer_id)
    clock = container.clock
    sides: dict[str, PremiumSide] = {}
    for side, policy_id in (("a", world.policy_a), ("b", world.policy_b)):
        with container.uow() as uow:
            outcome = premium.declare_turnover(
                uow, clock, admin, policy_id, period_start=date(2026, 1, 1), period_end=date(2026, 1, 31),
                domestic="100000.00", export="20000.00",
            )  # fmt: skip
        with container.uow() as uow:
            number = document_number(DocumentKind.INVOICE, 2026, uow.premium.next_document_sequence(2026))
            document = PremiumDocument(
                str(uuid.uuid4()), policy_id, number, DocumentKind.INVOICE, PremiumItem.INSTALMENT, date(2026, 1, 1),
                date(2026, 1, 1), date(2026, 1, 31), Money.of("500.00", "EUR"),
                "Prime provisionnelle, échéance 1/4 / Provisional premium, instalment 1 of 4",
                f"instalment:{policy_id}:2026-01-01:1/4", "world", clock.now(),
            )  # fmt: skip
            uow.premium.add_document(document)
            uow.commit()
        sides[side] = PremiumSide(outcome.declaration.id, document.id, number)
    PREMIUM_WORLD[id(world)] = sides
    WORLD_CONTAINERS[id(world)] = container
    return world
