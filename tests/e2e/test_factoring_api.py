"""Factoring through the API (issue 10): the delegation endorsement, invoices assigned to the factor
organisation, the indemnity split with a statement per payee, and the factor's own view — nothing else."""

from __future__ import annotations

import io
import uuid
from datetime import date

from api_world import World, buyer_with_limit
from fastapi.testclient import TestClient
from portal_support import log_in, page
from pypdf import PdfReader

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.claims import required_documents
from tradecover.domain.monitoring import LegalEvent, LegalEventKind
from tradecover.services import claims, overdues
from tradecover.services.authorization import system_actor

API = "/api/v1"
Headers = dict[str, dict[str, str]]
PDF = b"%PDF-1.4\n% scan\n%%EOF\n"


def text_of(content: bytes) -> str:
    return " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def insolvent_buyer(container: Container, world: World) -> str:
    """A buyer of A's book with a 50,000 limit since 2 January, judged in receivership on 2 March."""
    clock = container.clock
    buyer_id, siren = buyer_with_limit(
        container, world, world.insured_a, world.policy_a, amount="50000", name="Débiteur Cédé SAS"
    )
    with container.uow() as uow:
        uow.monitoring.add_legal_event(
            LegalEvent(
                str(uuid.uuid4()), buyer_id, LegalEventKind.RECEIVERSHIP, "Jugement d'ouverture", date(2026, 3, 2),
                date(2026, 3, 10), "test", f"test-{siren}", None, clock.now(),
            )
        )  # fmt: skip
        uow.commit()
    return buyer_id


def invoice(buyer_id: str, number: str, net: str, **extra: object) -> dict[str, object]:
    return {
        "buyer_id": buyer_id, "number": number, "issue_date": "2026-01-10", "due_date": "2026-02-10",
        "amount_excl_vat": {"amount": net, "currency": "EUR"}, "vat_amount": {"amount": "0.00", "currency": "EUR"},
        **extra,
    }  # fmt: skip


