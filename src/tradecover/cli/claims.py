"""``tradecover claims``: overdue notifications, claims, settlements and statements from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradecover.cli.limits import _actor, _buyer_id, _policy_id
from tradecover.domain.claims import ClaimStatus
from tradecover.services import claim_statements, claims, overdues
from tradecover.services.claims import Computation
from tradecover.services.ports import Page

claims_app = typer.Typer(help="Overdue notifications, claims, indemnities and statements", no_args_is_help=True)
console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
AsOption = Annotated[str | None, typer.Option("--as", help="act as this user (e-mail); default: command line")]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _computation(c: Computation | None) -> dict[str, Any]:
    if c is None:
        return {}
    i = c.indemnity
    return {
        "cause": c.event.cause.value,
        "date_of_loss": c.event.date_of_loss.isoformat(),
        "loss_amount": i.loss.quantize_str(),
        "covered_loss_amount": i.covered_loss.quantize_str(),
        "indemnity_amount": i.indemnity.quantize_str(),
        "lines": [
            {
                "code": ln.code,
                "label": ln.label,
                "rule": ln.rule,
                "amount": None if ln.amount is None else ln.amount.quantize_str(),
            }
            for ln in i.lines
        ],
        "payees": [{"name": p.name, "role": p.role, "amount": p.amount.quantize_str()} for p in i.payees],
    }


def _show_lines(data: dict[str, Any]) -> None:
    table = Table("line", "rule", "amount")
    for line in data.get("lines", []):
        table.add_row(escape(line["label"]), escape(line["rule"]), line["amount"] or "")
    console.print(table)


def register(app: typer.Typer, container_factory: Any) -> None:
    @claims_app.command("notify")
    def notify_command(
        policy: Annotated[str, typer.Option("--policy", help="policy number or id")],
        buyer: Annotated[str, typer.Option("--buyer", help="buyer id or SIREN")],
        invoice: Annotated[
            list[str] | None, typer.Option("--invoice", help="an invoice number (repeat); none: all overdue")
        ] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Notify a buyer's overdue invoices: each is accepted or refused with its reason."""
        with container_factory() as container, container.uow() as uow:
            result = overdues.declare_overdue(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                policy_id=_policy_id(uow, policy),
                buyer_id=_buyer_id(uow, buyer),
                invoices=invoice or None,
            )
            uow.commit()
        rows: list[dict[str, Any]] = [
            {
                "number": j.invoice.number,
                "status": j.verdict.value,
                "code": None if j.refusal is None else j.refusal.value,
                "deadline": j.deadline,
            }
            for j in result.judged
        ]
        if as_json:
            _print_json({"notification_id": result.notification.id, "status": result.status.value, "invoices": rows})
            return
        console.print(f"notification {result.notification.id}: [bold]{result.status.value}[/bold]")
        table = Table("invoice", "status", "reason", "deadline")
        for row in rows:
            table.add_row(escape(row["number"]), row["status"], row["code"] or "", str(row["deadline"] or ""))
        console.print(table)

    @claims_app.command("list")
    def list_command(
        status: Annotated[
            str | None, typer.Option(help="pending, complete, awaiting_approval, settled, refused")
        ] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Claims, newest first."""
        with container_factory() as container, container.uow() as uow:
            items, total = claims.list_claims(
                uow,
                _actor(container, uow, as_user),
                policy_id=None,
                status=None if status is None else ClaimStatus(status),
                page=Page(limit=500),
            )
        data: list[dict[str, str]] = [
            {
                "id": c.id,
                "reference": c.reference,
                "policy_id": c.policy_id,
                "buyer_id": c.buyer_id,
                "cause": c.cause.value,
                "date_of_loss": c.date_of_loss.isoformat(),
                "status": c.status.value,
            }
            for c in items
        ]
        if as_json:
            _print_json({"items": data, "total": total})
            return
        table = Table("reference", "cause", "date of loss", "status", "id")
        for row in data:
            table.add_row(row["reference"], row["cause"], row["date_of_loss"], row["status"], row["id"])
        console.print(table)

    @claims_app.command("settle")
    def settle_command(
        claim: Annotated[str, typer.Argument(help="claim id")],
        preview: Annotated[bool, typer.Option("--preview", help="compute without writing")] = False,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Compute the indemnity and pay it (or say why not); --preview writes nothing."""
        with container_factory() as container, container.uow() as uow:
            actor = _actor(container, uow, as_user)
            if preview:
                data: dict[str, Any] = {
                    "status": "preview",
                    **_computation(claims.preview(uow, container.clock, actor, claim)),
                }
            else:
                outcome = claims.settle_claim(
                    uow, container.clock, actor, claim, approval_threshold=container.settings.indemnity_approval_amount
                )
                uow.commit()
                data = {
                    "status": outcome.status,
                    "code": outcome.code,
                    "message": outcome.message,
                    "missing_documents": [m.value for m in outcome.missing],
                    **_computation(outcome.computation),
                }
        if as_json:
            _print_json(data)
            return
        console.print(f"[bold]{data['status']}[/bold] {escape(data.get('message') or '')}")
        _show_lines(data)

    @claims_app.command("statement")
    def statement_command(
        claim: Annotated[str, typer.Argument(help="claim id")],
        out: Annotated[Path, typer.Option("--out", help="the PDF file to write")],
        language: Annotated[str, typer.Option(help="fr or en")] = "fr",
        as_user: AsOption = None,
    ) -> None:
        """Write the settlement statement (décompte) as a PDF."""
        lang: Literal["fr", "en"] = "en" if language == "en" else "fr"
        with container_factory() as container, container.uow() as uow:
            content, _ = claim_statements.settlement_statement_pdf(
                uow, container.clock, _actor(container, uow, as_user), claim, language=lang
            )
        out.write_bytes(content)
        console.print(f"wrote {escape(str(out))} ({len(content)} bytes)")

    app.add_typer(claims_app, name="claims")
