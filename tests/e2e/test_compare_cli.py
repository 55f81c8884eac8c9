"""``tradecover compare``: three offers on the demo insured's two-year ledger, each equal to its scenario alone."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tradecover.bootstrap import Container, build
from tradecover.cli import main as cli_main
from tradecover.cli.main import app
from tradecover.domain.parties import OrganisationKind
from tradecover.domain.periods import FixedClock
from tradecover.ingest.ledger_formats import parse_ledger_file
from tradecover.services import accounts, policies
from tradecover.services.authorization import system_actor
from tradecover.services.ledger_import import import_ledger

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compare"
PNG = b"\x89PNG\r\n\x1a\n"


def test_three_offers_compared_and_each_equal_to_its_scenario_replayed_alone(tmp_path: Path) -> None:
    runner = CliRunner()
    scenarios = tmp_path / "scenarios"
    chart = tmp_path / "comparison.png"
    args = ["compare", str(EXAMPLE / "offers.yaml"), "--ledger", str(EXAMPLE / "ledger.csv"), "--json"]
    result = runner.invoke(app, [*args, "--scenarios", str(scenarios), "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["period"] == {"start": "2025-01-01", "end": "2026-12-31", "years": [2025, 2026]}
    offers = {o["insurer"]: o for o in document["offers"]}
    assert list(offers) == ["Assureur Alpha", "Beta Crédit", "Gamma Garantie"]
    assert chart.read_bytes().startswith(PNG)
    for offer in offers.values():
        # net cost = premium + fees − indemnities, per year and in total; the worst year is the dearest
        for year in offer["years"]:
            assert Decimal(year["net_cost_amount"]) == (
                Decimal(year["premium_amount"]) + Decimal(year["fees_amount"]) - Decimal(year["indemnity_amount"])
            )
        assert Decimal(offer["net_cost_amount"]) == sum(Decimal(y["net_cost_amount"]) for y in offer["years"])
        assert offer["worst_year"]["net_cost_amount"] == max(
            (y["net_cost_amount"] for y in offer["years"]), key=Decimal
        )
        assert all(limit["granted_amount"] == limit["offered_amount"] for limit in offer["limits"])
        assert 0 <= Decimal(offer["average_share"]) <= 1
    # The insolvency: 84,000 lost; Alpha indemnifies 90 %, Beta its 50,000 limit less the 5,000 deductible at 85 %.
    alpha, beta = offers["Assureur Alpha"], offers["Beta Crédit"]
    assert {c["buyer"]: c["indemnity_amount"] for c in alpha["claims"]}["732829320"] == "75600.00"
    assert {c["buyer"]: c["indemnity_amount"] for c in beta["claims"]}["732829320"] == "37500.00"
    # Alpha's 50 % of the protracted default's loss plus the fees: the fees are 60 per buyer and 250 a year.
    assert alpha["fees"] == {"annual_fee": "250.00"}
    assert document["ranking"][0] == "Gamma Garantie"
    # Each offer's scenario, replayed alone by `tradecover simulate`, gives the same figures.
    alone = runner.invoke(app, ["simulate", str(scenarios / alpha["scenario"]), "--json"])
    assert alone.exit_code == 0, alone.output
    final = json.loads(alone.stdout)["final"]
    assert {c["buyer"]: c["indemnity_amount"] for c in final["claims"]} == {
        c["buyer"]: c["indemnity_amount"] for c in alpha["claims"]
    }
    by_year = {int(y["year_start"][:4]): y for y in final["premium"]["years"]}
    for year in alpha["years"]:
        figures = by_year[year["year"]]
        assert Decimal(year["premium_amount"]) == Decimal(figures["premium_amount"]) - Decimal(figures["bonus_amount"])
    # Replayed by anyone: each scenario file is complete (the unit tests compare whole runs for reproducibility)
    assert sorted(p.name for p in scenarios.iterdir()) == sorted(o["scenario"] for o in offers.values())


def test_bad_inputs_are_refused_with_stable_codes_and_nothing_written(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "case"
    shutil.copytree(EXAMPLE, folder)
    offers = (folder / "offers.yaml").read_text(encoding="utf-8")
    ledger = str(folder / "ledger.csv")

    def refused(text: str, *extra: str, ledger_file: str = ledger) -> str:
        path = folder / "bad.yaml"
        path.write_text(text, encoding="utf-8")
        out = tmp_path / "out"
        result = runner.invoke(app, ["compare", str(path), "--ledger", ledger_file, "--scenarios", str(out), *extra])
        assert result.exit_code == 1, result.output
        assert not out.exists()
        return " ".join(result.stderr.split())

    # terms out of range, with the policy terms' own code, placed in the file
    message = refused(offers.replace('indemnity_rate: "0.85"', 'indemnity_rate: "0.99"'))
    assert "terms.out_of_range" in message
    assert "line 29" in message
    assert "offers[1].terms.indemnity_rate" in message
    # a limit on a buyer the ledger does not know
    assert "compare.unknown_buyer" in refused(offers.replace('"073855942": "10000"', '"552081317": "1"'))
    # a limit CSV with a bad amount: file, line and field
    (folder / "gamma_limits.csv").write_text("identifier,amount\n443061841,abc\n", encoding="utf-8")
    message = refused(offers)
    assert "offer_limits_csv.invalid_amount" in message
    assert "gamma_limits.csv, line 2, field amount" in message
    shutil.copy(EXAMPLE / "gamma_limits.csv", folder / "gamma_limits.csv")
    # malformed YAML names its line
    assert "simulation.invalid_yaml" in refused(offers.replace("offers:\n", "offers: [\n"))
    # a ledger that names the insured itself as a customer is another company's
    other = folder / "other.csv"
    other.write_text(
        "record_type,siren,number,issue_date,due_date,amount_excl_vat,vat_amount\n"
        "invoice,552100554,X-1,2026-01-10,2026-03-10,1000,200\n",
        encoding="utf-8",
    )
    assert "compare.ledger_not_of_insured" in refused(offers, ledger_file=str(other))
    # a ledger line that cannot be read
    broken = folder / "broken.csv"
    broken.write_text(
        "record_type,siren,number,issue_date,due_date,amount_excl_vat,vat_amount\n"
        "invoice,443061841,X-1,2026-13-10,2026-03-10,1000,200\n",
        encoding="utf-8",
    )
    assert "compare.ledger_problems" in refused(offers, ledger_file=str(broken))
    # and the readable table of a small good comparison, the last year only
    small = folder / "small.csv"
    small.write_text(
        "record_type,siren,number,issue_date,due_date,amount_excl_vat,vat_amount\n"
        "invoice,443061841,S-1,2025-01-10,2025-03-10,1000,200\n"
        "invoice,443061841,S-2,2026-01-10,2026-03-10,1000,200\n",
        encoding="utf-8",
    )
    one = offers.split('  - insurer: "Beta', 1)[0].replace(
        ', "732829320": "100000", "994656015": "20000", "073855942": "15000"', ""
    )
    one = "\n".join(line for line in one.splitlines() if "insolvenc" not in line and "732829320" not in line)
    (folder / "one.yaml").write_text(one, encoding="utf-8")
    table = runner.invoke(app, ["compare", str(folder / "one.yaml"), "--ledger", str(small), "--years", "1"])
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())
    assert "2026-01-01 to 2026-12-31" in text
    assert "Assureur Alpha" in text
    assert "Ranking by net cost: Assureur Alpha" in text


SMALL_LEDGER = (
    "record_type,siren,customer_name,number,issue_date,due_date,amount_excl_vat,vat_amount,date,amount,invoice\n"
    "invoice,443061841,Client SA,S-1,2025-01-10,2025-03-10,1000,200,,,\n"
    "payment,443061841,Client SA,,,,,,2025-03-10,1200,S-1\n"
    "invoice,443061841,Client SA,S-2,2026-01-10,2026-03-10,3000,600,,,\n"
)
ONE_OFFER = """insured: {name: "Atelier Dupont SAS", registration_number: "552100554"}
offers:
  - insurer: "Assureur Alpha"
    terms: {indemnity_rate: "0.90", waiting_period_days: 150}
    fees: {annual_fee: "250"}
    limits: {"443061841": "5000"}
