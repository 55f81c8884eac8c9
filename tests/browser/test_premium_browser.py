"""The premium page in Chromium: the demo insured declares a period's turnover and sees it recorded."""

from __future__ import annotations

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.browser

INSURED = f"metallerie@{DEMO_DOMAIN}"


def test_an_insured_declares_turnover_and_sees_it_recorded(page: Page) -> None:
    login(page, INSURED, DEMO_PASSWORD)
    page.click("#link-premium")
    expect(page.locator("#declaration-form")).to_be_visible()
    check_page(page, "premium")

    page.fill("#domestic", "250 000,00")
    page.fill("#export", "0")
    page.click("#declaration-submit")
    recorded = page.locator('#declaration[role="status"]')
    expect(recorded).to_be_visible()
    expect(recorded).to_contain_text("250")
    check_page(page, "premium-declared")
