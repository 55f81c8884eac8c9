"""``tradecover quotes``: apply for a quote from a file, show, list, revise and issue it."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradecover.bootstrap import Container
from tradecover.cli.limits import _actor
from tradecover.domain.errors import InvalidInput, NotFound
from tradecover.domain.quotes import DEFAULT_PRICING, PricingSettings, QuoteVersion
from tradecover.services import quotes
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.quotes import QuoteView

quotes_app = typer.Typer(help="Quotes: apply, price, revise, issue the policy", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
AsOption = Annotated[str | None, typer.Option("--as", help="act as this user (e-mail); default: command line")]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _pricing(container: Container) -> PricingSettings:
    return replace(DEFAULT_PRICING, validity_days=container.settings.quote_validity_days)


def _read(path: Path) -> dict[str, Any]:
    """The application file: YAML (``.yaml``/``.yml``) or JSON."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
        errors.print(f"[red]error[/] cannot read {escape(str(path))}: {escape(str(error))}")
        raise typer.Exit(1) from None
    if not isinstance(data, dict):
        errors.print(f"[red]error[/] {escape(str(path))} must hold an object (the application)")
        raise typer.Exit(1)
    return data


def _organisation_id(uow: UnitOfWork, ref: str) -> str:
    if uow.organisations.get(ref) is not None:
        return ref
    found = uow.organisations.find_by_name(ref)
    if found is None:
        raise NotFound(
            f"no organisation {ref} (give its id or name)", code="organisation.not_found", field="policyholder"
        )
    return found.id


def _quote_id(uow: UnitOfWork, ref: str) -> str:
    return uow.quotes.by_reference(ref.strip().upper()) or ref


