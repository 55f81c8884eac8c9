"""The buyer-risk commands, in process through Typer's runner: financials, grading model, monitoring, re-grading."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner, Result

from tradecover.bootstrap import Container
from tradecover.cli import main as cli_main
from tradecover.cli import risk as cli_risk
from tradecover.cli.main import app
from tradecover.domain.parties import OrganisationKind
from tradecover.ingest.financials_csv import FINANCIALS_TEMPLATE
from tradecover.persistence import tables as t
from tradecover.persistence.engine import make_engine
from tradecover.persistence.synthetic_book import seed_synthetic_buyers
from tradecover.services import accounts, buyers, policies
from tradecover.services.authorization import system_actor

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EXTERNAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "external"
DATASETS = EXTERNAL / "default_datasets"
POLISH = DATASETS / "polish_bankruptcy_1year.arff.gz"
ALTMAN = DATASETS / "analcatdata_bankruptcy_altman_ratios.tsv"
PLANS = EXTERNAL / "bodacc" / "plansde_pcl_derived_grands_plans_1y.csv"
needs_datasets = pytest.mark.skipif(
    not (POLISH.exists() and ALTMAN.exists()), reason=f"shared default datasets not found in {DATASETS}"
)

SIREN_A = "552100554"
SIREN_B = "542051180"
NOT_A_BUYER = "732829320"
CONVERTED = "345086177"  # converted to liquidation in the PCL plans sample
HEADER = "siren,fiscal_year_end,total_assets,equity,turnover,ebit,net_income\n"


# ---------------------------------------------------------------------- helpers


def _wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    # wide consoles, so that messages are not wrapped whatever the terminal
    for console in (cli_main.console, cli_main.errors, cli_risk.console, cli_risk.errors):
        monkeypatch.setattr(console, "_width", 200)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    _wide_consoles(monkeypatch)
    return database_url


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """For commands that read files only: any database they opened would be a throwaway one."""
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    _wide_consoles(monkeypatch)


@pytest.fixture
def sqlite_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A migrated SQLite database, without running the test on every backend."""
    path = tmp_path / "single.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    _wide_consoles(monkeypatch)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    if code == 1:  # refused cleanly, never by an escaping exception
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output
    return result


def output(result: Result) -> str:
    """Everything shown on the terminal (stdout and stderr), without colours or line wrapping."""
    return " ".join(ANSI.sub("", result.output).split())


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


def count(engine: Engine, table: type[t.Base]) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table)) or 0


@dataclass
class Book:
    insured: str
    buyers: dict[str, str]


def small_book(container: Container, *sirens: str) -> Book:
    """An insured with a policy and the buyers these SIRENs name, made through the services."""
    clock = container.clock
    with container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, clock)
        admin = system_actor(insurer.id)
        insured = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Insured A", country="FR"
        ).id
        policies.issue_policy(uow, clock, admin, policyholder_id=insured, start_date=date(2026, 1, 1))
    found: dict[str, str] = {}
    for siren in sirens:
        with container.uow() as uow:
            buyer, _ = buyers.add_buyer(
                uow,
                clock,
                admin,
                identifiers=[("siren", siren)],
                legal_name=f"Buyer {siren}",
                country="FR",
                organisation_id=insured,
            )
        found[siren] = buyer.id
    return Book(insured, found)


# ------------------------------------------------------------ financials import


def test_import_financials_applies_a_good_file(cli_env: str, container: Container, tmp_path: Path) -> None:
    book = small_book(container, SIREN_A, SIREN_B)
    path = tmp_path / "statements.csv"
    path.write_text(
        HEADER
        + f"{SIREN_A},2024-12-31,1250000.50,400000,2000000,150000,90000\n"
        + f"{SIREN_B},2024-12-31,800000,,1500000,-20000,-30000\n",
        encoding="utf-8",
    )
    first = run_json("buyers", "import-financials", str(path))
    assert (first["file"], first["applied"], first["created"], first["unchanged"], first["refused"]) == (
        "statements.csv",
        True,
        2,
        0,
        0,
    )
    assert [(line["line"], line["outcome"]) for line in first["lines"]] == [(2, "created"), (3, "created")]
    assert count(container.engine, t.FinancialStatementRow) == 2
    with container.uow() as uow:
        [statement] = uow.financials.current(book.buyers[SIREN_A])
    assert str(statement.amounts["total_assets"]) == "1250000.50 EUR"
    assert statement.source == "statements.csv, line 2"

    again = run_json("buyers", "import-financials", str(path))
    assert (again["applied"], again["created"], again["unchanged"]) == (True, 0, 2)
    assert count(container.engine, t.FinancialStatementRow) == 2
    assert "0 created, 2 unchanged, 0 refused — applied" in output(run("buyers", "import-financials", str(path)))


