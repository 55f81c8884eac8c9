"""The synthetic book: reproducible, realistic in shape, fast enough for million-obligor benchmarks."""

from __future__ import annotations

import numpy as np
import pytest

from tradecover.domain.grades import DEFAULT_PD_BY_GRADE
from tradecover.risk.book_generator import COUNTRIES, generate_book


def test_same_seed_same_book_other_seed_other_book() -> None:
    book, again, other = generate_book(5_000, seed=1), generate_book(5_000, seed=1), generate_book(5_000, seed=2)
    assert book.obligor_id == again.obligor_id
    for name in ("ead", "pd", "lgd", "sector", "country"):
        np.testing.assert_array_equal(getattr(book, name), getattr(again, name))
        assert not np.array_equal(getattr(book, name), getattr(other, name)), name
    assert (book.sectors, book.countries) == (again.sectors, again.countries)


def test_sizes_and_identifiers() -> None:
    book = generate_book(1_234, n_sectors=5, n_countries=3)
    assert book.size == 1_234
    assert all(len(getattr(book, name)) == 1_234 for name in ("ead", "pd", "lgd", "sector", "country"))
    assert book.obligor_id[:2] == ("B0000001", "B0000002")
    assert book.obligor_id[-1] == "B0001234"
    assert len(set(book.obligor_id)) == book.size
    assert book.sectors == ("S01", "S02", "S03", "S04", "S05")
    assert book.countries == ("DE", "FR", "IT")
    assert book.sector.dtype == np.int64
    assert book.country.dtype == np.int64


def test_values_lie_in_their_ranges_and_look_like_a_trade_credit_book() -> None:
    book = generate_book(200_000, seed=5)
    assert book.ead.dtype == np.float64
    assert book.ead.min() >= 1_000
    assert book.ead.max() <= 5_000_000
    assert 40_000 < book.ead.mean() < 60_000
    assert 15_000 < float(np.median(book.ead)) < 35_000
    assert (book.ead > 1_000_000).sum() > 50  # a heavy tail of big buyers
    grade_pds = {float(pd) for grade, pd in DEFAULT_PD_BY_GRADE.items() if grade < 10}
    assert set(np.unique(book.pd).tolist()) == grade_pds
    assert np.mean(book.pd <= 0.006) > 0.6  # mostly good grades
    assert 0.005 < book.pd.mean() < 0.03
    assert set(np.unique(book.lgd).tolist()) == {0.45, 0.6, 0.75}
    assert 0.5 < book.lgd.mean() < 0.7


def test_every_sector_and_country_appears_with_uneven_sizes() -> None:
    book = generate_book(100_000, seed=9)
    assert book.sectors == tuple(f"S{k:02d}" for k in range(1, 21))
    assert book.countries == tuple(sorted(code for code, _ in COUNTRIES))
    sector_sizes = np.bincount(book.sector, minlength=20)
    assert sector_sizes.min() > 0
    assert sector_sizes[0] == sector_sizes.max()
    assert sector_sizes.max() > 3 * sector_sizes.min()
    country_sizes = dict(zip(book.countries, np.bincount(book.country).tolist(), strict=True))
    assert max(country_sizes, key=country_sizes.__getitem__) == "FR"
    assert 0.35 < country_sizes["FR"] / book.size < 0.45


def test_a_small_book_lists_only_the_sectors_it_uses() -> None:
    book = generate_book(3, n_sectors=50, seed=4)
    assert 1 <= len(book.sectors) <= 3
    assert sorted(book.sectors) == list(book.sectors)
    assert book.sector.max() < len(book.sectors)
    assert set(np.unique(book.sector).tolist()) == set(range(len(book.sectors)))


@pytest.mark.parametrize(
    "arguments",
    [
        {"n_obligors": 0},
        {"n_obligors": 10, "n_sectors": 0},
        {"n_obligors": 10, "n_sectors": 100},
        {"n_obligors": 10, "n_countries": 0},
        {"n_obligors": 10, "n_countries": 11},
    ],
)
def test_bad_sizes_are_refused(arguments: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        generate_book(**arguments)
