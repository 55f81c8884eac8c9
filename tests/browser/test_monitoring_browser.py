"""The underwriter's monitoring in Chromium: the buyers to watch, a buyer's file, revising a limit.

The demo book publishes two insolvencies a week ago (their limits are cancelled at once), so the watch list
shows them; a buyer with a limit still in force is then found by name through the page's search.
"""

from __future__ import annotations

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD, SURNAMES

pytestmark = pytest.mark.browser

UNDERWRITER = f"underwriter@{DEMO_DOMAIN}"


def _buyer_with_a_limit(page: Page) -> str:
    """The file of a demo buyer holding a limit in force, searched by the first letters of its name."""
    for prefix in dict.fromkeys(name[:2] for name in SURNAMES):
        page.goto(f"/monitoring?search={prefix}")
        links: list[str] = page.locator("#search-results a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        for href in links:
            page.goto(href)
            if page.locator("form.revise-form").count():
                return href
    raise AssertionError("no demo buyer holds a limit in force")


def test_the_underwriter_reviews_the_buyers_to_watch_and_revises_a_limit(page: Page) -> None:
    login(page, UNDERWRITER, DEMO_PASSWORD)
    page.click("#nav-monitoring")
    expect(page.locator("#since-form")).to_be_visible()
    expect(page.locator("article.watched")).to_have_count(2)  # the two insolvencies of the demo
    check_page(page, "monitoring-list")

    page.locator("article.watched a.buyer-link").first.click()
    expect(page.locator("#buyer-events tbody tr")).to_have_count(1)
    check_page(page, "monitoring-buyer-insolvent")

    page.goto("/monitoring")
    page.fill("#search", "Ma")
    page.click("#search-submit")
    expect(page.locator("#find-buyer")).to_be_visible()
    _buyer_with_a_limit(page)
    form = page.locator("form.revise-form").first
    form.locator("input[name=amount]").fill("beaucoup")
    form.locator("textarea[name=reason]").fill("Dégradation de la cote")
    form.locator("button[type=submit]").click()
    expect(page.locator(".revise-error[role=alert]")).to_be_visible()
    check_page(page, "monitoring-revise-refused")

    form = page.locator("form.revise-form").first
    expect(form.locator("input[name=amount]")).to_have_value("beaucoup")
    form.locator("input[name=amount]").fill("1000")
    form.locator("button[type=submit]").click()
    done = page.locator('#revision-done[role="status"]')
    expect(done).to_be_visible()
    expect(done.locator("#revision-decision")).to_contain_text("Réduite")
    check_page(page, "monitoring-revised")
