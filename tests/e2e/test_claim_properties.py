"""Properties of the claim use cases on the real database (DOMAIN.md §8).

No indemnity without complete documents; an indemnity never exceeds min(covered loss × rate, remaining
maximum liability) and is paid by paired movements summing to zero; the shares of every recovery sum to it.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from api_world import World, build_world, claimable_buyer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradecover.bootstrap import Container
from tradecover.domain.claims import ClaimStatus, DocumentKind
from tradecover.domain.money import Money
from tradecover.services import claims, collection
from tradecover.services.authorization import system_actor
from tradecover.services.ports import Page

PDF = b"%PDF-1.4\n%property\n"
INSOLVENCY_DOCUMENTS = [k.value for k in DocumentKind if k is not DocumentKind.OTHER]
_WORLDS: dict[int, World] = {}  # one world per database: Hypothesis runs every example in the same one


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    documents=st.sets(st.sampled_from(INSOLVENCY_DOCUMENTS)),
    recoveries=st.lists(st.integers(min_value=1, max_value=30_000), max_size=3),
)
def test_no_indemnity_without_complete_documents_and_shares_sum_exactly(
    container: Container, documents: set[str], recoveries: list[int]
) -> None:
    world = _WORLDS.get(id(container)) or _WORLDS.setdefault(id(container), build_world(container))
    admin = system_actor(world.insurer_id)
    clock = container.clock
    policy_id, buyer_id = claimable_buyer(container, world, "a")  # one invoice of 1,000 + 200 VAT, insolvency
    with container.uow() as uow:
        claim = claims.file_claim(uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id)
        for kind in sorted(documents):
            claims.add_document(
                uow, clock, admin, claim.id, kind=kind, filename=f"{kind}.pdf", content_type="application/pdf",
                content=PDF,
            )  # fmt: skip
        uow.commit()
    with container.uow() as uow:
        outcome = claims.settle_claim(uow, clock, admin, claim.id, approval_threshold=Decimal("100000"))
        uow.commit()
    complete = set(INSOLVENCY_DOCUMENTS) <= documents
    with container.uow() as uow:
        movements = uow.claims.movements_of(claim.id)
        stored = uow.claims.get_claim(claim.id)
    assert stored is not None
    if not complete:
        assert outcome.status == "pending"
        assert outcome.code == "claim.documents_missing"
        assert movements == []
        assert stored.status is ClaimStatus.PENDING
        return
    assert outcome.computation is not None
    indemnity = outcome.computation.indemnity
    assert outcome.status == "settled"
    assert Money.zero("EUR") <= indemnity.indemnity
    assert indemnity.indemnity <= (indemnity.covered_loss * Decimal("0.90")).round()
    by_transaction: dict[str, Money] = defaultdict(lambda: Money.zero("EUR"))
    for movement in movements:
        by_transaction[movement.transaction_id] = by_transaction[movement.transaction_id] + movement.amount
    assert all(total.is_zero() for total in by_transaction.values())
    paid_out = sum((m.amount for m in movements if m.account != "insurer"), Money.zero("EUR"))
    assert paid_out == indemnity.indemnity
    # Recoveries through the collection case: each shared exactly, the insurer never above its indemnity.
    with container.uow() as uow:
        cases, _ = collection.list_cases(uow, admin, page=Page(limit=1), policy_id=policy_id, buyer_id=buyer_id)
    owed = 1200_00
    for cents in recoveries:
        cents = min(cents * 10, owed)
        if cents <= 0:
            break
        owed -= cents
        with container.uow() as uow:
            collection.receive_payment(
                uow, clock, admin, case_id=cases[0].id, amount=Money.from_minor(cents, "EUR"),
                received_on=clock.today(),
            )  # fmt: skip
            uow.commit()
    with container.uow() as uow:
        shared = uow.claims.recoveries_of(claim.id)
    for recovery in shared:
        assert recovery.insurer_share + recovery.insured_share == recovery.amount
        assert not recovery.insurer_share.is_negative()
        assert not recovery.insured_share.is_negative()
    insurer_total = sum((r.insurer_share for r in shared), Money.zero("EUR"))
    assert insurer_total <= indemnity.indemnity
