"""The insured's overdue notification in Chromium: import an invoice past due, file it, read the outcome and list."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser_support import check_page, login
from playwright.sync_api import Page, expect

from tradecover.ingest.ledger_csv import LEDGER_CSV_TEMPLATE
from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.browser

INSURED = f"metallerie@{DEMO_DOMAIN}"
HEADER = LEDGER_CSV_TEMPLATE.splitlines()[0]
NUMBER = "OD-0001"


def overdue_line() -> str:
    """An invoice issued 40 days ago, due 10 days ago: past due and still in time to notify."""
    today = datetime.now(ZoneInfo("Europe/Paris")).date()  # the live server runs on the real clock
    issued, due = (today - timedelta(days=40)).isoformat(), (today - timedelta(days=10)).isoformat()
    return f"invoice,C9002,Client Retard,542061114,,FR,{NUMBER},{issued},{issued},{due},1500.00,300.00,EUR,,,,,,,"


def test_the_insured_files_an_overdue_notification(page: Page, tmp_path: Path) -> None:
    upload = tmp_path / "retard.csv"
    upload.write_text("\n".join([HEADER, overdue_line()]) + "\n", encoding="utf-8")
    login(page, INSURED, DEMO_PASSWORD)
    page.click("#link-import")
    page.set_input_files("#file", str(upload))
    page.click("#import-submit")
    expect(page.locator("#import-result")).to_be_visible()

    page.goto("/home")
    page.click("#link-overdues")
    expect(page.locator("#overdue-form")).to_be_visible()
    check_page(page, "overdue-new")

    page.click("#overdue-submit")  # nothing chosen
    expect(page.locator('#overdue-error[role="alert"]')).to_be_visible()

    page.get_by_label(f"Déclarer la facture {NUMBER}").check()
    page.click("#overdue-submit")
    outcome = page.locator('#overdue-outcome[role="status"]')
    expect(outcome).to_be_visible()
    row = outcome.locator(f'tr[data-invoice="{NUMBER}"]')
    expect(row).to_have_count(1)
    assert row.locator(".verdict").inner_text().strip() in {"Acceptée", "Refusé"}
    check_page(page, "overdue-outcome")

    page.click("#link-overdue-list")
    expect(page.locator("#notifications-table")).to_be_visible()
    expect(page.locator("#notifications-table tbody tr", has_text="Client Retard")).to_have_count(1)
    check_page(page, "overdue-list")
