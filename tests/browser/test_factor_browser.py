"""The factor's pages in Chromium: its invoices with their cover, filtered, and the claims on them.

The demo book's factor has no invoice of its own: the test endorses the policy of one demo claim (the last by
reference; the claims test works on the first) to it, and assigns it that claim's invoices and a few other
unpaid invoices of the policy, through the services, before opening the pages as the factor's user.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.bootstrap import Container
from tradecover.domain.claims import ClaimStatus
from tradecover.services import claims, factoring, ledger, overdues
from tradecover.services.authorization import system_actor
from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD
from tradecover.services.ports import Page as Paging

pytestmark = pytest.mark.browser

FACTOR = f"factor@{DEMO_DOMAIN}"
FACTOR_NAME = "Factor Finance France"
OTHER_INVOICES = 4


@dataclass(frozen=True)
class Assigned:
    claim_reference: str
    numbers: tuple[str, ...]


@pytest.fixture
def assigned(live_container: Container) -> Assigned:
    """Invoices of one demo policy assigned to the demo factor, a claim's among them."""
    clock = live_container.clock
    with live_container.uow() as uow:
        insurer = uow.organisations.insurer()
        factor = uow.organisations.find_by_name(FACTOR_NAME)
        assert insurer is not None
        assert factor is not None
        admin = system_actor(insurer.id)
        found, _ = claims.list_claims(uow, admin, policy_id=None, status=ClaimStatus.PENDING, page=Paging(limit=100))
        assert found, "the demo book files claims on its insolvent buyers"
        claim = sorted(found, key=lambda c: c.reference)[-1]
        policy = uow.policies.get(claim.policy_id)
        assert policy is not None
        factoring.create_delegation(
            uow, clock, admin, policy_id=policy.id, factor_id=factor.id, start_date=policy.periods[0].start,
            reason="browser test: contrat d'affacturage",
        )  # fmt: skip
        claimed = {
            line.invoice_id
            for notification in uow.claims.notifications_of(policy.id, claim.buyer_id)
            for line in notification.accepted
        }
        invoices, _ = uow.ledger.entries(policy.id, [claim.buyer_id])
        targets = [(claim.buyer_id, i.number) for i in invoices.get(claim.buyer_id, []) if i.id in claimed]
        unpaid = overdues.notifiable_invoices(uow, clock, admin, overdue_only=False)
        targets += [
            (line.buyer_id, line.item.invoice.number)
            for line in unpaid
            if line.policy_id == policy.id and line.buyer_id != claim.buyer_id
        ][:OTHER_INVOICES]
        for buyer_id, number in targets:
            ledger.assign_to_factor(
                uow, clock, admin, policy_id=policy.id, buyer_id=buyer_id, invoice_number=number,
                factor_id=factor.id, on=clock.today(),
            )  # fmt: skip
        uow.commit()
    return Assigned(claim.reference, tuple(number for _, number in targets))


def test_the_factor_reads_its_invoices_and_claims(page: Page, assigned: Assigned) -> None:
    login(page, FACTOR, DEMO_PASSWORD)
    page.goto("/factor/invoices")
    table = page.locator("#factor-invoices-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(len(assigned.numbers))
    expect(page.locator("#factor-totals .total[data-currency]")).not_to_have_count(0)
    check_page(page, "factor-invoices")

    # Filtered on the first invoice's cover status: only invoices with that status remain.
    first = table.locator("tbody tr").first.get_attribute("data-cover")
    assert first
    page.select_option("#status", first)
    page.click("#factor-invoices-show")
    expect(page.locator("#status")).to_have_value(first)
    covers = page.locator("#factor-invoices-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.cover)")
    assert covers
    assert set(covers) == {first}

    page.goto("/factor/claims")
    row = page.locator("#factor-claims-table tbody tr", has_text=assigned.claim_reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("pas encore réglé")
    check_page(page, "factor-claims")
    with page.expect_download() as downloaded:
        row.locator("a.statement-link").click()
    assert downloaded.value.suggested_filename.endswith("-fr.pdf")
