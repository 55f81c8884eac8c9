"""Concurrent limit requests never over-commit a buyer (DOMAIN.md §5).

"Two concurrent requests on one buyer must never together exceed its capacity."
A storm of automatic limit requests from many threads, each in its own unit of
work, on a book where every buyer has a small explicit capacity; afterwards the
database is read back: for every buyer the limits in force over all policies stay
within its capacity, and every request got exactly one answer.

The negative control runs the same storm with ``lock_buyers`` turned into a no-op
(a plain read-then-write): the same check must then catch an over-commitment,
which shows that the storm really races and the check really sees it.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import DBAPIError

from tradecover.bootstrap import Container
from tradecover.domain.credit_limits import LimitStatus, amount_in_force
from tradecover.domain.errors import DomainError
from tradecover.domain.identifiers import generate_siren
from tradecover.domain.money import Money
from tradecover.domain.monitoring import GradeRecord
from tradecover.domain.parties import OrganisationKind
from tradecover.domain.receco import ResponseType
from tradecover.persistence import tables as t
from tradecover.persistence.engine import make_session_factory
from tradecover.persistence.limits_repository import CreditLimitRepository
from tradecover.services import accounts, buyers, credit_limits, policies
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.credit_limits import RequestOutcome

CURRENCY = "EUR"
POLICY_START = date(2026, 1, 1)
POSTGRES_ONLY = [pytest.param("postgresql", marks=pytest.mark.postgres)]


# The book -----------------------------------------------------------------------------------------


@dataclass
class Book:
    actor: Actor
    policy_ids: list[str]
    buyer_ids: list[str]
    capacity: Decimal


def build_book(container: Container, *, holders: int, buyer_count: int, capacity: Decimal, siren_seed: int) -> Book:
    """Policyholders with a policy each, graded buyers in every book, each with an explicit capacity."""
    clock = container.clock
    with container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, clock)
        admin = system_actor(insurer.id)
        holder_ids = [
            accounts.create_organisation(
                uow,
                clock,
                admin,
                kind=OrganisationKind.POLICYHOLDER,
                name=f"Insured {siren_seed}-{i:02d}",
                country="FR",
            ).id
            for i in range(holders)
        ]
        policy_ids = [
            policies.issue_policy(uow, clock, admin, policyholder_id=h, start_date=POLICY_START)[0].id
            for h in holder_ids
        ]
        buyer_ids: list[str] = []
        for i in range(buyer_count):
            siren = generate_siren(siren_seed + i)
            buyer_id = ""
            for holder in holder_ids:  # the same SIREN names the same buyer: one buyer, in every book
                buyer, _ = buyers.add_buyer(
                    uow,
                    clock,
                    admin,
                    identifiers=[("siren", siren)],
                    legal_name=f"Buyer {siren}",
                    country="FR",
                    organisation_id=holder,
                    naf_code="46.69B",
                    legal_form="5710",
                )
                buyer_id = buyer.id
            buyer_ids.append(buyer_id)
        for buyer_id in buyer_ids:
            credit_limits.set_capacity(
                uow, clock, admin, buyer_id, amount=str(capacity), reason="concurrency test: small capacity"
            )
            graded = uow.buyers.get(buyer_id)
            assert graded is not None
            uow.buyers.record_grade(
                GradeRecord(
                    buyer_id=buyer_id,
                    grade=4,
                    probability_of_default=Decimal("0.0030"),
                    factors={"baseline": 0.0},
                    model_version="test",
                    run_id=f"test-{siren_seed}",
                    inputs_version=graded.inputs_version,
                    graded_at=clock.now(),
                    previous_grade=None,
                )
            )
        uow.commit()
    assert len(set(buyer_ids)) == buyer_count
    return Book(admin, policy_ids, buyer_ids, capacity)


# The storm ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fired:
    index: int
    policy_id: str
    buyer_id: str
    amount: Decimal


@dataclass
class Storm:
    fired: list[Fired]
    outcomes: dict[int, RequestOutcome] = field(default_factory=dict)
    domain_errors: dict[int, DomainError] = field(default_factory=dict)
    other_errors: dict[int, BaseException] = field(default_factory=dict)
    seconds: float = 0.0


def plan(book: Book, *, requests: int, low: int, high: int, seed: int) -> list[Fired]:
    rng = random.Random(seed)
    return [
        Fired(i, rng.choice(book.policy_ids), rng.choice(book.buyer_ids), Decimal(rng.randrange(low, high + 1, 100)))
        for i in range(requests)
    ]


@pytest.fixture
def wide_pool(container: Container) -> Iterator[Container]:
    """The same database through a pool as wide as the storm, so that every thread holds a connection."""
    if container.engine.dialect.name != "postgresql":
        yield container
        return
    engine = create_engine(container.engine.url, pool_size=40, max_overflow=0, pool_pre_ping=True)
    yield Container(container.settings, engine, make_session_factory(engine), container.clock)
    engine.dispose()


def run_storm(container: Container, actor: Actor, fired: Sequence[Fired], *, threads: int) -> Storm:
    """Every request in its own unit of work, ``threads`` at a time; nothing is retried."""

    def one(item: Fired) -> RequestOutcome:
        with container.uow() as uow:
            return credit_limits.request_limit(
                uow,
                container.clock,
                actor,
                policy_id=item.policy_id,
                buyer_id=item.buyer_id,
                amount=Money.of(item.amount, CURRENCY),
            )

    storm = Storm(list(fired))
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {pool.submit(one, item): item.index for item in fired}
        for future in as_completed(futures):
            index = futures[future]
            try:
                storm.outcomes[index] = future.result()
            except DomainError as error:
                storm.domain_errors[index] = error
            except Exception as error:
                storm.other_errors[index] = error
    storm.seconds = time.perf_counter() - start
    return storm


# The checks ---------------------------------------------------------------------------------------


def in_force_by_buyer(container: Container, book: Book) -> dict[str, Decimal]:
    """For each buyer, the sum over policies of the limit in force today, read back from the database."""
    today = container.clock.today()
    with container.uow() as uow:
        return {
            buyer_id: sum(
                (amount_in_force(uow.limits.history(p, buyer_id), today, CURRENCY).amount for p in book.policy_ids),
                Decimal(0),
            )
            for buyer_id in book.buyer_ids
        }


def check_one_answer_each(container: Container, storm: Storm) -> None:
    """Each request fired is stored once, answered, and (unless referred) has exactly one decision."""
    returned = {o.request.id: o for o in storm.outcomes.values()}
    assert len(returned) == len(storm.outcomes)
    with container.uow() as uow:
        session = uow.session
        # request id -> (response, decided_at is set, granted)
        requests = {
            i: (response, decided_at is not None, granted)
            for i, response, decided_at, granted in session.execute(
                select(
                    t.LimitRequestRow.id,
                    t.LimitRequestRow.response,
                    t.LimitRequestRow.decided_at,
                    t.LimitRequestRow.granted_minor,
                )
            )
        }
        decisions_per_request = Counter(
            session.scalars(select(t.LimitDecisionRow.request_id).where(t.LimitDecisionRow.request_id.is_not(None)))
        )
        decisions_without_request = session.scalar(
            select(func.count()).select_from(t.LimitDecisionRow).where(t.LimitDecisionRow.request_id.is_(None))
        )
        # request id -> (decision id, granted)
        decisions = {
            r: (i, granted)
            for r, i, granted in session.execute(
                select(t.LimitDecisionRow.request_id, t.LimitDecisionRow.id, t.LimitDecisionRow.granted_minor)
            )
        }
        sequences: dict[tuple[str, str], list[int]] = defaultdict(list)
        for policy_id, buyer_id, sequence in session.execute(
            select(t.LimitDecisionRow.policy_id, t.LimitDecisionRow.buyer_id, t.LimitDecisionRow.sequence)
        ):
            sequences[(policy_id, buyer_id)].append(sequence)

    assert len(requests) == len(storm.fired) == len(storm.outcomes)
    assert set(requests) == set(returned)
    assert [i for i, (response, decided, _) in requests.items() if response is None or not decided] == []
    referred = {i for i, (response, _, _) in requests.items() if response == ResponseType.STILL_INVESTIGATING.value}
    assert decisions_per_request == Counter({i: 1 for i in requests if i not in referred})
    assert decisions_without_request == 0
    for request_id, outcome in returned.items():
        if request_id in referred:
            assert outcome.decision is None
            continue
        assert outcome.decision is not None
        assert outcome.decision.request_id == request_id
        assert decisions[request_id] == (outcome.decision.id, requests[request_id][2])
    for key, seen in sequences.items():  # no lost or doubled step in any limit's history
        assert sorted(seen) == list(range(1, len(seen) + 1)), key


# The tests ----------------------------------------------------------------------------------------


def test_concurrent_requests_never_exceed_a_buyers_capacity(
    container: Container, wide_pool: Container, database_url: str
) -> None:
    postgres = container.engine.dialect.name == "postgresql"
    book = build_book(container, holders=20, buyer_count=50, capacity=Decimal("100000"), siren_seed=100_000)
    requests, threads = (800, 16) if postgres else (400, 8)
    fired = plan(book, requests=requests, low=5_000, high=60_000, seed=20260315)

    storm = run_storm(wide_pool, book.actor, fired, threads=threads)

    assert storm.other_errors == {}, {i: repr(e) for i, e in list(storm.other_errors.items())[:5]}
    # On this book nothing is refused by a rule: every request must be answered.
    assert storm.domain_errors == {}, {i: str(e) for i, e in list(storm.domain_errors.items())[:5]}
    sums = in_force_by_buyer(container, book)
    over = {b: s for b, s in sums.items() if s > book.capacity}
    assert over == {}, f"capacity {book.capacity} exceeded: {over}"
    check_one_answer_each(container, storm)

    # The storm did press on the capacities: many answers were cut to what was left.
    statuses = Counter(o.decision.status for o in storm.outcomes.values() if o.decision is not None)
    assert statuses[LimitStatus.PARTIAL] + statuses[LimitStatus.REFUSED] > requests // 10, statuses
    full = sum(1 for s in sums.values() if s >= book.capacity - 5_000)
    assert full > len(book.buyer_ids) // 2
    peak = max(sums.values())
    print(
        f"\n[{database_url.split(':')[0]}] {requests} requests, {threads} threads, {storm.seconds:.1f} s "
        f"({requests / storm.seconds:.0f}/s); max sum/capacity = {peak}/{book.capacity} = {peak / book.capacity:.3f}; "
        f"{full}/{len(sums)} buyers within 5,000 of capacity; answers {dict(statuses)}"
    )


@pytest.mark.parametrize("database_url", POSTGRES_ONLY, indirect=True)
def test_negative_control_without_the_buyer_lock_the_check_catches_over_commitment(
    container: Container, wide_pool: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NEGATIVE CONTROL: with ``lock_buyers`` a no-op (read-then-write), the invariant must break.

    This proves the storm races and the capacity check detects it; it says nothing about the
    real implementation, which the test above checks.
    """
    book = build_book(container, holders=20, buyer_count=4, capacity=Decimal("30000"), siren_seed=200_000)
    fired = plan(book, requests=300, low=5_000, high=25_000, seed=7)
    monkeypatch.setattr(CreditLimitRepository, "lock_buyers", lambda self, buyer_ids: None)

    storm = run_storm(wide_pool, book.actor, fired, threads=32)

    # Without the lock, two requests on one (policy, buyer) may also collide on the history's
    # sequence number: the database refuses the second one. Nothing else may go wrong.
    assert all(isinstance(e, DBAPIError) for e in storm.other_errors.values()), storm.other_errors
    assert storm.domain_errors == {}
    sums = in_force_by_buyer(container, book)
    over = {b: s for b, s in sums.items() if s > book.capacity}
    print(
        f"\n[negative control] {len(fired)} requests, 32 threads, {storm.seconds:.1f} s; "
        f"{len(over)}/{len(sums)} buyers over capacity {book.capacity}: max sum {max(sums.values())}; "
        f"{len(storm.other_errors)} sequence collisions"
    )
    assert over, "without the buyer lock the storm should over-commit some buyer: the check did not catch it"


