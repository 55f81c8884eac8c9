"""The insurer's watch list: buyers newly insolvent or downgraded, and the credit limits they affect.

Read-only, for the insurer's staff (:data:`Permission.PORTFOLIO_READ`: it reads every insured's limits).

* **Population**: the buyers with at least one limit decision on some policy — a buyer nobody holds a limit
  on affects no limit (its discretionary cover follows its insolvency by itself).
* **What happened since a date**: a legal event (BODACC judgment, SIRENE cessation) *published* on or after
  it, or a grade *given* on or after it that is worse (a higher grade) than the grade before. An insolvency
  is both: the legal event and the grade it forces.
* **Limits affected**: every policy holding a decision on the buyer, with the amount in force on the day
  (:func:`amount_in_force`: zero once cancelled; a reduction awaiting its notice still shows the former
  amount, and the latest decision says what is coming) and the covered exposure the exposure report
  computes (:func:`tradecover.services.exposure.exposures_of_policy`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from tradecover.domain.buyers import Buyer
from tradecover.domain.credit_limits import LimitDecision, amount_in_force
from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money
from tradecover.domain.monitoring import GradeRecord, LegalEvent
from tradecover.domain.policies import Policy
from tradecover.services.authorization import Actor, Permission, require
from tradecover.services.buyers import get_buyer
from tradecover.services.exposure import exposures_of_policy
from tradecover.services.ports import Page, UnitOfWork

POLICY_PAGE = 500


@dataclass(frozen=True)
class HeldLimit:
    """One policy's limit on the buyer."""

    policy_id: str
    policy_number: str
    policyholder_id: str
    policyholder_name: str
    currency: str
    in_force: Money  # on the day asked
    covered: Money  # the covered exposure on that day
    latest: LimitDecision  # the last decision recorded (it may take effect later: a reduction's notice)
    history: tuple[LimitDecision, ...]  # in the order decided


@dataclass(frozen=True)
class WatchedBuyer:
    buyer: Buyer
    events: tuple[LegalEvent, ...]  # published since the date, oldest first
    downgrades: tuple[GradeRecord, ...]  # worse grades given since the date, oldest first
    limits: tuple[HeldLimit, ...]

    @property
    def latest(self) -> date:
        """When the latest of its events or downgrades happened."""
        dates = [e.publication_date for e in self.events] + [g.graded_at.date() for g in self.downgrades]
        return max(dates)


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    in_force: Money
    covered: Money


@dataclass(frozen=True)
class Watchlist:
    since: date
    on: date
    buyers: tuple[WatchedBuyer, ...]  # the latest happening first
    totals: tuple[CurrencyTotal, ...]  # over the limits of the buyers listed, per currency

    @property
    def limit_count(self) -> int:
        return sum(len(b.limits) for b in self.buyers)


def is_downgrade(record: GradeRecord) -> bool:
    """A grade worse than the one before (a first grade, or a grade after none, downgrades nothing)."""
    return bool(record.previous_grade) and record.grade > (record.previous_grade or 0)


def _policies(uow: UnitOfWork) -> list[Policy]:
    found: list[Policy] = []
    while True:
        page, total = uow.policies.list_page(policyholder_ids=None, page=Page(limit=POLICY_PAGE, offset=len(found)))
        found += page
        if not page or len(found) >= total:
            return found


def _held(uow: UnitOfWork, policy: Policy, history: list[LimitDecision], buyer_id: str, on: date) -> HeldLimit:
    ordered = sorted(history, key=lambda d: d.sequence)
    exposure = exposures_of_policy(uow, policy, on=on, buyer_ids=[buyer_id])
    covered = next((e.covered for b, e in exposure.buyers if b.id == buyer_id), Money.zero(policy.currency))
    holder = uow.organisations.get(policy.policyholder_id)
    return HeldLimit(
        policy_id=policy.id,
        policy_number=policy.number,
        policyholder_id=policy.policyholder_id,
        policyholder_name=holder.name if holder is not None else policy.policyholder_id,
        currency=policy.currency,
        in_force=amount_in_force(ordered, on, policy.currency),
        covered=covered,
        latest=ordered[-1],
        history=tuple(ordered),
    )


def _limits_on(uow: UnitOfWork, buyer_id: str, on: date) -> tuple[HeldLimit, ...]:
    by_policy: dict[str, list[LimitDecision]] = defaultdict(list)
    for decision in uow.limits.decisions_on([buyer_id]):
        by_policy[decision.policy_id].append(decision)
    held: list[HeldLimit] = []
    for policy_id in sorted(by_policy):
        policy = uow.policies.get(policy_id)
        if policy is not None:
            held.append(_held(uow, policy, by_policy[policy_id], buyer_id, on))
    return tuple(sorted(held, key=lambda h: (h.policy_number, h.policy_id)))


def limits_on_buyer(uow: UnitOfWork, actor: Actor, buyer_id: str, *, on: date) -> tuple[HeldLimit, ...]:
    """Every policy's limit on the buyer (staff only: it reads every insured's)."""
    require(actor, Permission.PORTFOLIO_READ)
    buyer = get_buyer(uow, actor, buyer_id)
    return _limits_on(uow, buyer.id, on)


def _totals(buyers: list[WatchedBuyer]) -> tuple[CurrencyTotal, ...]:
    in_force: dict[str, Money] = {}
    covered: dict[str, Money] = {}
    for watched in buyers:
        for held in watched.limits:
            zero = Money.zero(held.currency)
            in_force[held.currency] = in_force.get(held.currency, zero) + held.in_force
            covered[held.currency] = covered.get(held.currency, zero) + held.covered
    return tuple(CurrencyTotal(c, in_force[c], covered[c]) for c in sorted(in_force))


def watchlist(uow: UnitOfWork, actor: Actor, *, since: date, on: date) -> Watchlist:
    """The buyers holding limits with a legal event or a downgrade from ``since`` to ``on``, and their limits."""
    require(actor, Permission.PORTFOLIO_READ)
    if since > on:
        raise InvalidInput("the date must not be after today", code="watchlist.invalid_since", field="since")
    limited: set[str] = set()
    for policy in _policies(uow):
        limited.update(d.buyer_id for d in uow.limits.decisions_of_policy(policy.id))
    buyers = uow.buyers.get_many(sorted(limited))
    watched: list[WatchedBuyer] = []
    for buyer_id in sorted(buyers):
        events = tuple(e for e in uow.monitoring.legal_events(buyer_id) if since <= e.publication_date <= on)
        downgrades = tuple(
            g for g in uow.buyers.grade_history(buyer_id) if since <= g.graded_at.date() <= on and is_downgrade(g)
        )
        if events or downgrades:
            watched.append(WatchedBuyer(buyers[buyer_id], events, downgrades, _limits_on(uow, buyer_id, on)))
    watched.sort(key=lambda w: (-w.latest.toordinal(), w.buyer.legal_name, w.buyer.id))
    return Watchlist(since, on, tuple(watched), _totals(watched))
