"""``tradecover portfolio``, in process through Typer's runner: accumulation (table, JSON, CSV) and the live book.

The API world with its receivables (see ``test_portfolio_api.py``): two French buyers, each with a 50,000
limit and 500.00 covered, graded 4 (PD 0.003); the command line's clock is the test clock (2026-03-15).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from api_world import World, add_receivables, build_world
from typer.testing import CliRunner, Result

from tradecover.bootstrap import Container, build
from tradecover.cli import main as cli_main
from tradecover.cli import portfolio as cli_portfolio
from tradecover.cli.main import app
from tradecover.domain.periods import FixedClock

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BOX = re.compile(r"[\u2500-\u257f]")  # a table's borders


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, database_url: str, clock: FixedClock, container: Container) -> World:
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    monkeypatch.delenv("TRADECOVER_ACCUMULATION_CAPS", raising=False)
    monkeypatch.setattr(cli_main, "build", lambda settings=None: build(settings, clock=clock))
    for console in (cli_main.console, cli_main.errors, cli_portfolio.console, cli_portfolio.errors):
        monkeypatch.setattr(console, "_width", 200)
    return add_receivables(container, build_world(container))


def run(*args: str | Path, code: int = 0) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def run_json(*args: str | Path) -> Any:
    return json.loads(run(*args, "--json").stdout)


def shown(result: Result) -> str:
    return " ".join(BOX.sub(" ", ANSI.sub("", result.output)).split())


def test_accumulation_table_with_breaches_exits_0(world: World) -> None:
    text = shown(run("portfolio", "accumulation", "--as-of", "2026-03-15"))
    assert "Accumulation per buyer on 2026-03-15 (EUR): top 2 of 2" in text
    assert "Buyer of A" in text
    assert "Buyer of B" in text
    assert "50000.00 500.00 50.00 % 50.00 %" in text
    assert "TOTAL 100000.00 1000.00" in text
    assert "HHI (points, 0..10000): covered exposure 5000.00, limits 5000.00" in text
    # The default caps: each buyer (and its own group) holds 50 % of the covered exposure (caps 5 % and 10 %),
    # the unknown sector 100 % (cap 30 %); France may hold it all.
    assert "5 cap(s) breached" in text
    assert "country" not in text
    assert "buyer Buyer of A" in text
    assert "500.00 EUR > 50.00 EUR (covered_exposure ≤ 5% of the total), excess 450.00 EUR" in text


def test_accumulation_by_country_as_json_and_csv(world: World, tmp_path: Path) -> None:
    out = tmp_path / "countries.csv"
    data = run_json("portfolio", "accumulation", "--by", "country", "--top", "1", "--csv", out)
    assert (data["dimension"], data["top"], data["as_of"]) == ("country", 1, "2026-03-15")
    [book] = data["books"]
    assert [(t["key"], t["covered_exposure"]["amount"], t["breached"]) for t in book["top"]] == [
        ("FR", "1000.00", False)
    ]
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["dimension", "key", "name"]
    assert rows[1] == [
        "country",
        "FR",
        "FR",
        "100000.00",
        "1000.00",
        "EUR",
        "1.000000",
        "covered_exposure ≤ 100% of the total = 1000.00",
        "",
    ]
    assert "every country written to" in shown(run("portfolio", "accumulation", "--by", "country", "--csv", out))


def test_the_live_book_file(world: World, tmp_path: Path) -> None:
    out = tmp_path / "book.csv"
    summary = run_json("portfolio", "book", "--out", out, "--as-of", "2026-03-15", "--lgd", "0.5")
    assert summary == {
        "as_of": "2026-03-15",
        "currency": "EUR",
        "obligors": 2,
        "total_ead": {"amount": "1000.00", "currency": "EUR"},
        "expected_loss": {"amount": "1.50", "currency": "EUR"},
        "out": str(out),
    }
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "obligor_id,ead,pd,lgd,sector,country"
    assert sorted(lines[1:]) == sorted(f"{b},500.00,0.003,0.5,?,FR" for b in (world.buyer_a, world.buyer_b))
    text = shown(run("portfolio", "book", "--out", out))
    assert "2 obligors on 2026-03-15 written to" in text
    assert "expected loss Σ EAD × PD × LGD 1.80 EUR" in text  # LGD 0.60 by default
    assert out.read_text(encoding="utf-8").splitlines()[1].endswith(",500.00,0.003,0.60,?,FR")


def test_help_states_the_exit_code(world: World) -> None:
    text = shown(run("portfolio", "accumulation", "--help"))
    assert "the exit code is 0 with or without them" in text
    assert "--by" in text
    assert "--csv" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("accumulation", "--as-of", "15/03/2026"), "cli.bad_date"),
        (("accumulation", "--as", "insured_user@example.fr"), "auth.forbidden"),
        (("accumulation", "--as", "broker_user@example.fr"), "auth.forbidden"),
        (("book", "--out", "{tmp}/b.csv", "--lgd", "1.2"), "portfolio.invalid_lgd"),
        (("book", "--out", "{tmp}/b.csv", "--lgd", "lots"), "cli.bad_decimal"),
        (("book", "--out", "{tmp}/b.csv", "--currency", "USD"), "portfolio.no_exchange_rate"),
        (("book", "--out", "{tmp}/missing/dir/b.csv"), "cli.cannot_write"),
    ],
)
def test_errors_exit_1(world: World, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run("portfolio", *(a.format(tmp=tmp_path) for a in args), code=1)
    assert message in shown(result)


def test_bad_caps_setting_exits_1(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADECOVER_ACCUMULATION_CAPS", '[{"dimension": "planet", "max_share": "0.1"}]')
    text = shown(run("portfolio", "accumulation", code=1))
    assert "configuration error" in text
    assert "TRADECOVER_ACCUMULATION_CAPS: cap 1: dimension must be one of" in text
    monkeypatch.setenv("TRADECOVER_ACCUMULATION_CAPS", "[]")
    assert "cap(s) breached" not in shown(run("portfolio", "accumulation"))
