"""``tradecover collection``: the collectors' commands (cases, late-payment base rates, the formal notice)."""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradecover.cli.limits import _actor, _buyer_id, _policy_id
from tradecover.domain.collection import CollectionCase
from tradecover.domain.errors import InvalidInput
from tradecover.services import collection
from tradecover.services.ports import Page

collection_app = typer.Typer(help="Collection cases (collectors)", no_args_is_help=True)
console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
AsOption = Annotated[str | None, typer.Option("--as", help="act as this user (e-mail); default: command line")]
CaseArgument = Annotated[str, typer.Argument(help="the case's reference (COL-2026-000123) or id")]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _day(value: str | None, default: date, field: str = "on") -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)", code="cli.bad_date", field=field) from None


def _summary(case: CollectionCase) -> dict[str, Any]:
    handed = sum((d.unpaid_amount.amount for d in case.debts), Decimal(0))
    return {
        "id": case.id,
        "reference": case.reference,
        "policy_id": case.policy_id,
        "buyer_id": case.buyer_id,
        "stage": case.stage.value,
        "opened_on": case.opened_on,
        "currency": case.currency,
        "handed_over": str(handed),
        "debts": len(case.debts),
        "outcome": None if case.outcome is None else case.outcome.value,
        "closed_on": case.closed_on,
    }


