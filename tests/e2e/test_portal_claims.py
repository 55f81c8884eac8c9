"""The portal's claim pages through the app factory: file a claim, send its documents, instruct and approve it.

The world is api_world's; ``claimable_buyer`` adds a buyer of insured A with an accepted overdue notification
and an insolvency judgment, so that a claim opens on it today (15 March 2026, the frozen clock) and needs four
documents. This container asks a second claims handler to approve any indemnity above 500 EUR (the claim's is
900 EUR) and refuses documents above 2,048 bytes. Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from api_world import PASSWORD, World, build_world, claimable_buyer, container_with
from fastapi.testclient import TestClient
from httpx import Response
from portal_support import csrf_token, log_in, page

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.claims import ClaimStatus
from tradecover.domain.parties import Role
from tradecover.domain.periods import FixedClock
from tradecover.services import accounts
from tradecover.services.authorization import system_actor

APPROVAL_AMOUNT = Decimal("500")
MAX_DOCUMENT_BYTES = 2048
PDF = b"%PDF-1.4\n% a scanned document\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
REQUIRED = ("unpaid_invoices", "proof_of_delivery", "collection_attempts", "administrator_claim_filing")


@pytest.fixture
def container(database_url: str, clock: FixedClock) -> Iterator[Container]:
    with container_with(
        database_url, clock, indemnity_approval_amount=APPROVAL_AMOUNT, max_document_bytes=MAX_DOCUMENT_BYTES
    ) as built:
        yield built


@pytest.fixture
def world(container: Container) -> World:
    """api_world's world with a second claims handler, for the four-eyes approval."""
    built = build_world(container)
    with container.uow() as uow:
        accounts.create_user(
            uow, container.clock, system_actor(built.insurer_id), organisation_id=built.insurer_id,
            email="second_handler@example.fr", full_name="Second Handler", role=Role.CLAIMS_HANDLER,
            password=PASSWORD,
        )  # fmt: skip
    built.emails["second_handler"] = "second_handler@example.fr"
    return built


@pytest.fixture
def choice(container: Container, world: World) -> str:
    """The file-a-claim form's value for A's claimable buyer: ``<policy id>|<buyer id>``."""
    policy_id, buyer_id = claimable_buyer(container, world, "a")
    return f"{policy_id}|{buyer_id}"


@pytest.fixture
def client(container: Container, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


def as_user(client: TestClient, world: World, who: str) -> TestClient:
    client.cookies.clear()
    log_in(client, world.emails[who])
    return client


def file_claim(client: TestClient, choice: str, *, token: str | None = None) -> Response:
    form = page(client, "/claims")
    return client.post("/claims", data={"choice": choice, "csrf_token": csrf_token(form) if token is None else token})


def filed(client: TestClient, choice: str) -> str:
    response = file_claim(client, choice)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/claims/([0-9a-f-]+)\?filed=1", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def upload(
    client: TestClient,
    claim_id: str,
    kind: str,
    name: str,
    content: bytes,
    content_type: str,
    *,
    token: str | None = None,
) -> Response:
    token = csrf_token(page(client, f"/claims/{claim_id}")) if token is None else token
    return client.post(
        f"/claims/{claim_id}/documents",
        data={"kind": kind, "csrf_token": token},
        files={"file": (name, content, content_type)},
    )


def post(client: TestClient, url: str, form_page: str, **data: str) -> Response:
    return client.post(url, data={"csrf_token": csrf_token(page(client, form_page)), **data})


def missing(html: str) -> list[str]:
    found = re.search(r'<ul id="missing-documents">(.*?)</ul>', html, re.S)
    return re.findall(r'data-kind="(\w+)"', found.group(1)) if found else []


def documents(container: Container, claim_id: str) -> int:
    with container.uow() as uow:
        return len(uow.claims.documents_of(claim_id))


def claim_status(container: Container, claim_id: str) -> ClaimStatus:
    with container.uow() as uow:
        claim = uow.claims.get_claim(claim_id)
        assert claim is not None
        return claim.status


def claim_count(container: Container) -> int:
    with container.uow() as uow:
        return uow.claims.list_claims(None, status=None, offset=0, limit=100)[1]


