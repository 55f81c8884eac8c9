"""The insured's pages in Chromium: buyers (add one, open it, request a limit and read the decision, a bad
amount named, a prospect query) and a ledger import followed on its job page until the report."""

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
NEW_BUYER_SIREN = "383474814"
PROSPECT_SIREN = "572015246"
OUTCOMES = {"Accordée", "Accordée en partie", "Refusé", "Transmise à un arbitre"}


def test_an_insured_adds_a_buyer_requests_a_limit_and_asks_about_a_prospect(page: Page) -> None:
    login(page, INSURED, DEMO_PASSWORD)
    page.click("#link-buyers")
    expect(page.locator("#buyers-table")).to_be_visible()
    check_page(page, "insured-buyers")

    page.select_option("#add-kind", "siren")
    page.fill("#add-identifier", "383 474 815")  # a wrong check digit: named in the form
    page.fill("#add-name", "Chaudronnerie Nouvelle SAS")
    page.click("#add-submit")
    expect(page.locator('#add-error[role="alert"]')).to_contain_text("identifiant")
    expect(page.locator("#add-name")).to_have_value("Chaudronnerie Nouvelle SAS")
    page.fill("#add-identifier", NEW_BUYER_SIREN)
    page.click("#add-submit")
    expect(page.locator("#page-title")).to_have_text("Chaudronnerie Nouvelle SAS")
    expect(page.locator('input[name="request_type"][value="new"]')).to_have_count(1)

    page.fill("#amount", "beaucoup")
    page.click("#request-submit")
    expect(page.locator('#request-error[role="alert"]')).to_contain_text("montant")
    expect(page.locator("#amount")).to_have_attribute("aria-invalid", "true")
    page.fill("#amount", "10 000")
    page.click("#request-submit")
    expect(page.locator('#decision[role="status"]')).to_be_visible()
    assert page.locator("#decision-outcome").inner_text().strip() in OUTCOMES
    check_page(page, "insured-buyer-decision")

    page.goto("/buyers")
    page.locator("#buyers-table tbody th a").first.click()
    expect(page.locator("#limit-request-form")).to_be_visible()
    check_page(page, "insured-buyer")

    page.goto("/buyers")
    page.click("#link-prospect")
    page.fill("#prospect-identifier", PROSPECT_SIREN)
    page.fill("#prospect-name", "Prospect Industries SA")
    page.fill("#prospect-amount-field", "20000")
    page.click("#prospect-submit")
    answer = page.locator('#prospect-answer[role="status"]')
    expect(answer).to_be_visible()
    assert page.locator("#prospect-outcome").inner_text().strip() in OUTCOMES
    expect(page.locator("#prospect-reasons")).to_contain_text("Indication seulement")
    check_page(page, "insured-prospect")


def test_an_insured_uploads_a_ledger_and_follows_the_import_to_its_report(page: Page, tmp_path: Path) -> None:
    upload = tmp_path / "grand-livre.csv"
    upload.write_text("\n".join([HEADER, GOOD_LINE, BAD_LINE]) + "\n", encoding="utf-8")
    login(page, INSURED, DEMO_PASSWORD)
    page.click("#link-import")
    check_page(page, "insured-import")
    page.set_input_files("#file", str(upload))
    page.click("#import-submit")
    page.wait_for_url("**/invoices/import/*")
    report = page.locator("#import-report")
    expect(report).to_be_visible(timeout=20_000)  # the job's page refreshes itself until the report is there
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(report.locator("tbody tr td").nth(0)).to_have_text("grand-livre.csv")
    expect(report.locator("tbody tr td").nth(1)).to_have_text("3")
    expect(page.locator("#import-refused")).to_have_text("1")
    check_page(page, "insured-import-report")
