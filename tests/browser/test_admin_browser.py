"""The administrator's pages in Chromium: add a user to an insured, then create an API key and revoke it."""

from __future__ import annotations

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.browser

ADMIN = f"admin@{DEMO_DOMAIN}"
INSURED = "Métallerie Rhône-Alpes SAS"
NEW_USER = "camille.comptable@metallerie.example.fr"


def test_the_admin_adds_a_user_and_creates_an_api_key(page: Page) -> None:
    login(page, ADMIN, DEMO_PASSWORD)
    page.click("#nav-admin")
    expect(page.locator("#organisations-table")).to_be_visible()
    check_page(page, "admin-users")

    page.locator("#organisations-table th a", has_text=INSURED).click()
    expect(page.locator("#user-form")).to_be_visible()
    page.fill("#new-user-name", "Camille Comptable")
    page.fill("#new-user-email", NEW_USER)
    page.fill("#new-user-password", "mot de passe solide")
    page.click("#user-submit")
    expect(page.locator('#user-added[role="status"]')).to_be_visible()
    expect(page.locator(f'#users-table tr[data-email="{NEW_USER}"]')).to_have_count(1)
    check_page(page, "admin-organisation")

    page.click("#admin-nav-api-keys")
    expect(page.locator("#key-form")).to_be_visible()
    page.fill("#key-name", "ERP de test")
    page.click("#key-submit")
    token = page.locator("#api-key-token")
    expect(token).to_be_visible()
    assert token.input_value().count("_") >= 1
    expect(page.locator('#key-warning[role="alert"]')).to_be_visible()
    check_page(page, "admin-api-key-created")

    page.click("#back-to-keys")
    row = page.locator("#keys-table tr", has_text="ERP de test")
    expect(row).to_have_attribute("data-state", "active")
    row.get_by_role("button", name="Révoquer la clé ERP de test").click()
    expect(page.locator('#key-revoked[role="status"]')).to_be_visible()
    expect(page.locator("#keys-table tr", has_text="ERP de test")).to_have_attribute("data-state", "revoked")
    check_page(page, "admin-api-keys")

    page.click("#admin-nav-mandates")
    expect(page.locator("#mandate-form")).to_be_visible()
    check_page(page, "admin-mandates")
