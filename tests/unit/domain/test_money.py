"""Money: exactness, currency safety, explicit rounding, exact allocation."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import (
    CURRENCY_MINOR_UNITS,
    Money,
    currency,
    minor_units_of,
    sum_money,
)

CURRENCIES = sorted(CURRENCY_MINOR_UNITS)

currencies = st.sampled_from(CURRENCIES)
amounts = st.decimals(
    min_value=Decimal("-1e12"),
    max_value=Decimal("1e12"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)
cents = st.decimals(
    min_value=Decimal("-1e12"),
    max_value=Decimal("1e12"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
ratio_lists = st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(lambda rs: sum(rs) > 0)


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


# --------------------------------------------------------------- currencies


def test_currency_table_covers_the_common_codes_with_iso_minor_units() -> None:
    expected = {
        "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0, "KRW": 0, "ISK": 0,
        "XOF": 0, "XAF": 0, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3,
        "DZD": 2, "MAD": 2, "CNY": 2, "INR": 2,
    }  # fmt: skip
    for code, units in expected.items():
        assert CURRENCY_MINOR_UNITS[code] == units, code
    assert len(CURRENCY_MINOR_UNITS) >= 60


@pytest.mark.parametrize("bad", ["eur", "EURO", "EU", "XYZ", "", "E1R", "ÉUR"])
def test_unknown_or_malformed_currency_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        currency(bad)
    assert caught.value.code == "money.unknown_currency"
    assert caught.value.field == "currency"


def test_money_validates_its_currency() -> None:
    with pytest.raises(InvalidInput) as caught:
        Money.of("1", "ZZZ")
    assert caught.value.code == "money.unknown_currency"


def test_minor_units_of() -> None:
    assert minor_units_of("EUR") == 2
    assert minor_units_of("JPY") == 0
    assert minor_units_of("KWD") == 3


# ------------------------------------------------------------- construction


def test_float_amount_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        Money(0.1, "EUR")  # type: ignore[arg-type]
    assert caught.value.code == "money.float_refused"
    assert caught.value.field == "amount"


def test_bool_amount_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        Money(True, "EUR")  # type: ignore[arg-type]
    assert caught.value.code == "money.float_refused"


def test_int_and_str_amounts_are_converted_to_decimal() -> None:
    from_int = Money(12, "EUR")  # type: ignore[arg-type]
    from_str = Money(" 12.50 ", "EUR")  # type: ignore[arg-type]
    assert isinstance(from_int.amount, Decimal)
    assert from_int.amount == Decimal(12)
    assert from_str.amount == Decimal("12.50")


@pytest.mark.parametrize("bad", ["abc", "", "1,5", "NaN", "Infinity", "-inf", "sNaN"])
def test_unparseable_or_non_finite_amount_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money.of(bad, "EUR")
    assert caught.value.code == "money.invalid_amount"


def test_non_finite_decimal_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        Money(Decimal("NaN"), "EUR")
    assert caught.value.code == "money.invalid_amount"


def test_full_precision_is_kept_on_construction() -> None:
    assert eur("0.125").amount == Decimal("0.125")
    assert (eur("10") / 3).amount == Decimal(10) / Decimal(3)


def test_zero_and_from_minor() -> None:
    assert Money.zero("EUR").is_zero()
    assert Money.from_minor(125000, "EUR") == eur("1250.00")
    assert Money.from_minor(1250, "JPY") == Money.of("1250", "JPY")
    assert Money.from_minor(1250, "KWD") == Money.of("1.250", "KWD")


def test_from_minor_refuses_non_int() -> None:
    with pytest.raises(InvalidInput):
        Money.from_minor(True, "EUR")
    with pytest.raises(InvalidInput):
        Money.from_minor("12", "EUR")  # type: ignore[arg-type]


# ----------------------------------------------------------------- rounding


def test_half_up_rounding() -> None:
    assert eur("0.005").round() == eur("0.01")
    assert eur("2.675").round() == eur("2.68")  # 2.675 as a float would give 2.67
    assert eur("-2.675").round() == eur("-2.68")
    assert eur("2.674999").round() == eur("2.67")


def test_other_rounding_modes_on_request() -> None:
    assert eur("2.675").round(ROUND_DOWN) == eur("2.67")
    assert eur("2.665").round(ROUND_HALF_EVEN) == eur("2.66")


def test_zero_decimal_and_three_decimal_currencies() -> None:
    assert Money.of("1234.5", "JPY").round() == Money.of("1235", "JPY")
    assert Money.of("1234.5", "JPY").quantize_str() == "1235"
    assert Money.of("1.2345", "KWD").round() == Money.of("1.235", "KWD")
    assert Money.of("1.2345", "KWD").quantize_str() == "1.235"
    assert Money.of("7", "KWD").to_minor() == 7000
    assert Money.of("7", "JPY").minor_units == 0


def test_rounded_negative_zero_prints_as_zero() -> None:
    assert eur("-0.001").quantize_str() == "0.00"
    assert str(eur("-0.001")) == "0.00 EUR"


def test_to_minor_requires_a_rounded_amount() -> None:
    assert eur("1250").to_minor() == 125000
    assert eur("-0.07").to_minor() == -7
    with pytest.raises(InvalidInput) as caught:
        eur("0.125").to_minor()
    assert caught.value.code == "money.not_rounded"
    assert Money.of("1.5", "JPY").round().to_minor() == 2


def test_quantize_str_and_str() -> None:
    assert eur("1250").quantize_str() == "1250.00"
    assert str(eur("1250")) == "1250.00 EUR"
    assert str(eur("1e3")) == "1000.00 EUR"


# --------------------------------------------------------------- arithmetic


def test_addition_and_subtraction() -> None:
    assert eur("1.10") + eur("2.20") == eur("3.30")
    assert eur("1.10") - eur("2.20") == eur("-1.10")
    assert -eur("5") == eur("-5")
    assert abs(eur("-5")) == eur("5")


def test_mixing_currencies_is_refused() -> None:
    usd = Money.of("1", "USD")
    for operation in (
        lambda: eur("1") + usd,
        lambda: eur("1") - usd,
        lambda: eur("1") < usd,
        lambda: eur("1") >= usd,
        lambda: eur("1") / usd,
    ):
        with pytest.raises(InvalidInput) as caught:
            operation()
        assert caught.value.code == "money.currency_mismatch"
        assert caught.value.field == "currency"


def test_money_plus_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = eur("1") + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = eur("1") * eur("1")  # type: ignore[operator]


def test_multiplication_by_exact_numbers() -> None:
    assert eur("100") * Decimal("0.9") == eur("90")
    assert eur("100") * 3 == eur("300")
    assert 3 * eur("100") == eur("300")
    assert Decimal("0.5") * eur("3") == eur("1.5")


def test_multiplication_by_float_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        _ = eur("100") * 0.9  # type: ignore[operator]
    assert caught.value.code == "money.float_refused"


def test_division() -> None:
    third = eur("100") / 3
    assert third.currency == "EUR"
    assert third.round() == eur("33.33")
    assert eur("100") / Decimal("4") == eur("25")
    assert eur("30") / eur("120") == Decimal("0.25")


def test_division_by_zero_and_float_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        _ = eur("1") / 0
    assert caught.value.code == "money.division_by_zero"
    with pytest.raises(InvalidInput) as caught:
        _ = eur("1") / eur("0")
    assert caught.value.code == "money.division_by_zero"
    with pytest.raises(InvalidInput) as caught:
        _ = eur("1") / 2.0  # type: ignore[operator]
    assert caught.value.code == "money.float_refused"


def test_equality_ignores_trailing_zeros_and_hashes_alike() -> None:
    assert Money("1.0", "EUR") == Money("1.00", "EUR")  # type: ignore[arg-type]
    assert hash(eur("1.0")) == hash(eur("1.00"))
    assert len({eur("1.0"), eur("1.00"), eur("1")}) == 1
    assert eur("1") != Money.of("1", "USD")
    assert eur("1") != Decimal(1)


def test_ordering_and_predicates() -> None:
    assert eur("1") < eur("2") <= eur("2") < eur("3")
    assert eur("3") > eur("2") >= eur("2")
    assert eur("0.00").is_zero()
    assert eur("0.01").is_positive()
    assert not eur("0").is_positive()
    assert eur("-0.01").is_negative()
    assert not eur("0").is_negative()


def test_max_of_min_of_and_sum() -> None:
    values = [eur("3"), eur("-1"), eur("7.5")]
    assert Money.max_of(*values) == eur("7.5")
    assert Money.min_of(*values) == eur("-1")
    assert sum_money(values, "EUR") == eur("9.5")
    assert sum_money([], "JPY") == Money.zero("JPY")
    with pytest.raises(InvalidInput):
        Money.max_of()
    with pytest.raises(InvalidInput) as caught:
        sum_money([eur("1"), Money.of("1", "USD")], "EUR")
    assert caught.value.code == "money.currency_mismatch"


# --------------------------------------------------------------- allocation


def test_allocate_named_cases() -> None:
    assert eur("100").split(3) == [eur("33.34"), eur("33.33"), eur("33.33")]
    assert eur("-100").split(3) == [eur("-33.34"), eur("-33.33"), eur("-33.33")]
    assert eur("0.05").allocate([3, 7]) == [eur("0.02"), eur("0.03")]
    assert eur("10").allocate([Decimal("0.9"), Decimal("0.1")]) == [eur("9"), eur("1")]
    assert eur("10").allocate([0, 1]) == [eur("0"), eur("10")]
    assert Money.of("100", "JPY").split(3) == [
        Money.of("34", "JPY"),
        Money.of("33", "JPY"),
        Money.of("33", "JPY"),
    ]


def test_allocate_sums_to_the_rounded_amount() -> None:
    parts = eur("100.005").split(2)  # rounds half-up to 100.01 first
    assert parts == [eur("50.01"), eur("50.00")]


def test_allocate_ties_go_to_the_earliest_index() -> None:
    assert eur("0.02").split(4) == [eur("0.01"), eur("0.01"), eur("0"), eur("0")]


@pytest.mark.parametrize(
    "ratios",
    [[], [0, 0], [-1, 2], [Decimal("NaN")], [Decimal("Infinity")], ["1"]],
)
def test_allocate_refuses_bad_ratios(ratios: list[Decimal | int]) -> None:
    with pytest.raises(InvalidInput) as caught:
        eur("10").allocate(ratios)
    assert caught.value.code == "money.invalid_ratios"


def test_allocate_refuses_float_ratios_and_bad_split_counts() -> None:
    with pytest.raises(InvalidInput) as caught:
        eur("10").allocate([0.5, 0.5])  # type: ignore[list-item]
    assert caught.value.code == "money.float_refused"
    for n in (0, -1):
        with pytest.raises(InvalidInput) as caught:
            eur("10").split(n)
        assert caught.value.code == "money.invalid_ratios"


@given(amount=amounts, cur=currencies, ratios=ratio_lists)
def test_allocate_parts_sum_exactly_and_stay_near_their_share(amount: Decimal, cur: str, ratios: list[int]) -> None:
    money = Money(amount, cur)
    parts = money.allocate(ratios)
    assert len(parts) == len(ratios)
    assert sum_money(parts, cur) == money.round()
    total = money.round().amount
    unit = Decimal(1).scaleb(-money.minor_units)
    for part, ratio in zip(parts, ratios, strict=True):
        part.to_minor()  # every part is at the minor unit
        exact = total * ratio / sum(ratios)
        assert abs(part.amount - exact) < unit
        if ratio == 0:
            assert part.is_zero()


@given(amount=amounts, cur=currencies, n=st.integers(min_value=1, max_value=40))
def test_split_parts_differ_by_at_most_one_minor_unit(amount: Decimal, cur: str, n: int) -> None:
    parts = Money(amount, cur).split(n)
    units = [part.to_minor() for part in parts]
    assert max(units) - min(units) <= 1
    magnitudes = [abs(unit) for unit in units]
    assert magnitudes == sorted(magnitudes, reverse=True)  # the extra units go first


@given(amount=amounts, ratios=ratio_lists)
def test_allocate_is_sign_symmetric(amount: Decimal, ratios: list[int]) -> None:
    money = Money(amount, "EUR")
    assert (-money).allocate(ratios) == [-part for part in money.allocate(ratios)]


# --------------------------------------------------------------- properties


@given(units=st.integers(min_value=-(10**15), max_value=10**15), cur=currencies)
def test_minor_units_round_trip(units: int, cur: str) -> None:
    assert Money.from_minor(units, cur).to_minor() == units


@given(amount=cents)
def test_rounded_money_round_trips_through_minor_units(amount: Decimal) -> None:
    money = Money(amount, "EUR")
    assert Money.from_minor(money.to_minor(), "EUR") == money


@given(a=amounts, b=amounts, c=amounts)
def test_addition_is_commutative_and_associative(a: Decimal, b: Decimal, c: Decimal) -> None:
    x, y, z = Money(a, "EUR"), Money(b, "EUR"), Money(c, "EUR")
    assert x + y == y + x
    assert (x + y) + z == x + (y + z)
    assert x - x == Money.zero("EUR")


@given(amount=amounts, cur=currencies)
def test_round_is_idempotent_and_within_half_a_unit(amount: Decimal, cur: str) -> None:
    money = Money(amount, cur)
    rounded = money.round()
    assert rounded.round() == rounded
    assert abs(rounded.amount - money.amount) <= Decimal(1).scaleb(-money.minor_units) / 2


@given(amount=amounts, cur=currencies)
def test_json_round_trip_of_the_rounded_amount(amount: Decimal, cur: str) -> None:
    money = Money(amount, cur)
    data = money.to_json()
    assert data["currency"] == cur
    assert Money.from_json(data) == money.round()


@given(amount=cents)
def test_trailing_zeros_do_not_change_equality_or_hash(amount: Decimal) -> None:
    padded = Money(amount.quantize(Decimal("0.0001")), "EUR")
    plain = Money(amount, "EUR")
    assert padded == plain
    assert hash(padded) == hash(plain)


# --------------------------------------------------------------------- json


def test_to_json_and_from_json() -> None:
    assert eur("1250").to_json() == {"amount": "1250.00", "currency": "EUR"}
    assert eur("0.125").to_json() == {"amount": "0.13", "currency": "EUR"}
    assert Money.from_json({"amount": "1250.00", "currency": "EUR"}) == eur("1250")
    assert Money.from_json({"amount": "0.125", "currency": "EUR"}).amount == Decimal("0.125")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"amount": "1"}, "money.invalid_json"),
        ({"currency": "EUR"}, "money.invalid_json"),
        ({"amount": 1.5, "currency": "EUR"}, "money.float_refused"),
        ({"amount": "x", "currency": "EUR"}, "money.invalid_amount"),
        ({"amount": "1", "currency": 978}, "money.unknown_currency"),
        ({"amount": "1", "currency": "eur"}, "money.unknown_currency"),
    ],
)
def test_from_json_refuses_bad_payloads(data: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money.from_json(data)
    assert caught.value.code == code


def test_money_is_immutable() -> None:
    money = eur("1")
    with pytest.raises(AttributeError):
        money.amount = Decimal(2)  # type: ignore[misc]
