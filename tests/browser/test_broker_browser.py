"""A broker in Chromium: from its dashboard to one mandated insured's page, then a tampered URL.

The demo book's broker holds mandates on two insureds (see ``services/demo_book.py``); the third,
``textiles``, gave it none: its id, asked of the API by its own user, must answer the 404 page.
"""

from __future__ import annotations

import re

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.browser

BROKER = f"broker@{DEMO_DOMAIN}"
UNMANDATED_INSURED = f"textiles@{DEMO_DOMAIN}"  # the demo insured the broker has no mandate for


def own_organisation_id(page: Page, email: str) -> str:
    """The organisation of a demo user, as the API lists it to that user (its own only)."""
    token = page.request.post("/api/v1/auth/token", form={"username": email, "password": DEMO_PASSWORD})
    assert token.ok, token.text()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    listed = page.request.get("/api/v1/organisations", headers=headers)
    assert listed.ok, listed.text()
    items = listed.json()["items"]
    assert len(items) == 1
    return str(items[0]["id"])


def test_a_broker_opens_a_mandated_insured_and_not_another(page: Page) -> None:
    other = own_organisation_id(page, UNMANDATED_INSURED)
    login(page, BROKER, DEMO_PASSWORD)
    rows = page.locator("#insureds-table tbody tr")
    expect(rows).to_have_count(2)
    assert other not in [rows.nth(i).get_attribute("data-organisation-id") for i in range(2)]
    first = rows.first.locator("a.insured-link")
    name = first.inner_text().strip()
    with page.expect_navigation():
        first.click()
    expect(page).to_have_url(re.compile(r"/insureds/[^/?]+$"))
    expect(page.locator("h1#page-title")).to_have_text(name)
    expect(page.locator("section#insured-page .policy").first).to_be_visible()
    expect(page.locator("#total-outstanding")).to_be_visible()
    expect(page.locator("section#alerts")).to_be_visible()
    check_page(page, "broker-insured")

    response = page.goto(f"/insureds/{other}")
    assert response is not None
    assert response.status == 404
    expect(page.locator("h1#page-title")).to_have_text("Page introuvable")
    expect(page.locator("section#insured-page")).to_have_count(0)
    unknown = page.content()
    response = page.goto("/insureds/no-such-insured")
    assert response is not None
    assert response.status == 404
    assert page.content() == unknown
    check_page(page, "broker-insured-not-found")
