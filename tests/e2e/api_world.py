"""The API test world: the insurer's staff, two insureds (A and B), a broker mandated by A, a factor.

:func:`add_receivables` extends it with each insured's ledger (an invoice, a payment, a disputed
invoice), an alert subscription with a queued delivery, and a broker user whose mandate on B is
read-only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient

from tradecover.bootstrap import Container
from tradecover.domain.money import Money
from tradecover.domain.monitoring import Alert, AlertKind, GradeRecord
from tradecover.domain.parties import STAFF_ROLES, MandateScope, OrganisationKind, Role
from tradecover.services import accounts, alerts, buyers, credit_limits, ledger, policies
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