def test_a_factor_is_paid_its_share_with_its_statement_and_sees_only_its_own(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    admin, insured, factor, handler = (headers[r] for r in ("admin", "insured_user", "factor_user", "claims_handler"))
    policy = f"{API}/policies/{world.policy_a}"
    buyer = insolvent_buyer(container, world)

    # The delegation: endorsed by the insurer, listed on the policy; the insured may not endorse.
    endorsement = {"factor_id": world.factor_id, "start_date": "2026-01-01", "reason": "contrat d'affacturage"}
    assert app_client.post(f"{policy}/delegations", json=endorsement, headers=insured).status_code == 403
    created = app_client.post(f"{policy}/delegations", json=endorsement, headers=admin)
    assert created.status_code == 201, created.text
    assert (created.json()["factor_name"], created.json()["end_date"]) == ("Factor SA", None)
    again = app_client.post(f"{policy}/delegations", json=endorsement, headers=admin)
    assert (again.status_code, again.json()["code"]) == (409, "delegation.overlapping")
    not_a_factor = app_client.post(
        f"{policy}/delegations", json=endorsement | {"factor_id": world.broker_id}, headers=admin
    )
    assert (not_a_factor.status_code, not_a_factor.json()["code"]) == (422, "factoring.not_a_factor")
    assert [d["factor_id"] for d in app_client.get(f"{policy}/delegations", headers=insured).json()["items"]] == [
        world.factor_id
    ]
    assert app_client.get(f"{policy}/delegations", headers=factor).status_code == 404

    # Invoices: one assigned at once by the factor's id, one later by its exact name, one kept by the insured.
    record = app_client.post(
        f"{policy}/invoices", json=invoice(buyer, "FC-1", "6000.00", factor_id=world.factor_id), headers=insured
    )
    assert record.status_code == 201, record.text
    unknown = app_client.post(
        f"{policy}/invoices", json=invoice(buyer, "FC-9", "1.00", factor="Inconnu"), headers=insured
    )
    assert (unknown.status_code, unknown.json()["code"], unknown.json().get("field")) == (
        422,
        "factoring.unknown_factor",
        "factor",
    )
    for number, net in (("FC-2", "1000.01"), ("FC-3", "2999.99")):
        assert (
            app_client.post(f"{policy}/invoices", json=invoice(buyer, number, net), headers=insured).status_code == 201
        )
    assign = {"buyer_id": buyer, "invoice": "FC-2", "factor": "Factor SA", "date": "2026-01-20"}
    assert app_client.post(f"{policy}/factor-assignments", json=assign, headers=insured).status_code == 204
    twice = app_client.post(f"{policy}/factor-assignments", json=assign, headers=insured)
    assert (twice.status_code, twice.json()["code"]) == (409, "ledger.already_assigned")

    # What the factor sees: its two invoices, covered, and nothing of FC-3.
    seen = app_client.get(f"{API}/factor/assignments", headers=factor)
    assert seen.status_code == 200, seen.text
    assert [(i["number"], i["cover_status"], i["covered_amount"]["amount"]) for i in seen.json()["items"]] == [
        ("FC-1", "covered", "6000.00"),
        ("FC-2", "covered", "1000.01"),
    ]
    assert app_client.get(f"{API}/factor/assignments", headers=insured).status_code == 403

    # The claim: notified, filed on the judgment, documents, settled by a claims handler.
    admin_actor = system_actor(world.insurer_id)
    with container.uow() as uow:
        overdues.declare_overdue(uow, container.clock, admin_actor, policy_id=world.policy_a, buyer_id=buyer)
        uow.commit()
    with container.uow() as uow:
        claim = claims.file_claim(uow, container.clock, admin_actor, policy_id=world.policy_a, buyer_id=buyer)
        uow.commit()
    for kind in required_documents(claim.cause):
        with container.uow() as uow:
            claims.add_document(
                uow, container.clock, admin_actor, claim.id, kind=kind.value, filename="scan.pdf",
                content_type=None, content=PDF,
            )  # fmt: skip
            uow.commit()
    settled = app_client.post(f"{API}/claims/{claim.id}/settlement", headers=handler)
    assert settled.status_code == 200, settled.text
    # 10,000.00 × 90 % = 9,000.00: the factor 9,000 × 7,000.01 / 10,000 = 6,300.009 → 6,300.01, the insured 2,699.99.
    assert [(p["role"], p["amount"]) for p in settled.json()["payees"]] == [
        ("insured", "2699.99"),
        ("factor", "6300.01"),
    ]

    listed = app_client.get(f"{API}/factor/claims", headers=factor).json()["items"]
    assert [(c["id"], c["invoices"], c["share_amount"]) for c in listed] == [
        (claim.id, ["FC-1", "FC-2"], {"amount": "6300.01", "currency": "EUR"})
    ]
    own = app_client.get(listed[0]["statement_url"] + "?language=en", headers=factor)
    assert own.status_code == 200, own.text
    text = text_of(own.content)
    assert ("FC-1" in text, "FC-2" in text, "FC-3" in text, "6,300.01" in text, "2,699.99" in text) == (
        True,
        True,
        False,
        True,
        False,
    )
    for_insured = app_client.get(f"{API}/claims/{claim.id}/payees/insured/statement.pdf?language=en", headers=insured)
    assert for_insured.status_code == 200, for_insured.text
    text = text_of(for_insured.content)
    assert ("FC-3" in text, "FC-1" in text, "2,699.99" in text, "6,300.01" in text) == (True, False, True, False)
    by_id = app_client.get(f"{API}/claims/{claim.id}/payees/{world.factor_id}/statement.pdf?language=en", headers=admin)
    assert by_id.content == own.content

    # Nothing else: the factor cannot read the claim, the policy or the insured's statement.
    for url in (
        f"{API}/claims/{claim.id}",
        f"{API}/claims/{claim.id}/statement.pdf",
        f"{API}/claims/{claim.id}/payees/insured/statement.pdf",
        policy,
    ):
        assert app_client.get(url, headers=factor).status_code == 404, url
    assert app_client.get(f"{API}/factor/claims", headers=insured).status_code == 403

    # The portal shows the insured each payee's statement, the insured's and the factor's, as the API serves them.
    with TestClient(create_app(container=container), follow_redirects=False) as portal:
        log_in(portal, world.emails["insured_user"])
        html = page(portal, f"/claims/{claim.id}?lang=en")
        assert '<li data-payee="insured">' in html
        assert f'<li data-payee="{world.factor_id}">' in html
        assert "The statement of Factor SA, factor and loss payee (PDF)" in html
        portal_insured = portal.get(f"/claims/{claim.id}/payees/insured/statement.pdf?lang=en")
        assert portal_insured.status_code == 200
        assert portal_insured.content == for_insured.content
        assert portal.get(f"/claims/{claim.id}/payees/{world.factor_id}/statement.pdf?lang=en").content == own.content
