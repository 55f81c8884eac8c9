"""Languages, amounts, rates and dates as each locale writes them; the chart's bar lengths."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tradecover.domain.money import Money
from tradecover.services.portal import BuyerLine, ExposureTotals
from tradecover.web.charts import bar_rows
from tradecover.web.i18n import Formats, choose_language


@pytest.mark.parametrize(
    ("requested", "remembered", "chosen"),
    [(None, None, "fr"), ("en", None, "en"), (None, "en", "en"), ("fr", "en", "fr"), ("de", "en", "en"),
     ("EN ", None, "en"), ("", "xx", "fr")],
)  # fmt: skip
def test_the_language_is_asked_then_remembered_then_french(
    requested: str | None, remembered: str | None, chosen: str
) -> None:
    assert choose_language(requested, remembered) == chosen


def test_amounts_in_each_locale() -> None:
    amount = Money.of("1234567.89", "EUR")
    assert Formats("fr").money(amount) == "1\u202f234\u202f567,89\xa0€"
    assert Formats("en").money(amount) == "€1,234,567.89"
    assert Formats("fr").money(Money.of("12.5", "USD")) == "12,50\xa0$US"
    assert Formats("fr").money(None) == "—"


def test_rates_keep_one_decimal() -> None:
    assert Formats("fr").percent(Decimal("0.44")) == "44,0\xa0%"
    assert Formats("en").percent(Decimal("1.11944")) == "111.9%"
    assert Formats("en").percent(None) == "—"


def test_dates_in_each_locale() -> None:
    day = date(2026, 3, 15)
    assert Formats("fr").date(day, "long") == "15 mars 2026"
    assert Formats("en").date(day, "long") == "15 March 2026"


def line(name: str, outstanding: str, limit: str) -> BuyerLine:
    out, lim = Money.of(outstanding, "EUR"), Money.of(limit, "EUR")
    rate = (out.amount / lim.amount) if lim.is_positive() else None
    return BuyerLine(name, name, out, out, Money.zero("EUR"), lim, rate)


def test_bars_share_one_scale() -> None:
    rows = bar_rows([line("a", "150", "100"), line("b", "30", "60"), line("c", "0", "0")])
    assert [(r.outstanding_width, r.limit_width) for r in rows] == [("100.00", "66.67"), ("20.00", "40.00"), ("0", "0")]
    assert rows[0].line.over_limit
    assert not rows[1].line.over_limit
    assert bar_rows([]) == []


def test_totals_count_utilisation_over_the_buyers_with_a_limit() -> None:
    totals = ExposureTotals.of("EUR", [line("a", "150", "100"), line("b", "30", "60"), line("c", "40", "0")])
    assert totals.outstanding == Money.of("220", "EUR")
    assert totals.limit_in_force == Money.of("160", "EUR")
    assert totals.utilisation_rate == Decimal("1.1250")  # (150 + 30) / (100 + 60)
    assert (totals + totals).utilisation_rate == Decimal("1.1250")
    assert ExposureTotals.of("EUR", [line("c", "40", "0")]).utilisation_rate is None
