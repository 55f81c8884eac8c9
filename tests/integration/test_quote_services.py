"""Quotes through the services and the real unit of work, on SQLite and PostgreSQL.

The world: the insurer's underwriter, insured A (France) with a broker holding an "act" mandate,
insured B with a broker holding a read-only one. The clock stands on 15 March 2026; quotes are
valid 30 days, up to and including 14 April.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tradecover.bootstrap import Container
from tradecover.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleBroken
from tradecover.domain.money import Money
from tradecover.domain.parties import MandateScope, OrganisationKind, Role
from tradecover.domain.periods import FixedClock
from tradecover.domain.quotes import QuoteStatus, ReferralReason
from tradecover.services import accounts, policies, quotes
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.ports import Page

T = TypeVar("T")
TODAY = date(2026, 3, 15)
TABLES = ("quotes", "quote_buyers", "quote_loss_years", "quote_versions", "policies", "audit_events")
#: The tables migration 0007 makes append-only, with a change to try.
APPEND_ONLY = {
    "quote_buyers": "name = 'edited'",
    "quote_loss_years": "losses_minor = 1",
    "quote_versions": "reason = 'x'",
}


def application(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "currency": "EUR",
        "turnover": {"domestic": {"amount": "1200000.00", "currency": "EUR"}, "export": "500000"},
        "sector": "25.62A",
        "buyers": [
            {"name": "Usinage Lyonnais", "identifier": "552100554", "country": "FR", "outstanding": "400000",
             "risk_grade": 4},
            {"name": "Maschinenbau GmbH", "country": "DE", "outstanding": "100000", "risk_grade": 8},
            {"name": "Ungraded SARL", "country": "FR", "outstanding": "50000"},
        ],
        "loss_history": [
            {"year": 2023, "losses": "8000"},
            {"year": 2024, "losses": "0"},
            {"year": 2025, "losses": "10360"},
        ],
    }  # fmt: skip
    data.update(changes)
    return data


class World:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.clock: FixedClock = container.clock  # type: ignore[assignment]
        self.on(TODAY)
        with container.uow() as uow:
            insurer = accounts.ensure_insurer(uow, self.clock)
            admin = system_actor(insurer.id)

            def org(kind: OrganisationKind, name: str) -> str:
                return accounts.create_organisation(uow, self.clock, admin, kind=kind, name=name, country="FR").id

            self.a = org(OrganisationKind.POLICYHOLDER, "Insured A SAS")
            self.b = org(OrganisationKind.POLICYHOLDER, "Insured B SARL")
            broker = org(OrganisationKind.BROKER, "Broker SAS")
            uow.commit()
        self.admin = admin
        self.underwriter = Actor("uw-1", "uw-1", insurer.id, OrganisationKind.INSURER, Role.UNDERWRITER)
        self.collector = Actor("col-1", "col-1", insurer.id, OrganisationKind.INSURER, Role.COLLECTOR)
        self.insured_a = Actor("user-a", "user-a", self.a, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)
        self.insured_b = Actor("user-b", "user-b", self.b, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)
        self.broker = Actor(
            "br-1", "br-1", broker, OrganisationKind.BROKER, Role.BROKER_USER,
            mandates={self.a: MandateScope.ACT, self.b: MandateScope.READ},
        )  # fmt: skip

    def on(self, day: date) -> None:
        self.clock.set(datetime.combine(day, time(10, 0), tzinfo=UTC))

    def do(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.container.uow() as uow:
            result = action(uow, *args, **kwargs)
            uow.commit()
            return result

    def counts(self) -> dict[str, int]:
        with self.container.engine.connect() as connection:
            return {t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}

    def refused(self, kind: type[DomainError], code: str, action: Callable[[], object]) -> DomainError:
        """The use case refuses with ``code`` and nothing at all is written."""
        before = self.counts()
        with pytest.raises(kind) as caught:
            action()
        assert caught.value.code == code, caught.value
        assert self.counts() == before, code
        return caught.value

    def request(self, actor: Actor, holder: str, **changes: Any) -> quotes.QuoteView:
        return self.do(
            quotes.request_quote, self.clock, actor, policyholder_id=holder, application=application(**changes)
        )


@pytest.fixture
def world(container: Container) -> World:
    return World(container)


def test_apply_revise_issue_the_policy_carries_the_revised_terms(world: World) -> None:
    proposed = world.request(world.insured_a, world.a)
    quote_id = proposed.quote.id
    assert proposed.quote.reference == "QUO-2026-000001"
    v1 = proposed.latest
    # The engine's proposal (hand-computed in tests/unit/domain/test_quotes.py), read back from the database.
    read = world.do(quotes.get_quote, world.clock, world.insured_a, quote_id)
    assert read.status is QuoteStatus.PROPOSED
    assert read.quote.application == proposed.quote.application
    assert read.versions == [v1]
    assert v1.terms.premium_rates.domestic_rate == Decimal("0.005100")
    assert v1.expected_premium == Money.of("10200", "EUR")
    assert v1.valid_until == date(2026, 4, 14)

    world.on(date(2026, 3, 20))
    revised = world.do(
        quotes.revise_quote, world.clock, world.underwriter, quote_id,
        changes={"premium_rates": {"export_rate": "0.0075"}, "indemnity_rate": "0.80"}, reason="counter-offer",
    )  # fmt: skip
    assert [v.version for v in revised.versions] == [1, 2]
    v2 = revised.latest
    assert v2.valid_until == date(2026, 4, 19)
    assert v2.expected_premium == Money.of("9870", "EUR")  # 1,200,000 × 0.0051 + 500,000 × 0.0075

    issued = world.do(
        quotes.issue_policy_from_quote, world.clock, world.underwriter, quote_id, start_date=date(2026, 4, 1), version=2
    )
    assert issued.view.status is QuoteStatus.ISSUED
    [terms] = world.do(policies.terms_history, world.underwriter, issued.policy.id)
    assert terms.terms == v2.terms
    assert terms.terms.premium_rates.export_rate == Decimal("0.0075")
    assert terms.terms.indemnity_rate == Decimal("0.80")
    assert terms.terms.covered_countries == ("FR", "DE")
    assert issued.policy.policyholder_id == world.a
    after = world.do(quotes.get_quote, world.clock, world.insured_a, quote_id)
    assert (after.status, after.quote.issued_policy_id, after.quote.issued_version) == (
        QuoteStatus.ISSUED, issued.policy.id, 2,
    )  # fmt: skip
    assert len(after.versions) == 2  # earlier versions stay
    with world.container.uow() as uow:
        events, _ = uow.audit.list_page(tenants=frozenset({world.a}), page=Page(limit=50))
    actions = [e.action for e in events]
    assert {"quote.proposed", "quote.revised", "quote.issued", "policy.issued"} <= set(actions)

    # Issued once: never again, nor revised.
    world.refused(
        Conflict, "quote.already_issued",
        lambda: world.do(quotes.issue_policy_from_quote, world.clock, world.underwriter, quote_id,
                         start_date=date(2026, 4, 1)),
    )  # fmt: skip
    world.refused(
        Conflict, "quote.already_issued",
        lambda: world.do(quotes.revise_quote, world.clock, world.underwriter, quote_id,
                         changes={"indemnity_rate": "0.75"}, reason="late"),
    )  # fmt: skip


def test_an_expired_quote_is_refused_and_nothing_is_written(world: World) -> None:
    quote_id = world.request(world.insured_a, world.a).quote.id
    world.on(date(2026, 4, 14))  # the last valid day
    assert world.do(quotes.get_quote, world.clock, world.insured_a, quote_id).status is QuoteStatus.PROPOSED
    world.on(date(2026, 4, 15))
    assert world.do(quotes.get_quote, world.clock, world.insured_a, quote_id).status is QuoteStatus.EXPIRED
    world.refused(
        RuleBroken, "quote.expired",
        lambda: world.do(quotes.issue_policy_from_quote, world.clock, world.underwriter, quote_id,
                         start_date=date(2026, 5, 1)),
    )  # fmt: skip
    world.refused(
        RuleBroken, "quote.expired",
        lambda: world.do(quotes.revise_quote, world.clock, world.underwriter, quote_id,
                         changes={"indemnity_rate": "0.80"}, reason="too late"),
    )  # fmt: skip


def test_tenancy_roles_and_bad_input_write_nothing(world: World) -> None:
    own = world.request(world.broker, world.a).quote.id  # the mandated broker applies for A
    other = world.request(world.insured_b, world.b).quote.id
    missing = "00000000-0000-0000-0000-000000000000"
    # Another tenant's quote is exactly a nonexistent one.
    for quote_id in (other, missing):
        with world.container.uow() as uow, pytest.raises(NotFound) as caught:
            quotes.get_quote(uow, world.clock, world.insured_a, quote_id)
        assert caught.value.code == "quote.not_found"
    for holder in (world.b, missing):
        world.refused(NotFound, "organisation.not_found", lambda h=holder: world.request(world.insured_a, h))
    # B's broker reads B's quote but cannot apply for B (read-only mandate).
    assert world.do(quotes.get_quote, world.clock, world.broker, other).quote.policyholder_id == world.b
    world.refused(Forbidden, "auth.mandate_read_only", lambda: world.request(world.broker, world.b))
    # Only underwriters revise and issue; a collector does not even apply.
    world.refused(Forbidden, "auth.forbidden", lambda: world.request(world.collector, world.a))
    world.refused(
        Forbidden, "auth.forbidden",
        lambda: world.do(quotes.revise_quote, world.clock, world.insured_a, own, changes={"indemnity_rate": "0.8"},
                         reason="mine"),
    )  # fmt: skip
    world.refused(
        Forbidden, "auth.forbidden",
        lambda: world.do(quotes.issue_policy_from_quote, world.clock, world.broker, own, start_date=TODAY),
    )  # fmt: skip
    # Bad input: a clear code and field, nothing half-written.
    error = world.refused(
        InvalidInput, "quote.negative_turnover",
        lambda: world.request(world.insured_a, world.a, turnover={"domestic": "-1000", "export": "10"}),
    )  # fmt: skip
    assert error.field == "turnover.domestic"
    error = world.refused(
        InvalidInput, "terms.out_of_range",
        lambda: world.do(quotes.revise_quote, world.clock, world.underwriter, own,
                         changes={"premium_rates": {"domestic_rate": "0.5"}}, reason="typo"),
    )  # fmt: skip
    assert error.field == "premium_rates.domestic_rate"
    world.refused(
        Conflict, "quote.stale_version",
        lambda: world.do(quotes.issue_policy_from_quote, world.clock, world.underwriter, own, start_date=TODAY,
                         version=7),
    )  # fmt: skip
    # Lists: each tenant its own; staff all; paged.
    listed, total = world.do(quotes.list_quotes, world.clock, world.insured_a, page=Page())
    assert ([s.quote.id for s in listed], total) == ([own], 1)
    listed, total = world.do(quotes.list_quotes, world.clock, world.broker, page=Page())
    assert {s.quote.id for s in listed} == {own, other}
    listed, total = world.do(quotes.list_quotes, world.clock, world.underwriter, page=Page(limit=1))
    assert (len(listed), total) == (1, 2)
    with pytest.raises(NotFound):
        world.do(quotes.list_quotes, world.clock, world.insured_a, policyholder_id=world.b, page=Page())


def test_an_issue_not_committed_leaves_neither_policy_nor_issued_quote(world: World) -> None:
    quote_id = world.request(world.insured_a, world.a).quote.id
    before = world.counts()
    with world.container.uow() as uow:
        quotes.issue_policy_from_quote(uow, world.clock, world.underwriter, quote_id, start_date=TODAY)
        # no commit: the policy and the quote's issue go together or not at all
    assert world.counts() == before
    assert world.do(quotes.get_quote, world.clock, world.underwriter, quote_id).status is QuoteStatus.PROPOSED


def test_the_application_and_versions_are_append_only(world: World) -> None:
    quote_id = world.request(world.insured_a, world.a).quote.id
    world.do(
        quotes.revise_quote, world.clock, world.underwriter, quote_id, changes={"indemnity_rate": "0.8"}, reason="r"
    )
    before = world.counts()
    for table, change in APPEND_ONLY.items():
        for statement in (f"UPDATE {table} SET {change}", f"DELETE FROM {table}"):
            with world.container.engine.connect() as connection, pytest.raises(DBAPIError) as caught:
                connection.execute(text(statement))
            assert "append-only" in str(caught.value), caught.value
    assert world.counts() == before


def test_a_referred_quote_reads_back_referred_and_is_issued_only_once_revised(world: World) -> None:
    buyers = [
        *application()["buyers"],
        {"name": "Failing BV", "identifier": "NL-123.456", "country": "NL", "outstanding": "250000", "risk_grade": 9},
    ]
    proposed = world.request(world.insured_a, world.a, buyers=buyers)
    quote_id = proposed.quote.id
    v1 = proposed.latest
    # The buyer graded 9 loads nothing (the main book's price), is listed, and refers the quote.
    assert v1.expected_premium == Money.of("10200", "EUR")
    assert v1.terms.covered_countries == ("FR", "DE")
    assert v1.referral_reasons == (ReferralReason.BUYERS_NOT_COVERABLE,)
    # Stored with the version's lines: read back the same, identifier compacted.
    read = world.do(quotes.get_quote, world.clock, world.underwriter, quote_id)
    assert read.versions == [v1]
    assert read.latest.referral_reasons == (ReferralReason.BUYERS_NOT_COVERABLE,)
    assert read.quote.application.buyers[3].identifier == "NL123456"
    assert not read.quote.application.buyers[3].coverable
    world.refused(
        RuleBroken, "quote.referral_unresolved",
        lambda: world.do(quotes.issue_policy_from_quote, world.clock, world.underwriter, quote_id,
                         start_date=date(2026, 4, 1)),
    )  # fmt: skip
    world.do(
        quotes.revise_quote, world.clock, world.underwriter, quote_id, changes={"indemnity_rate": "0.80"},
        reason="book reviewed: Failing BV stays uncovered",
    )  # fmt: skip
    issued = world.do(
        quotes.issue_policy_from_quote, world.clock, world.underwriter, quote_id, start_date=date(2026, 4, 1), version=2
    )
    assert issued.view.status is QuoteStatus.ISSUED
    assert issued.view.latest.referral_reasons == (ReferralReason.BUYERS_NOT_COVERABLE,)


def test_the_start_date_is_within_the_versions_window_and_a_bad_siren_is_refused(world: World) -> None:
    quote_id = world.request(world.insured_a, world.a).quote.id  # version 1 of 15 March 2026
    for start in (date(2025, 12, 14), date(2027, 3, 16)):
        error = world.refused(
            InvalidInput, "quote.start_date_out_of_range",
            lambda s=start: world.do(quotes.issue_policy_from_quote, world.clock, world.underwriter, quote_id,
                                     start_date=s),
        )  # fmt: skip
        assert error.field == "start_date"
    buyers = application()["buyers"]
    buyers[0] = dict(buyers[0], identifier="552 100 555")  # bad Luhn check digit
    error = world.refused(
        InvalidInput, "identifier.invalid_siren", lambda: world.request(world.insured_a, world.a, buyers=buyers)
    )
    assert error.field == "buyers[0].identifier"
    error = world.refused(
        InvalidInput, "quote.invalid_loss_year",
        lambda: world.request(world.insured_a, world.a, loss_history=[{"year": 2026, "losses": "0"}]),
    )  # fmt: skip
    assert error.field == "loss_history[0].year"
    issued = world.do(
        quotes.issue_policy_from_quote, world.clock, world.underwriter, quote_id, start_date=date(2025, 12, 15)
    )
    assert issued.policy.policyholder_id == world.a