# Known bugs ---------------------------------------------------------------------------------------


def test_a_request_on_a_group_head_counts_its_subsidiaries(container: Container) -> None:
    clock = container.clock
    book = build_book(container, holders=2, buyer_count=1, capacity=Decimal("100000"), siren_seed=300_000)
    head_id = book.buyer_ids[0]
    with container.uow() as uow:
        holders = [p.policyholder_id for p in (uow.policies.get(i) for i in book.policy_ids) if p is not None]
        member_id = ""
        for holder in holders:
            member, _ = buyers.add_buyer(
                uow,
                clock,
                book.actor,
                identifiers=[("siren", generate_siren(300_100))],
                legal_name="Subsidiary SAS",
                country="FR",
                organisation_id=holder,
                naf_code="46.69B",
                legal_form="5710",
                parent_id=head_id,
            )
            member_id = member.id
        credit_limits.set_capacity(uow, clock, book.actor, member_id, amount="100000", reason="test")
        found = uow.buyers.get(member_id)
        assert found is not None
        uow.buyers.record_grade(
            GradeRecord(
                member_id, 4, Decimal("0.003"), {"baseline": 0.0}, "test", "t", found.inputs_version, clock.now(), None
            )
        )
        uow.commit()
    first, second = book.policy_ids
    with container.uow() as uow:
        on_member = credit_limits.request_limit(
            uow, clock, book.actor, policy_id=first, buyer_id=member_id, amount="80000"
        )
    assert on_member.decision is not None
    assert on_member.decision.granted_amount == Money.of("80000", CURRENCY)  # the group capacity is the head's
    with container.uow() as uow:
        credit_limits.request_limit(uow, clock, book.actor, policy_id=second, buyer_id=head_id, amount="100000")
    today = clock.today()
    with container.uow() as uow:
        group_total = sum(
            (
                amount_in_force(uow.limits.history(p, b), today, CURRENCY).amount
                for p in book.policy_ids
                for b in (head_id, member_id)
            ),
            Decimal(0),
        )
    assert group_total <= Decimal("100000"), f"the group carries {group_total} for a group capacity of 100000"


def test_the_capacity_set_last_wins_even_within_the_same_instant(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = build_book(container, holders=1, buyer_count=1, capacity=Decimal("100000"), siren_seed=400_000)
    buyer_id = book.buyer_ids[0]
    ids = iter(["ffffffff-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000000"])
    monkeypatch.setattr(credit_limits, "new_id", lambda: next(ids))  # uuid4s that happen to sort downwards
    with container.uow() as uow:
        credit_limits.set_capacity(uow, container.clock, book.actor, buyer_id, amount="50000", reason="first")
        credit_limits.set_capacity(uow, container.clock, book.actor, buyer_id, amount="80000", reason="second")
    with container.uow() as uow:
        assert uow.limits.capacity_override(buyer_id) == Money.of("80000", CURRENCY)
