"""The numpydoc examples of the portfolio risk engine run and give what they show."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import tradecover.risk.asrf
import tradecover.risk.creditriskplus
import tradecover.risk.portfolio_loss


@pytest.mark.parametrize(
    "module",
    [tradecover.risk.asrf, tradecover.risk.creditriskplus, tradecover.risk.portfolio_loss],
    ids=lambda m: m.__name__,
)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
