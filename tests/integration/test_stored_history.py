"""The comparison on the insured's history as tradecover holds it equals the comparison on the uploaded ledger.

examples/compare/ledger.csv is imported for Atelier Dupont SAS through the ledger services, its buyer's
receivership recorded as BODACC publishes it; the offers compared on the stored ledger give the same figures
as on the file. Another insured's user does not read it; an insured without a ledger is ``compare.no_history``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tradecover.bootstrap import Container
from tradecover.domain.errors import InvalidInput, NotFound
from tradecover.domain.monitoring import LegalEvent, LegalEventKind
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.domain.periods import FixedClock
from tradecover.ingest.ledger_formats import parse_ledger_file
from tradecover.ingest.ledger_records import PaymentRecord
from tradecover.services import accounts, policies
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.ledger_import import import_ledger
from tradecover.simulation.comparison import compare_offers, load_offers
from tradecover.simulation.stored_history import stored_ledger

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compare"
RECEIVERSHIP = "732829320"  # Bâtiment Services Ouest SARL, in receivership from 7 May 2026


def test_offers_compared_on_the_stored_ledger_give_the_figures_of_the_uploaded_one(
    container: Container, clock: FixedClock
) -> None:
    clock.set(datetime(2027, 1, 15, 10, tzinfo=UTC))
    example = load_offers(EXAMPLE / "offers.yaml")
    offers = replace(example, offers=example.offers[:2])  # two offers (claims on both): the replays take time
    data = (EXAMPLE / "ledger.csv").read_bytes()
    uploaded = parse_ledger_file(data, "ledger.csv", currency="EUR")
    with container.uow() as uow:
        admin = system_actor(accounts.ensure_insurer(uow, clock).id)
        insured = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Atelier Dupont SAS", country="FR",
            siren="552100554",
        )  # fmt: skip
        empty = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Sans Factures SARL", country="FR"
        )
        policy, _ = policies.issue_policy(
            uow, clock, admin, policyholder_id=insured.id, start_date=date(2025, 1, 1), commit=False
        )
        report = import_ledger(uow, clock, admin, policy_id=policy.id, parsed=uploaded, content=data)
        assert report.applied, report.lines[:3]
        assert report.refused == 0
        buyer_id = uow.buyers.by_sirens([RECEIVERSHIP])[RECEIVERSHIP]
        uow.monitoring.add_legal_event(
            LegalEvent(
                str(uuid.uuid4()), buyer_id, LegalEventKind.RECEIVERSHIP, "Jugement d'ouverture", date(2026, 5, 7),
                date(2026, 5, 12), "bodacc", "test-732829320", None, clock.now(),
            )
        )  # fmt: skip
        uow.commit()

    with container.uow() as uow:
        stored = stored_ledger(uow, admin, insured.id, "EUR")
    assert stored.ledger.name == "tradecover ledger of Atelier Dupont SAS"
    assert len(stored.ledger.records) == len(uploaded.records)
    assert sum(isinstance(r, PaymentRecord) for r in stored.ledger.records) == sum(
        isinstance(r, PaymentRecord) for r in uploaded.records
    )
    assert [r.source.line for r in stored.ledger.records] == list(range(1, len(uploaded.records) + 1))
    assert all(r.buyer.identifiers[0][0] == "siren" for r in stored.ledger.records)
    assert [(f.buyer, f.procedure, f.judgment_date, f.publication_date) for f in stored.insolvencies] == [
        (RECEIVERSHIP, "redressement_judiciaire", date(2026, 5, 7), date(2026, 5, 12))
    ]
    # The example's file already gives the same insolvency: it counts once.
    assert stored.applied_to(offers).insolvencies == offers.insolvencies
    on_file = compare_offers(offers, uploaded)
    in_tradecover = compare_offers(stored.applied_to(replace(offers, insolvencies=())), stored.ledger)
    for key in ("period", "exposure", "offers", "ranking", "assumptions"):
        assert in_tradecover.document[key] == on_file.document[key], key
    assert in_tradecover.document["ledger"] == "tradecover ledger of Atelier Dupont SAS"
    assert {c["buyer"] for c in in_tradecover.document["offers"][0]["claims"]} >= {RECEIVERSHIP}

    # through the tenancy: another insured's user does not read it; no ledger is no history
    other = Actor("user-x", "user-x", empty.id, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)
    with container.uow() as uow:
        with pytest.raises(NotFound):
            stored_ledger(uow, other, insured.id, "EUR")
        with pytest.raises(InvalidInput) as caught:
            stored_ledger(uow, admin, empty.id, "EUR")
        assert caught.value.code == "compare.no_history"
        with pytest.raises(InvalidInput):
            stored_ledger(uow, admin, insured.id, "USD")
