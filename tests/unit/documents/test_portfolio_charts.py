"""Charts of the loss model's result: PNG of the stated size, the same bytes for the same result, no metadata."""

from __future__ import annotations

import struct
from dataclasses import replace

import numpy as np
import pytest

from tradecover.documents.portfolio_charts import DPI, HEIGHT_INCHES, WIDTH_INCHES, contributions_png
from tradecover.documents.portfolio_charts import loss_distribution_png as distribution_png
from tradecover.risk.book_generator import generate_book
from tradecover.risk.portfolio_book import PortfolioBook
from tradecover.risk.portfolio_loss import PortfolioLossModel, PortfolioLossResult
from tradecover.risk.reinsurance import Reinsurance

SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def monte_carlo() -> PortfolioLossResult:
    book = generate_book(1500, seed=4, n_sectors=30)
    model = PortfolioLossModel(
        n_scenarios=2000, seed=4, chunk_size=1000, reinsurance=Reinsurance(quota_share_rate=0.4, xol_retention=1e5)
    )
    return model.fit(book).result_


@pytest.fixture(scope="module")
def analytic() -> PortfolioLossResult:
    return PortfolioLossModel(model="creditriskplus").fit(generate_book(1500, seed=4)).result_


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png.startswith(SIGNATURE)
    out, i = [], len(SIGNATURE)
    while i < len(png):
        (size,) = struct.unpack(">I", png[i : i + 4])
        out.append((png[i + 4 : i + 8], png[i + 8 : i + 8 + size]))
        i += 12 + size
    return out


def dimensions(png: bytes) -> tuple[int, int]:
    kind, data = chunks(png)[0]
    assert kind == b"IHDR"
    width, height = struct.unpack(">II", data[:8])
    return width, height


EXPECTED_SIZE = (int(WIDTH_INCHES * DPI), int(HEIGHT_INCHES * DPI))


@pytest.mark.parametrize("draw", [distribution_png, contributions_png])
def test_charts_are_pngs_of_the_stated_size_without_metadata(monte_carlo: PortfolioLossResult, draw: object) -> None:
    png = draw(monte_carlo)  # type: ignore[operator]
    assert png.startswith(SIGNATURE)
    assert dimensions(png) == EXPECTED_SIZE
    kinds = [kind for kind, _ in chunks(png)]
    assert kinds[-1] == b"IEND"
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(kinds)  # no software version, no date
    assert 10_000 < len(png) < 500_000


def test_the_same_result_gives_the_same_bytes(monte_carlo: PortfolioLossResult, analytic: PortfolioLossResult) -> None:
    for result in (monte_carlo, analytic):
        assert distribution_png(result) == distribution_png(result)
        assert contributions_png(result) == contributions_png(result)
    assert distribution_png(monte_carlo) != distribution_png(analytic)


def test_net_marks_are_drawn_when_the_result_has_net_figures(monte_carlo: PortfolioLossResult) -> None:
    assert monte_carlo.net is not None
    assert distribution_png(monte_carlo) != distribution_png(replace(monte_carlo, net=None))


def test_contributions_chart_sums_the_sectors_beyond_top(monte_carlo: PortfolioLossResult) -> None:
    assert len(monte_carlo.sector_contributions) == 30
    few, many = contributions_png(monte_carlo, top=5), contributions_png(monte_carlo, top=40)
    assert few != many
    assert dimensions(few) == dimensions(many) == EXPECTED_SIZE
    with pytest.raises(ValueError, match="top must be at least 1"):
        contributions_png(monte_carlo, top=0)


def test_a_book_that_cannot_lose_still_draws() -> None:
    book = PortfolioBook.from_rows(["B1", "B2"], [100.0, 200.0], [0.0, 0.0], [0.5, 0.5], ["S", "S"], ["FR", "DE"])
    result = PortfolioLossModel(n_scenarios=200, seed=1).fit(book).result_
    assert float(np.max(result.loss_values)) == 0.0
    assert dimensions(distribution_png(result)) == EXPECTED_SIZE
    assert dimensions(contributions_png(result)) == EXPECTED_SIZE
