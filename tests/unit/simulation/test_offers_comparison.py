"""The offers file, the offered limits CSV and the ledger's balances behind the comparison of offers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain.errors import InvalidInput
from tradecover.ingest.ledger_records import BuyerRef, InvoiceRecord, LedgerFile, PaymentRecord, RecordKind, Source
from tradecover.ingest.offer_limits_csv import parse_offer_limits_csv
from tradecover.simulation.comparison import (
    InsuredSpec,
    _Ledger,
    compare_offers,
    comparison_png,
    offer_input,
    parse_offers,
)

BUYER = "443061841"
OFFERS = f"""
insured: {{name: "Atelier Dupont SAS", registration_number: "552100554"}}
offers:
  - insurer: Alpha
    terms: {{indemnity_rate: "0.90", minimum_premium: "500"}}
    fees: {{annual_fee: "100"}}
    limits: {{"{BUYER}": "20000"}}
"""


def _refused(text: str, **kwargs: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_offers(text, "offers.yaml", **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_the_offers_file_is_read_or_refused_naming_line_field_and_code() -> None:
    spec = parse_offers(OFFERS, "offers.yaml")
    assert spec.insured.siren == "552100554"
    assert spec.offers[0].fees == {"annual_fee": Decimal("100")}
    assert spec.offers[0].limits[0][1] == Decimal("20000")

    error = _refused(OFFERS.replace("annual_fee", "yearly_fee"))
    assert (error.code, error.context["line"]) == ("offer.unknown_fee", 6)
    assert "offers[0].fees.yearly_fee" in error.message
    error = _refused(OFFERS.replace('"0.90"', '"1.2"'))
    assert (error.code, error.field) == ("terms.out_of_range", "offers[0].terms.indemnity_rate")
    assert _refused(OFFERS.replace(f'"{BUYER}"', '"12345"')).code.startswith("identifier.")
    assert _refused(OFFERS + "    limits_csv: x.csv\n").code == "simulation.missing_field"
    assert _refused(OFFERS + "period: {start: 2025-02-01, end: 2025-12-31}\n").code == "simulation.invalid_field"
    twice = OFFERS + OFFERS.split("offers:\n", 1)[1]
    assert _refused(twice).code == "compare.duplicate_offer"
    # from the API: the insured is the organisation, and a file for another SIREN is refused
    organisation = InsuredSpec("Insured A", "732829320", "FR", None)
    assert _refused(OFFERS, organisation=organisation).code == "compare.insured_mismatch"
    recorded = (offer_input("Beta", {}, {"annual_fee": Decimal(0)}, [(BUYER, Decimal(5000))]),)
    stored = parse_offers(
        "assumptions: {notify_after_days: 30}\n", "h.yaml", organisation=organisation, stored=("EUR", recorded)
    )
    assert (stored.assumptions.notify_after_days, stored.offers, stored.insured) == (30, recorded, organisation)
    assert _refused("", organisation=organisation, stored=("EUR", ())).code == "compare.no_offers"


def test_the_limits_csv_reads_french_spreadsheets_and_refuses_every_bad_line_at_once() -> None:
    rows = parse_offer_limits_csv(
        "Identifier;Amount;Name\n44306184100013;12 500,50;Client SA\n".encode("cp1252"), "limits.csv"
    )
    assert [(r.identifier.value, r.amount, r.source.line) for r in rows] == [("44306184100013", Decimal("12500.50"), 2)]
    with pytest.raises(InvalidInput) as caught:
        parse_offer_limits_csv(f"identifier,amount\n{BUYER},1\n123,2\n{BUYER},3\n{BUYER},x\n".encode(), "l.csv")
    problems = caught.value.context["problems"]
    assert [(p["line"], p["field"], p["code"]) for p in problems] == [
        (3, "identifier", "offer_limits_csv.invalid_identifier"),
        (4, "identifier", "offer_limits_csv.duplicate_buyer"),
        (5, "amount", "offer_limits_csv.invalid_amount"),
    ]
    with pytest.raises(InvalidInput) as caught:
        parse_offer_limits_csv(b"siren,amount\n", "l.csv")
    assert caught.value.code == "offer_limits_csv.unknown_column"


def _invoice(number: str, day: date, amount: Decimal, buyer: str = BUYER) -> InvoiceRecord:
    return InvoiceRecord(
        Source("ledger.csv", 2), RecordKind.INVOICE, BuyerRef(identifiers=(("siren", buyer),)), number, day, None,
        day + timedelta(days=60), amount, amount / 5, "EUR",
    )  # fmt: skip


@given(
    st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=8),
    st.lists(st.integers(min_value=1, max_value=15_000), max_size=8),
)
def test_payments_settle_the_oldest_invoices_and_balances_never_go_negative(
    invoices: list[int], payments: list[int]
) -> None:
    ledger = _Ledger()
    start = date(2026, 1, 1)
    for n, amount in enumerate(invoices):
        ledger.apply(_invoice(f"F{n}", start + timedelta(days=n), Decimal(amount)), BUYER)
    ref = BuyerRef(identifiers=(("siren", BUYER),))
    for amount in payments:
        ledger.apply(PaymentRecord(Source("l", 3), ref, start, Decimal(amount), "EUR"), BUYER)
    owed = sum(Decimal(a) * Decimal("1.2") for a in invoices)
    assert ledger.outstanding(BUYER) == max(owed - sum(Decimal(p) for p in payments), Decimal(0))
    opened = [i.open for i in ledger.invoices[BUYER]]
    assert all(o >= 0 for o in opened)
    # oldest first: once an invoice is open, every later one is wholly open
    first_open = next((k for k, o in enumerate(opened) if o > 0), len(opened))
    assert all(i.open == i.gross for i in ledger.invoices[BUYER][first_open + 1 :])


def test_the_ledger_must_be_the_insureds_and_the_years_are_counted_back_from_the_last_invoice() -> None:
    spec = parse_offers(OFFERS, "offers.yaml")
    records = [_invoice("F1", date(2025, 3, 1), Decimal(1000)), _invoice("F2", date(2026, 3, 1), Decimal(2000))]
    with pytest.raises(InvalidInput) as caught:
        compare_offers(spec, LedgerFile("999999999FEC20261231.txt", "fec", list(records)))
    assert caught.value.code == "compare.ledger_not_of_insured"
    other = [_invoice("F1", date(2026, 3, 1), Decimal(1000), buyer="732829320")]
    with pytest.raises(InvalidInput) as caught:
        compare_offers(spec, LedgerFile("ledger.csv", "csv", other))
    assert caught.value.code == "compare.ledger_not_of_insured"
    with pytest.raises(InvalidInput) as caught:
        compare_offers(spec, LedgerFile("ledger.csv", "csv", list(records)), years=0)
    assert caught.value.code == "compare.invalid_years"
    result = compare_offers(spec, LedgerFile("ledger.csv", "csv", list(records)), years=1)
    assert result.document["period"] == {"start": "2026-01-01", "end": "2026-12-31", "years": [2026]}
    (offer,) = result.document["offers"]
    # the minimum premium, the annual fee; F2 (2,000 excl. VAT) never paid: notified 60 days after its due date,
    # claimed when the 150-day waiting period ends, indemnified at 90 %
    assert (offer["premium_amount"], offer["fees_amount"], offer["indemnity_amount"]) == ("500.00", "100.00", "1800.00")
    assert offer["claims"][0]["cause"] == "protracted_default"
    # reproducible: the same inputs, the same document, scenarios and chart bytes
    again = compare_offers(spec, LedgerFile("ledger.csv", "csv", list(records)), years=1)
    assert (again.document, again.scenarios) == (result.document, result.scenarios)
    assert comparison_png(again.document) == comparison_png(result.document)
    assert offer["limits"][0]["granted_amount"] == "20000.00"


def test_a_value_used_twice_is_written_twice_never_as_an_alias() -> None:
    from tradecover.simulation.comparison import scenario_yaml
    from tradecover.simulation.scenario import parse_scenario

    documents = ["unpaid_invoices", "proof_of_delivery", "collection_attempts"]  # one list for two claims
    text = scenario_yaml({"events": [{"claim": {"documents": documents}}, {"claim": {"documents": documents}}]})
    assert "*" not in text
    assert "&" not in text
    with pytest.raises(InvalidInput) as refused:  # the reader gets that far: no alias error, a missing policy
        parse_scenario(text, "twice.yaml")
    assert "alias" not in str(refused.value)
