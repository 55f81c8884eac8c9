"""The staff pages in Chromium: an underwriter decides a referral of the demo book from the queue.

The 40-buyer demo book holds referred requests (amounts above the engine's automatic ceiling, or buyers it
cannot grade); refusing one never runs into the buyer's capacity, so the test refuses the oldest.
"""

from __future__ import annotations

import re

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.browser

UNDERWRITER = f"underwriter@{DEMO_DOMAIN}"


def test_the_underwriter_decides_a_referral_from_the_queue(page: Page) -> None:
    login(page, UNDERWRITER, DEMO_PASSWORD)
    page.click("#referrals-link")
    expect(page).to_have_url(re.compile(r"/referrals(?:\?.*)?$"))
    first = page.locator("a.referral-link").first
    expect(first).to_be_visible()
    buyer = first.inner_text().strip()
    first.click()
    expect(page).to_have_url(re.compile(r"/referrals/[^/?]+(?:\?.*)?$"))
    expect(page.locator("#buyer-name")).to_have_text(buyer)
    expect(page.locator("#decision-form")).to_be_visible()
    check_page(page, "referral-fr")

    page.check("#decision-refuse")
    page.fill("#reason", "Bilan trop faible pour ce montant")
    with page.expect_navigation():
        page.click("#decision-submit")
    outcome = page.locator("#decision[role=status]")
    expect(outcome).to_be_visible()
    expect(outcome).to_contain_text("Refusée")
    expect(page.locator("#decision-form")).to_have_count(0)
    check_page(page, "referral-decided-fr")