def test_the_insured_files_a_claim_and_sends_its_documents(
    client: TestClient, container: Container, world: World, choice: str
) -> None:
    as_user(client, world, "insured_user")
    listed = page(client, "/claims?lang=en")
    form = re.search(r'<form id="file-claim-form".*?</form>', listed, re.S)
    assert form, listed
    assert f'value="{choice}"' in form.group(0)
    assert "Claimable" in form.group(0)

    # Nothing chosen, or no CSRF token: refused, nothing filed.
    nothing = file_claim(client, "")
    assert nothing.status_code == 422
    assert re.search(r'<div role="alert" id="file-claim-error">\s*<p>Choose the buyer of the claim.</p>', nothing.text)
    assert file_claim(client, choice, token="").status_code == 403
    assert claim_count(container) == 0

    claim_id = filed(client, choice)
    html = page(client, f"/claims/{claim_id}?filed=1")
    assert 'id="claim-filed"' in html
    assert missing(html) == list(REQUIRED)
    assert re.search(r'<tr data-invoice="CL-\d+">', html)
    assert '<dd id="declared-gross">€1,200.00</dd>' in html
    assert '<dd id="date-of-loss">2 Mar 2026</dd>' in html
    assert 'id="filing-deadline"' in html  # an insolvency: the claim to file with the administrator
    assert 'id="settle-form"' not in html
    assert 'id="preview-lines"' not in html
    rows = page(client, "/claims")
    assert f'<a href="/claims/{claim_id}">CLM-2026-' in rows
    assert choice not in rows  # a claim is open on the buyer: not offered again
    assert 'id="nothing-to-claim"' in rows
    again = file_claim(client, choice)
    assert again.status_code == 409
    assert "A claim is already open on this buyer under this policy." in again.text

    received = upload(client, claim_id, "unpaid_invoices", "../factures.pdf", PDF, "application/pdf")
    assert received.status_code == 303, received.text
    assert received.headers["location"].startswith(f"/claims/{claim_id}?received=")
    html = page(client, received.headers["location"].split("#")[0])
    assert re.search(
        r'<p role="status" id="document-received">Document received: factures.pdf \(Unpaid invoices\)', html
    )
    assert missing(html) == list(REQUIRED[1:])
    [document_id] = re.findall(r'<tr data-document="([^"]+)" data-kind="unpaid_invoices">', html)
    download = client.get(f"/claims/{claim_id}/documents/{document_id}")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"].startswith("application/pdf")
    assert download.headers["content-disposition"].startswith('attachment; filename="factures.pdf"')
    assert download.headers["x-content-type-options"] == "nosniff"

    french = page(client, f"/claims/{claim_id}?lang=fr")
    assert "Preuve de livraison" in french
    assert "Déclaration de créance au mandataire judiciaire" in french
    assert "Factures impayées" in french


def test_bad_input_and_forged_forms_store_nothing(
    client: TestClient, container: Container, world: World, choice: str
) -> None:
    as_user(client, world, "insured_user")
    claim_id = filed(client, choice)
    client.get("/home?lang=en")

    empty = upload(client, claim_id, "proof_of_delivery", "cmr.pdf", b"", "application/pdf")
    assert empty.status_code == 422
    assert '<p role="alert" id="upload-error">The file is empty: choose a document.</p>' in empty.text
    assert 'value="proof_of_delivery" checked>' in empty.text  # the type chosen is kept
    assert 'aria-invalid="true"' in empty.text

    large = upload(client, claim_id, "proof_of_delivery", "cmr.pdf", PDF + b"0" * MAX_DOCUMENT_BYTES, "application/pdf")
    assert large.status_code == 422
    assert "The document is larger than the limit (2 kB)." in large.text

    script = upload(client, claim_id, "proof_of_delivery", "cmr.pdf", b"#!/bin/sh\nrm -rf /\n", "application/pdf")
    assert script.status_code == 422
    assert "Only PDF, PNG, JPEG or TIFF documents are accepted" in script.text
    text = upload(client, claim_id, "proof_of_delivery", "cmr.txt", b"plain", "text/plain")
    assert text.status_code == 422

    unknown = upload(client, claim_id, "receipts", "cmr.pdf", PDF, "application/pdf")
    assert unknown.status_code == 422
    assert "Choose the type of the document." in unknown.text

    forged = upload(client, claim_id, "proof_of_delivery", "cmr.png", PNG, "image/png", token="")
    assert forged.status_code == 403
    assert documents(container, claim_id) == 0

    client.get("/home?lang=fr")
    french = upload(client, claim_id, "proof_of_delivery", "cmr.pdf", b"", "application/pdf")
    assert french.status_code == 422
    assert "Le fichier est vide" in french.text
    assert documents(container, claim_id) == 0
    assert missing(page(client, f"/claims/{claim_id}")) == list(REQUIRED)


