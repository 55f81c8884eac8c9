"""``tradecover portfolio loss`` and ``generate-book``, in process through Typer's runner.

Books from the generator, written as CSV and Parquet; a few thousand scenarios, so the figures are rough
but the plumbing is all there: tables, JSON, charts, stress and reinsurance, errors named by line and column.
The ``--live`` case reads the API world's live book (two buyers, see ``test_portfolio_cli.py``).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_world import World, add_receivables, build_world
from typer.testing import CliRunner, Result

from tradecover.bootstrap import Container, build
from tradecover.cli import main as cli_main
from tradecover.cli import portfolio_loss as cli_loss
from tradecover.cli.main import app
from tradecover.domain.periods import FixedClock
from tradecover.ingest.portfolio_book import read_book, write_book
from tradecover.risk.book_generator import generate_book

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BOX = re.compile(r"[\u2500-\u257f]")
PNG = b"\x89PNG\r\n\x1a\n"
FAST = ("--scenarios", "2000", "--chunk-size", "1000", "--seed", "7")


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    for console in (cli_main.console, cli_main.errors, cli_loss.console, cli_loss.errors):
        monkeypatch.setattr(console, "_width", 200)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("books")
    book = generate_book(2000, seed=11, n_sectors=8, n_countries=4)
    paths = {"csv": folder / "book.csv", "parquet": folder / "book.parquet"}
    for path in paths.values():
        write_book(book, path)
    return paths


def run(*args: str | Path, code: int = 0) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def run_json(*args: str | Path) -> Any:
    return json.loads(run(*args, "--json").stdout)


def shown(text: str) -> str:
    return " ".join(BOX.sub(" ", ANSI.sub("", text)).split())


def amount(text: str) -> Decimal:
    return Decimal(text)


def test_a_csv_book_as_json_then_as_tables(books: dict[str, Path]) -> None:
    levels = ("--levels", "0.995, 0.99")
    data = run_json("portfolio", "loss", "--book", books["csv"], *FAST, "--top", "3", *levels)
    assert (data["model"], data["obligors"], data["scenarios"], data["seed"]) == ("mc", 2000, 2000, 7)
    assert data["net"] is None
    assert [m["level"] for m in data["gross"]["measures"]] == ["0.99", "0.995"]
    for m in data["gross"]["measures"]:
        assert 0 < amount(m["var"]) <= amount(m["tvar"])
    # the expected-shortfall allocation adds up to TVaR 99.5 %
    tvar = amount(data["gross"]["measures"][1]["tvar"])
    assert abs(amount(data["contributions"]["total"]) - tvar) <= Decimal("0.02")
    assert abs(sum(map(amount, data["contributions"]["sectors"].values())) - tvar) < Decimal("0.1")
    assert len(data["contributions"]["top_obligors"]) == 3
    expected_loss = amount(data["gross"]["expected_loss"])
    assert abs(expected_loss - amount(data["analytic_expected_loss"])) < 5 * amount(data["gross"]["expected_loss_se"])

    result = run("portfolio", "loss", "--book", books["csv"], *FAST, "--top", "3", *levels)
    text = shown(result.stdout)
    assert "2,000 obligors" in text
    assert "Monte Carlo, 2,000 scenarios, seed 7, importance sampling on" in text
    var = Decimal(data["gross"]["measures"][1]["var"])
    assert f"VaR 99.5 % {var:,.2f} ±" in text
    assert "TVaR 99 %" in text
    assert "VaR 99.9 %" not in text
    assert "Top 3 obligors by contribution to TVaR 99.5 %" in text
    assert data["contributions"]["top_obligors"][0]["obligor_id"] in text


def test_parquet_gives_the_same_figures_and_the_charts_are_pngs(books: dict[str, Path], tmp_path: Path) -> None:
    from_csv = run_json("portfolio", "loss", "--book", books["csv"], *FAST, "--model", "creditriskplus")
    distribution, contributions = tmp_path / "distribution.png", tmp_path / "contributions.png"
    args = ("--plot-distribution", distribution, "--plot-contributions", contributions)
    from_parquet = run_json("portfolio", "loss", "--book", books["parquet"], *FAST, "--model", "creditriskplus", *args)
    assert from_parquet == from_csv
    assert (from_csv["model"], from_csv["scenarios"]) == ("creditriskplus", 0)
    assert distribution.read_bytes().startswith(PNG)
    assert contributions.read_bytes().startswith(PNG)
    text = shown(run("portfolio", "loss", "--book", books["parquet"], "--model", "creditriskplus", *args).stdout)
    assert "CreditRisk+ (analytic)" in text
    assert f"chart written to {distribution}" in text


def test_a_scenario_file_stresses_the_book_and_reinsurance_gives_net_figures(
    books: dict[str, Path], tmp_path: Path
) -> None:
    scenario = tmp_path / "recession.yaml"
    scenario.write_text(
        "stress:\n"
        "  sector_pd_multipliers: {S01: 2}\n"
        "  country_pd_multipliers: {FR: 1.5}\n"
        "  factor_correlation_shift: 0.2\n"
        "reinsurance:\n"
        "  quota_share_rate: 0.3\n"
        "  xol_retention: 100000\n"
        "  stop_loss_attachment: 2000000\n"
        "  stop_loss_limit: 1000000\n",
        encoding="utf-8",
    )
    base = run_json("portfolio", "loss", "--book", books["csv"], *FAST)
    data = run_json("portfolio", "loss", "--book", books["csv"], *FAST, "--scenario-file", scenario)
    assert data["stress"] == "recession"
    assert amount(data["analytic_expected_loss"]) > amount(base["analytic_expected_loss"])
    gross, net = data["gross"], data["net"]
    assert amount(net["expected_loss"]) < amount(gross["expected_loss"])
    for g, n in zip(gross["measures"], net["measures"], strict=True):
        assert amount(n["var"]) < amount(g["var"])
        assert amount(n["tvar"]) < amount(g["tvar"])
    text = shown(run("portfolio", "loss", "--book", books["csv"], *FAST, "--scenario-file", scenario).stdout)
    assert "stress 'recession'" in text
    assert "gross net of reinsurance" in text


def test_a_bad_book_names_its_line_and_column(tmp_path: Path) -> None:
    book = tmp_path / "book.csv"
    book.write_text("obligor_id,ead,pd,lgd,sector,country\nB1,1000,0.02,0.45,S01,FR\nB2,1000,1.3,0.45,S01,FR\n")
    result = run("portfolio", "loss", "--book", book, *FAST, code=1)
    assert "book.csv line 3, column pd: 1.3 is outside [0, 1]" in shown(result.stderr)
    assert "Traceback" not in result.output
    missing = run("portfolio", "loss", "--book", tmp_path / "nothing.parquet", code=1)
    assert "nothing.parquet: no such file" in shown(missing.stderr)


def matrix_csv(path: Path, names: list[str], rows: list[list[float]]) -> Path:
    lines = ["factor," + ",".join(names)]
    lines += [f"{name}," + ",".join(str(rows[i][j]) for j in range(len(names))) for i, name in enumerate(names)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_bad_correlation_file_names_its_row_and_column(books: dict[str, Path], tmp_path: Path) -> None:
    book = read_book(books["csv"])
    names = [f"sector:{s}" for s in book.sectors] + [f"country:{c}" for c in book.countries]
    rows = [[1.0 if i == j else 0.3 for j in range(len(names))] for i in range(len(names))]
    rows[2][5] = 0.7  # no longer symmetric
    correlation = matrix_csv(tmp_path / "corr.csv", names, rows)
    result = run("portfolio", "loss", "--book", books["csv"], *FAST, "--correlation", correlation, code=1)
    assert f"corr.csv line 4, column {names[5]}: 0.7 differs from its mirror 0.3" in shown(result.stderr)

    rows[2][5] = 0.3  # symmetric again: the matrix is used
    matrix_csv(correlation, names, rows)
    data = run_json("portfolio", "loss", "--book", books["csv"], *FAST, "--correlation", correlation)
    assert data["obligors"] == 2000

    matrix_csv(correlation, names[:-1], rows)  # a country of the book left out
    result = run("portfolio", "loss", "--book", books["csv"], *FAST, "--correlation", correlation, code=1)
    assert f"column country: country {names[-1][8:]!r} has no factor {names[-1]!r}" in shown(result.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a book: --book FILE or --live (one of them)"),
        (("--book", "x.csv", "--live"), "give a book: --book FILE or --live"),
        (("--book", "x.csv", "--levels", "0.99,99.5"), "--levels 99.5 must lie strictly between 0 and 1"),
        (
            ("--book", "x.csv", "--model", "vasicek"),
            "model must be one of mc, creditriskplus, not 'vasicek' (option --model)",
        ),
        (("--book", "x.csv", "--scenarios", "10"), "scenarios 10 must be an integer ≥ 100 (option --scenarios)"),
        (("--book", "x.csv", "--asset-correlation", "high"), "--asset-correlation 'high': give 'basel' or a number"),
        (("--book", "x.csv", "--scenario-file", "s.yaml"), "s.yaml: no such file"),
    ],
)
def test_bad_options_exit_1_with_a_message(args: tuple[str, ...], message: str) -> None:
    result = run("portfolio", "loss", *args, code=1)
    assert message in shown(result.stderr)


def test_a_stress_on_a_sector_the_book_lacks_is_refused(books: dict[str, Path], tmp_path: Path) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"stress": {"name": "mining", "sector_pd_multipliers": {"B": 3}}}))
    result = run("portfolio", "loss", "--book", books["csv"], *FAST, "--scenario-file", scenario, code=1)
    assert "stress 'mining' names sector 'B', which the book does not have (option --scenario-file)" in shown(
        result.stderr
    )


def test_generate_book_writes_a_book_the_loss_command_reads(tmp_path: Path) -> None:
    out = tmp_path / "big.parquet"
    data = run_json("portfolio", "generate-book", "--obligors", "1500", "--out", out, "--seed", "3", "--sectors", "5")
    assert (data["obligors"], data["sectors"], data["out"]) == (1500, 5, str(out))
    book = read_book(out)
    assert book.size == 1500
    assert Decimal(data["total_ead"]) == Decimal(f"{book.ead.sum():.2f}")
    text = shown(run("portfolio", "generate-book", "--obligors", "10", "--out", tmp_path / "small.csv").stdout)
    assert "10 obligors (" in text
    assert read_book(tmp_path / "small.csv").size == 10
    refused = run("portfolio", "generate-book", "--obligors", "10", "--out", tmp_path / "book.xlsx", code=1)
    assert "unknown book format '.xlsx'" in shown(refused.stderr)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, database_url: str, clock: FixedClock, container: Container) -> World:
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    monkeypatch.setattr(cli_main, "build", lambda settings=None: build(settings, clock=clock))
    return add_receivables(container, build_world(container))


def test_the_live_book_from_the_database(world: World, tmp_path: Path) -> None:
    data = run_json("portfolio", "loss", "--live", "--as-of", "2026-03-15", "--lgd", "0.5", *FAST)
    # two buyers, 500.00 covered each, PD 0.003, LGD 0.5
    assert (data["obligors"], data["total_ead"], data["analytic_expected_loss"]) == (2, "1000.00", "1.50")
    assert {o["obligor_id"] for o in data["contributions"]["top_obligors"]} == {world.buyer_a, world.buyer_b}
    plot = tmp_path / "live.png"
    text = shown(run("portfolio", "loss", "--live", *FAST, "--plot-distribution", plot).stdout)
    assert "2 obligors, total EAD 1,000.00" in text
    assert plot.read_bytes().startswith(PNG)
    refused = run("portfolio", "loss", "--live", "--as", "nobody@example.fr", *FAST, code=1)
    assert "no user with e-mail nobody@example.fr" in shown(refused.stderr)
    bad_lgd = run("portfolio", "loss", "--live", "--lgd", "60", *FAST, code=1)
    assert "--lgd 60: a loss given default lies in [0, 1]" in shown(bad_lgd.stderr)
