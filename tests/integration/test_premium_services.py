"""Turnover declarations, the premium run, the year end and premium payments through the services and the real
unit of work, on SQLite and PostgreSQL (DOMAIN.md §9).

The world: insured A's policy from 1 January 2026, declared quarterly within 30 days, with a minimum premium of
10,000.00 called in four instalments of 2,500.00, rates 0.25 % domestic and 0.40 % export, a request fee of
150.00 and a monitoring fee of 60.00; insured B's policy has the default terms (no minimum premium). A quarter of
1,200,000 domestic turnover less 200,000 of exclusions and 250,000 export earns
1,000,000 × 0.0025 + 250,000 × 0.0040 = 2,500.00 + 1,000.00 = 3,500.00.
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
from tradecover.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleBroken
from tradecover.domain.money import Money
from tradecover.domain.monitoring import Alert, AlertKind, GradeRecord
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.domain.periods import FixedClock, Period
from tradecover.domain.premium import PremiumDocument, YearEnd
from tradecover.services import accounts, buyers, claims, credit_limits, policies
from tradecover.services import premium as premium_service
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.ports import Page
from tradecover.services.premium import DeclarationOutcome

EUR = "EUR"
YEAR = Period(date(2026, 1, 1), date(2027, 1, 1))
QUARTERS = [
    (date(2026, 1, 1), date(2026, 3, 31)),
    (date(2026, 4, 1), date(2026, 6, 30)),
    (date(2026, 7, 1), date(2026, 9, 30)),
    (date(2026, 10, 1), date(2026, 12, 31)),
]
TERMS_A = {
    "minimum_premium": "10000.00",
    "request_fee": "150.00",
    "monitoring_fee": "60.00",
    "premium_instalments": 4,
    "declaration_frequency": "quarterly",
    "declaration_days": 30,
}
#: 1,200,000 − 100,000 − 50,000 − 50,000 = 1,000,000 insurable domestic turnover.
DOMESTIC = {
    "turnover": "1200000.00",
    "cash_sales": "100000.00",
    "intra_group": "50000.00",
    "public_buyers": "50000.00",
}
TABLES = (
    "turnover_declarations",
    "premium_documents",
    "premium_payments",
    "premium_movements",
    "premium_year_ends",
    "alerts",
    "audit_events",
)
#: The tables migration 0009 makes append-only, with a column to try to change.
APPEND_ONLY = {
    "turnover_declarations": "reason",
    "premium_documents": "label",
    "premium_payments": "reference",
    "premium_movements": "account",
    "premium_year_ends": "reason",
}
T = TypeVar("T")
_sirens = iter(range(20_000_000, 99_999_999, 7_919))


def eur(amount: str | int) -> Money:
    return Money.of(amount, EUR)


def raises(kind: type[DomainError], code: str, action: Callable[[], object]) -> DomainError:
    with pytest.raises(kind) as caught:
        action()
    assert caught.value.code == code, caught.value
    return caught.value


class World:
    """The insurer's staff, insureds A and B with a policy each from 1 January 2026, their users."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.clock: FixedClock = container.clock  # type: ignore[assignment]
        self.on(date(2026, 1, 1))
        with container.uow() as uow:
            insurer = accounts.ensure_insurer(uow, self.clock)
            uow.commit()
        self.admin = system_actor(insurer.id)
        self.underwriter = Actor("uw-1", "uw-1@insurer.example", insurer.id, OrganisationKind.INSURER, Role.UNDERWRITER)
        self.collector = Actor("col-1", "col-1@insurer.example", insurer.id, OrganisationKind.INSURER, Role.COLLECTOR)
        self.a, self.policy_a = self.insured("Insured A SAS", TERMS_A)
        self.b, self.policy_b = self.insured("Insured B SARL", None)
        self.insured_a = Actor("user-a", "user-a", self.a, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)
        self.insured_b = Actor("user-b", "user-b", self.b, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)

    def on(self, day: date) -> None:
        self.clock.set(datetime.combine(day, time(10, 0), tzinfo=UTC))

    def read(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.container.uow() as uow:
            return action(uow, *args, **kwargs)

    def insured(self, name: str, terms: dict[str, Any] | None) -> tuple[str, str]:
        with self.container.uow() as uow:
            organisation = accounts.create_organisation(
                uow, self.clock, self.admin, kind=OrganisationKind.POLICYHOLDER, name=name, country="FR"
            )
            uow.commit()
        with self.container.uow() as uow:
            policy, _ = policies.issue_policy(
                uow, self.clock, self.admin, policyholder_id=organisation.id, start_date=YEAR.start, terms=terms
            )
        return organisation.id, policy.id

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

    # --- the use cases

    def declare(
        self,
        quarter: int,
        *,
        domestic: Any = None,
        export: Any = "250000.00",
        actor: Actor | None = None,
        policy_id: str | None = None,
        end: date | None = None,
        reason: str | None = None,
    ) -> DeclarationOutcome:
        start, last_day = QUARTERS[quarter - 1]
        return self.read(
            premium_service.declare_turnover, self.clock, actor or self.insured_a, policy_id or self.policy_a,
            period_start=start, period_end=end or last_day, domestic=DOMESTIC if domestic is None else domestic,
            export=export, reason=reason,
        )  # fmt: skip

    def run(self, as_of: date) -> premium_service.RunSummary:
        if as_of > self.clock.today():  # a batch never runs ahead of the clock
            self.on(as_of)
        return self.read(premium_service.run_premium, self.clock, self.underwriter, as_of=as_of)

    def close(self, *, actor: Actor | None = None, year_start: date | None = YEAR.start) -> tuple[YearEnd, list[Any]]:
        return self.read(
            premium_service.close_year, self.clock, actor or self.underwriter, self.policy_a, year_start=year_start
        )

    def pay(self, amount: Any, on: date, reference: str = "VIR-2026-001", actor: Actor | None = None) -> Any:
        return self.read(
            premium_service.record_payment, self.clock, actor or self.underwriter, self.policy_a, amount=amount,
            received_on=on, reference=reference,
        )  # fmt: skip

    def documents(self, policy_id: str | None = None) -> list[PremiumDocument]:
        return self.read(premium_service.documents, self.underwriter, policy_id or self.policy_a)

    def figures(self) -> premium_service.YearView:
        return self.read(premium_service.years, self.underwriter, self.policy_a)[0]

    def alerts(self) -> list[Alert]:
        found, _ = self.read(lambda uow: uow.monitoring.alerts(organisation_ids=None, page=Page(limit=100)))
        return [a for a in found if a.kind is AlertKind.TURNOVER_DECLARATION_LATE]

    def actions(self, tenant: str, prefix: str) -> list[tuple[str, dict[str, Any], str | None]]:
        records = self.read(lambda uow: uow.audit.records(tenant))
        return [(r.action, dict(r.summary), r.reason) for r, _ in records if r.action.startswith(prefix)]

    def buyer_with_limit(self) -> None:
        """A buyer of A's with a 50,000 limit from 2 January: one limit request, one buyer under cover."""
        self.on(date(2026, 1, 2))
        from tradecover.domain.identifiers import generate_siren

        created, _ = self.read(
            buyers.add_buyer, self.clock, self.admin, identifiers=[("siren", generate_siren(next(_sirens)))],
            legal_name="Acheteur", country="FR", organisation_id=self.a,
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
            credit_limits.request_limit, self.clock, self.insured_a, policy_id=self.policy_a, buyer_id=created.id,
            amount="50000",
        )  # fmt: skip
        assert outcome.decision is not None, outcome.request
        assert outcome.decision.granted_amount == eur("50000")

    def declared_year(self) -> None:
        """The four instalments called, the four quarters declared in time: 14,000.00 earned."""
        self.buyer_with_limit()
        for quarter, (_, last_day) in enumerate(QUARTERS[:3], start=1):
            self.on(last_day + timedelta(days=10))
            self.run(self.clock.today())
            assert not self.declare(quarter).late
        self.on(date(2026, 12, 20))  # the last quarter has begun
        assert not self.declare(4).late


@pytest.fixture
def world(container: Container) -> World:
    return World(container)


def movements_by_transaction(world: World, policy_id: str) -> dict[str, Money]:
    totals: dict[str, Money] = {}
    for movement in world.read(lambda uow: uow.premium.movements_of(policy_id)):
        totals[movement.transaction_id] = totals.get(movement.transaction_id, eur(0)) + movement.amount
    return totals


def account_balances(world: World, policy_id: str) -> dict[str, Money]:
    totals: dict[str, Money] = {}
    for movement in world.read(lambda uow: uow.premium.movements_of(policy_id)):
        totals[movement.account] = totals.get(movement.account, eur(0)) + movement.amount
    return totals


def summary(documents: list[PremiumDocument]) -> list[tuple[str, str, str]]:
    return [(d.kind.value, d.item.value, d.amount.quantize_str()) for d in documents]


# ============================================================================ declarations


def test_an_insured_declares_its_quarter_and_no_other_insured_can(world: World) -> None:
    world.on(date(2026, 4, 15))
    outcome = world.declare(1)

    declared = outcome.declaration
    assert (declared.period, declared.version, declared.declared_by) == (
        Period(date(2026, 1, 1), date(2026, 4, 1)),
        1,
        "user:user-a",
    )
    assert declared.domestic.insurable == eur("1000000.00")
    # 1,000,000 × 0.0025 + 250,000 × 0.0040 = 2,500.00 + 1,000.00
    assert [line.premium for line in outcome.lines] == [eur("2500.00"), eur("1000.00")]
    assert outcome.premium == eur("3500.00")
    assert (outcome.due_on, outcome.late, outcome.supersedes, outcome.year_end) == (
        date(2026, 4, 30),
        False,
        None,
        None,
    )
    view = world.figures()
    assert (view.figures.earned, view.figures.premium) == (eur("3500.00"), eur("10000.00"))  # the minimum still
    assert (view.figures.declared_periods, view.figures.expected_periods, view.closed) == (1, 4, False)

    # Another insured does not even see the policy; staff without the permission may see it but not declare.
    world.refused(NotFound, "policy.not_found", lambda: world.declare(2, actor=world.insured_b))
    world.refused(NotFound, "policy.not_found", lambda: world.declare(1, actor=world.insured_b))
    world.refused(Forbidden, "auth.forbidden", lambda: world.declare(2, actor=world.collector))
    raises(
        NotFound,
        "policy.not_found",
        lambda: world.read(premium_service.declarations, world.insured_b, world.policy_a),
    )
    # The insurer's underwriter may declare on the insured's behalf.
    on_behalf = world.declare(2, actor=world.underwriter, end=date(2026, 7, 1))
    assert (on_behalf.declaration.version, on_behalf.declaration.declared_by) == (1, "user:uw-1")


def test_a_declaration_after_its_due_date_is_late(world: World) -> None:
    world.on(date(2026, 4, 30))  # the due date of the first quarter: in time
    assert world.declare(1).late is False
    world.on(date(2026, 7, 31))  # the second quarter was due on 30 July
    late = world.declare(2)
    assert (late.due_on, late.late) == (date(2026, 7, 30), True)
    # A correction is never late: it corrects a declaration that was made.
    world.on(date(2026, 12, 1))
    assert world.declare(1, reason="export figure").late is False


def test_a_correction_is_a_new_version_and_both_versions_are_kept(world: World) -> None:
    world.on(date(2026, 4, 15))
    first = world.declare(1)
    world.on(date(2026, 5, 10))
    # The same quarter, said half-open this time, with 300,000 export instead of 250,000.
    corrected = world.declare(1, export="300000.00", end=date(2026, 4, 1), reason="  export   figure\n")

    assert (corrected.declaration.version, corrected.declaration.period) == (2, first.declaration.period)
    assert corrected.supersedes == first.declaration
    assert corrected.declaration.reason == "export figure"
    # 2,500.00 + 300,000 × 0.0040 = 2,500.00 + 1,200.00
    assert corrected.premium == eur("3700.00")
    assert world.figures().figures.earned == eur("3700.00")  # the latest version only, not 7,200.00
    kept = world.read(premium_service.declarations, world.insured_a, world.policy_a)
    assert [(d.version, d.export.insurable) for d in kept] == [(1, eur("250000.00")), (2, eur("300000.00"))]
    assert kept[0] == first.declaration

    audit = world.actions(world.a, "turnover.")
    assert [action for action, _, _ in audit] == ["turnover.declared", "turnover.corrected"]
    _, summary_, reason = audit[1]
    assert summary_["version"] == 2
    assert summary_["before"] == {"domestic": "1000000.00", "export": "250000.00"}
    assert (summary_["export_insurable"], summary_["premium"], reason) == ("300000.00", "3700.00", "export figure")


def test_a_refused_declaration_writes_nothing(world: World) -> None:
    world.on(date(2026, 12, 15))
    world.declare(1)
    start, _ = QUARTERS[0]

    def declare(**kwargs: Any) -> Callable[[], object]:
        arguments: dict[str, Any] = {
            "period_start": start, "period_end": date(2026, 3, 31), "domestic": "1000.00", "export": "0",
        }  # fmt: skip
        arguments.update(kwargs)
        return lambda: world.read(
            premium_service.declare_turnover, world.clock, world.insured_a, world.policy_a, **arguments
        )

    error = world.refused(
        InvalidInput,
        "turnover.overlapping_period",
        declare(period_start=date(2026, 3, 1), period_end=date(2026, 5, 31)),
    )
    assert error.context == {"declared_period": "[2026-01-01, 2026-04-01)"}
    world.refused(InvalidInput, "turnover.invalid_period", declare(period_end=date(2025, 12, 31)))
    world.refused(
        InvalidInput,
        "turnover.outside_policy_year",
        declare(period_start=date(2026, 12, 1), period_end=date(2027, 1, 31)),
    )
    world.refused(
        InvalidInput,
        "turnover.outside_policy_year",
        declare(period_start=date(2025, 10, 1), period_end=date(2025, 12, 31)),
    )
    world.refused(
        InvalidInput, "turnover.future_period", declare(period_start=date(2026, 12, 16), period_end=date(2026, 12, 31))
    )
    error = world.refused(
        InvalidInput,
        "turnover.exclusions_exceed_turnover",
        declare(domestic={"turnover": "1000.00", "cash_sales": "600.00", "intra_group": "400.01"}),
    )
    assert error.field == "domestic.turnover"
    assert world.refused(InvalidInput, "turnover.negative", declare(export="-1.00")).field == "export.turnover"
    assert world.refused(InvalidInput, "turnover.invalid", declare(export=1000.0)).field == "export"
    assert world.refused(InvalidInput, "turnover.invalid", declare(export="lots")).field == "export"
    assert world.refused(
        InvalidInput, "turnover.unknown_field", declare(domestic={"turnover": "1", "vat": "0.2"})
    ).field == ("domestic.vat")
    world.refused(InvalidInput, "turnover.currency_mismatch", declare(domestic=Money.of("1000.00", "USD")))
    assert [d.version for d in world.read(premium_service.declarations, world.insured_a, world.policy_a)] == [1]


def test_a_terminated_policy_takes_no_declaration_after_its_end_nor_instalments(world: World) -> None:
    # The insurer terminates A's policy from 1 July 2026 (e.g. for unpaid premium): run-off cover stays on
    # earlier deliveries, but no turnover is declared after that day and no instalment falls due from it.
    world.on(date(2026, 5, 10))
    world.read(
        policies.terminate_policy, world.clock, world.underwriter, world.policy_a,
        effective_date=date(2026, 7, 1), reason="unpaid premium",
    )  # fmt: skip
    world.on(date(2026, 10, 15))
    assert world.declare(1).premium == eur("3500.00")  # before the termination: still declared
    world.declare(2)  # the quarter ends on 30 June, the day before the termination
    world.refused(RuleBroken, "turnover.policy_terminated", lambda: world.declare(3))
    issued = [d for d in world.run(date(2026, 10, 15)).documents if d.policy_id == world.policy_a]
    # Instalments of 1 January and 1 April only: 1 July and 1 October are on or after the termination.
    assert [d.issued_on for d in issued] == [date(2026, 1, 1), date(2026, 4, 1)]


def test_a_failure_after_the_declaration_is_written_rolls_it_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.on(date(2026, 4, 15))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(premium_service, "record", broken)
    before = world.counts()
    with pytest.raises(RuntimeError):
        world.declare(1)
    assert world.counts() == before


# ============================================================================ the premium run


def test_the_premium_run_issues_each_instalment_once_and_alerts_once(world: World) -> None:
    world.on(date(2026, 4, 1))
    first = world.run(date(2026, 4, 1))

    # A: 10,000.00 in four, the first two due by 1 April; B has no minimum premium, hence no instalment.
    assert summary(first.documents) == [("invoice", "instalment", "2500.00")] * 2
    assert [(d.policy_id, d.issued_on, d.due_on) for d in first.documents] == [
        (world.policy_a, date(2026, 1, 1), date(2026, 1, 31)),
        (world.policy_a, date(2026, 4, 1), date(2026, 5, 1)),
    ]
    assert [d.number for d in first.documents] == ["PI-2026-000001", "PI-2026-000002"]
    assert (first.policies, first.alerts, first.renewed) == (2, 0, 0)
    again = world.run(date(2026, 4, 1))
    assert (again.documents, again.alerts) == ([], 0)
    assert world.documents(world.policy_b) == []

    # Each document is a pair of movements summing to zero: the insured owes the insurer 5,000.00.
    sums = movements_by_transaction(world, world.policy_a)
    assert len(sums) == 2
    assert all(total == eur(0) for total in sums.values())
    assert account_balances(world, world.policy_a) == {f"insured:{world.a}": eur("-5000.00"), "insurer": eur("5000.00")}

    # The first quarter is due on 30 April: A declares it in time, B does not.
    world.on(date(2026, 4, 20))
    world.declare(1)
    assert world.run(date(2026, 4, 30)).alerts == 0  # the due date itself: not late yet
    late = world.run(date(2026, 5, 1))
    assert (late.alerts, late.documents) == (1, [])
    assert world.run(date(2026, 5, 1)).alerts == 0
    assert world.run(date(2026, 5, 20)).alerts == 0
    [alert] = world.alerts()
    assert (alert.policy_id, alert.organisation_id, alert.due_date) == (world.policy_b, world.b, date(2026, 4, 30))
    assert alert.kind.value == "turnover_declaration_late"
    assert "2026-01-01" in alert.message
    assert "2026-03-31" in alert.message
    assert alert.state.value == "new"
    # B's late declaration answers the alert: it closes (and the run raises it no more).
    world.on(date(2026, 5, 21))
    world.declare(1, actor=world.insured_b, policy_id=world.policy_b)
    [answered] = world.alerts()
    assert answered.state.value == "closed"
    assert world.run(date(2026, 5, 21)).alerts == 0
    # The next instalment falls due on 1 July, and only once.
    assert summary(world.run(date(2026, 7, 1)).documents) == [("invoice", "instalment", "2500.00")]
    assert world.run(date(2026, 7, 1)).documents == []
    assert len(world.documents()) == 3


def test_only_the_insurers_staff_run_the_premium(world: World) -> None:
    world.refused(
        Forbidden,
        "auth.forbidden",
        lambda: world.read(premium_service.run_premium, world.clock, world.insured_a, as_of=date(2026, 4, 1)),
    )


# ============================================================================ the year end


def test_closing_the_year_invoices_the_adjustment_and_the_fees_and_credits_the_bonus(world: World) -> None:
    world.declared_year()
    assert [d.amount for d in world.documents()] == [eur("2500.00")] * 4

    world.on(date(2026, 12, 30))
    world.refused(RuleBroken, "premium.year_not_ended", lambda: world.close())
    world.refused(Forbidden, "auth.forbidden", lambda: world.close(actor=world.insured_a))
    world.refused(NotFound, "premium.unknown_year", lambda: world.close(year_start=date(2026, 2, 1)))

    world.on(date(2027, 1, 10))
    year_end, issued = world.close()

    figures = year_end.figures
    assert (year_end.version, year_end.year, year_end.closed_on) == (1, YEAR, date(2027, 1, 10))
    # 4 × 3,500.00 = 14,000.00 earned, above the 10,000.00 minimum; 4 × 2,500.00 called.
    assert (figures.earned, figures.premium, figures.called) == (eur("14000.00"), eur("14000.00"), eur("10000.00"))
    assert figures.adjustment == eur("4000.00")
    # One limit request × 150.00 + one buyer under cover × 60.00.
    assert (figures.request_count, figures.buyers_monitored, figures.fees) == (1, 1, eur("210.00"))
    # No indemnity: 0 / 14,000 < 0.50, so 0.20 × 14,000.00 comes back.
    assert (figures.indemnities, figures.loss_ratio, figures.bonus) == (eur(0), Decimal("0.0000"), eur("2800.00"))
    assert figures.max_liability == eur("420000.00")  # 30 × 14,000.00
    assert (figures.declared_periods, figures.expected_periods) == (4, 4)
    assert summary(issued) == [
        ("invoice", "adjustment", "4000.00"),
        ("invoice", "fees", "210.00"),
        ("credit_note", "no_claims_bonus", "2800.00"),
    ]
    assert all(d.issued_on == date(2027, 1, 10) and d.year_start == YEAR.start for d in issued)
    assert len({d.number for d in world.documents()}) == 7
    assert all(total == eur(0) for total in movements_by_transaction(world, world.policy_a).values())
    # 10,000 + 4,000 + 210 − 2,800 = 11,410.00 owed, nothing paid.
    assert account_balances(world, world.policy_a)[f"insured:{world.a}"] == eur("-11410.00")
    statement = world.read(premium_service.statement, world.insured_a, world.policy_a)
    assert statement.balance == eur("11410.00") == statement.lines[-1].balance

    # The year is closed once; the cap on indemnities now uses the closed premium.
    world.refused(Conflict, "premium.year_already_closed", lambda: world.close())
    world.refused(Conflict, "premium.year_already_closed", lambda: world.close(year_start=None))
    assert [action for action, _, _ in world.actions(world.a, "premium.year")] == ["premium.year_closed"]
    view = world.figures()
    assert view.closed
    assert [c.version for c in view.closings] == [1]


def test_a_correction_after_closing_invoices_or_credits_only_the_difference(world: World) -> None:
    world.declared_year()
    world.on(date(2027, 1, 10))
    world.close()

    # The fourth quarter had 1,400,000 insurable domestic turnover, not 1,000,000: +400,000 × 0.0025 = +1,000.00.
    world.on(date(2027, 1, 20))
    more = world.declare(4, domestic="1400000.00", reason="Q4 domestic")
    assert more.declaration.version == 2
    assert more.year_end is not None
    assert more.year_end.version == 2
    figures = more.year_end.figures
    assert (figures.earned, figures.adjustment, figures.fees, figures.bonus) == (
        eur("15000.00"),
        eur("5000.00"),
        eur("210.00"),
        eur("3000.00"),
    )
    # Only the difference: 5,000 − 4,000 more adjustment, 3,000 − 2,800 more bonus; the fees are unchanged.
    assert summary(more.documents) == [
        ("invoice", "adjustment", "1000.00"),
        ("credit_note", "no_claims_bonus", "200.00"),
    ]

    # Then the quarter turns out to be nil: earned 10,500.00, the adjustment falls to 500.00, the bonus to 2,100.00.
    world.on(date(2027, 1, 25))
    less = world.declare(4, domestic="0", export="0", reason="Q4 was nil")
    assert less.year_end is not None
    assert less.year_end.version == 3
    assert (less.year_end.figures.earned, less.year_end.figures.premium) == (eur("10500.00"), eur("10500.00"))
    assert summary(less.documents) == [
        ("credit_note", "adjustment", "4500.00"),
        ("invoice", "no_claims_bonus", "900.00"),
    ]

    closings = world.read(lambda uow: uow.premium.year_ends_of(world.policy_a, YEAR.start))
    assert [(c.version, c.figures.premium) for c in closings] == [
        (1, eur("14000.00")),
        (2, eur("15000.00")),
        (3, eur("10500.00")),
    ]
    assert [action for action, _, _ in world.actions(world.a, "premium.year")] == [
        "premium.year_closed",
        "premium.year_reclosed",
        "premium.year_reclosed",
    ]
    # Every document of the year sums to the closed figures: 10,000 + 500 + 210 − 2,100.
    year_total = sum((d.signed for d in world.documents() if d.year_start == YEAR.start), eur(0))
    assert year_total == eur("8610.00")
    assert all(total == eur(0) for total in movements_by_transaction(world, world.policy_a).values())


def test_instalments_are_not_issued_for_a_year_already_closed(world: World) -> None:
    # No run during the year: the year end invoices the whole minimum premium as the adjustment.
    world.on(date(2027, 1, 10))
    _, issued = world.close()
    assert summary(issued) == [("invoice", "adjustment", "10000.00"), ("credit_note", "no_claims_bonus", "2000.00")]

    run = world.run(date(2027, 1, 10))

    # The run renews the policy and calls the new year's first instalment, not the closed year's four.
    assert run.renewed == 2
    assert [(d.year_start, d.item.value, d.amount) for d in run.documents] == [
        (date(2027, 1, 1), "instalment", eur("2500.00"))
    ]
    year_documents = [d for d in world.documents() if d.year_start == YEAR.start]
    assert sum((d.signed for d in year_documents), eur(0)) == eur("8000.00")  # 10,000 − 2,000, once


# ============================================================================ payments


def test_premium_payments_are_validated_and_paired(world: World) -> None:
    world.on(date(2026, 1, 20))
    world.run(date(2026, 1, 20))

    world.refused(InvalidInput, "premium.invalid_amount", lambda: world.pay("0", date(2026, 1, 20)))
    world.refused(InvalidInput, "premium.invalid_amount", lambda: world.pay("-10.00", date(2026, 1, 20)))
    world.refused(InvalidInput, "premium.invalid_amount", lambda: world.pay("10.001", date(2026, 1, 20)))
    world.refused(InvalidInput, "premium.invalid_amount", lambda: world.pay(10.0, date(2026, 1, 20)))
    world.refused(InvalidInput, "premium.invalid_amount", lambda: world.pay("ten", date(2026, 1, 20)))
    world.refused(
        InvalidInput, "premium.currency_mismatch", lambda: world.pay(Money.of("10.00", "USD"), date(2026, 1, 20))
    )
    world.refused(InvalidInput, "premium.future_date", lambda: world.pay("10.00", date(2026, 1, 21)))
    world.refused(InvalidInput, "premium.reference_required", lambda: world.pay("10.00", date(2026, 1, 20), "  \n "))
    world.refused(Forbidden, "auth.forbidden", lambda: world.pay("10.00", date(2026, 1, 20), actor=world.insured_a))
    world.refused(
        NotFound,
        "policy.not_found",
        lambda: world.read(
            premium_service.record_payment,
            world.clock,
            world.underwriter,
            "no-such-policy",
            amount="10.00",
            received_on=date(2026, 1, 20),
            reference="x",
        ),
    )

    payment = world.pay("2000.00", date(2026, 1, 18), reference=" VIR  123 ")
    assert (payment.amount, payment.received_on, payment.reference) == (eur("2000.00"), date(2026, 1, 18), "VIR 123")
    assert all(total == eur(0) for total in movements_by_transaction(world, world.policy_a).values())
    # The insured owed 2,500.00 for the first instalment and paid 2,000.00.
    assert account_balances(world, world.policy_a)[f"insured:{world.a}"] == eur("-500.00")
    assert world.figures().figures.paid == eur("2000.00")
    world.pay("500.00", date(2026, 1, 20))
    assert world.figures().figures.paid == eur("2500.00")
    statement = world.read(premium_service.statement, world.insured_a, world.policy_a)
    assert [(line.kind, line.balance) for line in statement.lines] == [
        ("invoice", eur("2500.00")),
        ("payment", eur("500.00")),
        ("payment", eur("0")),
    ]
    assert [a for a, _, _ in world.actions(world.a, "premium.payment")] == ["premium.payment_recorded"] * 2


# ============================================================================ the cap on indemnities


def test_the_maximum_liability_multiplies_the_years_premium_as_known(world: World) -> None:
    def cap(policy_id: str) -> Money | None:
        def compute(uow: Any) -> Money | None:
            policy = uow.policies.get(policy_id)
            terms = uow.policies.terms_versions(policy_id)[-1].terms
            return claims.year_premium(uow, policy, terms, YEAR)

        return world.read(compute)

    # Before any declaration: A's minimum premium; B has neither minimum nor earned premium, hence no cap.
    assert (cap(world.policy_a), cap(world.policy_b)) == (eur("10000.00"), None)
    world.on(date(2026, 10, 10))
    for quarter in (1, 2, 3):
        world.declare(quarter)
    world.declare(1, actor=world.insured_b, policy_id=world.policy_b)
    # 3 × 3,500.00 = 10,500.00 earned so far, above the minimum; B earned 3,500.00.
    assert (cap(world.policy_a), cap(world.policy_b)) == (eur("10500.00"), eur("3500.00"))
    world.on(date(2027, 1, 10))
    world.close()
    # Closed: the closed year's premium (three quarters declared: 10,500.00).
    assert cap(world.policy_a) == eur("10500.00")
    # The last quarter declared late re-closes the year: the latest closing counts, 14,000.00.
    world.on(date(2027, 2, 15))
    assert world.declare(4).late is True
    assert cap(world.policy_a) == eur("14000.00")
    with world.container.uow() as uow:
        policy = uow.policies.get(world.policy_a)
        assert policy is not None
        assert premium_service.year_premium_of(uow, policy, YEAR) == eur("14000.00")
        terms = uow.policies.terms_versions(world.policy_a)[-1].terms
        # The cap on the year's indemnities: 30 × 14,000.00.
        assert claims._max_liability(uow, policy, terms, YEAR) == (eur("420000.00"), "30 × premium 14000.00")


# ============================================================================ append-only


def test_the_premium_tables_refuse_updates_and_deletes(world: World) -> None:
    world.on(date(2026, 4, 15))
    world.run(date(2026, 4, 15))
    world.declare(1)
    world.pay("2500.00", date(2026, 4, 15))
    world.on(date(2027, 1, 10))
    world.close()
    before = world.counts()
    assert all(before[table] > 0 for table in APPEND_ONLY), before

    for table, column in APPEND_ONLY.items():
        for statement in (f"UPDATE {table} SET {column} = 'edited'", f"DELETE FROM {table}"):
            with world.container.engine.connect() as connection, pytest.raises(DBAPIError) as caught:
                connection.execute(text(statement))
            assert "append-only" in str(caught.value), caught.value
    assert world.counts() == before
    kept = world.read(premium_service.declarations, world.insured_a, world.policy_a)
    assert [d.reason for d in kept] == [None]