def test_another_insured_or_role_gets_404_or_403(
    client: TestClient, container: Container, world: World, choice: str
) -> None:
    as_user(client, world, "insured_user")
    claim_id = filed(client, choice)
    assert upload(client, claim_id, "unpaid_invoices", "f.pdf", PDF, "application/pdf").status_code == 303
    [document_id] = re.findall(r'data-document="([^"]+)"', page(client, f"/claims/{claim_id}"))
    # The insured instructs nothing: the service refuses.
    refused = post(client, f"/claims/{claim_id}/settlement", f"/claims/{claim_id}")
    assert refused.status_code == 403

    # Another insured: the claim, its document, its statement and its upload are not found.
    as_user(client, world, "insured_user_b")
    for url in (
        f"/claims/{claim_id}",
        f"/claims/{claim_id}/documents/{document_id}",
        f"/claims/{claim_id}/statement.pdf",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert 'id="error-message"' in response.text
    token = csrf_token(page(client, "/claims"))
    assert (
        upload(client, claim_id, "proof_of_delivery", "f.pdf", PDF, "application/pdf", token=token).status_code == 404
    )
    assert claim_id not in page(client, "/claims")
    assert documents(container, claim_id) == 1

    # A's broker reads the claim; the underwriter reads it but may not settle it.
    as_user(client, world, "broker_user")
    assert 'id="claim-status"' in page(client, f"/claims/{claim_id}")
    as_user(client, world, "underwriter")
    html = page(client, f"/claims/{claim_id}")
    assert 'id="settle-form"' not in html
    assert post(client, f"/claims/{claim_id}/settlement", f"/claims/{claim_id}").status_code == 403
    assert client.post("/claims", data={"choice": choice, "csrf_token": csrf_token(html)}).status_code == 403
    assert claim_status(container, claim_id) is ClaimStatus.PENDING
    assert client.get("/claims/no-such-claim").status_code == 404


def test_a_handler_settles_a_second_approves_and_the_insured_reads_the_statement(
    client: TestClient, container: Container, world: World, choice: str
) -> None:
    as_user(client, world, "insured_user")
    claim_id = filed(client, choice)
    for kind in REQUIRED[:3]:
        assert upload(client, claim_id, kind, f"{kind}.pdf", PDF, "application/pdf").status_code == 303
    url = f"/claims/{claim_id}"

    # Documents still missing: the handler's settlement leaves the claim pending and says why.
    as_user(client, world, "claims_handler")
    client.get("/home?lang=en")
    pending = post(client, f"{url}/settlement", url)
    assert pending.status_code == 422
    assert 'data-outcome="pending"' in pending.text
    assert "Claim filed with the insolvency administrator" in pending.text
    assert claim_status(container, claim_id) is ClaimStatus.PENDING

    as_user(client, world, "insured_user")
    assert upload(client, claim_id, REQUIRED[3], "filing.png", PNG, "image/png").status_code == 303
    assert 'id="documents-complete"' in page(client, url)
    assert claim_status(container, claim_id) is ClaimStatus.COMPLETE

    as_user(client, world, "claims_handler")
    client.get("/home?lang=en")
    queue = page(client, "/claims?status=complete")
    assert 'id="link-to-instruct"' in queue
    assert f'href="/claims/{claim_id}"' in queue
    html = page(client, url)
    lines = dict(re.findall(r'<tr data-line="(\w+)">.*?<td class="num">(.*?)</td>', html, re.S))
    assert lines["loss"] == "<strong>€1,000.00</strong>"
    assert lines["covered_loss"] == "<strong>€1,000.00</strong>"
    assert lines["indemnity_rate"] == "€900.00"
    assert lines["indemnity"] == "<strong>€900.00</strong>"
    assert '<dd id="preview-indemnity">€900.00</dd>' in html

    assert client.post(f"{url}/settlement", data={"csrf_token": ""}).status_code == 403
    assert claim_status(container, claim_id) is ClaimStatus.COMPLETE
    instructed = post(client, f"{url}/settlement", url)
    assert instructed.status_code == 303
    assert instructed.headers["location"] == f"{url}?done=awaiting_approval#settlement"
    html = page(client, f"{url}?done=awaiting_approval")
    assert 'data-outcome="awaiting_approval"' in html
    assert 'id="approval-form"' in html
    # Four eyes: whoever computed the indemnity may not approve it.
    same = post(client, f"{url}/settlement/approval", url, decision="approve", reason="")
    assert same.status_code == 403
    assert re.search(
        r'<p role="alert" id="settlement-error" data-code="claim.same_approver">You computed this indemnity', same.text
    )
    assert claim_status(container, claim_id) is ClaimStatus.AWAITING_APPROVAL

    as_user(client, world, "second_handler")
    client.get("/home?lang=en")
    no_reason = post(client, f"{url}/settlement/approval", url, decision="withdraw", reason=" ")
    assert no_reason.status_code == 422
    assert 'data-code="claim.approval_form"' in no_reason.text
    approved = post(client, f"{url}/settlement/approval", url, decision="approve", reason="")
    assert approved.status_code == 303
    assert approved.headers["location"] == f"{url}?done=settled#settlement"
    assert claim_status(container, claim_id) is ClaimStatus.SETTLED
    html = page(client, url)
    assert '<dd id="claim-indemnity">€900.00</dd>' in html
    assert 'data-event="approved"' in html
    assert '<td class="num">€900.00</td>' in page(client, "/claims")  # the list shows the indemnity paid

    as_user(client, world, "insured_user")
    html = page(client, f"{url}?lang=fr")
    assert 'id="statement-link"' in html
    assert 'id="upload-form"' not in html  # settled: closed to documents
    assert "Réglé" in html
    statement = client.get(f"{url}/statement.pdf")
    assert statement.status_code == 200
    assert statement.headers["content-type"] == "application/pdf"
    assert statement.content.startswith(b"%PDF")
    assert "-statement-fr.pdf" in statement.headers["content-disposition"]