def test_the_downloadable_template_imports(cli_env: str, container: Container, tmp_path: Path) -> None:
    small_book(container, NOT_A_BUYER)  # the template's example SIREN
    path = tmp_path / "template.csv"
    path.write_text(FINANCIALS_TEMPLATE, encoding="utf-8")
    assert run_json("buyers", "import-financials", str(path))["created"] == 1


def test_import_financials_refuses_a_bad_file_whole(cli_env: str, container: Container, tmp_path: Path) -> None:
    small_book(container, SIREN_A, SIREN_B)
    path = tmp_path / "q1.csv"
    path.write_text(
        HEADER
        + f"{SIREN_A},2024-12-31,1250000,400000,2000000,150000,90000\n"
        + f"{NOT_A_BUYER},2024-12-31,500000,100000,900000,50000,30000\n"
        + f"{SIREN_B},2024-12-31,800000,1,2,3,abc\n",
        encoding="utf-8",
    )
    audit_before = count(container.engine, t.AuditEventRow)
    text_result = output(run("buyers", "import-financials", str(path), code=1))
    assert "q1.csv, line 3, field siren" in text_result
    assert f"no buyer with siren {NOT_A_BUYER}" in text_result
    assert "line 4, field net_income" in text_result
    assert "refused: nothing written" in text_result

    report = json.loads(run("buyers", "import-financials", str(path), "--json", code=1).stdout)
    assert (report["applied"], report["created"], report["refused"]) == (False, 1, 2)
    assert {(line["line"], line["field"]) for line in report["lines"] if line["outcome"] == "refused"} == {
        (3, "siren"),
        (4, "net_income"),
    }
    assert count(container.engine, t.FinancialStatementRow) == 0
    assert count(container.engine, t.AuditEventRow) == audit_before


def test_import_financials_refuses_a_file_missing_a_column(cli_env: str, container: Container, tmp_path: Path) -> None:
    small_book(container, SIREN_A)
    path = tmp_path / "no-assets.csv"
    path.write_text(f"siren,fiscal_year_end,equity\n{SIREN_A},2024-12-31,1\n", encoding="utf-8")
    assert "missing column 'total_assets'" in output(run("buyers", "import-financials", str(path), code=1))
    assert count(container.engine, t.FinancialStatementRow) == 0


def test_import_financials_dry_run_writes_nothing(cli_env: str, container: Container, tmp_path: Path) -> None:
    small_book(container, SIREN_A)
    path = tmp_path / "statements.csv"
    path.write_text(HEADER + f"{SIREN_A},2024-12-31,1250000,400000,2000000,150000,90000\n", encoding="utf-8")
    report = run_json("buyers", "import-financials", str(path), "--dry-run")
    assert (report["applied"], report["created"], report["refused"]) == (False, 1, 0)
    assert "dry run: nothing written" in output(run("buyers", "import-financials", str(path), "--dry-run"))
    assert count(container.engine, t.FinancialStatementRow) == 0


# --------------------------------------------------------------- grading model