def _setting(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs as term changes: ``premium_rates.export_rate=0.005``, ``covered_countries=FR,DE``."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise InvalidInput(f"--set {pair!r}: write NAME=VALUE", code="quote.invalid_change", field="set")
        parsed: Any = value
        if name == "covered_countries":
            parsed = [c.strip() for c in value.split(",") if c.strip()]
        elif value.isdigit():
            parsed = int(value)
        elif value.lower() in ("none", "null"):
            parsed = None
        head, dot, tail = name.partition(".")
        if dot:
            changes.setdefault(head, {})[tail] = parsed
        else:
            changes[name] = parsed
    return changes


def _version_json(v: QuoteVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "created_on": v.created_on.isoformat(),
        "valid_until": v.valid_until.isoformat(),
        "reason": v.reason,
        "created_by": v.created_by,
        "expected_premium": v.expected_premium.to_json(),
        "terms": v.terms.to_dict(),
        "lines": [line.to_json() for line in v.lines],
        "referral_reasons": [r.value for r in v.referral_reasons],
    }


def _quote_json(view: QuoteView) -> dict[str, Any]:
    q = view.quote
    return {
        "id": q.id,
        "reference": q.reference,
        "policyholder_id": q.policyholder_id,
        "status": view.status.value,
        "version": view.latest.version,
        "valid_until": view.latest.valid_until.isoformat(),
        "expected_premium": view.latest.expected_premium.to_json(),
        "issued_policy_id": q.issued_policy_id,
        "referral_reasons": [r.value for r in view.latest.referral_reasons],
        "versions": [_version_json(v) for v in view.versions],
    }


def _show(view: QuoteView) -> None:
    q, latest = view.quote, view.latest
    console.print(
        f"quote [bold]{q.reference}[/bold] ({q.id}): [bold]{view.status.value}[/bold], version {latest.version},"
        f" valid until {latest.valid_until}"
        + (f", issued as policy {q.issued_policy_id}" if q.issued_policy_id else "")
    )
    table = Table("step", "figure", "unit")
    for line in latest.lines:
        table.add_row(escape(line.label), line.figure, line.unit)
    console.print(table)
    if latest.referral_reasons:
        console.print(
            "[yellow]referred to an underwriter[/]: " + ", ".join(latest.referral_reasons)
            + ("" if latest.version >= 2 else " — revise it before it is issued")
        )  # fmt: skip
    if len(view.versions) > 1:
        history = Table("version", "date", "valid until", "expected premium", "reason", "by")
        for v in view.versions:
            history.add_row(
                str(v.version), str(v.created_on), str(v.valid_until), str(v.expected_premium), escape(v.reason),
                escape(v.created_by),
            )  # fmt: skip
        console.print(history)


def register(app: typer.Typer, container_factory: Any) -> None:
    @quotes_app.command("request")
    def request_command(
        file: Annotated[Path, typer.Argument(help="the application, JSON or YAML")],
        policyholder: Annotated[
            str | None, typer.Option(help="organisation id or name (default: the file's 'policyholder')")
        ] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Apply for a quote: turnover by territory, sector, buyers and outstanding, loss history."""
        data = _read(file)
        in_file = data.pop("policyholder", None)
        holder = policyholder or in_file
        if not holder:
            errors.print("[red]error[/]: name the policyholder (--policyholder or 'policyholder' in the file)")
            raise typer.Exit(1)
        with container_factory() as container, container.uow() as uow:
            view = quotes.request_quote(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                policyholder_id=_organisation_id(uow, str(holder)),
                application=data,
                pricing=_pricing(container),
            )
            uow.commit()
        if as_json:
            _print_json(_quote_json(view))
            return
        _show(view)

    @quotes_app.command("list")
    def list_command(
        policyholder: Annotated[str | None, typer.Option(help="organisation id or name")] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Quotes, newest first."""
        with container_factory() as container, container.uow() as uow:
            items, total = quotes.list_quotes(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                policyholder_id=None if policyholder is None else _organisation_id(uow, policyholder),
                page=Page(limit=500),
            )
        rows = [
            {
                "id": s.quote.id,
                "reference": s.quote.reference,
                "policyholder_id": s.quote.policyholder_id,
                "status": s.status.value,
                "version": s.latest.version,
                "valid_until": s.latest.valid_until.isoformat(),
                "expected_premium": s.latest.expected_premium.to_json(),
                "referral_reasons": [r.value for r in s.latest.referral_reasons],
            }
            for s in items
        ]
        if as_json:
            _print_json({"items": rows, "total": total})
            return
        table = Table("reference", "status", "version", "valid until", "expected premium", "referred", "id")
        for s in items:
            table.add_row(
                s.quote.reference, s.status.value, str(s.latest.version), str(s.latest.valid_until),
                str(s.latest.expected_premium), ", ".join(s.latest.referral_reasons), s.quote.id,
            )  # fmt: skip
        console.print(table)

    @quotes_app.command("show")
    def show_command(
        quote: Annotated[str, typer.Argument(help="quote id or reference")],
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """A quote: how its price was built, line by line, and its versions."""
        with container_factory() as container, container.uow() as uow:
            view = quotes.get_quote(uow, container.clock, _actor(container, uow, as_user), _quote_id(uow, quote))
        if as_json:
            _print_json(_quote_json(view))
            return
        _show(view)

    @quotes_app.command("revise")
    def revise_command(
        quote: Annotated[str, typer.Argument(help="quote id or reference")],
        reason: Annotated[str, typer.Option(help="why the terms change")],
        set_: Annotated[
            list[str],
            typer.Option("--set", help="a term NAME=VALUE (repeat), e.g. premium_rates.export_rate=0.005"),
        ],
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Adjust the terms: a new version with its reason (underwriters)."""
        with container_factory() as container, container.uow() as uow:
            view = quotes.revise_quote(
                uow,
                container.clock,
                _actor(container, uow, as_user),
                _quote_id(uow, quote),
                changes=_setting(set_),
                reason=reason,
                pricing=_pricing(container),
            )
            uow.commit()
        if as_json:
            _print_json(_quote_json(view))
            return
        _show(view)

    @quotes_app.command("issue")
    def issue_command(
        quote: Annotated[str, typer.Argument(help="quote id or reference")],
        start_date: Annotated[str, typer.Option("--start-date", help="the policy's first day, YYYY-MM-DD")],
        version: Annotated[int | None, typer.Option(help="the version seen; refused if superseded")] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Issue the policy from the quote's latest version (underwriters)."""
        try:
            start = date.fromisoformat(start_date)
        except ValueError:
            errors.print(f"[red]error[/]: --start-date {escape(start_date)} is not a date YYYY-MM-DD")
            raise typer.Exit(1) from None
        with container_factory() as container, container.uow() as uow:
            issued = quotes.issue_policy_from_quote(
                uow, container.clock, _actor(container, uow, as_user), _quote_id(uow, quote), start_date=start,
                version=version,
            )  # fmt: skip
            uow.commit()
        if as_json:
            _print_json(
                {
                    **_quote_json(issued.view),
                    "policy": {"id": issued.policy.id, "number": issued.policy.number, "start_date": start.isoformat()},
                }
            )
            return
        console.print(
            f"quote {issued.view.quote.reference} issued as policy [bold]{issued.policy.number}[/bold]"
            f" ({issued.policy.id}) from {start}"
        )

    app.add_typer(quotes_app, name="quotes")
