"""The broker's offers screens in Chromium: act for an insured, read its offers, compare the example's offers
on the example ledger (examples/compare/), read the result and its chart."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.browser

BROKER = f"broker@{DEMO_DOMAIN}"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compare"


def test_the_broker_compares_offers_for_its_insured(page: Page, tmp_path: Path) -> None:
    # the example's offers are for Atelier Dupont SAS: without its `insured` line, they are the demo insured's
    lines = (EXAMPLE / "offers.yaml").read_text(encoding="utf-8").splitlines()
    offers = tmp_path / "offers.yaml"
    offers.write_text("\n".join(line for line in lines if not line.startswith("insured:")) + "\n", encoding="utf-8")

    login(page, BROKER, DEMO_PASSWORD)
    page.locator('a[href^="/insureds/"]').first.click()
    page.click("#act-for")
    expect(page.locator("#acting-banner")).to_be_visible()
    page.click("#nav-offers")
    expect(page.locator("#offer-form")).to_be_visible()
    check_page(page, "offers")

    page.click("#link-comparison")
    expect(page.locator("#compare-form")).to_be_visible()
    check_page(page, "offers-compare")
    page.set_input_files("#ledger", str(EXAMPLE / "ledger.csv"))
    page.set_input_files("#offers", str(offers))
    page.set_input_files("#limits", str(EXAMPLE / "gamma_limits.csv"))
    page.click("#compare-submit")
    result = page.locator("#comparison-result")
    expect(result).to_be_visible(timeout=90_000)
    expect(page.locator("#comparison-table thead th[data-insurer]")).to_have_count(3)
    expect(page.locator('#comparison-table tr[data-row="net-cost"] td')).to_have_count(3)
    expect(page.locator("#comparison-chart")).to_be_visible()
    # the chart is drawn when asked for, in the page's language (the first drawing may build matplotlib's font cache)
    page.wait_for_function(
        "() => { const image = document.querySelector('#comparison-chart');"
        " return image !== null && image.complete && image.naturalWidth > 0; }",
        timeout=60_000,
    )
    check_page(page, "offers-comparison")