@needs_datasets
def test_grading_fit_then_evaluate(no_database: None, tmp_path: Path) -> None:
    model = tmp_path / "tmp" / "model.json"
    model.parent.mkdir()
    validation = run_json("grading", "fit", "--data", str(POLISH), "--altman", str(ALTMAN), "--out", str(model))
    held_out = validation["held_out"]
    assert held_out["auc"] >= 0.65
    assert held_out["gini"] == pytest.approx(2 * held_out["auc"] - 1)
    assert 0 < held_out["defaults"] < held_out["n"]
    altman = validation["altman"]
    assert 0.5 < altman["auc_altman_z"] <= 1
    assert 0 <= altman["auc_model"] <= 1
    saved = json.loads(model.read_text(encoding="utf-8"))
    assert saved["validation"]["held_out"] == held_out
    assert saved["trained_on"]["file"] == POLISH.name

    report = run_json("grading", "evaluate", "--model", str(model), "--data", str(POLISH))
    assert {"auc", "gini", "brier", "calibration", "n", "defaults"} <= set(report)
    assert report["n"] == 7027
    assert report["defaults"] == 271
    assert report["auc"] >= 0.65
    assert 0 < report["brier"] < 0.25
    assert [row["grade"] for row in report["calibration"]] == list(range(1, 11))
    assert sum(row["count"] for row in report["calibration"]) == 7027

    table = output(run("grading", "evaluate", "--model", str(model), "--data", str(POLISH)))
    assert f"{POLISH.name}: AUC {report['auc']:.3f}" in table


def test_grading_refuses_corrupt_files_with_a_message(no_database: None, tmp_path: Path) -> None:
    arff = tmp_path / "broken.arff"
    arff.write_text(
        "@relation t\n@attribute Attr1 numeric\n@attribute Attr2 numeric\n@attribute class {0,1}\n@data\n"
        "0.5,0.1,0\n0.7,oops,1\n",
        encoding="utf-8",
    )
    model = tmp_path / "model.json"
    fit = output(run("grading", "fit", "--data", str(arff), "--out", str(model), code=1))
    assert "ingest.bad_field" in fit
    assert "broken.arff, line 7, field Attr2" in fit
    assert not model.exists()

    gz = tmp_path / "truncated.arff.gz"
    gz.write_bytes(gzip.compress(b"@relation t\n@attribute Attr1 numeric\n" * 50)[:40])
    assert "truncated.arff.gz" in output(run("grading", "fit", "--data", str(gz), "--out", str(model), code=1))

    # A model JSON that is not JSON, and a good model on a corrupt file.
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    assert "garbage.json" in output(run("grading", "evaluate", "--model", str(garbage), "--data", str(arff), code=1))
    from tradecover.risk.grading import DEFAULT_MODEL_RESOURCE

    shipped = Path(cli_risk.__file__).resolve().parents[1] / "risk" / DEFAULT_MODEL_RESOURCE
    refused = output(run("grading", "evaluate", "--model", str(shipped), "--data", str(arff), code=1))
    assert "broken.arff, line 7" in refused


# ------------------------------------------------------------------ monitoring


def _liquidation(siren: str, published: str = "2026-03-10", notice_id: str = "A202600501") -> dict[str, Any]:
    judgment = {
        "type": "initial",
        "famille": "Jugement d'ouverture",
        "nature": "Jugement d'ouverture de liquidation judiciaire",
        "date": "2026-03-05",
        "complementJugement": "Jugement prononçant la liquidation judiciaire.",
    }
    return {
        "id": notice_id,
        "publicationavis": "A",
        "dateparution": published,
        "typeavis_lib": "Avis initial",
        "familleavis": "collective",
        "tribunal": "TRIBUNAL DE COMMERCE DE LYON",
        "commercant": "TRANSPORTS MARTIN",
        "registre": [siren, f"{siren[:3]} {siren[3:6]} {siren[6:]}"],
        "jugement": json.dumps(judgment),
    }