def register(app: typer.Typer, container_factory: Any) -> None:
    @collection_app.command("list")
    def list_command(
        policy: Annotated[str | None, typer.Option(help="policy number or id")] = None,
        buyer: Annotated[str | None, typer.Option(help="buyer id or SIREN")] = None,
        stage: Annotated[str | None, typer.Option(help="amicable, judicial or closed")] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """The collection cases, newest first."""
        with container_factory() as container, container.uow() as uow:
            items, total = collection.list_cases(
                uow,
                _actor(container, uow, as_user),
                page=Page(limit=10_000),
                policy_id=None if policy is None else _policy_id(uow, policy),
                buyer_id=None if buyer is None else _buyer_id(uow, buyer),
                stage=stage,
            )
        rows = [_summary(c) for c in items]
        if as_json:
            _print_json({"total": total, "items": rows})
            return
        table = Table(title=f"Collection cases ({total})")
        for column in ("reference", "stage", "opened_on", "debts", "handed_over", "outcome"):
            table.add_column(column, justify="right" if column in ("debts", "handed_over") else "left")
        for row in rows:
            table.add_row(
                row["reference"],
                row["stage"],
                str(row["opened_on"]),
                str(row["debts"]),
                f"{row['handed_over']} {row['currency']}",
                row["outcome"] or "",
            )
        console.print(table)

    @collection_app.command("show")
    def show_command(case: CaseArgument, as_user: AsOption = None, as_json: JsonOption = False) -> None:
        """A case: its debts, actions, receipts, costs and what remains due."""
        with container_factory() as container, container.uow() as uow:
            actor = _actor(container, uow, as_user)
            view = collection.case_view(uow, actor, collection.find_case(uow, actor, case).id)
            today = container.clock.today()
        b = view.balance
        data: dict[str, Any] = _summary(view.case) | {
            "policy": view.policy_number,
            "buyer": view.buyer.legal_name,
            "balance": {
                "received": b.received.quantize_str(),
                "remaining": b.remaining.quantize_str(),
                "remaining_guaranteed": b.remaining_guaranteed.quantize_str(),
                "remaining_non_guaranteed": b.remaining_non_guaranteed.quantize_str(),
                "commission": b.commission.quantize_str(),
                "costs": b.costs.quantize_str(),
                "settled_otherwise": b.settled_otherwise.quantize_str(),
            },
            "debts": [
                {
                    "number": d.number,
                    "due_date": d.due_date,
                    "guaranteed": d.guaranteed,
                    "unpaid_at_hand_over": d.unpaid_amount.quantize_str(),
                    "remaining": b.remaining_by_debt[d.invoice_id].quantize_str(),
                }
                for d in view.case.debts
            ],
            "actions": [{"kind": a.kind.value, "on": a.on, "author": a.author, "note": a.note} for a in view.actions],
            "receipts": [
                {
                    "amount": r.amount.quantize_str(),
                    "received_on": r.received_on,
                    "reference": r.reference,
                    "commission": r.commission_amount.quantize_str(),
                }
                for r in view.receipts
            ],
            "costs": [
                {"kind": c.kind.value, "amount": c.amount.quantize_str(), "on": c.incurred_on} for c in view.costs
            ],
            "administrator_claim": None
            if view.claim_filing is None
            else {
                "publication_date": view.claim_filing.publication_date,
                "deadline": view.claim_filing.deadline,
                "filed_on": view.claim_filing.filed_on,
                "late": view.claim_filing.late(today),
            },
        }
        if as_json:
            _print_json(data)
            return
        # Plain text: names and notes come from users; "[x]" is not a style.
        console.print(
            f"{data['reference']} — {data['stage']} — {data['buyer']} (policy {data['policy']})", markup=False
        )
        console.print(
            f"remaining {data['balance']['remaining']} {data['currency']} "
            f"(guaranteed {data['balance']['remaining_guaranteed']}, "
            f"not guaranteed {data['balance']['remaining_non_guaranteed']}); "
            f"received {data['balance']['received']}, commission {data['balance']['commission']}, "
            f"costs {data['balance']['costs']}",
            markup=False,
        )
        debts = Table("invoice", "due", "guaranteed", "at hand-over", "remaining", title="Debts")
        for d in data["debts"]:
            debts.add_row(
                escape(d["number"]),
                str(d["due_date"]),
                "yes" if d["guaranteed"] else "no",
                d["unpaid_at_hand_over"],
                d["remaining"],
            )
        console.print(debts)
        actions = Table("on", "kind", "author", "note", title="Actions")
        for a in data["actions"]:
            actions.add_row(str(a["on"]), a["kind"], escape(a["author"]), escape(a["note"] or ""))
        console.print(actions)
        claim = data["administrator_claim"]
        if claim is not None:
            filed = f"filed on {claim['filed_on']}" if claim["filed_on"] else "not filed yet"
            console.print(f"claim with the administrator: deadline {claim['deadline']}, {filed}")

    @collection_app.command("rates")
    def rates_command(as_json: JsonOption = False) -> None:
        """The ECB base rates of the late-payment penalties, newest first (shipped, or configured)."""
        with container_factory() as container, container.uow() as uow:
            lines = collection.list_base_rates(uow, _actor(container, uow, None))
        if as_json:
            _print_json(
                [
                    {"effective_date": x.effective_date, "rate": str(x.rate), "source": x.source,
                     "recorded_by": x.recorded_by}
                    for x in lines
                ]
            )  # fmt: skip
            return
        table = Table("effective_date", "rate", "source", title="ECB base rates (penalty = rate + 10 points)")
        for x in lines:
            table.add_row(x.effective_date.isoformat(), str(x.rate), x.source)
        console.print(table)

    @collection_app.command("add-rate")
    def add_rate_command(
        effective_date: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
        rate: Annotated[str, typer.Argument(help="the ECB rate as a fraction: 0.0215 for 2.15 %")],
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Configure the ECB base rate in force from a date (it wins over the shipped one on that date)."""
        with container_factory() as container:
            day = _day(effective_date, container.clock.today(), "effective_date")
            try:
                value = Decimal(rate)
            except InvalidOperation:
                raise InvalidInput(f"{rate!r} is not a number", code="cli.bad_rate", field="rate") from None
            with container.uow() as uow:
                configured = collection.add_base_rate(
                    uow, container.clock, _actor(container, uow, as_user), effective_date=day, rate=value
                )
                uow.commit()
        if as_json:
            _print_json({"effective_date": configured.effective_date, "rate": str(configured.rate)})
        else:
            console.print(f"base rate {configured.rate} from {configured.effective_date}")

    @collection_app.command("formal-notice")
    def formal_notice_command(
        case: CaseArgument,
        out: Annotated[Path, typer.Option("--out", help="the PDF file to write")],
        language: Annotated[str, typer.Option(help="fr or en")] = "fr",
        on: Annotated[str | None, typer.Option(help="the letter's date (YYYY-MM-DD); default: today")] = None,
        send: Annotated[
            bool, typer.Option("--send", help="send it: record the formal_notice action and keep the letter")
        ] = False,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Write the formal notice of a case as PDF: a preview, or with --send the letter sent."""
        with container_factory() as container:
            day = _day(on, container.clock.today())
            with container.uow() as uow:
                actor = _actor(container, uow, as_user)
                found = collection.find_case(uow, actor, case)
                if send:
                    sent = collection.send_formal_notice(
                        uow, container.clock, actor, found.id, on=day, language=language
                    )
                    content, reference = sent.letter.content, sent.letter.reference
                    uow.commit()
                else:
                    content = collection.formal_notice_pdf(
                        uow, container.clock, actor, found.id, on=day, language=language
                    )
                    reference = found.reference
            out.write_bytes(content)
        if as_json:
            _print_json({"case": found.reference, "letter": reference, "sent": send, "file": str(out),
                         "bytes": len(content)})  # fmt: skip
        else:
            console.print(f"{'sent' if send else 'preview of'} {reference}: written {out}", markup=False)

    app.add_typer(collection_app, name="collection")
