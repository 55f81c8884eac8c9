"""Factoring with the factor as loss payee (issue 10): delegations, assignments to a factor organisation,
the indemnity split between the factor and the insured with a statement each, and the factor's own view."""

from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader
from test_claims_services import NOTIFIED, World, eur, raises, transaction_sums

from tradecover.bootstrap import Container
from tradecover.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleBroken
from tradecover.domain.indemnity import ClaimInvoice, payees
from tradecover.domain.money import Money
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.services import accounts, claim_statements, factoring, factoring_views, ledger
from tradecover.services.authorization import Actor


@pytest.fixture
def world(container: Container) -> World:
    built = World(container)
    built.on(NOTIFIED)
    return built


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def organisation(world: World, kind: OrganisationKind, name: str) -> str:
    with world.container.uow() as uow:
        created = accounts.create_organisation(uow, world.clock, world.admin, kind=kind, name=name, country="FR")
    return created.id


def factor_user(factor_id: str) -> Actor:
    return Actor(f"user-{factor_id}", "factor user", factor_id, OrganisationKind.FACTOR, Role.FACTOR_USER)


def test_an_indemnity_on_a_partly_assigned_buyer_splits_exactly_with_a_statement_each(world: World) -> None:
    factor = organisation(world, OrganisationKind.FACTOR, "Affacturage Nord SA")
    rival = organisation(world, OrganisationKind.FACTOR, "Affacturage Sud SA")
    buyer = world.buyer()
    world.invoice(buyer, "FA-1", date(2026, 1, 10), "3333.33", "666.67")
    world.invoice(buyer, "FA-3", date(2026, 1, 12), "1000.00", "200.00")

    def assign(number: str, **how: object) -> object:
        return world.do(
            ledger.assign_to_factor, world.clock, world.insured_a, policy_id=world.policy_a, buyer_id=buyer,
            invoice_number=number, on=date(2026, 1, 15), **how,
        )  # fmt: skip

    # No delegation on the policy yet: refused, nothing written.
    world.refused(RuleBroken, "factoring.no_delegation", lambda: assign("FA-1", factor_id=factor))

    def endorse(actor: Actor, factor_id: str, start: date, end: date | None = None) -> factoring.DelegationView:
        return world.do(
            factoring.create_delegation, world.clock, actor, policy_id=world.policy_a, factor_id=factor_id,
            start_date=start, end_date=end, reason="contrat d'affacturage du 1er janvier",
        )  # fmt: skip

    raises(Forbidden, "auth.forbidden", lambda: endorse(world.insured_a, factor, date(2026, 1, 1)))
    raises(InvalidInput, "factoring.not_a_factor", lambda: endorse(world.admin, world.b, date(2026, 1, 1)))
    raises(
        InvalidInput, "delegation.bad_period", lambda: endorse(world.admin, factor, date(2026, 2, 1), date(2026, 2, 1))
    )
    delegation = endorse(world.admin, factor, date(2026, 1, 1))
    assert (delegation.factor_name, delegation.delegation.end_date) == ("Affacturage Nord SA", None)
    raises(Conflict, "delegation.overlapping", lambda: endorse(world.admin, factor, date(2026, 6, 1)))
    endorse(world.admin, rival, date(2026, 1, 1), date(2026, 1, 14))  # over before the assignment date
    listed = world.read(factoring.delegations_of_policy, world.insured_a, world.policy_a)
    assert sorted((v.factor_name, v.delegation.start_date) for v in listed) == [
        ("Affacturage Nord SA", date(2026, 1, 1)),
        ("Affacturage Sud SA", date(2026, 1, 1)),
    ]
    raises(
        NotFound,
        "policy.not_found",
        lambda: world.read(factoring.delegations_of_policy, world.insured_b, world.policy_a),
    )

    # Assignments name a factor organisation: by id, or by its exact name; never anything else.
    world.refused(InvalidInput, "factoring.not_a_factor", lambda: assign("FA-1", factor_id=world.b))
    world.refused(InvalidInput, "factoring.unknown_factor", lambda: assign("FA-1", factor="Factor SA"))
    world.refused(RuleBroken, "factoring.no_delegation", lambda: assign("FA-1", factor_id=rival))
    world.refused(InvalidInput, "factoring.factor_mismatch", lambda: assign("FA-1", factor_id=factor, factor="Autre"))
    assign("FA-1", factor_id=factor, with_recourse=False)
    world.refused(Conflict, "ledger.already_assigned", lambda: assign("FA-1", factor_id=factor))
    world.invoice(buyer, "FA-2", date(2026, 1, 11), "2222.22", "444.44", factor=" Affacturage Nord SA ")
    assignments = world.read(lambda uow: uow.ledger.factor_assignments(world.policy_a))
    assert sorted((a.factor, a.factor_id, a.with_recourse) for a in assignments.values()) == [
        ("Affacturage Nord SA", factor, False),
        ("Affacturage Nord SA", factor, True),
    ]

    # The factor sees its two invoices and their cover, nothing of FA-3.
    seen = world.read(factoring_views.assigned_invoices, world.clock, factor_user(factor))
    assert [(v.invoice.number, v.cover_status, v.unpaid, v.covered) for v in seen] == [
        ("FA-1", "covered", eur("3333.33"), eur("3333.33")),
        ("FA-2", "covered", eur("2222.22"), eur("2222.22")),
    ]
    assert world.read(factoring_views.assigned_invoices, world.clock, factor_user(rival)) == []
    raises(
        Forbidden, "auth.forbidden", lambda: world.read(factoring_views.assigned_invoices, world.clock, world.insured_a)
    )

    claim = world.claimed(buyer)
    assert [v.claim.id for v in world.read(factoring_views.claims_of_factor, factor_user(factor))] == [claim.id]
    outcome = world.settle(claim.id)
    assert outcome.status == "settled"
    assert outcome.computation is not None
    indemnity = outcome.computation.indemnity
    # (3,333.33 + 2,222.22 + 1,000.00) × 90 % = 5,900.00; the factor's share 5,900 × 5,555.55 / 6,555.55
    # = 4,999.999… → 5,000.00 and the insured's 900.00: to the cent, summing exactly.
    assert indemnity.indemnity == eur("5900.00")
    assert [(p.role, p.id, p.amount) for p in indemnity.payees] == [
        ("insured", None, eur("900.00")),
        ("factor", factor, eur("5000.00")),
    ]
    view = world.view(claim.id)
    assert sorted((m.account, m.amount) for m in view.movements if m.account != "insurer") == [
        (f"factor:{factor}", eur("5000.00")),
        (f"insured:{world.a}", eur("900.00")),
    ]
    assert set(transaction_sums(view).values()) == {eur(0)}

    # A statement each: the factor's lists its invoices and its share only; the insured's the rest.
    mine, name = world.read(
        claim_statements.factor_statement_pdf, world.clock, factor_user(factor), claim.id, language="en"
    )
    text = pdf_text(mine)
    assert ("FA-1" in text, "FA-2" in text, "FA-3" in text) == (True, True, False)
    assert ("5,000.00" in text, "Affacturage Nord SA" in text) == (True, True)
    assert "900.00" not in text.replace("5,900.00", "").replace("5900.00", "")  # nor the insured's share
    assert name.endswith("-en.pdf")
    assert "factor" in name
    same, _ = world.read(
        claim_statements.payee_statement_pdf, world.clock, world.insured_a, claim.id, factor, language="en"
    )
    assert same == mine
    theirs, _ = world.read(
        claim_statements.payee_statement_pdf, world.clock, world.insured_a, claim.id, "insured", language="en"
    )
    text = pdf_text(theirs)
    assert ("FA-3" in text, "FA-1" in text, "FA-2" in text, "900.00" in text) == (True, False, False, True)
    statement = claim_statements.payee_statement_pdf
    raises(
        NotFound,
        "claim.payee_not_found",
        lambda: world.read(statement, world.clock, world.handler, claim.id, rival, language="fr"),
    )

    # The factor's claims: its invoices and its share; another factor sees neither the claim nor its statement.
    [listed_claim] = world.read(factoring_views.claims_of_factor, factor_user(factor))
    assert (listed_claim.invoice_numbers, listed_claim.share, listed_claim.settlement_status) == (
        ("FA-1", "FA-2"),
        eur("5000.00"),
        "settled",
    )
    assert world.read(factoring_views.claims_of_factor, factor_user(rival)) == []
    own_statement = claim_statements.factor_statement_pdf
    raises(
        NotFound,
        "claim.not_found",
        lambda: world.read(own_statement, world.clock, factor_user(rival), claim.id, language="fr"),
    )
    actions = world.read(lambda uow: [record.action for record, _ in uow.audit.records(world.a)])
    assert (actions.count("policy.delegation_endorsed"), actions.count("ledger.assigned_to_factor")) == (2, 2)