def test_monitor_bodacc_records_a_liquidation_once(cli_env: str, container: Container, tmp_path: Path) -> None:
    book = small_book(container, SIREN_A, SIREN_B)
    path = tmp_path / "annonces.json"
    records = [_liquidation(SIREN_A), _liquidation(NOT_A_BUYER, notice_id="A202600502")]
    path.write_text(json.dumps({"total_count": 2, "results": records}), encoding="utf-8")

    first = run_json("monitor", "bodacc", str(path))
    assert first["files"] == ["annonces.json"]
    assert (first["announcements"], first["matched"], first["unmatched"]) == (2, 1, 1)
    assert (first["legal_events"], first["already_recorded"], first["insolvencies"]) == (1, 0, 1)
    assert first["clocks_started"] == 1
    assert first["alerts"] == 2  # the insured and the insurer
    with container.uow() as uow:
        buyer = uow.buyers.get(book.buyers[SIREN_A])
        untouched = uow.buyers.get(book.buyers[SIREN_B])
    assert buyer is not None
    assert untouched is not None
    assert (buyer.legal_status.value, buyer.risk_grade) == ("liquidation", 10)
    assert untouched.legal_status.value == "active"
    audit_after_first = count(container.engine, t.AuditEventRow)

    second = run_json("monitor", "bodacc", str(path))
    assert (second["legal_events"], second["already_recorded"], second["alerts"], second["clocks_started"]) == (
        0,
        1,
        0,
        0,
    )
    assert count(container.engine, t.LegalEventRow) == 1
    assert count(container.engine, t.AlertRow) == 2
    assert count(container.engine, t.AuditEventRow) == audit_after_first
    summary = output(run("monitor", "bodacc", str(path)))
    assert "1 file(s): 2 announcements, 1 matched buyers' procedures" in summary
    assert "0 new legal events (1 already recorded)" in summary


@pytest.mark.skipif(not PLANS.exists(), reason="shared BODACC plans sample not found beside the repository")
def test_monitor_bodacc_accepts_the_pcl_plans_sample(cli_env: str, container: Container) -> None:
    book = small_book(container, CONVERTED, SIREN_A)
    summary = run_json("monitor", "bodacc", str(PLANS))
    assert summary["files"] == [PLANS.name]
    assert summary["announcements"] == 544
    assert summary["matched"] == 1
    assert summary["legal_events"] >= 1
    with container.uow() as uow:
        statuses = {s: uow.buyers.get(i).legal_status.value for s, i in book.buyers.items()}  # type: ignore[union-attr]
    assert statuses == {CONVERTED: "liquidation", SIREN_A: "active"}
    again = run_json("monitor", "bodacc", str(PLANS))
    assert (again["legal_events"], again["already_recorded"]) == (0, summary["legal_events"])


def test_monitor_bodacc_refuses_xml_with_a_dtd(cli_env: str, container: Container, tmp_path: Path) -> None:
    small_book(container, SIREN_A)
    path = tmp_path / "PCL_BXA20260001.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE PCL_REDIFF [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
        "<PCL_REDIFF><parution>20260001</parution><dateParution>2026-03-10</dateParution>"
        "<annonces><annonce><nojo>1</nojo><numeroAnnonce>1</numeroAnnonce>"
        f"<numeroImmatriculation><numeroIdentificationRCS>{SIREN_A}</numeroIdentificationRCS>"
        "</numeroImmatriculation><jugement><famille>&lol2;</famille>"
        "<nature>Jugement d'ouverture de liquidation judiciaire</nature><date>2026-03-05</date></jugement>"
        "</annonce></annonces></PCL_REDIFF>\n",
        encoding="utf-8",
    )
    audit_before = count(container.engine, t.AuditEventRow)
    refused = output(run("monitor", "bodacc", str(path), code=1))
    assert "ingest.unsafe_xml" in refused
    assert path.name in refused
    assert count(container.engine, t.LegalEventRow) == 0
    assert count(container.engine, t.AlertRow) == 0
    assert count(container.engine, t.AuditEventRow) == audit_before


SIRENE_HEADER = (
    "siren,etatAdministratifUniteLegale,denominationUniteLegale,activitePrincipaleUniteLegale,"
    "nomenclatureActivitePrincipaleUniteLegale,dateDebut,categorieJuridiqueUniteLegale\n"
)


