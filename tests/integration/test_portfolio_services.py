"""The portfolio's accumulation and live book through the services and the real unit of work, on SQLite and
PostgreSQL (DOMAIN.md §11).

The world, on 15 March 2026 (limits requested on 5 January, invoices issued on 1 February, due 31 March):

==========  ======  =======  =========  =====  =======  ========  ========  =====================
buyer       group   country  NAF        grade  policy   limit     invoiced  covered exposure
==========  ======  =======  =========  =====  =======  ========  ========  =====================
Holding     Hold.   FR       46.69B G   3      A        100,000   60,000    60,000
Filiale     Hold.   FR       46.39B G   5      A         50,000   20,000    20,000
Werk        Werk    DE       25.11Z C   4      A         50,000   20,000    20,000
Holding     Hold.   FR       46.69B G   3      B         40,000         0         0
Sans code   Sans    FR       —      ?   —      B              —   10,000    (no limit: not covered)
==========  ======  =======  =========  =====  =======  ========  ========  =====================

Totals in EUR: limits 240,000, covered exposure 100,000. Insured C's policy is in USD: one buyer, a
limit of 30,000 USD and 10,000 USD covered.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from tradecover.bootstrap import Container
from tradecover.domain.accumulation import Cap, Dimension, Measure
from tradecover.domain.errors import DomainError, Forbidden, InvalidInput, RuleBroken
from tradecover.domain.grades import DEFAULT_GRADE_SCALE
from tradecover.domain.money import Money
from tradecover.domain.monitoring import GradeRecord
from tradecover.domain.parties import MandateScope, OrganisationKind, Role
from tradecover.domain.periods import FixedClock
from tradecover.services import accounts, buyers, credit_limits, ledger, policies, portfolio
from tradecover.services.authorization import Actor, system_actor

EUR = "EUR"
AS_OF = date(2026, 3, 15)
T = TypeVar("T")


def eur(amount: str | int) -> Money:
    return Money.of(amount, EUR)


class World:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.clock: FixedClock = container.clock  # type: ignore[assignment]
        self.on(date(2026, 1, 5))
        with container.uow() as uow:
            insurer = accounts.ensure_insurer(uow, self.clock)
            uow.commit()
        self.admin = system_actor(insurer.id)
        self.risk = Actor("risk-1", "risk-1", insurer.id, OrganisationKind.INSURER, Role.RISK_MANAGER)
        self.underwriter = Actor("uw-1", "uw-1", insurer.id, OrganisationKind.INSURER, Role.UNDERWRITER)
        self.a, self.policy_a = self.insured("Insured A SAS", covered_countries=["FR", "DE"])
        self.b, self.policy_b = self.insured("Insured B SARL")
        self.insured_a = Actor("user-a", "user-a", self.a, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)
        with container.uow() as uow:
            broker = accounts.create_organisation(
                uow, self.clock, self.admin, kind=OrganisationKind.BROKER, name="Broker SAS", country="FR"
            )
            accounts.create_mandate(
                uow, self.clock, self.admin, broker_id=broker.id, insured_id=self.a, start_date=date(2026, 1, 1),
                end_date=None, scope=MandateScope.ACT,
            )  # fmt: skip
        self.broker = Actor(
            "broker-1", "broker-1", broker.id, OrganisationKind.BROKER, Role.BROKER_USER, {self.a: MandateScope.ACT}
        )
        self.holding = self.buyer("552100554", "Holding SA", "FR", "46.69B", 3, books=(self.a, self.b))
        self.filiale = self.buyer("542051180", "Filiale SAS", "FR", "46.39B", 5, parent=self.holding)
        self.werk = self.buyer("345086177", "Werk GmbH", "DE", "25.11Z", 4)
        self.sans_code = self.buyer("954507976", "Sans Code SARL", "FR", None, None, books=(self.b,))
        for policy_id, buyer_id, amount in (
            (self.policy_a, self.holding, "100000"),
            (self.policy_a, self.filiale, "50000"),
            (self.policy_a, self.werk, "50000"),
            (self.policy_b, self.holding, "40000"),
        ):
            decision = self.do(
                credit_limits.request_limit, self.clock, self.admin, policy_id=policy_id, buyer_id=buyer_id,
                amount=amount,
            ).decision  # fmt: skip
            assert decision is not None
            assert decision.granted_amount == eur(amount), decision
        self.on(date(2026, 2, 1))
        for policy_id, buyer_id, amount in (
            (self.policy_a, self.holding, "60000"),
            (self.policy_a, self.filiale, "20000"),
            (self.policy_a, self.werk, "20000"),
            (self.policy_b, self.sans_code, "10000"),
        ):
            self.invoice(policy_id, buyer_id, amount)
        self.on(AS_OF)

    def on(self, day: date) -> None:
        self.clock.set(datetime.combine(day, time(10, 0), tzinfo=UTC))

    def do(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.container.uow() as uow:
            result = action(uow, *args, **kwargs)
            uow.commit()
            return result

    def read(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.container.uow() as uow:
            return action(uow, *args, **kwargs)

    def insured(self, name: str, *, currency: str = EUR, **terms: Any) -> tuple[str, str]:
        with self.container.uow() as uow:
            organisation = accounts.create_organisation(
                uow, self.clock, self.admin, kind=OrganisationKind.POLICYHOLDER, name=name, country="FR"
            )
            policy, _ = policies.issue_policy(
                uow, self.clock, self.admin, policyholder_id=organisation.id, start_date=date(2026, 1, 1),
                currency=currency, terms=terms or None,
            )  # fmt: skip
        return organisation.id, policy.id

    def buyer(
        self,
        siren: str,
        name: str,
        country: str,
        naf: str | None,
        grade: int | None,
        *,
        books: tuple[str, ...] | None = None,
        parent: str | None = None,
    ) -> str:
        buyer_id = ""
        for organisation_id in books or (self.a,):
            created, _ = self.read(
                buyers.add_buyer, self.clock, self.admin, identifiers=[("siren", siren)], legal_name=name,
                country=country, organisation_id=organisation_id, naf_code=naf, parent_id=parent,
            )  # fmt: skip
            buyer_id = created.id
        with self.container.uow() as uow:
            if grade is not None:
                uow.buyers.record_grade(
                    GradeRecord(
                        buyer_id, grade, DEFAULT_GRADE_SCALE.pd_of(grade), {"test": 0.0}, "test", str(uuid.uuid4()),
                        1, self.clock.now(), None,
                    )
                )  # fmt: skip
            uow.commit()
        if grade is not None:
            self.do(credit_limits.set_capacity, self.clock, self.admin, buyer_id, amount="1000000", reason="test")
        return buyer_id

    def invoice(self, policy_id: str, buyer_id: str, amount: str, currency: str = EUR) -> None:
        self.do(
            ledger.record_invoice, self.clock, self.admin, policy_id=policy_id, buyer_id=buyer_id,
            number=f"F-{uuid.uuid4().hex[:8]}", issue_date=date(2026, 2, 1), delivery_date=None,
            due_date=date(2026, 3, 31), amount_excl_vat=Money.of(amount, currency),
            vat_amount=Money.of(Decimal(amount) / 5, currency),
        )  # fmt: skip

    def accumulation(self, dimension: Dimension, caps: tuple[Cap, ...] = (), top: int = 10, **kw: Any) -> Any:
        return self.read(portfolio.accumulation, self.risk, AS_OF, caps, top, dimension=dimension, **kw)


@pytest.fixture
def world(container: Container) -> World:
    return World(container)


def amounts(result: portfolio.PortfolioAccumulation) -> dict[str, tuple[str, str]]:
    [book] = result.books
    return {
        c.name: (c.limit_amount.quantize_str(), c.covered_exposure_amount.quantize_str()) for c in book.concentrations
    }


def test_accumulation_per_dimension_from_the_database(world: World) -> None:
    buyers_ = world.accumulation(Dimension.BUYER)
    assert buyers_.lines == 4  # Sans Code has no limit, hence no covered exposure: not in the book
    assert amounts(buyers_) == {
        "Holding SA": ("140000.00", "60000.00"),
        "Filiale SAS": ("50000.00", "20000.00"),
        "Werk GmbH": ("50000.00", "20000.00"),
    }
    [book] = buyers_.books
    assert (book.total_limit_amount, book.total_covered_exposure_amount) == (eur(240_000), eur(100_000))
    assert book.concentrations[0].covered_exposure_share == Decimal("0.6")
    assert book.hhi(Measure.COVERED_EXPOSURE) == Decimal("0.44")
    assert amounts(world.accumulation(Dimension.GROUP)) == {
        "Holding SA": ("190000.00", "80000.00"),
        "Werk GmbH": ("50000.00", "20000.00"),
    }
    assert amounts(world.accumulation(Dimension.COUNTRY)) == {
        "FR": ("190000.00", "80000.00"),
        "DE": ("50000.00", "20000.00"),
    }
    assert amounts(world.accumulation(Dimension.SECTOR)) == {
        "G": ("190000.00", "80000.00"),
        "C": ("50000.00", "20000.00"),
    }
    by_policy = world.accumulation(Dimension.POLICY)
    [policies_book] = by_policy.books
    assert {c.key: c.limit_amount for c in policies_book.concentrations} == {
        world.policy_a: eur(200_000),
        world.policy_b: eur(40_000),
    }
    assert policies_book.concentrations[0].name.startswith("TC-2026-")


def test_covered_exposure_is_the_exposure_rule_and_a_terminated_policy_takes_no_limit(world: World) -> None:
    # The insurer terminates B's policy from 1 March (decided that day).
    world.on(date(2026, 3, 1))
    world.do(
        policies.terminate_policy, world.clock, world.admin, world.policy_b, effective_date=date(2026, 3, 1),
        reason="unpaid premium",
    )  # fmt: skip
    # A payment of 36,000 incl. VAT on Holding's invoice leaves 30,000 excl. VAT open: covered 30,000.
    world.on(AS_OF)
    world.do(
        ledger.record_payment, world.clock, world.admin, policy_id=world.policy_a, buyer_id=world.holding,
        amount=eur("36000"), received_on=date(2026, 3, 10), reference="VIR-1",
    )  # fmt: skip
    assert amounts(world.accumulation(Dimension.BUYER))["Holding SA"] == ("100000.00", "30000.00")
    # Before the termination, B's limit on Holding still counted.
    earlier = world.read(portfolio.accumulation, world.risk, date(2026, 2, 20), (), dimension=Dimension.BUYER)
    assert amounts(earlier)["Holding SA"] == ("140000.00", "60000.00")


def test_caps_and_breaches_on_every_dimension(world: World) -> None:
    caps = (
        Cap(Dimension.BUYER, max_share=Decimal("0.5")),
        Cap(Dimension.COUNTRY, max_share=Decimal("0.4")),
        Cap(Dimension.COUNTRY, "FR", max_share=Decimal("1")),
        Cap(Dimension.GROUP, measure=Measure.LIMIT, max_amount=eur(150_000)),
    )
    result = world.accumulation(Dimension.SECTOR, caps)
    found = {(b.dimension, b.name, b.measure): b.excess for b in result.breaches}
    assert found == {
        (Dimension.BUYER, "Holding SA", Measure.COVERED_EXPOSURE): eur(10_000),
        (Dimension.GROUP, "Holding SA", Measure.LIMIT): eur(40_000),
    }
    # Dimension by dimension (buyer, group, country, sector, policy), the largest excess first in each.
    assert [b.dimension for b in result.breaches] == [Dimension.BUYER, Dimension.GROUP]
    assert result.breaches_of(Dimension.SECTOR) == []


def test_the_accumulation_csv(world: World) -> None:
    caps = (Cap(Dimension.BUYER, max_share=Decimal("0.5")),)
    result = world.accumulation(Dimension.BUYER, caps, top=1)
    text = portfolio.accumulation_csv(result).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == list(portfolio.ACCUMULATION_CSV_HEADER)
    assert len(rows) == 4  # every key, whatever the top
    holding = rows[1]
    assert holding[:7] == ["buyer", world.holding, "Holding SA", "140000.00", "60000.00", "EUR", "0.600000"]
    assert holding[7] == "covered_exposure ≤ 50% of the total = 50000.00"
    assert holding[8] == "10000.00"
    assert rows[2][8] == ""


def test_several_currencies_are_summed_apart(world: World) -> None:
    c, policy_c = world.insured("Insured C Inc", currency="USD")
    world.on(date(2026, 1, 5))
    buyer = world.buyer("443061841", "Yankee Corp", "FR", "46.69B", 3, books=(c,))
    world.do(credit_limits.set_capacity, world.clock, world.admin, buyer, amount="1000000", currency="USD", reason="t")
    outcome = world.do(
        credit_limits.request_limit, world.clock, world.admin, policy_id=policy_c, buyer_id=buyer, amount="30000"
    )
    assert outcome.decision is not None
    assert outcome.decision.granted_amount == Money.of(30_000, "USD")
    world.on(date(2026, 2, 1))
    world.invoice(policy_c, buyer, "10000", "USD")
    world.on(AS_OF)
    result = world.accumulation(Dimension.COUNTRY)
    assert [(b.currency, b.total_limit_amount.quantize_str()) for b in result.books] == [
        ("EUR", "240000.00"),
        ("USD", "30000.00"),
    ]
    assert result.books[1].concentrations[0].covered_exposure_amount == Money.of(10_000, "USD")
    # The live book converts to its currency at the reference rate, and refuses without one.
    with pytest.raises(RuleBroken) as caught:
        world.read(portfolio.live_book, world.risk, AS_OF)
    assert caught.value.code == "portfolio.no_exchange_rate"
    world.do(ledger.add_exchange_rates, world.clock, world.admin, [("USD", "EUR", date(2026, 3, 13), "0.9")])
    rows = {r.obligor_id: r for r in world.read(portfolio.live_book, world.risk, AS_OF)}
    assert (rows[buyer].ead, rows[buyer].limit_amount) == (Decimal("9000.00"), Decimal("27000.00"))


def test_the_live_book(world: World) -> None:
    rows = world.read(portfolio.live_book, world.risk, AS_OF)
    assert [r.obligor_id for r in rows] == sorted([world.holding, world.filiale, world.werk])
    got = {r.name: (r.ead, r.pd, r.lgd, r.sector, r.country, r.limit_amount, r.graded) for r in rows}
    assert got == {
        "Holding SA": (Decimal("60000.00"), Decimal("0.0015"), Decimal("0.60"), "G", "FR", Decimal("140000.00"), True),
        "Filiale SAS": (Decimal("20000.00"), Decimal("0.0060"), Decimal("0.60"), "G", "FR", Decimal("50000.00"), True),
        "Werk GmbH": (Decimal("20000.00"), Decimal("0.0030"), Decimal("0.60"), "C", "DE", Decimal("50000.00"), True),
    }
    text = portfolio.live_book_csv(rows).decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == "obligor_id,ead,pd,lgd,sector,country"
    assert f"{world.holding},60000.00,0.0015,0.60,G,FR" in lines
    half = world.read(portfolio.live_book, world.risk, AS_OF, Decimal("0.45"))
    assert {r.lgd for r in half} == {Decimal("0.45")}


def test_an_ungraded_buyer_and_one_without_a_sector_in_the_live_book(world: World) -> None:
    # Sans Code gets a limit under B (an underwriter's capacity; no grade): covered 10,000, sector "?".
    world.on(date(2026, 1, 5))
    world.do(credit_limits.set_capacity, world.clock, world.admin, world.sans_code, amount="50000", reason="t")
    outcome = world.do(
        credit_limits.request_limit, world.clock, world.admin, policy_id=world.policy_b, buyer_id=world.sans_code,
        amount="25000",
    )  # fmt: skip
    assert outcome.decision is not None, outcome.request
    assert outcome.decision.granted_amount == eur(25_000)
    world.on(AS_OF)
    [row] = [r for r in world.read(portfolio.live_book, world.risk, AS_OF) if r.obligor_id == world.sans_code]
    assert (row.ead, row.sector, row.graded) == (Decimal("10000.00"), "?", False)
    assert row.pd == DEFAULT_GRADE_SCALE.pd_of(portfolio.UNGRADED_GRADE) == Decimal("0.0500")
    assert "?" in amounts(world.accumulation(Dimension.SECTOR))


def test_staff_only(world: World) -> None:
    calls: list[Callable[..., object]] = [
        lambda uow, actor: portfolio.accumulation(uow, actor, AS_OF, ()),
        lambda uow, actor: portfolio.live_book(uow, actor, AS_OF),
    ]
    for actor in (world.insured_a, world.broker):
        for call in calls:
            with pytest.raises(Forbidden) as caught:
                world.read(call, actor)
            assert caught.value.code == "auth.forbidden"
    for staff in (world.admin, world.underwriter, world.risk):
        assert world.read(portfolio.accumulation, staff, AS_OF, ()).lines == 4


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda uow, w: portfolio.live_book(uow, w.risk, AS_OF, Decimal("1.5")), "portfolio.invalid_lgd"),
        (lambda uow, w: portfolio.live_book(uow, w.risk, AS_OF, Decimal("-0.1")), "portfolio.invalid_lgd"),
        (lambda uow, w: portfolio.live_book(uow, w.risk, AS_OF, currency="eur"), "money.unknown_currency"),
        (lambda uow, w: portfolio.accumulation(uow, w.risk, AS_OF, (), 5000), "accumulation.invalid_top"),
    ],
)
def test_bad_parameters_are_refused(world: World, call: Callable[..., object], code: str) -> None:
    with world.container.uow() as uow, pytest.raises(DomainError) as caught:
        call(uow, world)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.code == code
