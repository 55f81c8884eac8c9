"""``tradecover ledger``: imports, exposure, aged balance, rates; ``tradecover jobs alerts|deliver-alerts``."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradecover.cli.limits import _actor, _buyer_id, _policy_id
from tradecover.cli.risk import jobs_app
from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money
from tradecover.domain.receivables import AGE_BUCKETS
from tradecover.ingest.fec import parse_customer_mapping
from tradecover.ingest.ledger_formats import FORMATS, parse_ledger_file
from tradecover.notify.dispatcher import channels_for, deliver_due
from tradecover.services import alerts, exposure, ledger
from tradecover.services.exports import csv_bytes, xlsx_bytes
from tradecover.services.ledger_import import import_ledger

ledger_app = typer.Typer(help="Receivables: invoice ledger, exposure, aged balance", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
AsOption = Annotated[str | None, typer.Option("--as", help="act as this user (e-mail); default: command line")]
PolicyOption = Annotated[str, typer.Option("--policy", help="policy number or id")]
OnOption = Annotated[str | None, typer.Option("--on", help="as of this date (YYYY-MM-DD); default: today")]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _day(value: str | None, default: date) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)", code="cli.bad_date", field="on") from None


def _read(path: Path, what: str) -> bytes:
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", code="cli.no_file", field=what)
    return path.read_bytes()


def register(app: typer.Typer, container_factory: Any) -> None:
    @ledger_app.command("import")
    def import_command(
        file: Annotated[Path, typer.Argument(help="a ledger CSV, a FEC, or an e-invoice (Factur-X PDF, CII, UBL)")],
        policy: PolicyOption,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="report without writing")] = False,
        partial: Annotated[
            bool, typer.Option("--partial", help="apply the good lines even if some are refused")
        ] = False,
        file_format: Annotated[str, typer.Option("--format", help=f"one of {', '.join(FORMATS)}")] = "auto",
        mapping: Annotated[
            Path | None,
            typer.Option(help="CSV account,identifier: the customer's account or name -> its SIREN, VAT or buyer id"),
        ] = None,
        terms_days: Annotated[int, typer.Option(min=0, max=365, help="FEC: days from invoice to due date")] = 30,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Import a file into a policy's ledger: all or nothing (unless --partial), with a report per line."""
        with container_factory() as container:
            data = _read(file, "file")
            accounts = None if mapping is None else parse_customer_mapping(_read(mapping, "mapping"), mapping.name)
            with container.uow() as uow:
                policy_id = _policy_id(uow, policy)
                found = uow.policies.get(policy_id)
                assert found is not None
                currency = found.currency
            parsed = parse_ledger_file(
                data,
                file.name,
                file_format=file_format,
                currency=currency,
                customer_accounts=accounts,
                default_terms_days=terms_days,
            )
            with container.uow() as uow:
                report = import_ledger(
                    uow,
                    container.clock,
                    _actor(container, uow, as_user),
                    policy_id=policy_id,
                    parsed=parsed,
                    content=data,
                    dry_run=dry_run,
                    partial=partial,
                    customers=accounts,
                )
                if report.applied:
                    uow.commit()
        if as_json:
            _print_json(report.to_dict())
        else:
            verb = "would be" if dry_run else ("applied" if report.applied else "NOT applied")
            # Plain text: file names and messages come from the file; "[code]" is not a style.
            console.print(
                f"{report.file} ({report.format}): {report.created} created, {report.duplicates} duplicates, "
                f"{report.refused} refused, {report.buyers_created} new buyers — {verb}",
                markup=False,
            )
            for line in [x for x in report.lines if x.outcome == "refused"][:50]:
                errors.print(
                    f"  {line.file}, line {line.line}, field {line.field or '-'}: {line.message} [{line.code}]",
                    markup=False,
                )
            if report.unmapped_customers:
                errors.print(f"  unmapped customers: {len(report.unmapped_customers)}")
            mismatches = [r for r in report.reconciliation if not r.matches]
            if report.reconciliation:
                console.print(
                    f"reconciliation: {len(report.reconciliation) - len(mismatches)} of "
                    f"{len(report.reconciliation)} customer balances match the ledger"
                )
        if report.refused and not report.applied and not dry_run:
            raise typer.Exit(1)

    @ledger_app.command("exposure")
    def exposure_command(
        policy: PolicyOption,
        on: OnOption = None,
        buyer: str | None = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Outstanding, covered and uncovered exposure per buyer (DOMAIN.md §6)."""
        with container_factory() as container, container.uow() as uow:
            day = _day(on, container.clock.today())
            result = exposure.policy_exposure(
                uow,
                _actor(container, uow, as_user),
                _policy_id(uow, policy),
                on=day,
                buyer_id=None if buyer is None else _buyer_id(uow, buyer),
            )
        rows = [
            {
                "buyer_id": b.id,
                "buyer": b.legal_name,
                "outstanding": e.outstanding.quantize_str(),
                "covered": e.covered.quantize_str(),
                "uncovered": e.uncovered.quantize_str(),
                "limit_in_force": e.limit_in_force.quantize_str(),
                "utilisation": None if e.utilisation is None else str(e.utilisation),
            }
            for b, e in result.buyers
        ]
        totals = {k: result.total(k).quantize_str() for k in ("outstanding", "covered", "uncovered")}
        if as_json:
            _print_json(
                {"policy": result.policy_number, "on": day, "currency": result.currency, **totals, "buyers": rows}
            )
            return
        table = Table(title=f"Exposure of {result.policy_number} on {day} ({result.currency})")
        for column in ("buyer", "outstanding", "covered", "uncovered", "limit_in_force", "utilisation"):
            table.add_column(column, justify="left" if column == "buyer" else "right")
        for row in rows:
            table.add_row(  # buyers' names come from customers' documents: text, never markup
                *(
                    escape(str(row[c] or ""))
                    for c in ("buyer", "outstanding", "covered", "uncovered", "limit_in_force", "utilisation")
                )
            )
        table.add_row("TOTAL", totals["outstanding"], totals["covered"], totals["uncovered"], "", "")
        console.print(table)

    @ledger_app.command("aged")
    def aged_command(
        policy: PolicyOption,
        on: OnOption = None,
        output: Annotated[Path | None, typer.Option(help="write a .csv or .xlsx file")] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """The aged balance (not due, 1–30, 31–60, 61–90, > 90 days) per buyer, with DSO."""
        with container_factory() as container, container.uow() as uow:
            day = _day(on, container.clock.today())
            report = exposure.aged_report(uow, _actor(container, uow, as_user), _policy_id(uow, policy), on=day)
        names = [n for n, _, _ in AGE_BUCKETS]
        header = ["buyer_id", "buyer", "currency", *names, "total", "unapplied_cash", "dso_days"]
        rows: list[list[Any]] = [
            [
                b.id,
                b.legal_name,
                a.currency,
                *(a.buckets[n].amount for n in names),
                a.total.amount,
                a.on_account.amount,
                dso,
            ]
            for b, a, dso in report.buyers
        ]
        t = report.total
        rows.append(
            [
                "",
                "TOTAL",
                t.currency,
                *(t.buckets[n].amount for n in names),
                t.total.amount,
                t.on_account.amount,
                report.dso,
            ]
        )
        if output is not None:
            if output.suffix.lower() == ".xlsx":
                output.write_bytes(xlsx_bytes("Balance âgée", header, rows))
            else:
                output.write_bytes(csv_bytes(header, rows))
            console.print(f"written {output}")
            return
        if as_json:
            _print_json([dict(zip(header, row, strict=True)) for row in rows])
            return
        table = Table(title=f"Aged balance of {report.policy_number} on {day} ({report.currency}, incl. VAT)")
        for column in ("buyer", *names, "total", "dso_days"):
            table.add_column(column, justify="left" if column == "buyer" else "right")
        for row in rows:
            table.add_row(
                escape(str(row[1])), *(str(v) for v in row[3:8]), str(row[8]), "" if row[10] is None else str(row[10])
            )
        console.print(table)

    @ledger_app.command("rates")
    def rates_command(
        file: Annotated[Path, typer.Argument(help="CSV: currency,quote,date,rate (1 currency = rate quote)")],
        as_json: JsonOption = False,
    ) -> None:
        """Load reference exchange rates (e.g. the ECB's) for converting invoices to the policy currency."""
        # Inside the container's context: a refused file is reported as an error, never a traceback.
        with container_factory() as container:
            try:
                text = _read(file, "file").decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidInput(f"{file.name}: not UTF-8 text", code="rates.bad_file", field="file") from None
            rows: list[tuple[str, str, date, str]] = []
            for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
                try:
                    values = [row[k] for k in ("currency", "quote", "date", "rate")]
                    if any(v is None for v in values):
                        raise ValueError("missing values")
                    rows.append((values[0], values[1], date.fromisoformat(values[2]), values[3]))
                except (KeyError, ValueError, TypeError) as error:
                    raise InvalidInput(
                        f"{file.name}, line {number}: expected currency,quote,date,rate ({error})",
                        code="rates.bad_line",
                        field="rate",
                    ) from None
            with container.uow() as uow:
                added = ledger.add_exchange_rates(uow, container.clock, _actor(container, uow, None), rows)
                uow.commit()
        if as_json:
            _print_json({"read": len(rows), "added": added})
        else:
            console.print(f"{len(rows)} rates read, {added} added")

    @ledger_app.command("order-check")
    def order_check_command(
        policy: PolicyOption,
        buyer: Annotated[str, typer.Option(help="buyer id or SIREN")],
        amount: Annotated[str, typer.Option(help="order amount excluding VAT, in the policy currency")],
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Would an order of AMOUNT to BUYER be covered?"""
        with container_factory() as container, container.uow() as uow:
            policy_id = _policy_id(uow, policy)
            found = uow.policies.get(policy_id)
            assert found is not None
            result = exposure.order_check(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                policy_id=policy_id,
                buyer_id=_buyer_id(uow, buyer),
                amount=Money.of(amount, found.currency),
            )
        data = {
            "status": result.status.value,
            "covered": result.covered.quantize_str(),
            "headroom": result.headroom.quantize_str(),
            "limit_in_force": result.limit_in_force.quantize_str(),
            "unpaid": result.unpaid.quantize_str(),
            "open_orders": result.open_orders.quantize_str(),
            "reasons": [r.value for r in result.reasons],
        }
        if as_json:
            _print_json(data)
        else:
            console.print(
                f"{data['status']}: {data['covered']} covered (headroom {data['headroom']}); "
                + ", ".join(data["reasons"])
            )

    @jobs_app.command("alerts")
    def alerts_job(on: OnOption = None, as_json: JsonOption = False) -> None:
        """Raise the receivables alerts of every policy as of a date (never twice), then queue their delivery."""
        with container_factory() as container, container.uow() as uow:
            day = _day(on, container.clock.today())
            counts = alerts.run_alerts(uow, container.clock, _actor(container, uow, None), on=day)
            uow.commit()
        if as_json:
            _print_json({"on": day, "raised": sum(counts.values()), "by_policy": counts})
        else:
            console.print(f"{sum(counts.values())} alerts raised over {len(counts)} policies as of {day}")

    @jobs_app.command("deliver-alerts")
    def deliver_job(as_json: JsonOption = False) -> None:
        """Deliver the alert outbox now (e-mail through TRADECOVER_SMTP_HOST, signed webhooks)."""
        with container_factory() as container:
            channels = channels_for(container.settings)
            try:
                summary = deliver_due(container.uow, container.clock, channels)
            finally:
                channels.close()
        if as_json:
            _print_json(summary.__dict__)
        else:
            console.print(f"{summary.delivered} delivered, {summary.retried} to retry, {summary.failed} failed")

    app.add_typer(ledger_app, name="ledger")