def test_monitor_sirene_applies_a_stock_file(cli_env: str, container: Container, tmp_path: Path) -> None:
    book = small_book(container, SIREN_A, SIREN_B)
    path = tmp_path / "StockUniteLegale.csv"
    path.write_text(
        SIRENE_HEADER
        + f"{SIREN_A},C,Buyer {SIREN_A},46.69B,NAFRev2,2026-02-28,5710\n"
        + f"{SIREN_B},A,Nouveau Nom SAS,25.11Z,NAFRev2,2020-01-01,5710\n"
        + f"{NOT_A_BUYER},A,Inconnue SA,25.11Z,NAFRev2,2020-01-01,5599\n",
        encoding="utf-8",
    )
    summary = run_json("monitor", "sirene", str(path))
    assert summary == {
        "file": "StockUniteLegale.csv",
        "read": 3,
        "matched": 2,
        "unknown_skipped": 1,
        "ceased": 1,
        "renamed": 1,
        "naf_changed": 2,
        "alerts": 1,
    }
    with container.uow() as uow:
        ceased = uow.buyers.get(book.buyers[SIREN_A])
        renamed = uow.buyers.get(book.buyers[SIREN_B])
    assert ceased is not None
    assert renamed is not None
    assert ceased.legal_status.value == "ceased"
    assert (renamed.legal_name, renamed.naf_code) == ("Nouveau Nom SAS", "25.11Z")

    again = run_json("monitor", "sirene", str(path))
    assert (again["matched"], again["ceased"], again["renamed"], again["naf_changed"], again["alerts"]) == (
        2,
        0,
        0,
        0,
        0,
    )
    assert "3 units read, 2 buyers matched, 1 unknown skipped" in output(run("monitor", "sirene", str(path)))


def test_monitor_sirene_refuses_a_file_without_siren(cli_env: str, container: Container, tmp_path: Path) -> None:
    book = small_book(container, SIREN_A)
    path = tmp_path / "StockEtablissement.csv"
    path.write_text(
        f"siret,etatAdministratifUniteLegale,denominationUniteLegale\n{SIREN_A}00011,C,Nouveau Nom\n",
        encoding="utf-8",
    )
    audit_before = count(container.engine, t.AuditEventRow)
    refused = output(run("monitor", "sirene", str(path), code=1))
    assert "ingest.missing_column" in refused
    assert "missing column 'siren'" in refused
    assert "(field: siren)" in refused
    with container.uow() as uow:
        buyer = uow.buyers.get(book.buyers[SIREN_A])
    assert buyer is not None
    assert (buyer.legal_status.value, buyer.legal_name) == ("active", f"Buyer {SIREN_A}")
    assert count(container.engine, t.AuditEventRow) == audit_before


def test_monitor_sirene_refuses_a_bad_line_whole(cli_env: str, container: Container, tmp_path: Path) -> None:
    book = small_book(container, SIREN_A, SIREN_B)
    path = tmp_path / "StockUniteLegale.csv"
    path.write_text(
        SIRENE_HEADER
        + f"{SIREN_A},C,Buyer {SIREN_A},46.69B,NAFRev2,2026-02-28,5710\n"
        + f"{SIREN_B},X,Nouveau Nom SAS,25.11Z,NAFRev2,2020-01-01,5710\n",
        encoding="utf-8",
    )
    refused = output(run("monitor", "sirene", str(path), code=1))
    assert "StockUniteLegale.csv, line 3, field etatAdministratifUniteLegale" in refused
    with container.uow() as uow:
        assert uow.buyers.get(book.buyers[SIREN_A]).legal_status.value == "active"  # type: ignore[union-attr]
    assert count(container.engine, t.LegalEventRow) == 0


# ------------------------------------------------------------------ re-grading


def test_jobs_regrade_grades_changed_buyers_then_everything(cli_env: str, container: Container) -> None:
    seed_synthetic_buyers(container.engine, 200, seed=11)
    first = run_json("jobs", "regrade")
    assert (first["mode"], first["graded"], first["resumed"]) == ("changed", 200, False)
    assert first["model_version"].startswith("grading-v1-")
    assert count(container.engine, t.GradeHistoryRow) == 200
    with container.engine.connect() as connection:
        graded = connection.execute(select(t.BuyerRow.risk_grade)).scalars().all()
    assert len(graded) == 200
    assert all(g is not None and 1 <= g <= 10 for g in graded)
    assert len(set(graded)) > 3  # the synthetic health spreads the grades

    assert run_json("jobs", "regrade")["graded"] == 0
    everything = run_json("jobs", "regrade", "--all", "--batch-size", "100")
    assert (everything["mode"], everything["graded"], everything["changed"]) == ("all", 200, 0)
    assert everything["run_id"] != first["run_id"]
    assert count(container.engine, t.GradeHistoryRow) == 400
    text_summary = output(run("jobs", "regrade"))
    assert "(changed): 0 buyers graded" in text_summary


