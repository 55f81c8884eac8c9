"""The insured's pages in Chromium: open a buyer, request a limit and read the decision; import a ledger file."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.ingest.ledger_csv import LEDGER_CSV_TEMPLATE
from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.browser

INSURED = f"metallerie@{DEMO_DOMAIN}"
HEADER = LEDGER_CSV_TEMPLATE.splitlines()[0]
GOOD_LINE = "invoice,C9001,Client Neuf,542051180,,FR,W-0001,2026-03-01,2026-03-01,2026-04-30,1000.00,200.00,EUR,,,,,,,"
BAD_LINE = "invoice,C9001,Client Neuf,542051180,,FR,W-0002,2026-03-01,2026-03-01,2026-04-30,mille,200.00,EUR,,,,,,,"


def test_an_insured_opens_a_buyer_and_requests_a_limit(page: Page) -> None:
    login(page, INSURED, DEMO_PASSWORD)
    page.click("#link-buyers")
    expect(page.locator("#buyers-table")).to_be_visible()
    check_page(page, "insured-buyers")

    page.locator("#buyers-table tbody th a").first.click()
    expect(page.locator("#limit-request-form")).to_be_visible()
    check_page(page, "insured-buyer")

    page.fill("#amount", "10 000")
    page.click("#request-submit")
    decision = page.locator('#decision[role="status"]')
    expect(decision).to_be_visible()
    assert page.locator("#decision-outcome").inner_text().strip() in {
        "Accordée",
        "Accordée en partie",
        "Refusé",
        "Transmise à un arbitre",
    }
    check_page(page, "insured-buyer-decision")


def test_an_insured_sees_a_bad_amount_named(page: Page) -> None:
    login(page, INSURED, DEMO_PASSWORD)
    page.goto("/buyers")
    page.locator("#buyers-table tbody th a").first.click()
    page.fill("#amount", "beaucoup")
    page.click("#request-submit")
    expect(page.locator('#request-error[role="alert"]')).to_contain_text("montant")
    expect(page.locator("#amount")).to_have_attribute("aria-invalid", "true")


def test_an_insured_uploads_a_ledger_and_sees_the_refused_line(page: Page, tmp_path: Path) -> None:
    upload = tmp_path / "grand-livre.csv"
    upload.write_text("\n".join([HEADER, GOOD_LINE, BAD_LINE]) + "\n", encoding="utf-8")
    login(page, INSURED, DEMO_PASSWORD)
    page.click("#link-import")
    page.set_input_files("#file", str(upload))
    page.click("#import-submit")
    report = page.locator("#import-report")
    expect(report).to_be_visible()
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(report.locator("tbody tr td").nth(0)).to_have_text("grand-livre.csv")
    expect(report.locator("tbody tr td").nth(1)).to_have_text("3")
    expect(page.locator("#import-refused")).to_have_text("1")
    check_page(page, "insured-import-report")
