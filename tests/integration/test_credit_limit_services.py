"""Credit limits through the services, on SQLite and PostgreSQL (DOMAIN.md §3, §5, §6).

Requests and automatic decisions, accumulation over insureds and groups,
referrals with four eyes, insurer revisions with their notice, the insured's
own reductions, temporary limits, prospect queries, insolvency, bad input.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from tradecover.bootstrap import Container
from tradecover.domain.buyers import LegalStatus
from tradecover.domain.credit_limits import (
    EngineSettings,
    LimitDecision,
    LimitStatus,
    RequestState,
    amount_in_force,
    limit_periods,
)
from tradecover.domain.errors import DomainError, Forbidden, InvalidInput, NotFound, RateLimited, RuleBroken
from tradecover.domain.money import Money
from tradecover.domain.monitoring import AlertKind, GradeRecord
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.domain.periods import FixedClock
from tradecover.domain.receco import ReasonCode, RequestType, ResponseType
from tradecover.ingest.bodacc import BodaccAnnouncement, ProcedureKind
from tradecover.persistence import tables as t
from tradecover.services import accounts, buyers, credit_limits, financials, monitoring, policies
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.credit_limits import RequestOutcome
from tradecover.services.ports import Page

EUR = "EUR"
SIREN_A = "732829320"  # Insured A's own SIREN
SIREN_1 = "552100554"
SIREN_2 = "542051180"
SIREN_3 = "345086177"
SIREN_4 = "954507976"
T = TypeVar("T")


def eur(amount: str | int) -> Money:
    return Money.of(amount, EUR)


class Book:
    """The insurer, two underwriters, insureds A and B with a policy each, and their users."""

    def __init__(self, container: Container, **terms_a: Any) -> None:
        self.container = container
        self.clock: FixedClock = container.clock  # type: ignore[assignment]
        with container.uow() as uow:
            insurer = accounts.ensure_insurer(uow, self.clock)
            self.admin: Actor = system_actor(insurer.id)
            self.insurer_id = insurer.id

            def org(name: str, siren: str | None = None) -> str:
                return accounts.create_organisation(
                    uow,
                    self.clock,
                    self.admin,
                    kind=OrganisationKind.POLICYHOLDER,
                    name=name,
                    country="FR",
                    siren=siren,
                ).id

            self.a = org("Insured A", SIREN_A)
            self.b = org("Insured B")
            self.policy_a = policies.issue_policy(
                uow, self.clock, self.admin, policyholder_id=self.a, start_date=date(2026, 1, 1), terms=terms_a or None
            )[0].id
            self.policy_b = policies.issue_policy(
                uow, self.clock, self.admin, policyholder_id=self.b, start_date=date(2026, 1, 1)
            )[0].id
        self.uw1 = self.staff("uw-1", Role.UNDERWRITER)
        self.uw2 = self.staff("uw-2", Role.UNDERWRITER)
        self.insured_a = self.user("user-a", self.a, Role.INSURED_USER)
        self.insured_b = self.user("user-b", self.b, Role.INSURED_USER)

    def staff(self, user_id: str, role: Role) -> Actor:
        return Actor(user_id, user_id, self.insurer_id, OrganisationKind.INSURER, role)

    @staticmethod
    def user(user_id: str, organisation_id: str, role: Role) -> Actor:
        return Actor(user_id, user_id, organisation_id, OrganisationKind.POLICYHOLDER, role)

    def do(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a service in its own unit of work."""
        with self.container.uow() as uow:
            return action(uow, *args, **kwargs)

    def buyer(
        self, siren: str, *books: str, country: str = "FR", identifiers: list[tuple[str, str]] | None = None, **kw: Any
    ) -> str:
        buyer_id = ""
        for organisation_id in books or (None,):
            created, _ = self.do(
                buyers.add_buyer,
                self.clock,
                self.admin,
                identifiers=identifiers or [("siren", siren)],
                legal_name=f"Buyer {siren}",
                country=country,
                organisation_id=organisation_id,
                **kw,
            )
            buyer_id = created.id
        return buyer_id

    def grade(self, buyer_id: str, grade: int) -> None:
        with self.container.uow() as uow:
            current = uow.buyers.get(buyer_id)
            assert current is not None
            uow.buyers.record_grade(
                GradeRecord(
                    buyer_id=buyer_id,
                    grade=grade,
                    probability_of_default=Decimal("0.01"),
                    factors={"test": 1.0},
                    model_version="test",
                    run_id=str(uuid.uuid4()),
                    inputs_version=current.inputs_version,
                    graded_at=self.clock.now(),
                    previous_grade=current.risk_grade,
                )
            )
            uow.commit()

    def capacity(self, buyer_id: str, amount: str | None, *, grade: int | None = 3) -> None:
        if grade is not None:
            self.grade(buyer_id, grade)
        # The latest override wins by set_at; two set in the same instant tie (ordered by random id).
        self.clock.advance(timedelta(seconds=1))
        self.do(credit_limits.set_capacity, self.clock, self.uw1, buyer_id, amount=amount, reason="test capacity")

    def request(self, actor: Actor, policy_id: str, buyer_id: str, amount: str | Money, **kw: Any) -> RequestOutcome:
        return self.do(
            credit_limits.request_limit, self.clock, actor, policy_id=policy_id, buyer_id=buyer_id, amount=amount, **kw
        )

    def history(self, policy_id: str, buyer_id: str) -> list[LimitDecision]:
        with self.container.uow() as uow:
            return uow.limits.history(policy_id, buyer_id)

    def in_force(self, policy_id: str, buyer_id: str, on: date | None = None) -> Money:
        return amount_in_force(self.history(policy_id, buyer_id), on or self.clock.today(), EUR)

    def count(self, table: type[t.Base]) -> int:
        with self.container.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(table)) or 0

    def alerts(self, organisation_id: str) -> list[Any]:
        with self.container.uow() as uow:
            items, _ = uow.monitoring.alerts(organisation_ids=frozenset({organisation_id}), page=Page(limit=200))
        return items