@given(
    indemnity_minor=st.integers(min_value=1, max_value=10**9),
    lines=st.lists(
        st.tuples(st.integers(min_value=-1000, max_value=10**8), st.sampled_from([None, "f1", "f2"])),
        min_size=1,
        max_size=8,
    ),
)
def test_the_payees_shares_always_sum_exactly_to_the_indemnity(
    indemnity_minor: int, lines: list[tuple[int, str | None]]
) -> None:
    invoices = [
        ClaimInvoice(
            invoice_id=str(n),
            number=str(n),
            issue_date=date(2026, 1, 1),
            delivery_date=date(2026, 1, 1),
            due_date=date(2026, 2, 1),
            amount_excl_vat=Money.from_minor(unpaid, "EUR"),
            reductions=(),
            factor=None if who is None else f"Factor {who}",
            factor_id=who,
        )
        for n, (unpaid, who) in enumerate(lines)
    ]
    indemnity = Money.from_minor(indemnity_minor, "EUR")
    split = payees(indemnity, invoices)
    if not any(unpaid > 0 for unpaid, _ in lines):
        assert split == ()
        return
    assert sum((p.amount for p in split), Money.zero("EUR")) == indemnity
    assert all(p.amount.is_positive() for p in split)
    assert {p.id for p in split if p.role == "factor"} <= {"f1", "f2"}
    assert [p.role for p in split].count("insured") <= 1
