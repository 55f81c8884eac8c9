"""Accumulation of the book (DOMAIN.md §11): totals per dimension, shares, top-N, HHI, caps and breaches.

The small book used by most cases, in EUR (limit / covered exposure):

=========  =======  =======  ==========  ===  ========  =======  =======
buyer      group    country  sector      pol  limit     covered
=========  =======  =======  ==========  ===  ========  =======  =======
B1         G (B1)   FR       G           P1   100,000   60,000
B2         G (B1)   FR       G           P1    50,000   20,000
B3         B3       DE       C           P1    50,000   20,000
B1         G (B1)   FR       G           P2    40,000        0
=========  =======  =======  ==========  ===  ========  =======  =======

Totals: limits 240,000, covered 100,000.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradecover.domain.accumulation import (
    DEFAULT_CAPS,
    DEFAULT_CAPS_JSON,
    EVERY_KEY,
    AccumulationLine,
    Cap,
    Dimension,
    Measure,
    applicable_caps,
    breaches,
    caps_to_json,
    herfindahl,
    parse_caps,
    totals,
)
from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money, sum_money


def eur(amount: str | int) -> Money:
    return Money.of(amount, "EUR")


def line(
    buyer: str,
    limit: str | int,
    covered: str | int,
    *,
    group: str | None = None,
    country: str = "FR",
    sector: str = "G",
    policy: str = "P1",
    currency: str = "EUR",
) -> AccumulationLine:
    return AccumulationLine(
        buyer_id=buyer,
        buyer_name=f"Buyer {buyer}",
        group_id=group or buyer,
        group_name=f"Buyer {group or buyer}",
        country=country,
        sector=sector,
        policy_id=policy,
        policy_number=f"TC-{policy}",
        limit_amount=Money.of(limit, currency),
        covered_exposure_amount=Money.of(covered, currency),
    )


BOOK = [
    line("B1", 100_000, 60_000, group="B1"),
    line("B2", 50_000, 20_000, group="B1"),
    line("B3", 50_000, 20_000, country="DE", sector="C"),
    line("B1", 40_000, 0, group="B1", policy="P2"),
]


def by(dimension: Dimension, lines: list[AccumulationLine] | None = None) -> dict[str, tuple[str, str]]:
    [book] = totals(BOOK if lines is None else lines, dimension)
    return {
        c.key: (c.limit_amount.quantize_str(), c.covered_exposure_amount.quantize_str()) for c in book.concentrations
    }


def test_totals_per_dimension_sum_the_lines() -> None:
    assert by(Dimension.BUYER) == {
        "B1": ("140000.00", "60000.00"),
        "B2": ("50000.00", "20000.00"),
        "B3": ("50000.00", "20000.00"),
    }
    assert by(Dimension.GROUP) == {"B1": ("190000.00", "80000.00"), "B3": ("50000.00", "20000.00")}
    assert by(Dimension.COUNTRY) == {"FR": ("190000.00", "80000.00"), "DE": ("50000.00", "20000.00")}
    assert by(Dimension.SECTOR) == {"G": ("190000.00", "80000.00"), "C": ("50000.00", "20000.00")}
    assert by(Dimension.POLICY) == {"P1": ("200000.00", "100000.00"), "P2": ("40000.00", "0.00")}
    [book] = totals(BOOK, Dimension.BUYER)
    assert (book.total_limit_amount, book.total_covered_exposure_amount) == (eur(240_000), eur(100_000))


def test_shares_names_and_order() -> None:
    [book] = totals(BOOK, Dimension.BUYER)
    first, second, third = book.concentrations
    # Largest covered exposure first; B2 and B3 tie on both amounts: by key.
    assert [c.key for c in book.concentrations] == ["B1", "B2", "B3"]
    assert first.covered_exposure_share == Decimal("0.6")
    assert first.limit_share == Decimal(140) / Decimal(240)
    assert (first.name, first.lines) == ("Buyer B1", 2)
    assert second.covered_exposure_share == third.covered_exposure_share == Decimal("0.2")
    [policies] = totals(BOOK, Dimension.POLICY)
    assert [(c.key, c.name) for c in policies.concentrations] == [("P1", "TC-P1"), ("P2", "TC-P2")]


def test_top_n() -> None:
    [book] = totals(BOOK, Dimension.BUYER)
    assert [c.key for c in book.top(1)] == ["B1"]
    assert [c.key for c in book.top(10)] == ["B1", "B2", "B3"]
    assert book.top(0) == ()
    with pytest.raises(InvalidInput):
        book.top(-1)


def test_hhi_on_covered_exposure_and_on_limits() -> None:
    [buyers] = totals(BOOK, Dimension.BUYER)
    # Covered: 0.6² + 0.2² + 0.2² = 0.44; limits: (140² + 50² + 50²) / 240² = 24600 / 57600.
    assert buyers.hhi(Measure.COVERED_EXPOSURE) == Decimal("0.44")
    assert buyers.hhi_points(Measure.COVERED_EXPOSURE) == Decimal("4400")
    assert buyers.hhi(Measure.LIMIT) == Decimal(24600) / Decimal(57600)
    [countries] = totals(BOOK, Dimension.COUNTRY)
    assert countries.hhi(Measure.COVERED_EXPOSURE) == Decimal("0.68")  # 0.8² + 0.2²
    assert herfindahl([eur(5)]) == 1
    assert herfindahl([eur(1), eur(1), eur(1), eur(1)]) == Decimal("0.25")


def test_a_zero_total_has_no_shares_and_no_index() -> None:
    [book] = totals([line("B1", 10_000, 0), line("B2", 5_000, 0)], Dimension.BUYER)
    assert [c.covered_exposure_share for c in book.concentrations] == [None, None]
    assert book.hhi(Measure.COVERED_EXPOSURE) is None
    assert book.hhi_points(Measure.COVERED_EXPOSURE) is None
    # Ranked by limit when no exposure is covered.
    assert [c.key for c in book.concentrations] == ["B1", "B2"]
    assert totals([], Dimension.BUYER) == []


def test_currencies_are_never_mixed() -> None:
    lines = [*BOOK, line("U1", 30_000, 10_000, policy="P3", currency="USD", country="US")]
    eur_book, usd_book = totals(lines, Dimension.COUNTRY)
    assert (eur_book.currency, usd_book.currency) == ("EUR", "USD")
    assert eur_book.total_covered_exposure_amount == eur(100_000)
    assert usd_book.total_covered_exposure_amount == Money.of(10_000, "USD")
    assert usd_book.concentrations[0].covered_exposure_share == 1


def test_a_line_is_refused_when_inconsistent() -> None:
    with pytest.raises(InvalidInput) as caught:
        AccumulationLine("B", "B", "B", "B", "FR", "G", "P", "P", eur(1), Money.of(1, "USD"))
    assert caught.value.code == "accumulation.invalid_line"
    with pytest.raises(InvalidInput):
        line("B1", -1, 0)
    with pytest.raises(InvalidInput, match="twice"):
        totals([line("B1", 1, 1), line("B1", 2, 2)], Dimension.BUYER)


# --- Caps --------------------------------------------------------------------------------------------------------


def test_share_caps_and_their_breaches() -> None:
    caps = [Cap(Dimension.BUYER, max_share=Decimal("0.5"))]
    [book] = totals(BOOK, Dimension.BUYER)
    [breach] = breaches(book, caps)
    # B1 holds 60,000 of 100,000 covered: 10,000 above half.
    assert (breach.key, breach.name, breach.measure) == ("B1", "Buyer B1", Measure.COVERED_EXPOSURE)
    assert (breach.amount, breach.cap_amount, breach.excess) == (eur(60_000), eur(50_000), eur(10_000))
    assert breach.share == Decimal("0.6")
    # Exactly at the cap is not a breach.
    assert breaches(book, [Cap(Dimension.BUYER, max_share=Decimal("0.6"))]) == []


def test_amount_caps_on_limits_apply_to_their_currency_only() -> None:
    caps = [Cap(Dimension.GROUP, measure=Measure.LIMIT, max_amount=eur(150_000))]
    [book] = totals(BOOK, Dimension.GROUP)
    [breach] = breaches(book, caps)
    assert (breach.key, breach.amount, breach.excess) == ("B1", eur(190_000), eur(40_000))
    [usd] = totals([line("U1", 500_000, 0, currency="USD")], Dimension.GROUP)
    assert breaches(usd, caps) == []


def test_a_cap_naming_a_key_replaces_the_cap_on_every_key() -> None:
    caps = [
        Cap(Dimension.COUNTRY, max_share=Decimal("0.4")),
        Cap(Dimension.COUNTRY, "fr", max_share=Decimal("1")),  # the home market
        Cap(Dimension.COUNTRY, "FR", measure=Measure.LIMIT, max_amount=eur(100_000)),
    ]
    assert caps[1].key == "FR"
    [book] = totals(BOOK, Dimension.COUNTRY)
    found = breaches(book, caps)
    # FR: 80 % of covered exposure allowed (share cap replaced), but its limits 190,000 > 100,000.
    assert [(b.key, b.measure, b.excess) for b in found] == [("FR", Measure.LIMIT, eur(90_000))]
    assert applicable_caps(caps, Dimension.COUNTRY, "FR", "EUR") == [caps[1], caps[2]]
    assert applicable_caps(caps, Dimension.COUNTRY, "DE", "EUR") == [caps[0]]
    assert applicable_caps(caps, Dimension.COUNTRY, "DE", "USD") == [caps[0]]
    assert applicable_caps(caps, Dimension.BUYER, "B1", "EUR") == []


def test_breaches_come_largest_excess_first() -> None:
    caps = [Cap(Dimension.BUYER, max_share=Decimal("0.1"))]
    [book] = totals(BOOK, Dimension.BUYER)
    assert [(b.key, b.excess) for b in breaches(book, caps)] == [
        ("B1", eur(50_000)),
        ("B2", eur(10_000)),
        ("B3", eur(10_000)),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "either max_share or max_amount"),
        ({"max_share": Decimal("0.1"), "max_amount": eur(1)}, "either max_share or max_amount"),
        ({"max_share": Decimal(0)}, r"\(0, 1\]"),
        ({"max_share": Decimal("1.5")}, r"\(0, 1\]"),
        ({"max_share": Decimal("NaN")}, "decimal"),
        ({"max_amount": eur(-1)}, "negative"),
        ({"key": " ", "max_share": Decimal("0.1")}, "key"),
    ],
)
def test_a_bad_cap_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        Cap(Dimension.BUYER, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == "accumulation.invalid_caps"


def test_caps_are_parsed_from_json() -> None:
    text = json.dumps(
        [
            {"dimension": "country", "key": "*", "max_share": "0.25"},
            {
                "dimension": "sector",
                "key": "f",
                "measure": "limit",
                "max_amount": {"amount": "2000000", "currency": "EUR"},
            },
            {"dimension": "buyer", "max_share": 0.05},
        ]
    )
    country, sector, buyer = parse_caps(text)
    assert country == Cap(Dimension.COUNTRY, EVERY_KEY, Measure.COVERED_EXPOSURE, Decimal("0.25"))
    assert sector == Cap(Dimension.SECTOR, "F", Measure.LIMIT, max_amount=eur(2_000_000))
    assert buyer.max_share == Decimal("0.05")  # a JSON number, read exactly
    assert parse_caps("[]") == ()
    assert parse_caps(caps_to_json([country, sector, buyer])) == (country, sector, buyer)
    assert parse_caps(DEFAULT_CAPS_JSON) == DEFAULT_CAPS


def test_the_default_caps() -> None:
    shares = {(c.dimension, c.key): c.max_share for c in DEFAULT_CAPS}
    assert shares == {
        (Dimension.BUYER, "*"): Decimal("0.05"),
        (Dimension.GROUP, "*"): Decimal("0.10"),
        (Dimension.COUNTRY, "*"): Decimal("0.40"),
        (Dimension.COUNTRY, "FR"): Decimal("1"),
        (Dimension.SECTOR, "*"): Decimal("0.30"),
    }
    assert all(c.measure is Measure.COVERED_EXPOSURE for c in DEFAULT_CAPS)
    assert DEFAULT_CAPS[0].describe() == "covered_exposure ≤ 5% of the total"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"dimension": "buyer"}', "a JSON list"),
        ('["buyer"]', "cap 1: each cap is an object"),
        ('[{"dimension": "planet", "max_share": "0.1"}]', "cap 1: dimension must be one of buyer, group"),
        ('[{"dimension": "buyer", "measure": "premium", "max_share": "0.1"}]', "measure must be one of"),
        ('[{"dimension": "buyer", "max_share": "0.1", "colour": "red"}]', "unknown field.*colour"),
        ('[{"dimension": "buyer", "key": 3, "max_share": "0.1"}]', "key must be a string"),
        ('[{"dimension": "buyer", "max_share": "lots"}]', "not a number"),
        ('[{"dimension": "buyer", "max_share": true}]', "max_share must be a decimal"),
        ('[{"dimension": "buyer", "max_share": "2"}]', r"cap 1: .*\(0, 1\]"),
        ('[{"dimension": "buyer", "max_amount": "1000"}]', "max_amount is"),
        ('[{"dimension": "buyer", "max_amount": {"amount": "1", "currency": "XXX"}}]', "max_amount: unknown currency"),
        (
            '[{"dimension": "buyer", "max_share": "0.1"}, {"dimension": "buyer", "key": "*", "max_share": "0.2"}]',
            "two caps on buyer",
        ),
    ],
)
def test_bad_caps_json_is_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_caps(text)
    assert (caught.value.code, caught.value.field) == ("accumulation.invalid_caps", "accumulation_caps")


# --- Properties ----------------------------------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10**12)
lines_strategy = st.lists(
    st.tuples(
        st.sampled_from(["B1", "B2", "B3", "B4", "B5", "B6"]),
        st.sampled_from(["P1", "P2", "P3"]),
        st.sampled_from(["EUR", "USD"]),
        amounts,
        amounts,
    ),
    max_size=25,
    unique_by=lambda t: (t[0], t[1]),
).map(
    lambda items: [
        AccumulationLine(
            buyer_id=b,
            buyer_name=f"Buyer {b}",
            group_id="G" if b in ("B1", "B2") else b,
            group_name="Group",
            country={"B1": "FR", "B2": "FR", "B3": "DE"}.get(b, "IT"),
            sector={"B4": "F"}.get(b, "G"),
            policy_id=p,
            policy_number=p,
            limit_amount=Money.from_minor(limit, cur),
            covered_exposure_amount=Money.from_minor(covered, cur),
        )
        for b, p, cur, limit, covered in items
    ]
)


@settings(max_examples=150, deadline=None)
@given(lines=lines_strategy, dimension=st.sampled_from(list(Dimension)))
def test_totals_shares_and_hhi_properties(lines: list[AccumulationLine], dimension: Dimension) -> None:
    books = totals(lines, dimension)
    assert [b.currency for b in books] == sorted({line.currency for line in lines})
    for book in books:
        mine = [line for line in lines if line.currency == book.currency]
        for measure in Measure:
            # Totals are the exact sum of the lines, and of the keys.
            expected = sum_money((line.amount(measure) for line in mine), book.currency)
            assert book.total(measure) == expected
            assert sum_money((c.amount(measure) for c in book.concentrations), book.currency) == expected
            n = len(book.concentrations)
            hhi = book.hhi(measure)
            if not expected.is_positive():
                assert hhi is None
                assert all(c.share(measure) is None for c in book.concentrations)
                continue
            shares = [c.share(measure) for c in book.concentrations]
            known = [s for s in shares if s is not None]
            assert len(known) == len(shares)
            assert all(0 <= s <= 1 for s in known)
            assert abs(sum(known, Decimal(0)) - 1) < Decimal("1e-24")
            assert hhi is not None
            assert Decimal(1) / Decimal(n) <= hhi <= 1
        assert len({c.key for c in book.concentrations}) == len(book.concentrations)
        amounts_in_order = [(c.covered_exposure_amount, c.limit_amount) for c in book.concentrations]
        assert amounts_in_order == sorted(amounts_in_order, key=lambda a: (-a[0].amount, -a[1].amount))


@settings(max_examples=100, deadline=None)
@given(lines=lines_strategy, share=st.integers(min_value=1, max_value=100).map(lambda n: Decimal(n) / 100))
def test_a_key_breaches_a_share_cap_exactly_when_its_share_is_above_it(
    lines: list[AccumulationLine], share: Decimal
) -> None:
    cap = Cap(Dimension.BUYER, max_share=share)
    for book in totals(lines, Dimension.BUYER):
        breached = {b.key for b in breaches(book, [cap])}
        total = book.total_covered_exposure_amount
        assert breached == {c.key for c in book.concentrations if c.covered_exposure_amount > total * share}
        assert all(b.excess.is_positive() for b in breaches(book, [cap]))