def raises(kind: type[DomainError], code: str, action: Callable[[], object]) -> DomainError:
    with pytest.raises(kind) as caught:
        action()
    assert caught.value.code == code, caught.value
    return caught.value


def reasons(outcome: RequestOutcome) -> tuple[str, ...]:
    return outcome.request.reasons


@pytest.fixture
def book(container: Container) -> Book:
    return Book(container)


# ------------------------------------------------------------------ automatic decisions


def test_an_insured_gets_an_automatic_decision_at_once_and_it_is_recorded(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "100000")
    outcome = book.request(book.insured_a, book.policy_a, buyer, "60000.00")
    assert outcome.request.state is RequestState.DECIDED
    assert outcome.request.response is ResponseType.APPROVED
    assert outcome.request.granted == eur("60000")
    assert reasons(outcome) == (ReasonCode.APPROVED_IN_FULL.value,)
    assert outcome.decision is not None
    assert (outcome.decision.status, outcome.decision.sequence) == (LimitStatus.APPROVED, 1)
    assert outcome.decision.effective_date == book.clock.today()
    assert outcome.decision.request_id == outcome.request.id
    assert book.in_force(book.policy_a, buyer) == eur("60000")
    assert book.in_force(book.policy_a, buyer, book.clock.today() - timedelta(days=1)) == eur(0)
    with book.container.uow() as uow:
        stored = uow.limits.get_request(outcome.request.id)
        events, _ = uow.audit.list_page(tenants=frozenset({book.a}), page=Page(limit=200))
    assert stored is not None
    assert (stored.state, stored.granted) == (RequestState.DECIDED, eur("60000"))
    assert "credit_limit.approved" in {e.action for e in events}


