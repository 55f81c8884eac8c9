"""``tradecover premium``: the premium run, turnover declarations, the year end and the statement (DOMAIN.md §9)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradecover.cli.limits import _actor, _policy_id
from tradecover.domain.errors import InvalidInput
from tradecover.domain.premium import PremiumDocument, YearEnd, YearFigures
from tradecover.services import premium, premium_documents

premium_app = typer.Typer(
    help="Premium: the run of what is due, turnover declarations, year end, statement", no_args_is_help=True
)
console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
AsOption = Annotated[str | None, typer.Option("--as", help="act as this user (e-mail); default: command line")]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)", code="cli.bad_date", field=field) from None


def _territory(value: str) -> str | dict[str, str]:
    """An amount, or ``turnover=…,cash_sales=…,intra_group=…,public_buyers=…`` with the exclusions."""
    if "=" not in value:
        return value.strip()
    parts: dict[str, str] = {}
    for item in value.split(","):
        name, _, amount = item.partition("=")
        parts[name.strip()] = amount.strip()
    return parts


def _document(d: PremiumDocument) -> dict[str, Any]:
    return {
        "id": d.id,
        "number": d.number,
        "kind": d.kind.value,
        "item": d.item.value,
        "year_start": d.year_start.isoformat(),
        "issued_on": d.issued_on.isoformat(),
        "due_on": d.due_on.isoformat(),
        "amount": d.amount.quantize_str(),
        "currency": d.amount.currency,
        "label": d.label,
    }


def _figures(f: YearFigures) -> dict[str, Any]:
    return {
        "year_start": f.year.start.isoformat(),
        "year_end": f.year.last_day.isoformat(),
        "currency": f.currency,
        "minimum_amount": f.minimum.quantize_str(),
        "earned_amount": f.earned.quantize_str(),
        "premium_amount": f.premium.quantize_str(),
        "called_amount": f.called.quantize_str(),
        # Payments settled on the year's instalments. (The simulator's "paid_amount" is what was called.)
        "received_amount": f.paid.quantize_str(),
        "adjustment_amount": f.adjustment.quantize_str(),
        "fees_amount": f.fees.quantize_str(),
        "indemnities_amount": f.indemnities.quantize_str(),
        "bonus_amount": f.bonus.quantize_str(),
        "balance_amount": f.balance.quantize_str(),
        "max_liability_amount": None if f.max_liability is None else f.max_liability.quantize_str(),
        "loss_ratio": None if f.loss_ratio is None else str(f.loss_ratio),
        "declared_periods": f.declared_periods,
        "expected_periods": f.expected_periods,
    }


def _closing(y: YearEnd) -> dict[str, Any]:
    return {
        "version": y.version,
        "closed_on": y.closed_on.isoformat(),
        "closed_by": y.closed_by,
        "reason": y.reason,
        **_figures(y.figures),
    }


def _documents_table(documents: list[dict[str, Any]]) -> Table:
    table = Table("number", "kind", "item", "issued", "due", "amount", "label")
    for d in documents:
        table.add_row(d["number"], d["kind"], d["item"], d["issued_on"], d["due_on"], d["amount"], escape(d["label"]))
    return table


def register(app: typer.Typer, container_factory: Any) -> None:
    @premium_app.command("run")
    def run_command(
        as_of: Annotated[str, typer.Option("--as-of", help="issue what is due on this date (YYYY-MM-DD)")],
        as_json: JsonOption = False,
    ) -> None:
        """Issue what is due: tacit renewals, provisional-premium instalments, late-declaration alerts.

        Restartable: running it again issues nothing more.
        """
        with container_factory() as container, container.uow() as uow:
            summary = premium.run_premium(
                uow, container.clock, _actor(container, uow, None), as_of=_day(as_of, "as_of")
            )
        data: dict[str, Any] = {
            "as_of": summary.as_of.isoformat(),
            "policies": summary.policies,
            "renewed": summary.renewed,
            "alerts": summary.alerts,
            "documents": [_document(d) for d in summary.documents],
        }
        if as_json:
            _print_json(data)
            return
        console.print(
            f"premium run as of {data['as_of']}: {len(summary.documents)} document(s) issued,"
            f" {summary.renewed} renewal(s), {summary.alerts} late-declaration alert(s)"
            f" over {summary.policies} policies"
        )
        if summary.documents:
            console.print(_documents_table(data["documents"]))

    @premium_app.command("declare")
    def declare_command(
        policy: Annotated[str, typer.Argument(help="policy number or id")],
        period_start: Annotated[str, typer.Option("--period-start", help="first day declared (YYYY-MM-DD)")],
        period_end: Annotated[str, typer.Option("--period-end", help="last day declared (YYYY-MM-DD)")],
        domestic: Annotated[
            str,
            typer.Option(
                "--domestic",
                help="insurable domestic turnover excl. VAT, or turnover=…,cash_sales=…,intra_group=…,public_buyers=…",
            ),
        ],
        export: Annotated[str, typer.Option("--export", help="export turnover, as --domestic")],
        reason: Annotated[str | None, typer.Option("--reason", help="why a declared period is corrected")] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Declare (or correct, as a new version) the turnover of a period."""
        with container_factory() as container, container.uow() as uow:
            outcome = premium.declare_turnover(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                _policy_id(uow, policy),
                period_start=_day(period_start, "period_start"),
                period_end=_day(period_end, "period_end"),
                domestic=_territory(domestic),
                export=_territory(export),
                reason=reason,
            )
        d = outcome.declaration
        data: dict[str, Any] = {
            "id": d.id,
            "period_start": d.period.start.isoformat(),
            "period_end": d.period.last_day.isoformat(),
            "version": d.version,
            "domestic_insurable": d.domestic.insurable.quantize_str(),
            "export_insurable": d.export.insurable.quantize_str(),
            "premium_amount": outcome.premium.quantize_str(),
            "due_date": outcome.due_on.isoformat(),
            "late": outcome.late,
            "reclosed_version": None if outcome.year_end is None else outcome.year_end.version,
            "documents": [_document(doc) for doc in outcome.documents],
        }
        if as_json:
            _print_json(data)
            return
        what = "declared" if d.version == 1 else f"corrected (version {d.version})"
        console.print(
            f"{data['period_start']} to {data['period_end']} {what}: premium {data['premium_amount']}"
            f" {outcome.premium.currency}" + (" [yellow](late)[/]" if outcome.late else "")
        )
        if outcome.documents:
            console.print(_documents_table(data["documents"]))

    @premium_app.command("close")
    def close_command(
        policy: Annotated[str, typer.Argument(help="policy number or id")],
        year_start: Annotated[
            str | None, typer.Option("--year-start", help="the year's first day; default: the oldest open year")
        ] = None,
        reason: Annotated[str | None, typer.Option("--reason", help="recorded with the closing")] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Close a policy year: the adjustment, fees and no-claims bonus are invoiced or credited."""
        with container_factory() as container, container.uow() as uow:
            year_end, documents = premium.close_year(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                _policy_id(uow, policy),
                year_start=None if year_start is None else _day(year_start, "year_start"),
                reason=reason,
            )
        data: dict[str, Any] = {**_closing(year_end), "documents": [_document(d) for d in documents]}
        if as_json:
            _print_json(data)
            return
        console.print(
            f"year {data['year_start']} to {data['year_end']} closed (version {year_end.version}):"
            f" premium {data['premium_amount']}, adjustment {data['adjustment_amount']},"
            f" fees {data['fees_amount']}, bonus {data['bonus_amount']}"
        )
        if documents:
            console.print(_documents_table(data["documents"]))

    @premium_app.command("years")
    def years_command(
        policy: Annotated[str, typer.Argument(help="policy number or id")],
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Each policy year's premium figures as of today, with its closings."""
        with container_factory() as container, container.uow() as uow:
            views = premium.years(uow, _actor(container, uow, as_user), _policy_id(uow, policy))
        data = [
            {**_figures(v.figures), "closed": v.closed, "closings": [_closing(c) for c in v.closings]} for v in views
        ]
        if as_json:
            _print_json(data)
            return
        # One column per year: the figures read down, and fit a narrow terminal.
        table = Table("", *(f"{row['year_start']}\n{row['year_end']}" for row in data))
        lines: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
            ("declared periods", lambda r: f"{r['declared_periods']}/{r['expected_periods']}"),
            ("earned", lambda r: r["earned_amount"]),
            ("minimum", lambda r: r["minimum_amount"]),
            ("premium", lambda r: r["premium_amount"]),
            ("called", lambda r: r["called_amount"]),
            ("received", lambda r: r["received_amount"]),
            ("adjustment", lambda r: r["adjustment_amount"]),
            ("fees", lambda r: r["fees_amount"]),
            ("indemnities", lambda r: r["indemnities_amount"]),
            ("no-claims bonus", lambda r: r["bonus_amount"]),
            ("year-end balance", lambda r: r["balance_amount"]),
            ("max liability", lambda r: r["max_liability_amount"] or "-"),
            ("status", lambda r: f"closed v{len(r['closings'])}" if r["closed"] else "open"),
        ]
        for label, value in lines:
            table.add_row(label, *(str(value(row)) for row in data))
        console.print(table)

    @premium_app.command("statement")
    def statement_command(
        policy: Annotated[str, typer.Argument(help="policy number or id")],
        output: Annotated[Path, typer.Option("--output", help="the file to write")],
        file_format: Annotated[str, typer.Option("--format", help="csv or pdf")] = "pdf",
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Write the premium statement: every document and payment with the running balance, then the years."""
        kind: Literal["csv", "pdf"] = "csv" if file_format == "csv" else "pdf"
        with container_factory() as container, container.uow() as uow:
            if file_format not in ("csv", "pdf"):
                raise InvalidInput(
                    f"--format is csv or pdf, not {file_format!r}", code="cli.bad_format", field="format"
                )
            actor = _actor(container, uow, as_user)
            policy_id = _policy_id(uow, policy)
            if kind == "csv":
                content, _ = premium_documents.statement_csv(uow, container.clock, actor, policy_id)
            else:
                content, _ = premium_documents.statement_pdf(uow, container.clock, actor, policy_id)
        output.write_bytes(content)
        if as_json:
            _print_json({"output": str(output), "format": kind, "bytes": len(content)})
            return
        console.print(f"wrote {escape(str(output))} ({len(content)} bytes)")

    app.add_typer(premium_app, name="premium")
