"""The factor's portal pages through the app factory: the cover of the invoices assigned to it and the claims
on them, nothing else (issue 10).

The world (api_world.py) has insured A's policy endorsed to "Factor SA" from 1 January 2026 (the frozen
clock is 15 March 2026). Three invoices are assigned to the factor: one on a buyer in receivership, notified
overdue, claimed and settled (the factor's share is the whole indemnity); one disputed on that buyer (not
covered); one on A's usual buyer, without recourse. Another factor, with no invoice, sees nothing. Runs on
SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from api_world import PASSWORD, World, build_world, claimable_buyer
from fastapi.testclient import TestClient
from portal_support import log_in, page
from pypdf import PdfReader

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.claims import required_documents
from tradecover.domain.money import Money
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.services import accounts, claims, factoring, ledger
from tradecover.services.authorization import system_actor
from tradecover.web import factor_pages

PDF = b"%PDF-1.4\n% scan\n%%EOF\n"
OTHER_FACTOR = "other_factor@example.fr"


@dataclass(frozen=True)
class Factored:
    claimed: str  # the invoice number in the settled claim
    claim_id: str
    claim_reference: str


@pytest.fixture
def world(container: Container) -> World:
    return build_world(container)


@pytest.fixture
def factored(container: Container, world: World) -> Factored:
    clock = container.clock
    admin = system_actor(world.insurer_id)
    with container.uow() as uow:
        factoring.create_delegation(
            uow, clock, admin, policy_id=world.policy_a, factor_id=world.factor_id, start_date=date(2026, 1, 1),
            reason="contrat d'affacturage",
        )  # fmt: skip
        other = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.FACTOR, name="Other Factor", country="FR"
        )
        accounts.create_user(
            uow, clock, admin, organisation_id=other.id, email=OTHER_FACTOR, full_name="Other factor",
            role=Role.FACTOR_USER, password=PASSWORD,
        )  # fmt: skip
        uow.commit()
    policy_id, buyer_id = claimable_buyer(container, world, "a")
    with container.uow() as uow:
        invoices, _ = uow.ledger.entries(policy_id, [buyer_id])
        claimed = invoices[buyer_id][0].number
        ledger.assign_to_factor(
            uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id, invoice_number=claimed,
            factor_id=world.factor_id, on=date(2026, 1, 20),
        )  # fmt: skip
        for buyer, number, issued, with_recourse in (
            (buyer_id, "FX-LATE", date(2026, 3, 12), True),  # disputed below: not covered
            (world.buyer_a, "FX-FREE", date(2026, 3, 10), False),
        ):
            ledger.record_invoice(
                uow, clock, admin, policy_id=policy_id, buyer_id=buyer, number=number, issue_date=issued,
                delivery_date=None, due_date=date(2026, 4, 30), amount_excl_vat=Money.of("2000.00", "EUR"),
                vat_amount=Money.of("400.00", "EUR"), factor_id=world.factor_id, with_recourse=with_recourse,
            )  # fmt: skip
        ledger.open_dispute(
            uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id, invoice_number="FX-LATE", on=date(2026, 3, 14),
            reason="goods returned",
        )  # fmt: skip
        ledger.record_invoice(
            uow, clock, admin, policy_id=policy_id, buyer_id=world.buyer_a, number="KEPT-1",
            issue_date=date(2026, 3, 10), delivery_date=None, due_date=date(2026, 4, 30),
            amount_excl_vat=Money.of("500.00", "EUR"), vat_amount=Money.of("100.00", "EUR"),
        )  # fmt: skip
        uow.commit()
    with container.uow() as uow:
        claim = claims.file_claim(uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id)
        uow.commit()
    for kind in required_documents(claim.cause):
        with container.uow() as uow:
            claims.add_document(
                uow, clock, admin, claim.id, kind=kind.value, filename="scan.pdf", content_type=None, content=PDF
            )
            uow.commit()
    with container.uow() as uow:
        handler = accounts.actor_for_user(uow, clock, world.user_ids["claims_handler"])
        claims.settle_claim(
            uow, clock, handler, claim.id, approval_threshold=container.settings.indemnity_approval_amount
        )
        uow.commit()
    return Factored(claimed, claim.id, claim.reference)


@pytest.fixture
def client(container: Container, factored: Factored) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


def rows(html: str, table: str) -> dict[str, str]:
    found = re.search(rf'<table class="figures" id="{table}">(.*?)</table>', html, re.S)
    assert found, html
    return dict(re.findall(r'<tr data-(?:invoice|claim)="([^"]+)"[^>]*>(.*?)</tr>', found.group(1), re.S))


def test_the_factor_sees_the_cover_of_its_invoices_only(
    client: TestClient, container: Container, world: World, factored: Factored
) -> None:
    # The counts of the factor's home page.
    with container.uow() as uow:
        factor = accounts.actor_for_user(uow, container.clock, world.user_ids["factor_user"])
        assert factor_pages.factor_summary(uow, container.clock, factor) == factor_pages.FactorSummary(3, 1)

    log_in(client, world.emails["factor_user"])
    home = page(client, "/home?lang=en")
    assert 'id="factor-dashboard"' in home
    assert re.search(r'id="factor-invoice-count"[^>]*>\s*3\b', home), "the home counts the factor's invoices"
    assert 'id="nav-factor-invoices"' in home
    html = page(client, "/factor/invoices?lang=en")
    listed = rows(html, "factor-invoices-table")
    assert sorted(listed) == sorted([factored.claimed, "FX-LATE", "FX-FREE"])  # not KEPT-1, the insured's own
    covers = dict(re.findall(r'<tr data-invoice="([^"]+)" data-cover="(\w+)"', html))
    assert covers["FX-LATE"] == "not_covered"
    assert covers["FX-FREE"] == "covered"
    free = listed["FX-FREE"]
    for shown in ("Insured A SAS", "Buyer of A", "30 Apr 2026", "€2,000.00"):
        assert shown in free, shown
    assert re.search(r"<td>No</td>", free)
    assert re.search(r"<td>Yes</td>", listed["FX-LATE"])
    assert ">Not covered<" in listed["FX-LATE"]
    assert "policy TC-" in free
    totals = re.search(r'<dl class="totals" id="factor-totals".*?</dl>', html, re.S)
    assert totals
    assert 'data-currency="EUR"' in totals.group(0)
    assert 'id="total-covered-EUR"' in totals.group(0)

    # Filtered by cover status: the totals follow the filter; an unknown status shows everything.
    only = page(client, "/factor/invoices?lang=en&status=not_covered")
    assert list(rows(only, "factor-invoices-table")) == ["FX-LATE"]
    assert re.search(r'id="total-unpaid-EUR">€2,000.00<', only)
    assert re.search(r'id="total-covered-EUR">€0.00<', only)
    assert re.search(r'<option value="not_covered" selected>', only)
    assert len(rows(page(client, "/factor/invoices?status=bogus"), "factor-invoices-table")) == 3

    # In French: the labels and the amounts.
    french = page(client, "/factor/invoices?lang=fr&status=covered")
    assert "Factures qui vous sont cédées" in french
    assert "2\u202f000,00\u00a0€" in french or "2\u00a0000,00\u00a0€" in french
    assert ">Garanti<" in french
    assert ">Non<" in french

    # Another factor sees no invoice and no claim.
    client.cookies.clear()
    log_in(client, OTHER_FACTOR)
    assert 'id="no-factor-invoice"' in page(client, "/factor/invoices")
    assert 'id="no-factor-claim"' in page(client, "/factor/claims")


def test_the_factor_reads_its_claims_and_downloads_its_own_statement(
    client: TestClient, world: World, factored: Factored
) -> None:
    log_in(client, world.emails["factor_user"])
    html = page(client, "/factor/claims?lang=en")
    listed = rows(html, "factor-claims-table")
    assert list(listed) == [factored.claim_id]
    row = listed[factored.claim_id]
    assert factored.claim_reference in row
    assert factored.claimed in row
    assert "Settled" in row
    assert "FX-LATE" not in row  # not in the claim
    share = re.search(r'<td class="num">(.*?)</td>', row)
    assert share
    assert share.group(1) == "€900.00"
    link = f"/factor/claims/{factored.claim_id}/statement.pdf?lang=en"
    assert f'href="{link}"' in row

    pdf = client.get(link)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert "-en.pdf" in pdf.headers["content-disposition"]
    text = " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert factored.claimed in text
    assert "900.00" in text
    french = client.get(f"/factor/claims/{factored.claim_id}/statement.pdf?lang=fr")
    assert french.status_code == 200
    assert "-fr.pdf" in french.headers["content-disposition"]

    # Another factor: the claim is not found, its list is empty.
    client.cookies.clear()
    log_in(client, OTHER_FACTOR)
    missing = client.get(f"/factor/claims/{factored.claim_id}/statement.pdf")
    assert missing.status_code == 404
    assert "application/pdf" not in missing.headers["content-type"]


def test_only_a_factors_users_open_the_factor_pages(client: TestClient, world: World, factored: Factored) -> None:
    urls = ("/factor/invoices", "/factor/claims", f"/factor/claims/{factored.claim_id}/statement.pdf")
    for url in urls:
        visitor = client.get(url)
        assert (visitor.status_code, visitor.headers.get("location")) == (303, "/login"), url
    for who in ("insured_user", "broker_user", "admin", "claims_handler"):
        client.cookies.clear()
        log_in(client, world.emails[who])
        for url in urls:
            refused = client.get(url)
            assert refused.status_code == 403, (who, url)
            assert "application/pdf" not in refused.headers["content-type"]
    client.cookies.clear()
    log_in(client, world.emails["factor_user"])
    assert client.get("/factor/claims/no-such-claim/statement.pdf").status_code == 404
