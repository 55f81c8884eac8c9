"""Quotes, pure domain: the application's checks, the pricing engine on small books computed by hand,
versions and expiry. No database.

The main book (:func:`book`): a French manufacturer (NAF 25.62A, section C, factor 1.00) selling
1,200,000 EUR at home and 500,000 EUR abroad, with three buyers and three years of losses.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradecover.domain.errors import Conflict, DomainError, InvalidInput, RuleBroken
from tradecover.domain.money import Money
from tradecover.domain.quotes import (
    DEFAULT_PRICING,
    DEFAULT_SECTOR_FACTORS,
    MAX_RATE,
    LossYear,
    PricingSettings,
    Quote,
    QuoteStatus,
    QuoteVersion,
    ReferralReason,
    book_loading,
    check_can_issue,
    check_start_date,
    expected_loss,
    experience_factor,
    first_version,
    minimum_premium,
    parse_application,
    price_application,
    proposed_rate,
    quote_status,
    revise_version,
    round_to_hundred,
    sector_section,
    terms_from_json,
    valid_until,
)

TODAY = date(2026, 3, 15)
AT = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)


def eur(amount: str | int) -> Money:
    return Money.of(amount, "EUR")


def book(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "currency": "EUR",
        "turnover": {"domestic": {"amount": "1200000", "currency": "EUR"}, "export": "500000"},
        "sector": "25.62A",
        "buyers": [
            {"name": "Usinage Lyonnais", "country": "FR", "outstanding": "400000", "risk_grade": 4},
            {"name": "Maschinenbau GmbH", "country": "DE", "outstanding": "100000", "risk_grade": 8},
            {"name": "Ungraded SARL", "country": "FR", "outstanding": "50000"},
        ],
        "loss_history": [
            {"year": 2023, "losses": "8000"},
            {"year": 2024, "losses": "0"},
            {"year": 2025, "losses": "10360"},
        ],
    }
    data.update(changes)
    return data


def raises(kind: type[DomainError], code: str, field: str | None = None) -> Any:
    class _Check:
        def __enter__(self) -> None:
            return None

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
            assert isinstance(exc, kind), f"expected {kind.__name__} {code}, got {exc!r}"
            assert exc.code == code, exc
            if field is not None:
                assert exc.field == field, exc
            return True

    return _Check()


# --- The engine, by hand --------------------------------------------------------------------------------------


def test_the_engine_prices_a_small_book_as_computed_by_hand() -> None:
    proposal = price_application(parse_application(book(), on=TODAY), policyholder_country="FR")
    figures = {line.code: line.figure for line in proposal.lines}
    # Sector C (manufacturing), factor 1.00: rates 0.0025 / 0.0040.
    assert figures["sector.factor"] == "1.00"
    # P0 = 1,200,000 × 0.0025 + 500,000 × 0.0040 = 3,000 + 2,000 = 5,000
    assert figures["premium.base"] == "5000.00"
    # EL = 0.60 × (400,000 × 0.0030 [grade 4] + 100,000 × 0.0500 [grade 8] + 50,000 × 0.0120 [ungraded])
    #    = 0.60 × (1,200 + 5,000 + 600) = 0.60 × 6,800 = 4,080
    assert proposal.expected_loss == eur(4080)
    assert figures["book.outstanding"] == "550000.00"
    # EL ÷ P0 = 4,080 ÷ 5,000 = 0.816, within the appetite of 1.00: not referred.
    assert figures["book.loss_ratio"] == "0.816"
    # The book needs EL ÷ 0.50 = 8,160; L = clamp(8,160 ÷ 5,000, 0.80, 3.00) = clamp(1.632) = 1.632
    assert figures["book.risk_premium"] == "8160.00"
    assert figures["book.loading"] == "1.632"
    # History: (8,000 + 0 + 10,360) ÷ 3 years = A = 6,120; C = 5,000 × 1.632 × 0.50 = 4,080;
    # z = 3 ÷ (3 + 3) = 0.5; X = 1 + 0.5 × (6,120 ÷ 4,080 − 1) = 1 + 0.5 × 0.5 = 1.25
    assert figures["experience.average_loss"] == "6120.00"
    assert figures["experience.expected_cost"] == "4080.00"
    assert figures["experience.factor"] == "1.25"
    # Rates: 0.0025 × 1.00 × 1.632 × 1.25 = 0.0051; 0.0040 × 2.04 = 0.00816
    rates = proposal.terms.premium_rates
    assert (rates.domestic_rate, rates.export_rate) == (Decimal("0.005100"), Decimal("0.008160"))
    # Expected premium 1,200,000 × 0.0051 + 500,000 × 0.00816 = 6,120 + 4,080 = 10,200; minimum 75 % = 7,650
    assert proposal.expected_premium == eur(10200)
    assert proposal.terms.minimum_premium == eur(7650)
    # L × X = 2.04 > 1.5: the cover narrows to 0.85 and 20 × premium
    assert proposal.terms.indemnity_rate == Decimal("0.85")
    assert proposal.terms.max_liability_multiple == Decimal("20")
    # X > 1: deductible 10 % × 6,120 = 612, to the hundred: 600
    assert proposal.terms.deductible == eur(600)
    assert proposal.terms.covered_countries == ("FR", "DE")
    # Every other term keeps its default.
    assert proposal.terms.waiting_period_days == 150
    assert proposal.terms.non_qualifying_loss == eur(1000)
    assert [line.code for line in proposal.lines][:3] == ["turnover.domestic", "turnover.export", "rate.base_domestic"]
    assert proposal.referral_reasons == ()
    assert not any(line.code.startswith(("referral.", "book.not_coverable")) for line in proposal.lines)


def sound(grade: int, outstanding: str = "100000", **changes: Any) -> dict[str, Any]:
    """One buyer, no history: the book loading alone moves the price."""
    data = {
        "sector": "F",
        "turnover": {"domestic": "1000000"},
        "buyers": [{"name": "Solid SA", "country": "FR", "outstanding": outstanding, "risk_grade": grade}],
        "loss_history": [],
    }
    return book(**(data | changes))


def test_a_good_book_earns_the_loading_floor() -> None:
    proposal = price_application(parse_application(sound(2), on=TODAY), policyholder_country="FR")
    figures = {line.code: line.figure for line in proposal.lines}
    # Construction, factor 1.30: 0.0025 × 1.30 = 0.00325; P0 = 1,000,000 × 0.00325 = 3,250.
    # EL = 100,000 × 0.0008 [grade 2] × 0.60 = 48; 48 ÷ 0.50 = 96; 96 ÷ 3,250 = 0.0295…
    # L = clamp(0.0295…, 0.80, 3.00) = 0.80; no history, X = 1.
    assert proposal.expected_loss == eur(48)
    assert figures["book.loading"] == "0.80"
    assert "clamp((EL ÷ target loss ratio) ÷ P0, 0.80, 3.00)" in next(
        line.label for line in proposal.lines if line.code == "book.loading"
    )
    # Rates 0.0025 × 1.30 × 0.80 = 0.0026 and 0.0040 × 1.30 × 0.80 = 0.00416
    assert proposal.terms.premium_rates.domestic_rate == Decimal("0.002600")
    assert proposal.terms.premium_rates.export_rate == Decimal("0.004160")
    # 1,000,000 × 0.0026 = 2,600; minimum 0.75 × 2,600 = 1,950
    assert proposal.expected_premium == eur(2600)
    assert proposal.terms.minimum_premium == eur(1950)
    # L × X = 0.80 ≤ 1.5: the standard cover
    assert proposal.terms.indemnity_rate == Decimal("0.90")
    assert proposal.terms.max_liability_multiple == Decimal("30")
    assert proposal.terms.deductible == eur(0)
    assert proposal.terms.covered_countries == ("FR",)
    assert proposal.referral_reasons == ()


def test_a_middling_book_pays_more_than_a_good_one_and_less_than_a_bad_one() -> None:
    def premium(grade: int) -> tuple[str, Money]:
        proposal = price_application(parse_application(sound(grade, "500000"), on=TODAY), policyholder_country="FR")
        return next(line.figure for line in proposal.lines if line.code == "book.loading"), proposal.expected_premium

    # P0 = 3,250 (above). Outstanding 500,000, LGD 0.60, target loss ratio 0.50:
    # grade 3: EL = 500,000 × 0.0015 × 0.60 = 450;   900 ÷ 3,250 = 0.2769… → L = 0.80; premium 3,250 × 0.80 = 2,600
    # grade 5: EL = 500,000 × 0.0060 × 0.60 = 1,800; 3,600 ÷ 3,250 = 1.107692… → L = 1.107692;
    #          rate 0.00325 × 1.107692… = 0.0036 → premium 3,600
    # grade 6: EL = 500,000 × 0.0120 × 0.60 = 3,600; 7,200 ÷ 3,250 = 2.215385 → rate 0.0072, premium 7,200
    # grade 8: EL = 500,000 × 0.0500 × 0.60 = 15,000; 30,000 ÷ 3,250 = 9.23 → L = 3.00 (cap): rate 0.00975, 9,750
    assert premium(3) == ("0.80", eur(2600))
    assert premium(5) == ("1.107692", eur(3600))
    assert premium(6) == ("2.215385", eur(7200))
    assert premium(8) == ("3.00", eur(9750))


def test_buyers_graded_9_or_10_are_left_out_listed_and_referred() -> None:
    data = book()
    data["buyers"] += [
        {"name": "Failing BV", "country": "NL", "outstanding": "300000", "risk_grade": 9},
        {"name": "Insolvent SA", "country": "FR", "outstanding": "5000000", "risk_grade": 10},
    ]
    proposal = price_application(parse_application(data, on=TODAY), policyholder_country="FR")
    figures = {line.code: line for line in proposal.lines}
    # The price is the main book's: EL 4,080 on the three coverable buyers, L 1.632, X 1.25, premium 10,200.
    assert proposal.expected_loss == eur(4080)
    assert figures["book.outstanding"].figure == "550000.00"
    assert figures["book.outstanding"].label.startswith("Outstanding of the coverable book (3 of 5 buyers")
    assert proposal.expected_premium == eur(10200)
    # Listed, 300,000 + 5,000,000 = 5,300,000 left out; NL, only a non-coverable buyer's, is not covered.
    assert figures["book.not_coverable"].figure == "5300000.00"
    for index, amount in ((3, "300000.00"), (4, "5000000.00")):
        line = figures[f"book.not_coverable.buyers[{index}]"]
        assert (line.figure, line.unit) == (amount, "EUR")
        assert "not coverable (grade ≥ 9)" in line.label
    assert proposal.terms.covered_countries == ("FR", "DE")
    assert proposal.referral_reasons == (ReferralReason.BUYERS_NOT_COVERABLE,)
    assert figures["referral.buyers_not_coverable"].unit == "referral"


def test_a_book_of_only_insolvent_buyers_is_not_measured_and_is_referred() -> None:
    application = parse_application(
        book(buyers=[{"name": "Insolvent", "country": "FR", "outstanding": "5000000", "risk_grade": 10}]), on=TODAY
    )
    proposal = price_application(application, policyholder_country="FR")
    figures = {line.code: line.figure for line in proposal.lines}
    # No coverable buyer: EL = 0 and L = 1 (no credit for a book that cannot be measured).
    # C = 5,000 × 1 × 0.50 = 2,500; X = 1 + 0.5 × (6,120 ÷ 2,500 − 1) = 1 + 0.5 × 1.448 = 1.724
    assert proposal.expected_loss == eur(0)
    assert figures["book.loading"] == "1.00"
    assert figures["experience.factor"] == "1.724"
    # 0.0025 × 1.724 = 0.00431; 0.0040 × 1.724 = 0.006896
    assert proposal.terms.premium_rates.domestic_rate == Decimal("0.004310")
    assert proposal.terms.premium_rates.export_rate == Decimal("0.006896")
    assert proposal.terms.covered_countries == ("FR",)
    assert proposal.referral_reasons == (ReferralReason.BUYERS_NOT_COVERABLE,)


def test_a_book_beyond_the_appetite_is_referred_not_silently_capped() -> None:
    application = parse_application(
        book(buyers=[{"name": "Weak GmbH", "country": "DE", "outstanding": "1000000", "risk_grade": 8}],
             loss_history=[]),
        on=TODAY,
    )  # fmt: skip
    proposal = price_application(application, policyholder_country="FR")
    figures = {line.code: line.figure for line in proposal.lines}
    # P0 = 5,000; EL = 1,000,000 × 0.05 × 0.60 = 30,000; EL ÷ P0 = 6.00 > 1.00: referred.
    # L = clamp(60,000 ÷ 5,000 = 12, 0.80, 3.00) = 3.00; rates 0.0025 × 3 = 0.0075 and 0.0040 × 3 = 0.012
    assert figures["book.loss_ratio"] == "6.00"
    assert figures["book.loading"] == "3.00"
    assert proposal.terms.premium_rates.domestic_rate == Decimal("0.007500")
    assert proposal.terms.premium_rates.export_rate == Decimal("0.012000")
    assert proposal.referral_reasons == (ReferralReason.EXPECTED_LOSS_ABOVE_APPETITE,)


def test_a_loss_history_at_the_experience_cap_is_referred() -> None:
    application = parse_application(book(loss_history=[{"year": 2025, "losses": "100000"}]), on=TODAY)
    proposal = price_application(application, policyholder_country="FR")
    figures = {line.code: line.figure for line in proposal.lines}
    # Main book: C = 4,080. n = 1, z = 1 ÷ 4 = 0.25, A = 100,000:
    # X = 1 + 0.25 × (100,000 ÷ 4,080 − 1) = 6.877…, capped at 2.00: referred.
    assert figures["experience.factor"] == "2.00"
    # 0.0025 × 1.632 × 2 = 0.00816; 0.0040 × 1.632 × 2 = 0.013056
    assert proposal.terms.premium_rates.domestic_rate == Decimal("0.008160")
    assert proposal.terms.premium_rates.export_rate == Decimal("0.013056")
    assert proposal.referral_reasons == (ReferralReason.LOSS_HISTORY_ABOVE_CAP,)
    # Every reason at once, in the order of the steps.
    data = book(loss_history=[{"year": 2025, "losses": "100000"}])
    data["buyers"] = [
        *data["buyers"],
        {"name": "Weak", "country": "FR", "outstanding": "900000", "risk_grade": 8},
        {"name": "Gone", "country": "FR", "outstanding": "1", "risk_grade": 9},
    ]
    every = price_application(parse_application(data, on=TODAY), policyholder_country="FR")
    assert every.referral_reasons == (
        ReferralReason.BUYERS_NOT_COVERABLE,
        ReferralReason.EXPECTED_LOSS_ABOVE_APPETITE,
        ReferralReason.LOSS_HISTORY_ABOVE_CAP,
    )


def test_the_engine_steps_as_functions() -> None:
    # L = clamp((EL ÷ 0.50) ÷ P0, 0.80, 3.00)
    assert book_loading(eur(1000), eur(5000)) == Decimal("0.80")  # 2,000 ÷ 5,000 = 0.4: the floor
    assert book_loading(eur(2250), eur(5000)) == Decimal("0.9")  # 4,500 ÷ 5,000
    assert book_loading(eur(4000), eur(5000)) == Decimal("1.6")  # 8,000 ÷ 5,000
    assert book_loading(eur(10000), eur(5000)) == Decimal("3.00")  # 20,000 ÷ 5,000 = 4: the cap
    assert book_loading(eur(10000), eur(0)) == 1  # nothing to compare with
    assert experience_factor([], eur(100)) == (Decimal(1), Decimal(0), eur(0))
    # one year of 10× the expected cost: z = 1/4, X = 1 + 0.25 × 9 = 3.25, capped at 2
    assert experience_factor([LossYear(2025, eur(1000))], eur(100))[0] == Decimal("2.00")
    # a clean record of 9 years: z = 0.75, X = 1 − 0.75 = 0.25, floored at 0.80
    clean = [LossYear(y, eur(0)) for y in range(2017, 2026)]
    assert experience_factor(clean, eur(100))[0] == Decimal("0.80")
    assert proposed_rate(Decimal("0.0025"), Decimal("1.0000005")) == (Decimal("0.002500"), False)
    assert proposed_rate(Decimal("0.0040"), Decimal("30")) == (MAX_RATE, True)
    assert minimum_premium(eur("1000.50"), Decimal("0.5")) == eur(500)  # 500.25 → 500
    assert minimum_premium(eur("1001.00"), Decimal("0.5")) == eur(501)  # 500.50 → 501
    assert round_to_hundred(eur(649)) == eur(600)
    assert round_to_hundred(eur(650)) == eur(700)
    application = parse_application(book(), on=TODAY)
    assert expected_loss(application.buyers, "EUR") == eur(4080)


@pytest.mark.parametrize(
    ("code", "section"),
    [("46.69B", "G"), ("4669B", "G"), ("46", "G"), ("01.11Z", "A"), ("99.00Z", "U"), ("g", "G"), ("41.20a", "F")],
)
def test_sector_codes_map_to_their_section(code: str, section: str) -> None:
    assert sector_section(code) == section


@pytest.mark.parametrize("code", ["04.00Z", "34", "V", "ABC", "4.6", ""])
def test_an_unknown_sector_is_refused(code: str) -> None:
    with raises(InvalidInput, "quote.invalid_sector", "sector"):
        sector_section(code)


def test_sector_factors_are_a_setting() -> None:
    cheaper = PricingSettings(sector_factors={**DEFAULT_SECTOR_FACTORS, "C": Decimal("0.80")})
    proposal = price_application(parse_application(book(), on=TODAY), policyholder_country="FR", settings=cheaper)
    assert next(line.figure for line in proposal.lines if line.code == "premium.base") == "4000.00"
    with raises(InvalidInput, "quote.invalid_settings"):
        PricingSettings(lgd_rate=Decimal("1.5"))
    with raises(InvalidInput, "quote.invalid_settings"):
        PricingSettings(sector_factors={"C": Decimal(1)})


# --- Bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"turnover": {"domestic": "-1", "export": "10"}}, "quote.negative_turnover", "turnover.domestic"),
        ({"turnover": {"export": {"amount": "-5", "currency": "EUR"}}}, "quote.negative_turnover", "turnover.export"),
        ({"turnover": {"domestic": "0"}}, "quote.no_turnover", "turnover"),
        ({"turnover": {"abroad": "10"}}, "quote.unknown_territory", "turnover.abroad"),
        ({"turnover": {"domestic": {"amount": "10", "currency": "USD"}}}, "quote.currency_mismatch",
         "turnover.domestic"),
        ({"turnover": {"domestic": 1000.5}}, "money.float_refused", "turnover.domestic"),
        ({"turnover": {"domestic": "1000.005"}}, "money.not_rounded", "turnover.domestic"),
        ({"currency": "EURO"}, "money.unknown_currency", "currency"),
        ({"sector": "ZZ"}, "quote.invalid_sector", "sector"),
        ({"sector": None}, "quote.missing", "sector"),
        ({"buyers": [{"name": "X", "country": "FR", "outstanding": "-1"}]}, "quote.negative_outstanding",
         "buyers[0].outstanding"),
        ({"buyers": [{"name": "X", "country": "FR", "outstanding": "1", "risk_grade": 11}]}, "quote.invalid_grade",
         "buyers[0].risk_grade"),
        ({"buyers": [{"name": "X", "country": "France", "outstanding": "1"}]}, "quote.invalid_country",
         "buyers[0].country"),
        ({"buyers": [{"name": " ", "country": "FR", "outstanding": "1"}]}, "quote.missing", "buyers[0].name"),
        ({"buyers": [{"name": "X", "country": "FR"}]}, "quote.invalid_amount", "buyers[0].outstanding"),
        ({"buyers": [{"name": "X", "country": "FR", "outstanding": "1", "siren": "1"}]}, "quote.unknown_field",
         "buyers[0].siren"),
        ({"loss_history": [{"year": 2025, "losses": "-3"}]}, "quote.negative_losses", "loss_history[0].losses"),
        ({"loss_history": [{"year": 2027, "losses": "3"}]}, "quote.invalid_loss_year", "loss_history[0].year"),
        # the application's own year is not complete yet
        ({"loss_history": [{"year": 2025, "losses": "0"}, {"year": 2026, "losses": "3"}]}, "quote.invalid_loss_year",
         "loss_history[1].year"),
        # the last 10 complete years: 2016 to 2025
        ({"loss_history": [{"year": 2015, "losses": "3"}]}, "quote.invalid_loss_year", "loss_history[0].year"),
        ({"loss_history": [{"year": 2024, "losses": "3"}, {"year": 2024, "losses": "1"}]},
         "quote.invalid_loss_year", "loss_history[1].year"),
        ({"loss_history": [{"year": 2025 - i, "losses": "0"} for i in range(11)]}, "quote.too_many", "loss_history"),
        # identifiers: a French number's check digit, or the kind named
        ({"buyers": [{"name": "X", "country": "FR", "outstanding": "1", "identifier": "552 100 555"}]},
         "identifier.invalid_siren", "buyers[0].identifier"),
        ({"buyers": [{"name": "X", "country": "FR", "outstanding": "1", "identifier": "552 100 554 00014"}]},
         "identifier.invalid_siret", "buyers[0].identifier"),
        ({"buyers": [{"name": "X", "country": "BE", "outstanding": "1", "identifier": "FR 97 552100554"}]},
         "identifier.invalid_vat_fr", "buyers[0].identifier"),
        ({"buyers": [{"name": "X", "country": "DE", "outstanding": "1", "identifier": "552100555",
                      "identifier_kind": "siren"}]}, "identifier.invalid_siren", "buyers[0].identifier"),
        ({"buyers": [{"name": "X", "country": "DE", "outstanding": "1", "identifier": "5493001KJTIIGC8Y1R13",
                      "identifier_kind": "LEI"}]}, "identifier.invalid_lei", "buyers[0].identifier"),
        ({"buyers": [{"name": "X", "country": "FR", "outstanding": "1", "identifier_kind": "siren"}]},
         "quote.missing", "buyers[0].identifier"),
        ({"buyers": [{"name": "A", "country": "FR", "outstanding": "1", "identifier": "552100554"},
                     {"name": "B", "country": "FR", "outstanding": "1", "identifier": "55210055400013"}]},
         "quote.duplicate_buyer", "buyers[1].identifier"),
        ({"buyers": [{"name": "A", "country": "FR", "outstanding": "1", "identifier": "552100554"},
                     {"name": "B", "country": "FR", "outstanding": "1", "identifier": "FR96 552 100 554"}]},
         "quote.duplicate_buyer", "buyers[1].identifier"),
        ({"loss_history": [{"year": "2024", "losses": "3"}]}, "quote.invalid_year", "loss_history[0].year"),
        ({"turnovers": {}}, "quote.unknown_field", "turnovers"),
    ],
)  # fmt: skip
def test_bad_applications_are_refused_naming_the_field(changes: dict[str, Any], code: str, field: str) -> None:
    with raises(InvalidInput, code, field):
        parse_application(book(**changes), on=TODAY)


def test_identifiers_are_validated_when_french_or_of_a_known_kind_and_kept_compacted_otherwise() -> None:
    listed = [
        {"name": "A", "country": "FR", "identifier": " 552 100 554 "},
        {"name": "B", "country": "FR", "identifier": "fr 96 552.100.554", "identifier_kind": "vat"},
        {"name": "C", "country": "DE", "identifier": "123 456 789"},  # not a French buyer: a DUNS, say
        {"name": "D", "country": "GB", "identifier": "sc-123 456", "identifier_kind": "crn"},  # unknown kind
        {"name": "E", "country": "DE", "identifier": "5493001kjtiigc8y1r12", "identifier_kind": "lei"},
    ]
    buyers = [dict(b, outstanding="1") for b in listed[:1] + listed[2:]]
    application = parse_application(book(buyers=buyers), on=TODAY)
    assert [b.identifier for b in application.buyers] == ["552100554", "123456789", "SC123456", "5493001KJTIIGC8Y1R12"]
    vat = parse_application(book(buyers=[dict(listed[1], outstanding="1")]), on=TODAY)
    assert vat.buyers[0].identifier == "FR96552100554"


def test_loss_years_are_the_last_ten_complete_years() -> None:
    history = [{"year": year, "losses": "0"} for year in range(2016, 2026)]
    application = parse_application(book(loss_history=history), on=TODAY)
    assert [y.year for y in application.loss_history] == list(range(2016, 2026))
    # On 1 January 2027, 2026 is complete and 2016 is out of the window.
    later = parse_application(book(loss_history=[{"year": 2026, "losses": "0"}]), on=date(2027, 1, 1))
    assert [y.year for y in later.loss_history] == [2026]
    with raises(InvalidInput, "quote.invalid_loss_year", "loss_history[0].year"):
        parse_application(book(loss_history=history[:1]), on=date(2027, 1, 1))


# --- Versions, expiry, issue ----------------------------------------------------------------------------------


def quote_and_v1(on: date = TODAY, validity_days: int = 30) -> tuple[Quote, QuoteVersion]:
    application = parse_application(book(), on=on)
    quote = Quote("q-1", "QUO-2026-000001", "holder-1", application, on, "user:u", AT)
    proposal = price_application(application, policyholder_country="FR")
    return quote, first_version(quote, proposal, today=on, validity_days=validity_days, by="user:u", at=AT)


def test_a_quote_is_valid_up_to_and_including_its_last_day() -> None:
    quote, v1 = quote_and_v1()
    assert v1.valid_until == valid_until(TODAY, 30) == date(2026, 4, 14)
    assert quote_status(quote, v1, date(2026, 4, 13)) is QuoteStatus.PROPOSED
    assert quote_status(quote, v1, date(2026, 4, 14)) is QuoteStatus.PROPOSED
    assert quote_status(quote, v1, date(2026, 4, 15)) is QuoteStatus.EXPIRED
    check_can_issue(quote, v1, date(2026, 4, 14))
    with raises(RuleBroken, "quote.expired"):
        check_can_issue(quote, v1, date(2026, 4, 15))


def test_an_issued_quote_is_issued_whatever_the_date() -> None:
    quote, v1 = quote_and_v1()
    issued = replace(quote, issued_policy_id="p-1", issued_version=1)
    assert quote_status(issued, v1, date(2027, 1, 1)) is QuoteStatus.ISSUED
    with raises(Conflict, "quote.already_issued"):
        check_can_issue(issued, v1, TODAY)
    with raises(Conflict, "quote.already_issued"):
        revise_version(issued, v1, {"indemnity_rate": "0.80"}, reason="r", today=TODAY, validity_days=30, by="u", at=AT)


def test_a_revision_is_the_next_version_with_its_reason_and_a_new_validity() -> None:
    quote, v1 = quote_and_v1()
    later = TODAY + timedelta(days=10)
    v2 = revise_version(
        quote,
        v1,
        {"premium_rates": {"export_rate": "0.0075"}, "waiting_period_days": 120},
        reason="  broker's counter-offer ",
        today=later,
        validity_days=30,
        by="user:uw",
        at=AT,
    )
    assert (v2.version, v2.reason, v2.created_on, v2.valid_until) == (
        2,
        "broker's counter-offer",
        later,
        date(2026, 4, 24),  # 25 March + 30 days
    )
    # A partial premium_rates keeps the other rate.
    assert v2.terms.premium_rates.domestic_rate == Decimal("0.005100")
    assert v2.terms.premium_rates.export_rate == Decimal("0.0075")
    assert v2.terms.waiting_period_days == 120
    # 1,200,000 × 0.0051 + 500,000 × 0.0075 = 6,120 + 3,750 = 9,870
    assert v2.expected_premium == eur(9870)
    assert v2.lines[: len(v1.lines)] == v1.lines
    assert {line.code for line in v2.lines[len(v1.lines) :]} == {
        "revision.2.premium_rates",
        "revision.2.waiting_period_days",
        "revision.2.premium.expected",
    }
    with raises(Conflict, "quote.stale_version", "version"):
        check_can_issue(quote, v2, later, version=1)
    check_can_issue(quote, v2, later, version=2)


@pytest.mark.parametrize(
    ("changes", "reason", "kind", "code", "field"),
    [
        ({"indemnity_rate": "0.99"}, "r", InvalidInput, "terms.out_of_range", "indemnity_rate"),
        ({"premium_rates": {"domestic_rate": "0.2"}}, "r", InvalidInput, "terms.out_of_range",
         "premium_rates.domestic_rate"),
        ({"waiting_period_days": 9999}, "r", InvalidInput, "terms.out_of_range", "waiting_period_days"),
        ({"currency": "USD"}, "r", InvalidInput, "terms.unknown", "currency"),
        ({"indemnity_rate": "0.85"}, "r", InvalidInput, "quote.no_change", "changes"),
        ({}, "r", InvalidInput, "quote.no_change", "changes"),
        ({"indemnity_rate": "0.80"}, "  ", InvalidInput, "quote.reason_required", "reason"),
    ],
)  # fmt: skip
def test_a_revision_out_of_range_or_without_reason_is_refused(
    changes: dict[str, Any], reason: str, kind: type[DomainError], code: str, field: str
) -> None:
    quote, v1 = quote_and_v1()
    with raises(kind, code, field):
        revise_version(quote, v1, changes, reason=reason, today=TODAY, validity_days=30, by="u", at=AT)


def test_an_expired_quote_cannot_be_revised() -> None:
    quote, v1 = quote_and_v1()
    with raises(RuleBroken, "quote.expired"):
        revise_version(
            quote, v1, {"indemnity_rate": "0.80"}, reason="r", today=date(2026, 4, 15), validity_days=30, by="u", at=AT
        )


def test_a_referred_quote_is_issued_only_once_an_underwriter_revised_it() -> None:
    data = book()
    data["buyers"] = [*data["buyers"], {"name": "Gone", "country": "FR", "outstanding": "1000", "risk_grade": 9}]
    application = parse_application(data, on=TODAY)
    quote = Quote("q-2", "QUO-2026-000002", "holder-1", application, TODAY, "user:u", AT)
    proposal = price_application(application, policyholder_country="FR")
    v1 = first_version(quote, proposal, today=TODAY, validity_days=30, by="user:u", at=AT)
    assert v1.referral_reasons == (ReferralReason.BUYERS_NOT_COVERABLE,)
    with raises(RuleBroken, "quote.referral_unresolved"):
        check_can_issue(quote, v1, TODAY)
    v2 = revise_version(
        quote, v1, {"indemnity_rate": "0.80"}, reason="reviewed the book", today=TODAY, validity_days=30, by="uw",
        at=AT,
    )  # fmt: skip
    assert v2.referral_reasons == v1.referral_reasons  # the flag stays on record
    check_can_issue(quote, v2, TODAY)
    # The main book is not referred: version 1 is issued as it is.
    plain, plain_v1 = quote_and_v1()
    check_can_issue(plain, plain_v1, TODAY)


def test_the_policy_starts_within_90_days_before_to_365_days_after_the_version() -> None:
    _, v1 = quote_and_v1()  # of 15 March 2026
    check_start_date(v1, date(2025, 12, 15))  # − 90 days
    check_start_date(v1, date(2027, 3, 15))  # + 365 days
    for day in (date(2025, 12, 14), date(2027, 3, 16)):
        with raises(InvalidInput, "quote.start_date_out_of_range", "start_date"):
            check_start_date(v1, day)


def test_stored_terms_read_back_equal() -> None:
    _, v1 = quote_and_v1()
    assert terms_from_json(v1.terms.to_dict()) == v1.terms


# --- Properties -----------------------------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10**11).map(lambda cents: f"{Decimal(cents) / 100:.2f}")
buyers = st.lists(
    st.fixed_dictionaries(
        {"name": st.just("B"), "country": st.sampled_from(["FR", "DE", "US"]), "outstanding": amounts},
        optional={"risk_grade": st.integers(min_value=1, max_value=10)},
    ),
    max_size=8,
)
history = st.lists(amounts, max_size=6).map(
    lambda losses: [{"year": 2025 - i, "losses": amount} for i, amount in enumerate(losses)]
)
sections = st.sampled_from(sorted(DEFAULT_SECTOR_FACTORS))


@settings(max_examples=150, deadline=None)
@given(domestic=amounts, export=amounts, sector=sections, book_buyers=buyers, losses=history)
def test_rates_stay_in_range_and_the_minimum_premium_is_never_negative(
    domestic: str, export: str, sector: str, book_buyers: list[dict[str, Any]], losses: list[dict[str, Any]]
) -> None:
    data = book(
        turnover={"domestic": domestic, "export": export}, sector=sector, buyers=book_buyers, loss_history=losses
    )
    if Decimal(domestic) + Decimal(export) == 0:
        with raises(InvalidInput, "quote.no_turnover"):
            parse_application(data, on=TODAY)
        return
    proposal = price_application(parse_application(data, on=TODAY), policyholder_country="FR")
    rates = proposal.terms.premium_rates
    assert 0 < rates.domestic_rate <= MAX_RATE
    assert 0 < rates.export_rate <= MAX_RATE
    assert proposal.terms.minimum_premium is not None
    assert proposal.terms.minimum_premium >= eur(0)
    assert proposal.terms.minimum_premium <= proposal.expected_premium + eur(1)
    assert proposal.expected_loss >= eur(0)
    # never below the sector rates × the loading floor × the experience floor
    least = DEFAULT_PRICING.loading_floor * DEFAULT_PRICING.experience_floor
    floor = least * DEFAULT_SECTOR_FACTORS[sector] * Decimal("0.0025")
    assert rates.domestic_rate >= min(floor.quantize(Decimal("0.000001")), MAX_RATE)
    # buyers graded 9 or 10 load nothing and refer the quote
    coverable = [b for b in book_buyers if b.get("risk_grade", 1) < 9]
    assert proposal.expected_loss == expected_loss(parse_application(data, on=TODAY).buyers, "EUR")
    referred = ReferralReason.BUYERS_NOT_COVERABLE in proposal.referral_reasons
    assert referred == (len(coverable) < len(book_buyers))


@settings(max_examples=150, deadline=None)
@given(
    domestic=amounts, export=amounts, sector=sections, book_buyers=buyers, losses=history,
    worse=st.integers(min_value=0, max_value=7), extra=amounts,
)  # fmt: skip
def test_a_worse_book_never_costs_less(
    domestic: str,
    export: str,
    sector: str,
    book_buyers: list[dict[str, Any]],
    losses: list[dict[str, Any]],
    worse: int,
    extra: str,
) -> None:
    """Downgrading a coverable buyer (within 1..8) or adding to its outstanding never lowers a rate."""
    coverable = [dict(b, risk_grade=min(b.get("risk_grade", 1), 8)) for b in book_buyers]
    if Decimal(domestic) + Decimal(export) == 0 or not coverable:
        return
    base = book(turnover={"domestic": domestic, "export": export}, sector=sector, loss_history=losses)
    index = worse % len(coverable)
    downgraded = [dict(b) for b in coverable]
    downgraded[index]["risk_grade"] = min(8, coverable[index]["risk_grade"] + 1 + worse)
    bigger = [dict(b) for b in coverable]
    bigger[index]["outstanding"] = str(Decimal(coverable[index]["outstanding"]) + Decimal(extra))

    def rates(listed: list[dict[str, Any]]) -> tuple[Decimal, Decimal]:
        terms = price_application(parse_application(base | {"buyers": listed}, on=TODAY), policyholder_country="FR")
        return terms.terms.premium_rates.domestic_rate, terms.terms.premium_rates.export_rate

    before = rates(coverable)
    for after in (rates(downgraded), rates(bigger)):
        assert after[0] >= before[0]
        assert after[1] >= before[1]
