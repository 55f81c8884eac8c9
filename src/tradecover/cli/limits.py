"""``tradecover limits``: the underwriters' commands (queue, decisions, revisions, capacity, history, expiry)."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradecover.bootstrap import Container
from tradecover.domain.errors import NotFound
from tradecover.domain.receco import ResponseType
from tradecover.services import accounts, credit_limits
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.ports import Page, UnitOfWork

limits_app = typer.Typer(help="Credit limits (underwriters)", no_args_is_help=True)
console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
AsOption = Annotated[str | None, typer.Option("--as", help="act as this underwriter (e-mail); default: command line")]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _actor(container: Container, uow: UnitOfWork, email: str | None) -> Actor:
    if email is None:
        return system_actor(accounts.ensure_insurer(uow, container.clock).id)
    user = uow.users.by_email(email.strip().lower())
    if user is None:
        raise NotFound(f"no user with e-mail {email}", code="user.not_found", field="as")
    return accounts.actor_for_user(uow, container.clock, user.id)


def _policy_id(uow: UnitOfWork, ref: str) -> str:
    policies, _ = uow.policies.list_page(policyholder_ids=None, page=Page(limit=100_000))
    for policy in policies:
        if ref in (policy.id, policy.number):
            return policy.id
    raise NotFound(f"no policy {ref}", code="policy.not_found", field="policy")


def _buyer_id(uow: UnitOfWork, ref: str) -> str:
    if uow.buyers.get(ref) is not None:
        return ref
    found = uow.buyers.by_sirens(["".join(ref.split())])
    if found:
        return next(iter(found.values()))
    raise NotFound(f"no buyer {ref} (give its id or SIREN)", code="buyer.not_found", field="buyer")


def _amount(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def register(app: typer.Typer, container_factory: Any) -> None:
    @limits_app.command("referrals")
    def referrals(as_json: JsonOption = False) -> None:
        """The referral queue: requests waiting for an underwriter."""
        with container_factory() as container, container.uow() as uow:
            items, _ = credit_limits.referrals(uow, container.clock, _actor(container, uow, None), Page(limit=500))
        rows: list[dict[str, Any]] = [
            {
                "request_id": r.request.id,
                "buyer": r.buyer.legal_name,
                "grade": r.buyer.risk_grade,
                "requested": r.request.requested.to_json()["amount"],
                "suggested": None if r.request.suggestion is None else r.request.suggestion.to_json()["amount"],
                "capacity": None if r.capacity is None else str(r.capacity),
                "accumulation": str(r.accumulation.on_buyer),
                "state": r.request.state.value,
                "reasons": list(r.request.reasons),
            }
            for r in items
        ]
        if as_json:
            _print_json(rows)
            return
        table = Table("request", "buyer", "grade", "requested", "suggested", "capacity", "accumulated", "state")
        for row in rows:
            table.add_row(
                row["request_id"][:8],
                row["buyer"],
                str(row["grade"]),
                row["requested"],
                row["suggested"] or "",
                row["capacity"] or "",
                row["accumulation"],
                row["state"],
            )
        console.print(table)

    @limits_app.command("decide")
    def decide(
        request_id: Annotated[str, typer.Argument(help="the referred request")],
        status: Annotated[ResponseType, typer.Option(help="approved, partially_approved or refused")],
        reason: Annotated[str, typer.Option(help="why")],
        amount: Annotated[str | None, typer.Option(help="granted amount (default: as requested)")] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Decide a referred request (above the four-eyes threshold, a second underwriter confirms)."""
        with container_factory() as container, container.uow() as uow:
            outcome = credit_limits.decide_referral(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                request_id,
                response=status,
                amount=_amount(amount),
                reason=reason,
            )
        r = outcome.request
        data = {
            "request_id": r.id,
            "state": r.state.value,
            "status": None if r.response is None else r.response.value,
            "granted_amount": None if r.granted is None else r.granted.to_json()["amount"],
            "reasons": list(r.reasons),
        }
        _print_json(data) if as_json else console.print(
            f"request {r.id}: {data['state']}" + (f", {data['status']} {data['granted_amount']}" if r.granted else "")
        )

    @limits_app.command("revise")
    def revise(
        policy: Annotated[str, typer.Option(help="policy number or id")],
        buyer: Annotated[str, typer.Option(help="buyer SIREN or id")],
        reason: Annotated[str, typer.Option(help="why")],
        amount: Annotated[str | None, typer.Option(help="the new limit; omit to cancel")] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Reduce or cancel a limit; the policy's reduction notice applies and the insured is alerted."""
        with container_factory() as container, container.uow() as uow:
            decision = credit_limits.revise_limit(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                policy_id=_policy_id(uow, policy),
                buyer_id=_buyer_id(uow, buyer),
                amount=_amount(amount),
                reason=reason,
            )
        data = {
            "status": decision.status.value,
            "granted_amount": decision.granted_amount.to_json()["amount"],
            "effective_date": decision.effective_date.isoformat(),
        }
        _print_json(data) if as_json else console.print(
            f"limit {data['status']}: {data['granted_amount']} from {data['effective_date']}"
        )

    @limits_app.command("capacity")
    def capacity(
        buyer: Annotated[str, typer.Option(help="buyer SIREN or id")],
        reason: Annotated[str, typer.Option(help="why")],
        amount: Annotated[
            str | None, typer.Option(help="the capacity; omit to return to the capacity function")
        ] = None,
        currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "EUR",
        as_user: AsOption = None,
    ) -> None:
        """Set a buyer's capacity explicitly (an underwriter's decision)."""
        with container_factory() as container, container.uow() as uow:
            credit_limits.set_capacity(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                _buyer_id(uow, buyer),
                amount=_amount(amount),
                currency=currency,
                reason=reason,
            )
        console.print("capacity set" if amount else "capacity back to the capacity function")

    @limits_app.command("history")
    def history(
        policy: Annotated[str, typer.Option(help="policy number or id")],
        buyer: Annotated[str, typer.Option(help="buyer SIREN or id")],
        as_json: JsonOption = False,
    ) -> None:
        """Every dated decision of one limit."""
        with container_factory() as container, container.uow() as uow:
            actor = _actor(container, uow, None)
            items = credit_limits.limit_history(uow, actor, _policy_id(uow, policy), _buyer_id(uow, buyer))
        rows: list[dict[str, Any]] = [
            {
                "sequence": d.sequence,
                "status": d.status.value,
                "request_type": d.request_type.value,
                "granted_amount": d.granted_amount.to_json()["amount"],
                "effective_date": d.effective_date.isoformat(),
                "expires_on": None if d.expires_on is None else d.expires_on.isoformat(),
                "reasons": list(d.reasons),
                "decided_by": d.decided_by,
            }
            for d in items
        ]
        if as_json:
            _print_json(rows)
            return
        table = Table("#", "status", "type", "granted", "from", "until", "reasons")
        for row in rows:
            table.add_row(
                str(row["sequence"]),
                row["status"],
                row["request_type"],
                row["granted_amount"],
                row["effective_date"],
                row["expires_on"] or "",
                ", ".join(row["reasons"]),
            )
        console.print(table)

    @limits_app.command("expire")
    def expire(as_json: JsonOption = False) -> None:
        """Expire temporary limits whose end date has come (a daily job)."""
        with container_factory() as container, container.uow() as uow:
            count = credit_limits.expire_limits(uow, container.clock, _actor(container, uow, None))
        _print_json({"expired": count}) if as_json else console.print(f"{count} temporary limit(s) expired")

    app.add_typer(limits_app, name="limits")
