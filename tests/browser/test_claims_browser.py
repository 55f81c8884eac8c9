"""The insured's claim file in Chromium: open a claim from the list, send a document, see it received.

The demo book files claims on its insolvent buyers' notified invoices, pending their documents; the test opens
the first as its insured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.bootstrap import Container
from tradecover.domain.claims import ClaimStatus
from tradecover.services import claims
from tradecover.services.authorization import system_actor
from tradecover.services.demo_book import DEMO_PASSWORD
from tradecover.services.ports import Page as Paging

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n% a scanned invoice\n%%EOF\n"


@dataclass(frozen=True)
class DemoClaim:
    reference: str
    insured_email: str


@pytest.fixture
def demo_claim(live_container: Container) -> DemoClaim:
    """A claim of the demo book (filed on an insolvent buyer's notified invoices), and its insured's login."""
    with live_container.uow() as uow:
        insurer = uow.organisations.insurer()
        assert insurer is not None
        found, _ = claims.list_claims(
            uow, system_actor(insurer.id), policy_id=None, status=ClaimStatus.PENDING, page=Paging(limit=10)
        )
        assert found, "the demo book files claims on its insolvent buyers"
        claim = sorted(found, key=lambda c: c.reference)[0]
        policy = uow.policies.get(claim.policy_id)
        assert policy is not None
        users, _ = uow.users.list_page(organisation_id=policy.policyholder_id, page=Paging(limit=1))
        return DemoClaim(claim.reference, users[0].email)


def test_the_insured_sends_a_document_for_its_claim(page: Page, demo_claim: DemoClaim, tmp_path: Path) -> None:
    claim_reference = demo_claim.reference
    scan = tmp_path / "factures-impayees.pdf"
    scan.write_bytes(PDF)
    login(page, demo_claim.insured_email, DEMO_PASSWORD)
    page.goto("/claims")
    expect(page.locator("#file-claim")).to_be_visible()
    check_page(page, "claims-list")

    page.get_by_role("link", name=claim_reference).click()
    expect(page.locator("#page-title")).to_contain_text(claim_reference)
    missing = page.locator("#missing-documents li")
    expect(page.locator('#missing-documents li[data-kind="unpaid_invoices"]')).to_have_count(1)
    before = missing.count()
    check_page(page, "claim-file")

    page.get_by_label("Factures impayées").check()
    page.set_input_files("#file", str(scan))
    page.click("#upload-submit")
    expect(page.locator('#document-received[role="status"]')).to_contain_text("factures-impayees.pdf")
    expect(page.locator('#received-documents tr[data-kind="unpaid_invoices"]')).to_have_count(1)
    expect(page.locator('#missing-documents li[data-kind="unpaid_invoices"]')).to_have_count(0)
    expect(missing).to_have_count(before - 1)
    check_page(page, "claim-document-received")
