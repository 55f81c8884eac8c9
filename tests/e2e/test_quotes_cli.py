"""``tradecover quotes``, in process through Typer's runner: apply from a YAML file, show, revise, issue."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_world import World, build_world, quote_application
from sqlalchemy import text
from typer.testing import CliRunner, Result

from tradecover.bootstrap import Container, build
from tradecover.cli import main as cli_main
from tradecover.cli import quotes as cli_quotes
from tradecover.cli.main import app
from tradecover.domain.periods import FixedClock

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, database_url: str, clock: FixedClock, container: Container) -> World:
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    monkeypatch.setattr(cli_main, "build", lambda settings=None: build(settings, clock=clock))
    for console in (cli_main.console, cli_main.errors, cli_quotes.console, cli_quotes.errors):
        monkeypatch.setattr(console, "_width", 200)
    return build_world(container)


def run(*args: str | Path, code: int = 0) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def run_json(*args: str | Path) -> Any:
    return json.loads(run(*args, "--json").stdout)


def shown(result: Result) -> str:
    return " ".join(ANSI.sub("", result.output).split())


def test_apply_show_revise_issue_from_the_command_line(world: World, tmp_path: Path, container: Container) -> None:
    # YAML with bare amounts in the application's currency; the policyholder named in the file.
    data = quote_application()
    data["policyholder"] = "Insured A SAS"
    data["turnover"] = {"domestic": "1200000", "export": "500000.00"}
    path = tmp_path / "application.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    quote = run_json("quotes", "request", path)
    assert (quote["reference"], quote["status"]) == ("QUO-2026-000001", "proposed")
    assert quote["expected_premium"] == {"amount": "10200.00", "currency": "EUR"}
    assert "Expected loss EL" in shown(run("quotes", "show", "quo-2026-000001"))

    revised = run_json(
        "quotes", "revise", quote["reference"], "--reason", "counter-offer",
        "--set", "premium_rates.export_rate=0.0075", "--set", "waiting_period_days=120",
    )  # fmt: skip
    assert revised["version"] == 2
    assert revised["versions"][-1]["terms"]["premium_rates"]["export_rate"] == "0.0075"
    assert revised["versions"][-1]["terms"]["waiting_period_days"] == 120

    issued = run_json("quotes", "issue", quote["id"], "--start-date", "2026-04-01", "--version", "2")
    assert issued["status"] == "issued"
    assert issued["policy"]["number"].startswith("TC-2026-")
    again = run("quotes", "issue", quote["id"], "--start-date", "2026-04-01", code=1)
    assert "quote.already_issued" in shown(again)
    assert [q["status"] for q in run_json("quotes", "list")["items"]] == ["issued"]

    # Bad input: the code and the field, exit 1, nothing written.
    data["turnover"] = {"domestic": "-5", "export": "10"}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    refused = shown(run("quotes", "request", path, code=1))
    assert "quote.negative_turnover" in refused
    assert "turnover.domestic" in refused
    with container.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM quotes")).scalar_one() == 1


def test_a_referred_quote_shows_why_and_is_issued_once_revised(world: World, tmp_path: Path) -> None:
    data = quote_application()
    data["policyholder"] = "Insured A SAS"
    buyers: list[Any] = data["buyers"]  # type: ignore[assignment]
    data["buyers"] = [*buyers, {"name": "Failing BV", "country": "NL", "outstanding": "250000", "risk_grade": 9}]
    path = tmp_path / "application.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    quote = run_json("quotes", "request", path)
    assert quote["referral_reasons"] == ["buyers_not_coverable"]
    assert quote["versions"][0]["referral_reasons"] == ["buyers_not_coverable"]
    text = shown(run("quotes", "show", quote["reference"]))
    assert "not coverable (grade ≥ 9)" in text
    assert "referred to an underwriter: buyers_not_coverable — revise it before it is issued" in text
    assert run_json("quotes", "list")["items"][0]["referral_reasons"] == ["buyers_not_coverable"]
    refused = shown(run("quotes", "issue", quote["reference"], "--start-date", "2026-04-01", code=1))
    assert "quote.referral_unresolved" in refused
    run("quotes", "revise", quote["reference"], "--reason", "book reviewed", "--set", "indemnity_rate=0.80")
    out_of_range = shown(run("quotes", "issue", quote["reference"], "--start-date", "2028-01-01", code=1))
    assert "quote.start_date_out_of_range" in out_of_range
    issued = run_json("quotes", "issue", quote["reference"], "--start-date", "2026-04-01", "--version", "2")
    assert issued["status"] == "issued"