def test_jobs_regrade_refuses_a_tiny_batch(cli_env: str) -> None:
    result = CliRunner().invoke(app, ["jobs", "regrade", "--batch-size", "5"])
    assert result.exit_code == 2
    assert "batch-size" in output(result)


def _grades_by_run(engine: Engine) -> dict[str, dict[str, tuple[int, str]]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT run_id, buyer_id, grade, probability_of_default FROM grade_history")
        ).all()
    runs: dict[str, dict[str, tuple[int, str]]] = {}
    for run_id, buyer_id, grade, pd in rows:
        runs.setdefault(run_id, {})[buyer_id] = (int(grade), str(pd))
    return runs


def _running_clusters() -> list[Any]:
    from distributed.core import Status
    from distributed.deploy.spec import SpecCluster

    return [c for c in list(SpecCluster._instances) if c.status not in (Status.closed, Status.closing)]


@pytest.fixture
def dask_cleanup() -> Iterator[None]:
    """Close any local cluster a command left running (see the leak test below)."""
    pytest.importorskip("distributed")
    yield
    for cluster in _running_clusters():
        cluster.close()


def test_jobs_regrade_on_a_local_dask_cluster_matches_the_single_process_run(
    sqlite_only: Engine, dask_cleanup: None
) -> None:
    seed_synthetic_buyers(sqlite_only, 200, seed=13)
    single = run_json("jobs", "regrade", "--all", "--batch-size", "100")
    with sqlite_only.connect() as connection:
        after_single = dict(connection.execute(select(t.BuyerRow.id, t.BuyerRow.risk_grade)).tuples().all())
    distributed_run = run_json("jobs", "regrade", "--all", "--batch-size", "100", "--dask", "local")
    assert (single["graded"], distributed_run["graded"]) == (200, 200)
    assert distributed_run["changed"] == 0
    assert distributed_run["model_version"] == single["model_version"]
    with sqlite_only.connect() as connection:
        after_dask = dict(connection.execute(select(t.BuyerRow.id, t.BuyerRow.risk_grade)).tuples().all())
    assert after_dask == after_single
    runs = _grades_by_run(sqlite_only)
    assert set(runs) == {single["run_id"], distributed_run["run_id"]}
    assert runs[distributed_run["run_id"]] == runs[single["run_id"]]
    assert {grade for grade, _ in runs[single["run_id"]].values()} == set(after_single.values())


def test_jobs_regrade_dask_local_shuts_its_cluster_down(
    sqlite_only: Engine, dask_cleanup: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import distributed

    real: Any = distributed.LocalCluster

    def threads_only(*args: Any, **kwargs: Any) -> Any:  # same code path, without starting worker processes
        kwargs["processes"] = False
        return real(*args, **kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", threads_only)
    assert _running_clusters() == []
    assert run_json("jobs", "regrade", "--dask", "local")["graded"] == 0
    assert _running_clusters() == []


def test_import_financials_names_each_problem_once(cli_env: str, container: Container, tmp_path: Path) -> None:
    small_book(container, SIREN_A)
    typed = tmp_path / "typed.csv"
    typed.write_text(f"siren,fiscal_year_end,total_assets\n{SIREN_A},2024-12-31,abc\n", encoding="utf-8")
    shown = output(run("buyers", "import-financials", str(typed), code=1))
    assert shown.count("typed.csv, line 2, field total_assets") == 1, shown
    headless = tmp_path / "headless.csv"
    headless.write_text(f"siren,fiscal_year_end,equity\n{SIREN_A},2024-12-31,1\n", encoding="utf-8")
    shown = output(run("buyers", "import-financials", str(headless), code=1))
    assert "line 0" not in shown, shown