"""


def test_compared_on_the_ledger_held_by_tradecover_as_on_the_file(
    monkeypatch: pytest.MonkeyPatch, container: Container, database_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    monkeypatch.setattr(cli_main, "build", lambda settings=None: build(settings, clock=clock))
    offers = tmp_path / "offers.yaml"
    offers.write_text(ONE_OFFER, encoding="utf-8")
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(SMALL_LEDGER, encoding="utf-8")
    with container.uow() as uow:
        admin = system_actor(accounts.ensure_insurer(uow, clock).id)
        insured = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Atelier Dupont SAS", country="FR",
            siren="552100554",
        )  # fmt: skip
        empty = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Sans Factures SARL", country="FR"
        )
        policy, _ = policies.issue_policy(
            uow, clock, admin, policyholder_id=insured.id, start_date=date(2025, 1, 1), commit=False
        )
        data = SMALL_LEDGER.encode()
        parsed = parse_ledger_file(data, "ledger.csv")
        assert import_ledger(uow, clock, admin, policy_id=policy.id, parsed=parsed, content=data).applied
        uow.commit()
    runner = CliRunner()
    on_file = runner.invoke(app, ["compare", str(offers), "--ledger", str(ledger), "--json"])
    assert on_file.exit_code == 0, on_file.output
    stored = runner.invoke(app, ["compare", str(offers), "--insured", insured.id, "--json"])
    assert stored.exit_code == 0, stored.output
    document = json.loads(stored.stdout)
    assert document["ledger"] == "tradecover ledger of Atelier Dupont SAS"
    assert document["offers"] == json.loads(on_file.stdout)["offers"]
    # exactly one of --ledger and --insured; an insured without a ledger has no history
    for args in ([], ["--ledger", str(ledger), "--insured", insured.id]):
        result = runner.invoke(app, ["compare", str(offers), *args])
        assert result.exit_code == 1, result.output
        assert "compare.history_source" in result.stderr
    nothing = runner.invoke(app, ["compare", str(offers), "--insured", empty.id])
    assert nothing.exit_code == 1, nothing.output
    assert "compare.no_history" in nothing.stderr
