"""The insured's aged balance and alert settings in Chromium: read the aged balance, export it, set thresholds."""

from __future__ import annotations

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.browser

INSURED = f"metallerie@{DEMO_DOMAIN}"


def test_the_insured_reads_its_aged_balance_and_sets_its_alert_thresholds(page: Page) -> None:
    login(page, INSURED, DEMO_PASSWORD)
    page.click("#nav-aged")
    expect(page.locator("#aged-report")).to_be_visible()
    expect(page.locator("#nav-aged")).to_have_attribute("aria-current", "page")
    check_page(page, "aged-balance")
    with page.expect_download() as download:
        page.click("#export-csv")
    assert download.value.suggested_filename.endswith(".csv")

    # A day that does not exist, typed by hand as in a browser without a date picker.
    page.locator("#on").evaluate("(input) => { input.type = 'text'; input.value = '2026-02-30'; }")
    page.click("#aged-submit")
    expect(page.locator('#aged-error[role="alert"]')).to_be_visible()

    page.click("#nav-alerts")
    expect(page.locator("#open-alerts")).to_be_visible()
    check_page(page, "alerts")
    page.click("#link-alert-settings")
    expect(page.locator("#preferences-form")).to_be_visible()
    check_page(page, "alert-settings")

    page.fill("#utilisation_threshold", "beaucoup")
    page.click("#preferences-submit")
    expect(page.locator('#preferences-error[role="alert"]')).to_be_visible()
    expect(page.locator("#utilisation_threshold")).to_have_attribute("aria-invalid", "true")
    check_page(page, "alert-settings-error")

    page.fill("#utilisation_threshold", "85")
    page.fill("#deadline_warning_days", "10")
    page.click("#preferences-submit")
    expect(page.locator('#settings-saved[role="status"]')).to_be_visible()
    expect(page.locator("#utilisation_threshold")).to_have_value("85")
    expect(page.locator("#deadline_warning_days")).to_have_value("10")
