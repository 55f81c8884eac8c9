"""``tradecover policies``: tacit renewal, notice of non-renewal and termination (DOMAIN.md §3)."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradecover.cli.limits import _actor, _policy_id
from tradecover.domain.errors import InvalidInput
from tradecover.domain.policies import NoticeParty, Policy
from tradecover.services import policies

policies_app = typer.Typer(help="Policy lifecycle: renewal, notice, termination", no_args_is_help=True)
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


def _termination(policy: Policy) -> dict[str, Any]:
    notice = policy.termination_notice
    return {
        "policy_id": policy.id,
        "number": policy.number,
        "termination_date": policy.termination_date,
        "termination_kind": None if policy.termination_kind is None else policy.termination_kind.value,
        "termination_reason": policy.termination_reason,
        "notice": None
        if notice is None
        else {
            "given_by": notice.given_by.value,
            "given_on": notice.given_on,
            "deadline": notice.deadline,
            "in_time": notice.in_time,
            "outcome": notice.outcome.value,
            "effective_date": notice.effective_date,
            "message": notice.explain(),
        },
    }


def register(app: typer.Typer, container_factory: Any) -> None:
    @policies_app.command("renew-due")
    def renew_due(
        as_of: Annotated[str, typer.Option("--as-of", help="renew the periods ended on or before this date")],
        as_json: JsonOption = False,
    ) -> None:
        """Tacit renewal: open the next period of every policy whose period has ended and that does not end."""
        with container_factory() as container, container.uow() as uow:
            renewed = policies.renew_due_policies(
                uow, container.clock, _actor(container, uow, None), as_of=_day(as_of, "as_of")
            )
        if as_json:
            _print_json(
                [
                    {"policy_id": r.policy_id, "number": r.policy_number, "start": r.period.start, "end": r.period.end}
                    for r in renewed
                ]
            )
            return
        table = Table("policy", "new period")
        for r in renewed:
            table.add_row(r.policy_number, str(r.period))
        if renewed:
            console.print(table)
        console.print(f"{len(renewed)} period(s) opened by tacit renewal")

    @policies_app.command("notice")
    def notice(
        policy: Annotated[str, typer.Argument(help="policy id or number")],
        reason: Annotated[str, typer.Option(help="why notice is given")],
        by: Annotated[
            NoticeParty | None,
            typer.Option("--by", help="who gives notice; default: insurer for staff, insured for an insured or broker"),
        ] = None,
        given_on: Annotated[str | None, typer.Option("--given-on", help="day notice was received (YYYY-MM-DD)")] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Record a notice of non-renewal; says whether it was in time and when the policy terminates."""
        with container_factory() as container, container.uow() as uow:
            updated, given = policies.give_termination_notice(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                _policy_id(uow, policy),
                reason=reason,
                given_by=by,
                given_on=None if given_on is None else _day(given_on, "given_on"),
            )
        if as_json:
            _print_json(_termination(updated))
        else:
            console.print(f"{escape(updated.number)}: {escape(given.explain())}")

    @policies_app.command("terminate")
    def terminate(
        policy: Annotated[str, typer.Argument(help="policy id or number")],
        effective_date: Annotated[str, typer.Option("--effective-date", help="first day without cover")],
        reason: Annotated[str, typer.Option(help="why the insurer terminates")],
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """The insurer terminates a policy from a date; deliveries made before stay covered (run-off)."""
        with container_factory() as container, container.uow() as uow:
            updated = policies.terminate_policy(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                _policy_id(uow, policy),
                effective_date=_day(effective_date, "effective_date"),
                reason=reason,
            )
        if as_json:
            _print_json(_termination(updated))
        else:
            console.print(f"{escape(updated.number)} terminated from {updated.termination_date}")

    app.add_typer(policies_app, name="policies")
