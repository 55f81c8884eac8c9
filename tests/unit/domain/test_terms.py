"""Policy terms (DOMAIN.md §3): defaults, validation naming the field, amend, diff."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money
from tradecover.domain.terms import (
    DAY_TERM_BOUNDS,
    MONEY_TERM_DEFAULTS,
    DeductibleKind,
    PolicyTerms,
    PremiumRates,
    country_code,
)


def build(overrides: dict[str, Any] | None = None, currency: str = "EUR", country: str = "FR") -> PolicyTerms:
    return PolicyTerms.build(currency_code=currency, policyholder_country=country, overrides=overrides)


def eur(amount: str | int | Decimal) -> Money:
    return Money.of(amount, "EUR")


def refused(overrides: dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        build(overrides)
    return caught.value


# ----------------------------------------------------------------- defaults


def test_build_gives_the_domain_defaults() -> None:
    terms = build()

    assert terms == PolicyTerms(
        currency="EUR",
        covered_countries=("FR",),
        indemnity_rate=Decimal("0.90"),
        deductible=eur(0),
        deductible_kind=DeductibleKind.PER_CLAIM,
        non_qualifying_loss=eur(1000),
        max_credit_period_days=120,
        overdue_notification_days=90,
        insolvency_notification_days=30,
        waiting_period_days=150,
        max_liability_multiple=Decimal(30),
        max_liability_amount=None,
        discretionary_limit=eur(10_000),
        premium_rates=PremiumRates(domestic_rate=Decimal("0.0025"), export_rate=Decimal("0.0040")),
        minimum_premium=eur(0),
        request_fee=eur(0),
        monitoring_fee=eur(0),
        no_claims_bonus_rate=Decimal("0.20"),
        no_claims_bonus_threshold=Decimal("0.50"),
        reduction_notice_days=0,
        max_extension_days=60,
        renewal_notice_days=90,
    )


def test_money_defaults_are_in_the_policy_currency() -> None:
    terms = build(currency="CHF", country="ch")

    assert terms.currency == "CHF"
    assert terms.covered_countries == ("CH",)
    for name, amount in MONEY_TERM_DEFAULTS.items():
        assert getattr(terms, name) == Money.of(amount, "CHF"), name


def test_an_unknown_policy_currency_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        build(currency="EURO")

    assert caught.value.field == "currency"


@pytest.mark.parametrize("country", ["FRA", "F", "", "1A", "ÉS"])
def test_the_policyholder_country_is_an_alpha2_code(country: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build(country=country)

    assert caught.value.code == "terms.invalid_country"
    assert caught.value.field == "policyholder_country"


def test_country_code_normalises_the_case() -> None:
    assert country_code(" de ") == "DE"
    with pytest.raises(InvalidInput) as caught:
        country_code("DEU", "buyer_country")
    assert caught.value.field == "buyer_country"


# ---------------------------------------------------------------- overrides


def test_overrides_accept_exact_inputs_in_several_shapes() -> None:
    terms = build(
        {
            "indemnity_rate": "0.85",
            "deductible": eur("2500.50"),
            "deductible_kind": "annual_aggregate",
            "non_qualifying_loss": 2000,
            "discretionary_limit": {"amount": "15000", "currency": "EUR"},
            "minimum_premium": Decimal("1200.00"),
            "covered_countries": ["fr", "DE", "be", "FR"],
            "premium_rates": {"domestic": "0.0030", "export": Decimal("0.0050")},
            "max_credit_period_days": 90,
            "no_claims_bonus_rate": Decimal("0.10"),
        }
    )

    assert terms.indemnity_rate == Decimal("0.85")
    assert terms.deductible == eur("2500.50")
    assert terms.deductible_kind is DeductibleKind.ANNUAL_AGGREGATE
    assert terms.non_qualifying_loss == eur(2000)
    assert terms.discretionary_limit == eur(15_000)
    assert terms.minimum_premium == eur(1200)
    assert terms.covered_countries == ("FR", "DE", "BE")  # upper-cased, duplicates dropped, order kept
    assert terms.premium_rates == PremiumRates(Decimal("0.0030"), Decimal("0.0050"))
    assert terms.max_credit_period_days == 90
    assert terms.no_claims_bonus_rate == Decimal("0.10")


def test_premium_rates_take_their_long_names_or_an_object() -> None:
    long_names = build({"premium_rates": {"domestic_rate": "0.001", "export_rate": "0.002"}})
    as_object = build({"premium_rates": PremiumRates(Decimal("0.001"), Decimal("0.002"))})
    partial = build({"premium_rates": {"export": "0.006"}})

    assert long_names.premium_rates == as_object.premium_rates == PremiumRates(Decimal("0.001"), Decimal("0.002"))
    assert partial.premium_rates == PremiumRates(Decimal("0.0025"), Decimal("0.006"))


def test_a_fixed_maximum_liability_replaces_the_multiple() -> None:
    terms = build({"max_liability_amount": "500000"})

    assert terms.max_liability_amount == eur(500_000)
    assert terms.max_liability_multiple is None


def test_an_unknown_term_is_refused_by_name() -> None:
    error = refused({"indemnity_rate": "0.8", "colour": "blue", "zeal": 1})

    assert error.code == "terms.unknown"
    assert error.field == "colour"


# --------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0.49", "terms.out_of_range"),
        ("0.951", "terms.out_of_range"),
        ("0.97", "terms.out_of_range"),
        ("1", "terms.out_of_range"),
        ("90", "terms.out_of_range"),  # a percent, not a fraction
        ("-0.9", "terms.out_of_range"),
        ("ninety", "terms.invalid"),
        ("NaN", "terms.invalid"),
        ("Infinity", "terms.invalid"),
        (0.9, "terms.float_refused"),
        (True, "terms.float_refused"),
    ],
)
def test_a_bad_indemnity_rate_is_refused(value: object, code: str) -> None:
    error = refused({"indemnity_rate": value})

    assert (error.code, error.field) == (code, "indemnity_rate")


@pytest.mark.parametrize("name", sorted(MONEY_TERM_DEFAULTS))
@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("-1", "terms.out_of_range"),
        ("10.001", "terms.invalid"),
        ("lots", "terms.invalid"),
        (100.0, "terms.float_refused"),
        (Money.of(100, "USD"), "terms.currency_mismatch"),
        ({"amount": "100", "currency": "USD"}, "terms.currency_mismatch"),
    ],
)
def test_a_bad_money_term_is_refused(name: str, value: object, code: str) -> None:
    error = refused({name: value})

    assert (error.code, error.field) == (code, name)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0", "terms.out_of_range"),
        ("-5", "terms.out_of_range"),
        ("1000.01", "terms.out_of_range"),
        (30.0, "terms.float_refused"),
        ("x", "terms.invalid"),
    ],
)
def test_a_bad_liability_multiple_is_refused(value: object, code: str) -> None:
    error = refused({"max_liability_multiple": value})

    assert (error.code, error.field) == (code, "max_liability_multiple")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0", "terms.out_of_range"),
        ("-1", "terms.out_of_range"),
        (Money.of(1000, "GBP"), "terms.currency_mismatch"),
    ],
)
def test_a_bad_liability_amount_is_refused(value: object, code: str) -> None:
    error = refused({"max_liability_amount": value})

    assert (error.code, error.field) == (code, "max_liability_amount")


def test_one_liability_cap_is_required() -> None:
    error = refused({"max_liability_multiple": None, "max_liability_amount": None})

    assert (error.code, error.field) == ("terms.missing", "max_liability_multiple")


def test_an_unknown_deductible_kind_is_refused() -> None:
    error = refused({"deductible_kind": "weekly"})

    assert (error.code, error.field) == ("terms.invalid", "deductible_kind")


@pytest.mark.parametrize("name", sorted(DAY_TERM_BOUNDS))
def test_each_day_term_is_bounded(name: str) -> None:
    _, low, high = DAY_TERM_BOUNDS[name]

    assert getattr(build({name: low}), name) == low
    assert getattr(build({name: high}), name) == high
    for bad in (low - 1, high + 1):
        error = refused({name: bad})
        assert (error.code, error.field) == ("terms.out_of_range", name)


@pytest.mark.parametrize("name", sorted(DAY_TERM_BOUNDS))
@pytest.mark.parametrize("value", [30.0, "30", True, None, Decimal(30)])
def test_a_day_term_is_a_whole_int(name: str, value: object) -> None:
    error = refused({name: value})

    assert (error.code, error.field) == ("terms.invalid", name)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("FR", "terms.invalid"),
        ([], "terms.invalid"),
        (None, "terms.invalid"),
        (["FR", "FRA"], "terms.invalid_country"),
        (["FR", "1X"], "terms.invalid_country"),
    ],
)
def test_bad_covered_countries_are_refused(value: object, code: str) -> None:
    error = refused({"covered_countries": value})

    assert (error.code, error.field) == (code, "covered_countries")


@pytest.mark.parametrize(
    ("value", "code", "field"),
    [
        ({"domestic": "0.2"}, "terms.out_of_range", "premium_rates.domestic_rate"),
        ({"export": "0.25"}, "terms.out_of_range", "premium_rates.export_rate"),
        ({"domestic": "-0.001"}, "terms.out_of_range", "premium_rates.domestic_rate"),
        ({"export_rate": 0.004}, "terms.float_refused", "premium_rates.export_rate"),
        ("0.0025", "terms.invalid", "premium_rates"),
    ],
)
def test_bad_premium_rates_are_refused(value: object, code: str, field: str) -> None:
    error = refused({"premium_rates": value})

    assert (error.code, error.field) == (code, field)


@pytest.mark.parametrize("name", ["no_claims_bonus_rate", "no_claims_bonus_threshold"])
@pytest.mark.parametrize(
    ("value", "code"),
    [("1.01", "terms.out_of_range"), ("-0.01", "terms.out_of_range"), (0.2, "terms.float_refused")],
)
def test_bonus_fractions_lie_between_zero_and_one(name: str, value: object, code: str) -> None:
    error = refused({name: value})

    assert (error.code, error.field) == (code, name)


@pytest.mark.parametrize("name", ["no_claims_bonus_rate", "no_claims_bonus_threshold"])
@pytest.mark.parametrize("value", ["0", "1"])
def test_bonus_fraction_bounds_are_inclusive(name: str, value: str) -> None:
    assert getattr(build({name: value}), name) == Decimal(value)


# --------------------------------------------------------------- properties

hundredths = st.integers(min_value=-200, max_value=300).map(lambda n: Decimal(n).scaleb(-2))


@given(hundredths)
def test_an_indemnity_rate_is_accepted_exactly_between_050_and_095(rate: Decimal) -> None:
    if Decimal("0.50") <= rate <= Decimal("0.95"):
        assert build({"indemnity_rate": rate}).indemnity_rate == rate
        assert build({"indemnity_rate": str(rate)}).indemnity_rate == rate
    else:
        error = refused({"indemnity_rate": rate})
        assert (error.code, error.field) == ("terms.out_of_range", "indemnity_rate")


@given(st.sampled_from(sorted(DAY_TERM_BOUNDS)), st.integers(min_value=-1000, max_value=2000))
def test_a_day_term_is_accepted_exactly_within_its_bounds(name: str, days: int) -> None:
    _, low, high = DAY_TERM_BOUNDS[name]
    if low <= days <= high:
        assert getattr(build({name: days}), name) == days
    else:
        error = refused({name: days})
        assert (error.code, error.field) == ("terms.out_of_range", name)


@given(
    st.sampled_from(sorted(MONEY_TERM_DEFAULTS)),
    st.integers(min_value=-(10**9), max_value=10**9).map(lambda n: Decimal(n).scaleb(-2)),
)
def test_a_money_term_takes_any_non_negative_amount_in_cents(name: str, amount: Decimal) -> None:
    if amount >= 0:
        assert getattr(build({name: amount}), name) == eur(amount)
    else:
        assert refused({name: amount}).field == name


# -------------------------------------------------------------------- amend


def test_amend_returns_new_validated_terms_and_leaves_the_old_ones() -> None:
    original = build()

    amended = original.amend({"indemnity_rate": "0.80", "waiting_period_days": 180})

    assert amended.indemnity_rate == Decimal("0.80")
    assert amended.waiting_period_days == 180
    assert original.indemnity_rate == Decimal("0.90")
    assert original.waiting_period_days == 150
    unchanged = {f.name for f in dataclasses.fields(PolicyTerms)} - {"indemnity_rate", "waiting_period_days"}
    for name in unchanged:
        assert getattr(amended, name) == getattr(original, name), name


def test_amend_validates_like_build() -> None:
    with pytest.raises(InvalidInput) as caught:
        build().amend({"indemnity_rate": "0.97"})

    assert (caught.value.code, caught.value.field) == ("terms.out_of_range", "indemnity_rate")


@pytest.mark.parametrize("name", ["currency", "colour"])
def test_amend_refuses_the_currency_and_unknown_terms(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build().amend({name: "USD"})

    assert (caught.value.code, caught.value.field) == ("terms.unknown", name)


def test_amend_can_switch_to_a_fixed_liability_amount() -> None:
    amended = build().amend({"max_liability_amount": "750000"})

    assert amended.max_liability_amount == eur(750_000)
    assert amended.max_liability_multiple is None


def test_amending_the_multiple_of_fixed_amount_terms_is_not_silently_dropped() -> None:
    fixed = build({"max_liability_amount": "750000"})

    try:
        amended = fixed.amend({"max_liability_multiple": "20"})
    except InvalidInput:
        return  # refusing the ambiguous change is fine too
    assert amended.max_liability_multiple == Decimal(20)


# ------------------------------------------------------- to_dict, changes_from


def test_to_dict_is_json_ready() -> None:
    data = build({"covered_countries": ["FR", "DE"], "max_liability_amount": "500000"}).to_dict()

    assert set(data) == {f.name for f in dataclasses.fields(PolicyTerms)}
    assert data["currency"] == "EUR"
    assert data["indemnity_rate"] == "0.90"
    assert data["non_qualifying_loss"] == {"amount": "1000.00", "currency": "EUR"}
    assert data["max_liability_amount"] == {"amount": "500000.00", "currency": "EUR"}
    assert data["max_liability_multiple"] is None
    assert data["deductible_kind"] == "per_claim"
    assert data["covered_countries"] == ["FR", "DE"]
    assert data["premium_rates"] == {"domestic_rate": "0.0025", "export_rate": "0.0040"}
    assert data["max_credit_period_days"] == 120
    assert json.loads(json.dumps(data)) == data


def test_changes_from_lists_what_an_endorsement_changes() -> None:
    before = build()
    after = before.amend({"indemnity_rate": "0.85", "deductible": "5000", "covered_countries": ["FR", "IT"]})

    assert after.changes_from(before) == {
        "indemnity_rate": ("0.90", "0.85"),
        "deductible": ({"amount": "0.00", "currency": "EUR"}, {"amount": "5000.00", "currency": "EUR"}),
        "covered_countries": (["FR"], ["FR", "IT"]),
    }
    assert before.changes_from(before) == {}
    assert set(before.changes_from(after)) == set(after.changes_from(before))


def test_numerically_equal_terms_are_no_change() -> None:
    before = build()

    after = before.amend({"indemnity_rate": "0.9", "max_liability_multiple": "30.0", "no_claims_bonus_rate": "0.2"})

    assert after.changes_from(before) == {}