def test_grant_is_min_of_request_and_remaining_capacity(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    book.request(book.insured_a, book.policy_a, buyer, "70000")
    partial = book.request(book.insured_b, book.policy_b, buyer, "50000")
    assert partial.request.response is ResponseType.PARTLY_APPROVED
    assert partial.request.granted == eur("30000")
    assert reasons(partial) == (ReasonCode.CAPACITY_REACHED.value,)
    assert partial.decision is not None
    assert partial.decision.status is LimitStatus.PARTIAL
    assert partial.decision.requested_amount == eur("50000")
    assert book.in_force(book.policy_b, buyer) == eur("30000")


def test_accumulation_counts_limits_of_all_insureds(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    book.request(book.insured_a, book.policy_a, buyer, "96000")
    refused = book.request(book.insured_b, book.policy_b, buyer, "10000")
    assert refused.request.response is ResponseType.NOT_APPROVED
    assert book.in_force(book.policy_b, buyer) == eur(0)


def test_below_minimum_useful_amount_is_a_refusal(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    book.request(book.insured_a, book.policy_a, buyer, "95001")
    refused = book.request(book.insured_b, book.policy_b, buyer, "20000")
    assert refused.request.response is ResponseType.NOT_APPROVED
    assert refused.request.granted == eur(0)
    assert reasons(refused) == (ReasonCode.CAPACITY_REACHED.value, ReasonCode.BELOW_MINIMUM_USEFUL_AMOUNT.value)
    assert refused.decision is not None
    assert (refused.decision.status, refused.decision.granted_amount) == (LimitStatus.REFUSED, eur(0))


def test_above_automatic_ceiling_is_referred(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "1000000")
    decisions_before = book.count(t.LimitDecisionRow)
    referred = book.request(book.insured_a, book.policy_a, buyer, "150000.01")
    assert referred.request.state is RequestState.REFERRED
    assert referred.request.response is ResponseType.STILL_INVESTIGATING
    assert referred.request.suggestion == eur("150000.01")
    assert reasons(referred) == (ReasonCode.ABOVE_AUTOMATIC_CEILING.value,)
    assert referred.decision is None
    assert book.count(t.LimitDecisionRow) == decisions_before
    assert book.history(book.policy_a, buyer) == []
    at_ceiling = book.request(book.insured_a, book.policy_a, buyer, "150000")
    assert at_ceiling.request.response is ResponseType.APPROVED


def test_missing_data_is_referred(book: Book) -> None:
    ungraded = book.buyer(SIREN_1, book.a)
    referred = book.request(book.insured_a, book.policy_a, ungraded, "20000")
    assert referred.request.state is RequestState.REFERRED
    assert reasons(referred) == (ReasonCode.NOT_GRADED.value,)
    graded_without_figures = book.buyer(SIREN_2, book.a)
    book.grade(graded_without_figures, 3)
    referred = book.request(book.insured_a, book.policy_a, graded_without_figures, "20000")
    assert reasons(referred) == (ReasonCode.NO_FINANCIALS.value,)


def test_a_referred_request_counts_nothing_until_decided(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "250000")
    referred = book.request(book.insured_a, book.policy_a, buyer, "200000")
    assert referred.request.state is RequestState.REFERRED
    # B's request sees no accumulation from A's pending request.
    full = book.request(book.insured_b, book.policy_b, buyer, "100000")
    assert (full.request.response, full.request.granted) == (ResponseType.APPROVED, eur("100000"))
    # The underwriter's queue shows what B now holds.
    queue, total = book.do(credit_limits.referrals, book.clock, book.uw1, Page())
    assert total == 1
    assert queue[0].request.id == referred.request.id
    assert queue[0].accumulation.on_buyer == Decimal("100000")
    assert queue[0].capacity == Decimal("250000")
    assert queue[0].buyer.risk_grade == 3
    decided = book.do(
        credit_limits.decide_referral,
        book.clock,
        book.uw1,
        referred.request.id,
        response=ResponseType.PARTLY_APPROVED,
        amount="150000",
        reason="what is left of the capacity",
    )
    assert decided.decision is not None
    assert decided.decision.status is LimitStatus.PARTIAL
    assert decided.request.reasons == (ReasonCode.UNDERWRITER_DECISION.value,)
    assert book.in_force(book.policy_a, buyer) == eur("150000")
    # Once decided it counts: B's increase gets only what is left.
    more = book.request(book.insured_b, book.policy_b, buyer, "140000", request_type=RequestType.INCREASE)
    assert (more.request.response, more.request.granted) == (ResponseType.PARTLY_APPROVED, eur("100000"))
    assert book.do(credit_limits.referrals, book.clock, book.uw1, Page())[1] == 0


def test_a_request_amount_is_the_new_total_not_an_increment(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    book.request(book.insured_a, book.policy_a, buyer, "60000")
    increase = book.request(book.insured_a, book.policy_a, buyer, "80000", request_type=RequestType.INCREASE)
    # A's own 60,000 is replaced, not added to: 80,000 fits the 100,000 capacity.
    assert (increase.request.response, increase.request.granted) == (ResponseType.APPROVED, eur("80000"))
    assert book.in_force(book.policy_a, buyer) == eur("80000")
    other = book.request(book.insured_b, book.policy_b, buyer, "30000")
    assert other.request.granted == eur("20000")


# ------------------------------------------------------------------ groups


def group(book: Book) -> tuple[str, str, str]:
    """A head with two subsidiaries, all in A's and B's books; group capacity 100,000."""
    head = book.buyer(SIREN_1, book.a, book.b)
    first = book.buyer(SIREN_2, book.a, book.b, parent_id=head)
    second = book.buyer(SIREN_3, book.a, book.b, parent_id=head)
    for buyer_id in (head, first, second):
        book.capacity(buyer_id, "100000")
    return head, first, second


def test_accumulation_counts_the_buyers_group(book: Book) -> None:
    _, first, second = group(book)
    book.request(book.insured_a, book.policy_a, first, "70000")
    partial = book.request(book.insured_b, book.policy_b, second, "50000")
    assert (partial.request.response, partial.request.granted) == (ResponseType.PARTLY_APPROVED, eur("30000"))
    assert reasons(partial) == (ReasonCode.GROUP_CAPACITY_REACHED.value,)


def test_a_policys_limits_on_other_group_members_count_in_the_group(book: Book) -> None:
    _, first, second = group(book)
    book.request(book.insured_a, book.policy_a, first, "70000")
    same_policy = book.request(book.insured_a, book.policy_a, second, "50000")
    assert same_policy.request.granted == eur("30000")  # granted 50,000: the group holds 120,000 of 100,000


def test_a_request_on_the_group_head_counts_its_subsidiaries(book: Book) -> None:
    head, first, _ = group(book)
    book.request(book.insured_a, book.policy_a, first, "70000")
    on_head = book.request(book.insured_b, book.policy_b, head, "50000")
    assert on_head.request.granted == eur("30000")
    assert reasons(on_head) == (ReasonCode.GROUP_CAPACITY_REACHED.value,)


# ------------------------------------------------------------------ coverability and capacity


@pytest.mark.parametrize("grade", [9, 10])
def test_a_buyer_graded_9_or_worse_is_refused(book: Book, grade: int) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "1000000", grade=grade)
    refused = book.request(book.insured_a, book.policy_a, buyer, "20000")
    assert (refused.request.response, reasons(refused)) == (ResponseType.NOT_APPROVED, (ReasonCode.GRADE_TOO_LOW,))


def test_country_not_covered_is_refused(container: Container) -> None:
    book = Book(container, covered_countries=["FR", "DE"])
    german = book.buyer("", book.a, book.b, country="DE", identifiers=[("vat", "DE136695976")])
    book.capacity(german, "100000")
    refused = book.request(book.insured_b, book.policy_b, german, "20000")  # B covers France only
    assert (refused.request.response, reasons(refused)) == (
        ResponseType.NOT_APPROVED,
        (ReasonCode.COUNTRY_NOT_COVERED.value,),
    )
    approved = book.request(book.insured_a, book.policy_a, german, "20000")  # A's export list names DE
    assert approved.request.response is ResponseType.APPROVED


@pytest.mark.parametrize(
    ("legal_form", "reason"), [("7210", ReasonCode.PUBLIC_BODY), ("1000", ReasonCode.PRIVATE_INDIVIDUAL)]
)
def test_public_bodies_and_individuals_are_never_coverable(book: Book, legal_form: str, reason: ReasonCode) -> None:
    excluded = book.buyer(SIREN_1, book.a, legal_form=legal_form)
    book.capacity(excluded, "1000000", grade=1)
    refused = book.request(book.insured_a, book.policy_a, excluded, "20000")
    assert (refused.request.response, reasons(refused)) == (ResponseType.NOT_APPROVED, (reason.value,))


def test_the_insureds_own_company_is_never_coverable(book: Book) -> None:
    itself = book.buyer(SIREN_A, book.a)
    book.capacity(itself, "1000000", grade=1)
    refused = book.request(book.insured_a, book.policy_a, itself, "20000")
    assert reasons(refused) == (ReasonCode.OWN_GROUP.value,)


def test_a_buyer_in_an_insolvency_procedure_is_refused(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "1000000")
    with book.container.uow() as uow:
        uow.buyers.set_legal_status(buyer, LegalStatus.RECEIVERSHIP)
        uow.commit()
    refused = book.request(book.insured_a, book.policy_a, buyer, "20000")
    assert reasons(refused) == (ReasonCode.INSOLVENCY_PROCEDURE.value,)


def test_the_capacity_function_reads_grade_and_latest_financials(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.grade(buyer, 5)
    book.do(
        financials.record_financials,
        book.clock,
        book.admin,
        buyer,
        fiscal_year_end=date(2024, 12, 31),
        currency=EUR,
        amounts={"total_assets": "90000000", "equity": "40000000", "turnover": "99000000"},
    )
    book.do(
        financials.record_financials,
        book.clock,
        book.admin,
        buyer,
        fiscal_year_end=date(2025, 12, 31),
        currency=EUR,
        amounts={"total_assets": "3000000", "equity": "500000", "turnover": "1000000"},
    )
    # From the latest year: max(25 % × 500,000, 5 % × 1,000,000) × 0.55 = 68,750
    partial = book.request(book.insured_a, book.policy_a, buyer, "100000")
    assert partial.request.granted == eur("68750")


def test_an_underwriter_capacity_override_replaces_the_capacity_function(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.grade(buyer, 3)
    book.do(
        financials.record_financials,
        book.clock,
        book.admin,
        buyer,
        fiscal_year_end=date(2025, 12, 31),
        currency=EUR,
        amounts={"total_assets": "3000000", "equity": "1000000", "turnover": "2000000"},
    )
    # By the function: max(250,000, 100,000) × 0.80 = 200,000.
    book.request(book.insured_a, book.policy_a, buyer, "120000")
    book.capacity(buyer, "130000", grade=None)
    overridden = book.request(book.insured_b, book.policy_b, buyer, "50000")
    assert overridden.request.granted == eur("10000")
    book.capacity(buyer, None, grade=None)  # back to the function
    restored = book.request(book.insured_b, book.policy_b, buyer, "50000")
    assert restored.request.granted == eur("50000")
    assert book.count(t.CapacityOverrideRow) == 2


def test_a_capacity_set_in_another_currency_is_not_read_as_the_policys(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.grade(buyer, 3)  # no financials: the function cannot size it
    book.clock.advance(timedelta(seconds=1))
    book.do(credit_limits.set_capacity, book.clock, book.uw1, buyer, amount="1000000", currency="USD", reason="usd")
    outcome = book.request(book.insured_a, book.policy_a, buyer, "100000")
    assert outcome.request.response is not ResponseType.APPROVED


def test_a_capacity_cannot_be_negative_and_only_underwriters_set_it(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    raises(
        InvalidInput,
        "credit_limit.invalid_amount",
        lambda: book.do(credit_limits.set_capacity, book.clock, book.uw1, buyer, amount="-1", reason="no"),
    )
    raises(
        Forbidden,
        "auth.forbidden",
        lambda: book.do(credit_limits.set_capacity, book.clock, book.insured_a, buyer, amount="1", reason="no"),
    )
    assert book.count(t.CapacityOverrideRow) == 0


# ------------------------------------------------------------------ referrals and four eyes


def referred_request(book: Book, amount: str = "600000") -> tuple[str, str]:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "2000000", grade=1)
    outcome = book.request(book.insured_a, book.policy_a, buyer, amount)
    assert outcome.request.state is RequestState.REFERRED
    return buyer, outcome.request.id


def decide(book: Book, actor: Actor, request_id: str, response: ResponseType, amount: str | None) -> RequestOutcome:
    return book.do(
        credit_limits.decide_referral,
        book.clock,
        actor,
        request_id,
        response=response,
        amount=amount,
        reason="  reviewed   the accounts ",
    )


def test_decisions_above_the_four_eyes_threshold_need_a_second_underwriter(book: Book) -> None:
    buyer, request_id = referred_request(book)
    first = decide(book, book.uw1, request_id, ResponseType.APPROVED, None)
    assert first.decision is None
    assert first.request.state is RequestState.AWAITING_SECOND_APPROVAL
    assert ReasonCode.FOUR_EYES_PENDING.value in first.request.reasons
    assert book.history(book.policy_a, buyer) == []
    # Still in the queue, for the second underwriter.
    queue, _ = book.do(credit_limits.referrals, book.clock, book.uw2, Page())
    assert [r.request.state for r in queue] == [RequestState.AWAITING_SECOND_APPROVAL]
    raises(
        RuleBroken,
        "credit_limit.four_eyes_mismatch",
        lambda: decide(book, book.uw2, request_id, ResponseType.PARTLY_APPROVED, "550000"),
    )
    second = decide(book, book.uw2, request_id, ResponseType.APPROVED, "600000")
    assert second.request.state is RequestState.DECIDED
    assert second.decision is not None
    assert second.decision.granted_amount == eur("600000")
    assert second.decision.decided_by == "user:uw-2"
    assert book.in_force(book.policy_a, buyer) == eur("600000")


def test_the_same_underwriter_cannot_approve_twice(book: Book) -> None:
    _, request_id = referred_request(book)
    decide(book, book.uw1, request_id, ResponseType.APPROVED, None)
    raises(Forbidden, "credit_limit.four_eyes", lambda: decide(book, book.uw1, request_id, ResponseType.APPROVED, None))


def test_the_second_underwriter_may_refuse_instead(book: Book) -> None:
    buyer, request_id = referred_request(book)
    decide(book, book.uw1, request_id, ResponseType.APPROVED, None)
    refused = decide(book, book.uw2, request_id, ResponseType.NOT_APPROVED, None)
    assert refused.decision is not None
    assert refused.decision.status is LimitStatus.REFUSED
    assert book.in_force(book.policy_a, buyer) == eur(0)


def test_at_the_four_eyes_threshold_one_underwriter_decides(book: Book) -> None:
    buyer, request_id = referred_request(book, "500000")
    decided = decide(book, book.uw1, request_id, ResponseType.APPROVED, None)
    assert decided.request.state is RequestState.DECIDED
    assert book.in_force(book.policy_a, buyer) == eur("500000")


def test_an_underwriter_decision_is_checked(book: Book) -> None:
    _, request_id = referred_request(book, "200000")

    def attempt(response: ResponseType, amount: str | Money | None, reason: str = "ok") -> Callable[[], object]:
        return lambda: book.do(
            credit_limits.decide_referral,
            book.clock,
            book.uw1,
            request_id,
            response=response,
            amount=amount,
            reason=reason,
        )

    raises(InvalidInput, "credit_limit.above_request", attempt(ResponseType.APPROVED, "200000.01"))
    raises(InvalidInput, "credit_limit.reason_required", attempt(ResponseType.APPROVED, None, "   "))
    raises(InvalidInput, "credit_limit.invalid_response", attempt(ResponseType.CONDITIONAL, None))
    raises(InvalidInput, "credit_limit.invalid_amount", attempt(ResponseType.APPROVED, "0"))
    raises(InvalidInput, "credit_limit.currency_mismatch", attempt(ResponseType.APPROVED, Money.of("1", "USD")))
    raises(Forbidden, "auth.forbidden", lambda: decide(book, book.insured_a, request_id, ResponseType.APPROVED, None))
    raises(NotFound, "limit_request.not_found", lambda: decide(book, book.uw1, "nope", ResponseType.APPROVED, None))
    # An approval of less than the request is a partial one.
    partial = attempt(ResponseType.APPROVED, "120000")()
    assert isinstance(partial, RequestOutcome)
    assert partial.request.response is ResponseType.PARTLY_APPROVED
    raises(RuleBroken, "credit_limit.already_decided", attempt(ResponseType.APPROVED, None))


def test_underwriter_approvals_never_together_exceed_the_buyers_capacity(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "300000")
    first = book.request(book.insured_a, book.policy_a, buyer, "200000")
    second = book.request(book.insured_b, book.policy_b, buyer, "200000")
    assert first.request.suggestion == second.request.suggestion == eur("200000")
    decide(book, book.uw1, first.request.id, ResponseType.APPROVED, None)
    with contextlib.suppress(DomainError):  # refusing the second approval is a fine answer
        decide(book, book.uw1, second.request.id, ResponseType.APPROVED, None)
    total = book.in_force(book.policy_a, buyer).amount + book.in_force(book.policy_b, buyer).amount
    assert total <= Decimal("300000")


def test_a_referral_cannot_be_approved_once_the_buyer_is_insolvent(book: Book) -> None:
    buyer, request_id = referred_request(book, "200000")
    book.do(monitoring.ingest_bodacc, book.clock, book.admin, [liquidation(SIREN_1)])
    with contextlib.suppress(DomainError):  # refusing the approval is a fine answer
        decide(book, book.uw1, request_id, ResponseType.APPROVED, None)
    assert book.in_force(book.policy_a, buyer) == eur(0)


# ------------------------------------------------------------------ revisions, reductions, history


def with_limit(book: Book, amount: str = "100000") -> str:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "150000")
    book.request(book.insured_a, book.policy_a, buyer, amount)
    return buyer


def revise(book: Book, buyer: str, amount: str | None, actor: Actor | None = None) -> LimitDecision:
    return book.do(
        credit_limits.revise_limit,
        book.clock,
        actor or book.uw1,
        policy_id=book.policy_a,
        buyer_id=buyer,
        amount=amount,
        reason="adverse payment experience",
    )


def test_a_reduction_applies_to_deliveries_after_its_notice(container: Container) -> None:
    book = Book(container, reduction_notice_days=30)
    buyer = with_limit(book)
    reduced = revise(book, buyer, "40000")
    assert reduced.status is LimitStatus.REDUCED
    assert reduced.effective_date == date(2026, 4, 14)
    assert reduced.reasons[0] == ReasonCode.REDUCED_BY_INSURER.value
    assert book.in_force(book.policy_a, buyer, date(2026, 4, 13)) == eur("100000")
    assert book.in_force(book.policy_a, buyer, date(2026, 4, 14)) == eur("40000")


def test_deliveries_before_a_reduction_stay_covered_up_to_the_former_amount(container: Container) -> None:
    book = Book(container, reduction_notice_days=30)
    buyer = with_limit(book)
    revise(book, buyer, "40000")
    periods = limit_periods(book.history(book.policy_a, buyer), EUR, date(2026, 12, 31))
    assert [(p.start, p.end, p.amount) for p in periods] == [
        (date(2026, 3, 15), date(2026, 4, 14), eur("100000")),
        (date(2026, 4, 14), None, eur("40000")),
    ]


def test_insureds_get_an_alert_when_the_insurer_reduces(container: Container) -> None:
    book = Book(container, reduction_notice_days=30)
    buyer = with_limit(book)
    revise(book, buyer, "40000")
    [alert] = [a for a in book.alerts(book.a) if a.kind is AlertKind.LIMIT_REVISED]
    assert alert.buyer_id == buyer
    assert alert.due_date == date(2026, 4, 14)
    assert "14/04/2026" in alert.message
    assert not [a for a in book.alerts(book.b) if a.kind is AlertKind.LIMIT_REVISED]


def test_an_insurer_cancellation_is_a_revision_to_nothing(book: Book) -> None:
    buyer = with_limit(book)
    cancelled = revise(book, buyer, None)
    assert (cancelled.status, cancelled.granted_amount) == (LimitStatus.CANCELLED, eur(0))
    assert cancelled.reasons[0] == ReasonCode.CANCELLED_BY_INSURER.value
    assert book.in_force(book.policy_a, buyer) == eur(0)  # no notice on this policy
    raises(RuleBroken, "credit_limit.none_in_force", lambda: revise(book, buyer, "1000"))


def test_only_underwriters_revise_and_only_downwards(book: Book) -> None:
    buyer = with_limit(book)
    raises(InvalidInput, "credit_limit.not_a_reduction", lambda: revise(book, buyer, "100000"))
    raises(InvalidInput, "credit_limit.not_a_reduction", lambda: revise(book, buyer, "120000"))
    raises(Forbidden, "auth.forbidden", lambda: revise(book, buyer, "1000", book.insured_a))
    assert len(book.history(book.policy_a, buyer)) == 1


def test_insured_reductions_and_cancellations_apply_at_once(container: Container) -> None:
    book = Book(container, reduction_notice_days=30)  # the notice binds the insurer, not the insured
    buyer = with_limit(book)
    reduced = book.request(book.insured_a, book.policy_a, buyer, "30000", request_type=RequestType.REDUCTION)
    assert reduced.decision is not None
    assert (reduced.decision.status, reduced.decision.effective_date) == (LimitStatus.REDUCED, book.clock.today())
    assert reduced.request.reasons == (ReasonCode.REDUCED_AT_INSURED_REQUEST.value,)
    assert book.in_force(book.policy_a, buyer) == eur("30000")
    cancelled = book.request(book.insured_a, book.policy_a, buyer, "1", request_type=RequestType.CANCELLATION)
    assert cancelled.decision is not None
    assert cancelled.decision.status is LimitStatus.CANCELLED
    assert cancelled.request.requested == eur(0)
    assert book.in_force(book.policy_a, buyer) == eur(0)


def test_a_reduction_must_be_below_the_limit_in_force(book: Book) -> None:
    buyer = with_limit(book, "50000")
    for amount in ("50000", "60000"):
        raises(
            InvalidInput,
            "credit_limit.not_a_reduction",
            lambda a=amount: book.request(  # type: ignore[misc]
                book.insured_a, book.policy_a, buyer, a, request_type=RequestType.REDUCTION
            ),
        )
    nothing = book.buyer(SIREN_2, book.a)
    raises(
        RuleBroken,
        "credit_limit.none_in_force",
        lambda: book.request(book.insured_a, book.policy_a, nothing, "1", request_type=RequestType.CANCELLATION),
    )
    assert len(book.history(book.policy_a, buyer)) == 1


def test_an_insured_cannot_reduce_a_limit_below_zero(book: Book) -> None:
    buyer = with_limit(book, "50000")
    with pytest.raises(InvalidInput):
        book.request(book.insured_a, book.policy_a, buyer, "-100", request_type=RequestType.REDUCTION)


def test_the_insurer_cannot_revise_a_limit_below_zero(book: Book) -> None:
    buyer = with_limit(book, "50000")
    with pytest.raises(InvalidInput):
        revise(book, buyer, "-100")


def test_the_limit_history_keeps_every_decision(book: Book) -> None:
    buyer = with_limit(book, "60000")
    first = book.history(book.policy_a, buyer)[0]
    book.request(book.insured_a, book.policy_a, buyer, "90000", request_type=RequestType.INCREASE)
    revise(book, buyer, "40000")
    book.request(book.insured_a, book.policy_a, buyer, "1", request_type=RequestType.CANCELLATION)
    history = book.history(book.policy_a, buyer)
    assert [(d.sequence, d.status, d.granted_amount) for d in history] == [
        (1, LimitStatus.APPROVED, eur("60000")),
        (2, LimitStatus.APPROVED, eur("90000")),
        (3, LimitStatus.REDUCED, eur("40000")),
        (4, LimitStatus.CANCELLED, eur(0)),
    ]
    assert history[0] == first  # never overwritten
    [(listed_buyer, in_force, listed)] = book.do(
        credit_limits.limits_of_policy, book.clock, book.insured_a, book.policy_a
    )
    assert (listed_buyer, in_force, len(listed)) == (buyer, eur(0), 4)
    assert len(book.do(credit_limits.limit_history, book.insured_a, book.policy_a, buyer)) == 4


def test_a_cancellation_by_the_insured_is_not_undone_by_a_pending_reduction(container: Container) -> None:
    book = Book(container, reduction_notice_days=30)
    buyer = with_limit(book)
    revise(book, buyer, "40000")
    book.clock.advance(timedelta(days=5))
    book.request(book.insured_a, book.policy_a, buyer, "1", request_type=RequestType.CANCELLATION)
    assert book.in_force(book.policy_a, buyer, date(2026, 3, 25)) == eur(0)
    assert book.in_force(book.policy_a, buyer, date(2026, 5, 1)) == eur(0)


def test_an_increase_request_never_cuts_the_limit_without_notice(container: Container) -> None:
    book = Book(container, reduction_notice_days=30)
    buyer = with_limit(book, "80000")
    book.capacity(buyer, "50000", grade=None)
    book.request(book.insured_a, book.policy_a, buyer, "90000", request_type=RequestType.INCREASE)
    assert book.in_force(book.policy_a, buyer, date(2026, 3, 16)) == eur("80000")


# ------------------------------------------------------------------ temporary limits, prolongation


def test_a_temporary_limit_expires_by_itself(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    book.request(book.insured_a, book.policy_a, buyer, "80000", temporary_until=date(2026, 6, 30))
    assert book.in_force(book.policy_a, buyer, date(2026, 6, 29)) == eur("80000")
    assert book.in_force(book.policy_a, buyer, date(2026, 7, 1)) == eur(0)
    # Its capacity is freed after its end, before any job ran.
    book.clock.set(datetime(2026, 7, 1, 9, 0, tzinfo=UTC))
    other = book.request(book.insured_b, book.policy_b, buyer, "100000")
    assert other.request.granted == eur("100000")
    # The daily job records the expiry as a dated decision, once.
    assert book.do(credit_limits.expire_limits, book.clock, book.admin) == 1
    assert book.do(credit_limits.expire_limits, book.clock, book.admin) == 0
    last = book.history(book.policy_a, buyer)[-1]
    assert (last.status, last.effective_date, last.reasons) == (
        LimitStatus.EXPIRED,
        date(2026, 6, 30),
        (ReasonCode.EXPIRED.value,),
    )


def test_the_expiry_is_recorded_even_after_a_refused_increase(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    book.request(book.insured_a, book.policy_a, buyer, "60000", temporary_until=date(2026, 6, 30))
    book.grade(buyer, 9)
    refused = book.request(book.insured_a, book.policy_a, buyer, "90000", request_type=RequestType.INCREASE)
    assert refused.request.response is ResponseType.NOT_APPROVED
    book.clock.set(datetime(2026, 7, 1, tzinfo=UTC))
    assert book.in_force(book.policy_a, buyer) == eur(0)
    assert book.do(credit_limits.expire_limits, book.clock, book.admin) == 1


def test_a_temporary_limit_must_end_after_today(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "100000")
    for end in (book.clock.today(), book.clock.today() - timedelta(days=1)):
        raises(
            InvalidInput,
            "credit_limit.invalid_end_date",
            lambda e=end: book.request(book.insured_a, book.policy_a, buyer, "10000", temporary_until=e),  # type: ignore[misc]
        )


def test_a_prolongation_extends_a_temporary_limit(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "100000")
    raises(
        RuleBroken,
        "credit_limit.none_in_force",
        lambda: book.request(book.insured_a, book.policy_a, buyer, "50000", request_type=RequestType.PROLONGATION),
    )
    book.request(book.insured_a, book.policy_a, buyer, "50000", temporary_until=date(2026, 6, 30))
    prolonged = book.request(
        book.insured_a,
        book.policy_a,
        buyer,
        "50000",
        request_type=RequestType.PROLONGATION,
        temporary_until=date(2026, 12, 31),
    )
    assert prolonged.decision is not None
    assert prolonged.decision.request_type is RequestType.PROLONGATION
    assert book.in_force(book.policy_a, buyer, date(2026, 7, 15)) == eur("50000")
    book.clock.set(datetime(2026, 7, 1, tzinfo=UTC))
    assert book.do(credit_limits.expire_limits, book.clock, book.admin) == 0


def test_reducing_a_temporary_limit_keeps_its_end_date(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "100000")
    book.request(book.insured_a, book.policy_a, buyer, "50000", temporary_until=date(2026, 6, 30))
    revise(book, buyer, "30000")
    assert book.in_force(book.policy_a, buyer, date(2026, 6, 29)) == eur("30000")
    assert book.in_force(book.policy_a, buyer, date(2026, 7, 15)) == eur(0)


# ------------------------------------------------------------------ prospect queries


def prospect(book: Book, actor: Actor, policy_id: str, buyer: str, amount: str, **kw: Any) -> Any:
    return book.do(
        credit_limits.prospect_query, book.clock, actor, policy_id=policy_id, buyer_id=buyer, amount=amount, **kw
    )


def test_a_prospect_query_creates_nothing(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    book.request(book.insured_b, book.policy_b, buyer, "70000")
    tables = (t.LimitRequestRow, t.LimitDecisionRow, t.AuditEventRow, t.AlertRow)
    before = [book.count(table) for table in tables]
    answer = prospect(book, book.insured_a, book.policy_a, buyer, "50000")
    assert (answer.status, answer.granted) == (ResponseType.PARTLY_APPROVED, eur("30000"))
    assert answer.reasons[-1] is ReasonCode.INDICATION_ONLY
    assert [book.count(table) for table in tables] == before
    assert book.history(book.policy_a, buyer) == []
    referred = prospect(book, book.insured_a, book.policy_a, buyer, "200000")
    assert (referred.status, referred.suggestion) == (ResponseType.STILL_INVESTIGATING, eur("30000"))


def test_prospect_queries_are_rate_limited_per_insured(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    engine = EngineSettings(prospect_queries_per_hour=3)
    for _ in range(3):
        prospect(book, book.insured_a, book.policy_a, buyer, "10000", settings=engine)
    error = raises(
        RateLimited,
        "credit_limit.prospect_rate_limited",
        lambda: prospect(book, book.insured_a, book.policy_a, buyer, "10000", settings=engine),
    )
    assert error.context["retry_after_seconds"] == 3600
    # Another insured has its own allowance; the window slides.
    prospect(book, book.insured_b, book.policy_b, buyer, "10000", settings=engine)
    book.clock.advance(timedelta(hours=1, seconds=1))
    prospect(book, book.insured_a, book.policy_a, buyer, "10000", settings=engine)
    assert book.count(t.ProspectQueryRow) == 5


def test_an_invalid_prospect_query_does_not_use_the_allowance(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "100000")
    raises(
        InvalidInput, "credit_limit.invalid_amount", lambda: prospect(book, book.insured_a, book.policy_a, buyer, "0")
    )
    assert book.count(t.ProspectQueryRow) == 0


# ------------------------------------------------------------------ insolvency


def liquidation(siren: str) -> BodaccAnnouncement:
    return BodaccAnnouncement(
        source="test.json",
        record=1,
        announcement_id="A202600501",
        sirens=(siren,),
        publication_date=date(2026, 3, 10),
        judgment_date=date(2026, 3, 5),
        kind=ProcedureKind.LIQUIDATION,
        nature="Jugement d'ouverture de liquidation judiciaire",
        tribunal="TRIBUNAL DE COMMERCE DE LYON",
        company_name="TRANSPORTS MARTIN",
        notice_type="initial",
        family="Jugement d'ouverture",
        target=ProcedureKind.LIQUIDATION,
    )


def test_an_insolvency_cancels_limits_for_future_deliveries(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    book.request(book.insured_a, book.policy_a, buyer, "40000")
    book.request(book.insured_b, book.policy_b, buyer, "30000")
    book.clock.advance(timedelta(days=1))
    summary = book.do(monitoring.ingest_bodacc, book.clock, book.admin, [liquidation(SIREN_1)])
    assert summary.limits_affected == 2
    for policy_id, former in ((book.policy_a, "40000"), (book.policy_b, "30000")):
        last = book.history(policy_id, buyer)[-1]
        assert (last.status, last.reasons[0]) == (LimitStatus.CANCELLED, ReasonCode.CANCELLED_BY_INSURER.value)
        # Deliveries already made stay covered; later ones are not.
        assert book.in_force(policy_id, buyer, date(2026, 3, 15)) == eur(former)
        assert book.in_force(policy_id, buyer, date(2026, 3, 16)) == eur(0)
    assert [a.kind for a in book.alerts(book.a)].count(AlertKind.LIMIT_REVISED) == 1
    refused = book.request(book.insured_a, book.policy_a, buyer, "10000")
    assert reasons(refused) == (ReasonCode.INSOLVENCY_PROCEDURE.value,)
    again = book.do(monitoring.ingest_bodacc, book.clock, book.admin, [liquidation(SIREN_1)])
    assert again.limits_affected == 0


def test_an_insolvency_cancels_limits_at_once_whatever_the_reduction_notice(container: Container) -> None:
    book = Book(container, reduction_notice_days=30)
    buyer = with_limit(book, "40000")
    book.clock.advance(timedelta(days=1))
    book.do(monitoring.ingest_bodacc, book.clock, book.admin, [liquidation(SIREN_1)])
    # The notice protects the insured against the insurer's second thoughts, not against an insolvency.
    assert book.in_force(book.policy_a, buyer, date(2026, 3, 15)) == eur("40000")
    assert book.in_force(book.policy_a, buyer, date(2026, 3, 16)) == eur(0)


# ------------------------------------------------------------------ bad input


def test_an_unknown_buyer_is_not_found(book: Book) -> None:
    raises(
        NotFound,
        "buyer.not_found",
        lambda: book.request(book.insured_a, book.policy_a, "no-such-buyer", "10000"),
    )
    only_b = book.buyer(SIREN_2, book.b)  # exists, but not in A's book
    raises(NotFound, "buyer.not_found", lambda: book.request(book.insured_a, book.policy_a, only_b, "10000"))


def test_another_insureds_policy_is_not_found_as_a_random_id(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    foreign = raises(NotFound, "policy.not_found", lambda: book.request(book.insured_a, book.policy_b, buyer, "1"))
    random = raises(NotFound, "policy.not_found", lambda: book.request(book.insured_a, "no-such-policy", buyer, "1"))
    assert foreign.message.replace(book.policy_b, "?") == random.message.replace("no-such-policy", "?")
    raises(NotFound, "policy.not_found", lambda: prospect(book, book.insured_a, book.policy_b, buyer, "10000"))
    decided = book.request(book.insured_b, book.policy_b, buyer, "10000")
    raises(
        NotFound,
        "limit_request.not_found",
        lambda: book.do(credit_limits.get_request, book.insured_a, decided.request.id),
    )
    assert book.do(credit_limits.get_request, book.insured_b, decided.request.id).id == decided.request.id
    raises(
        NotFound, "policy.not_found", lambda: book.do(credit_limits.limit_history, book.insured_a, book.policy_b, buyer)
    )


def test_a_broker_acts_for_the_insureds_that_mandated_it(book: Book) -> None:
    from tradecover.domain.parties import MandateScope

    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    broker_org = book.do(
        accounts.create_organisation, book.clock, book.admin, kind=OrganisationKind.BROKER, name="Broker", country="FR"
    ).id
    broker = Actor(
        "broker-1", "broker", broker_org, OrganisationKind.BROKER, Role.BROKER_USER, {book.a: MandateScope.ACT}
    )
    acted = book.request(broker, book.policy_a, buyer, "10000")
    assert acted.request.response is ResponseType.APPROVED
    raises(NotFound, "policy.not_found", lambda: book.request(broker, book.policy_b, buyer, "10000"))
    reader = Actor(
        "broker-2", "broker", broker_org, OrganisationKind.BROKER, Role.BROKER_USER, {book.a: MandateScope.READ}
    )
    raises(Forbidden, "auth.mandate_read_only", lambda: book.request(reader, book.policy_a, buyer, "10000"))


@pytest.mark.parametrize("amount", ["0", "0.00", "-1", "-5000.00", "100.001"])
def test_a_zero_negative_or_overprecise_amount_is_invalid_and_records_nothing(book: Book, amount: str) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "100000")
    tables = (t.LimitRequestRow, t.LimitDecisionRow, t.AuditEventRow)
    before = [book.count(table) for table in tables]
    error = raises(
        InvalidInput, "credit_limit.invalid_amount", lambda: book.request(book.insured_a, book.policy_a, buyer, amount)
    )
    assert error.field == "amount"
    assert [book.count(table) for table in tables] == before


def test_an_amount_in_another_currency_than_the_policys_is_refused(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "100000")
    error = raises(
        InvalidInput,
        "credit_limit.currency_mismatch",
        lambda: book.request(book.insured_a, book.policy_a, buyer, Money.of("10000", "USD")),
    )
    assert error.field == "amount"
    assert book.count(t.LimitRequestRow) == 0


def test_a_policy_not_in_force_takes_no_request(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    book.capacity(buyer, "100000")
    future = book.do(
        policies.issue_policy, book.clock, book.admin, policyholder_id=book.a, start_date=date(2026, 6, 1)
    )[0]
    past = book.do(policies.issue_policy, book.clock, book.admin, policyholder_id=book.a, start_date=date(2024, 1, 1))[
        0
    ]
    for policy in (future, past):
        raises(
            RuleBroken,
            "credit_limit.policy_not_in_force",
            lambda p=policy: book.request(book.insured_a, p.id, buyer, "10000"),  # type: ignore[misc]
        )
    assert book.count(t.LimitRequestRow) == 0


def test_a_preliminary_assessment_is_a_prospect_query(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    raises(
        InvalidInput,
        "credit_limit.use_prospect_query",
        lambda: book.request(
            book.insured_a, book.policy_a, buyer, "10000", request_type=RequestType.PRELIMINARY_ASSESSMENT
        ),
    )


def test_roles_without_the_permission_cannot_request(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a)
    for role in (Role.CLAIMS_HANDLER, Role.COLLECTOR, Role.RISK_MANAGER):
        raises(Forbidden, "auth.forbidden", lambda r=role: book.request(book.staff("x", r), book.policy_a, buyer, "1"))  # type: ignore[misc]
    raises(Forbidden, "auth.forbidden", lambda: book.do(credit_limits.referrals, book.clock, book.insured_a, Page()))


# ------------------------------------------------------------------ concurrency


def test_two_concurrent_requests_never_together_exceed_the_capacity(book: Book) -> None:
    buyer = book.buyer(SIREN_1, book.a, book.b)
    book.capacity(buyer, "100000")
    barrier = threading.Barrier(2)
    outcomes: list[RequestOutcome] = []
    errors: list[BaseException] = []

    def ask(actor: Actor, policy_id: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(book.request(actor, policy_id, buyer, "60000"))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [
        threading.Thread(target=ask, args=(book.insured_a, book.policy_a)),
        threading.Thread(target=ask, args=(book.insured_b, book.policy_b)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    granted = sorted(o.request.granted.amount for o in outcomes if o.request.granted is not None)
    assert granted == [Decimal("40000"), Decimal("60000")]
    total = book.in_force(book.policy_a, buyer).amount + book.in_force(book.policy_b, buyer).amount
    assert total == Decimal("100000")
