"""``tradecover``: database, server, users, API keys, demo book, audit."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from tradecover.bootstrap import Container, build
from tradecover.cli.claims import register as register_claims_commands
from tradecover.cli.collection import register as register_collection_commands
from tradecover.cli.compare import register as register_compare_command
from tradecover.cli.ledger import register as register_ledger_commands
from tradecover.cli.limits import register as register_limit_commands
from tradecover.cli.policies import register as register_policy_commands
from tradecover.cli.portfolio import register as register_portfolio_commands
from tradecover.cli.portfolio_loss import register as register_portfolio_loss_commands
from tradecover.cli.premium import register as register_premium_commands
from tradecover.cli.quotes import register as register_quote_commands
from tradecover.cli.risk import progress_bar
from tradecover.cli.risk import register as register_risk_commands
from tradecover.cli.simulate import register as register_simulate_command
from tradecover.config import Settings
from tradecover.domain.errors import DomainError
from tradecover.domain.parties import STAFF_ROLES, OrganisationKind, Role
from tradecover.persistence.migrate import current_revision, upgrade
from tradecover.services import accounts, audit
from tradecover.services.authorization import system_actor
from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD, load_demo_book
from tradecover.services.ports import Page

app = typer.Typer(
    help="tradecover — trade credit insurance platform", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
users_app = typer.Typer(help="User accounts", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for ERP integrations", no_args_is_help=True)
demo_app = typer.Typer(help="Demo book", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log", no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (users_app, "users"),
    (keys_app, "api-keys"),
    (demo_app, "demo"),
    (audit_app, "audit"),
    (orgs_app, "organisations"),
):
    app.add_typer(sub, name=name)

console = Console()
errors = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]


@contextmanager
def _container() -> Iterator[Container]:
    try:
        container = build(Settings())
    except ValueError as error:  # settings refused (e.g. a default secret in production)
        errors.print(f"[red]configuration error:[/] {escape(str(error))}")
        raise typer.Exit(1) from None
    try:
        yield container
    except DomainError as error:
        errors.print(
            f"[red]error[/] [bold]{escape(error.code)}[/]: {escape(error.message)}"
            + (f" (field: {escape(error.field)})" if error.field else "")
        )
        raise typer.Exit(1) from None
    except (OperationalError, ProgrammingError) as error:
        # A database never migrated (or behind the code) answers "no such table" / "does not exist":
        # say what to do rather than print a driver traceback.
        missing = "no such table" in str(error) or "does not exist" in str(error)
        hint = " — run `tradecover db upgrade` first" if missing else ""
        errors.print(f"[red]database error[/]{hint}: {escape(str(error.orig).splitlines()[0])}")
        raise typer.Exit(1) from None
    finally:
        container.dispose()


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations up to REVISION (default: the latest)."""
    with _container() as container:
        upgrade(container.engine, revision)
        console.print(f"database at revision [bold]{current_revision(container.engine)}[/]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the API and the portal."""
    import uvicorn

    Settings()  # fail early on a bad configuration
    uvicorn.run("tradecover.api.main:app", host=host, port=port, workers=workers, proxy_headers=False)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="login e-mail")],
    role: Annotated[Role, typer.Option(help="role")],
    organisation: Annotated[str | None, typer.Option(help="organisation name or id (not for staff)")] = None,
    full_name: Annotated[str, typer.Option(help="display name")] = "",
    password: Annotated[str | None, typer.Option(help="password (prompted when omitted)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user; staff roles join the insurer's organisation (created on first use)."""
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _container() as container, container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, container.clock)
        actor = system_actor(insurer.id)
        if role in STAFF_ROLES:
            organisation_id = insurer.id
        elif organisation is None:
            errors.print("[red]error[/]: --organisation is required for non-staff roles")
            raise typer.Exit(1)
        else:
            found = uow.organisations.get(organisation) or uow.organisations.find_by_name(organisation)
            if found is None:
                errors.print(f"[red]error[/]: no organisation named or with id {escape(repr(organisation))}")
                raise typer.Exit(1)
            organisation_id = found.id
        user = accounts.create_user(
            uow,
            container.clock,
            actor,
            organisation_id=organisation_id,
            email=email,
            full_name=full_name,
            role=role,
            password=password,
        )
    if as_json:
        _print_json(
            {
                "id": user.id,
                "email": user.email,
                "role": user.role.value,
                "organisation_id": user.organisation_id,
            }
        )
    else:
        console.print(f"created user [bold]{user.email}[/] ({user.role.value})")


@keys_app.command("create")
def api_keys_create(
    email: Annotated[str, typer.Option(help="the user the key acts as")],
    name: Annotated[str, typer.Option(help="what the key is for, e.g. 'ERP export'")],
    as_json: JsonOption = False,
) -> None:
    """Create an API key; the key is printed once and cannot be shown again."""
    with _container() as container, container.uow() as uow:
        user = uow.users.by_email(email.strip().lower())
        if user is None:
            errors.print(f"[red]error[/]: no user with e-mail {escape(repr(email))}")
            raise typer.Exit(1)
        actor = accounts.actor_for_user(uow, container.clock, user.id)
        key, token = accounts.create_api_key(uow, container.clock, actor, name=name)
    if as_json:
        _print_json({"id": key.id, "prefix": key.prefix, "token": token})
    else:
        console.print(f"API key [bold]{key.name}[/] for {email}: [bold green]{token}[/]")
        console.print("Store it now: it will not be shown again.")


@demo_app.command("load")
def demo_load(
    buyers: Annotated[int, typer.Option("--buyers", min=0, max=200_000, help="number of buyers")] = 2000,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same book)")] = 2026,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="do nothing when a book is present")] = False,
    as_json: JsonOption = False,
) -> None:
    """Load the demo book into an empty database."""
    with _container() as container:
        if if_empty:
            with container.uow() as uow:
                _, total = uow.organisations.list_page(ids=None, kind=OrganisationKind.POLICYHOLDER, page=Page(limit=1))
            if total:
                console.print("a book is already loaded: nothing to do")
                return
        with progress_bar("buyers", errors, disable=as_json) as progress:
            task = progress.add_task("buyers", total=buyers)
            summary = load_demo_book(
                container.uow,
                container.clock,
                buyers_count=buyers,
                seed=seed,
                on_progress=lambda done, _total: progress.update(task, completed=done),
            )
    if as_json:
        _print_json(summary.__dict__)
        return
    console.print(
        f"demo book: {summary.organisations} organisations, {summary.policies} policies, "
        f"{summary.buyers} buyers ({summary.shared_buyers} shared by two insureds, "
        f"{summary.groups} groups)"
    )
    print_logins(summary.logins, summary.password)


@demo_app.command("logins")
def demo_logins(as_json: JsonOption = False) -> None:
    """List the demo book's logins (they share the demo password)."""
    with _container() as container, container.uow() as uow:
        rows: list[tuple[str, str, str]] = []
        organisations, _ = uow.organisations.list_page(ids=None, kind=None, page=Page(limit=10_000))
        for organisation in organisations:
            users, _ = uow.users.list_page(organisation_id=organisation.id, page=Page(limit=10_000))
            rows += [(u.email, u.role.value, organisation.name) for u in users if u.email.endswith(DEMO_DOMAIN)]
        staff = {r.value for r in STAFF_ROLES}
        rows.sort(key=lambda row: (row[1] not in staff, row[2], row[0]))
    if as_json:
        _print_json([{"email": e, "role": r, "organisation": o, "password": DEMO_PASSWORD} for e, r, o in rows])
    elif rows:
        print_logins(rows, DEMO_PASSWORD)
    else:
        console.print("no demo logins: run 'tradecover demo load' on an empty database")


def print_logins(logins: list[tuple[str, str, str]], password: str) -> None:
    # Plain aligned lines: a table would be cut to the terminal's width, and these must be copied whole.
    width = max(len(email) for email, _, _ in logins)
    typer.echo(f"Demo logins (every one with the password {password}):")
    for email, role, organisation in logins:
        typer.echo(f"  {email.ljust(width)}  {role.ljust(14)}  {organisation}")


@audit_app.command("verify")
def audit_verify(as_json: JsonOption = False) -> None:
    """Recompute every tenant's hash chain; exit 1 if anything was tampered with."""
    with _container() as container, container.uow() as uow:
        tenants, events, breaks = audit.verify_audit(uow)
    if as_json:
        _print_json({"ok": not breaks, "tenants": tenants, "events": events, "breaks": [b.__dict__ for b in breaks]})
    elif breaks:
        for b in breaks:
            errors.print(f"[red]TAMPERED[/] tenant {b.tenant} event #{b.sequence}: {b.problem}")
        errors.print(f"[red]{len(breaks)} problem(s)[/] in {events} events over {tenants} chains")
    else:
        console.print(f"[green]audit log intact[/]: {events} events in {tenants} chains")
    if breaks:
        raise typer.Exit(1)


@orgs_app.command("list")
def organisations_list(as_json: JsonOption = False) -> None:
    """List organisations."""
    with _container() as container, container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, container.clock)
        items, _ = accounts.list_organisations(uow, system_actor(insurer.id), kind=None, page=Page(limit=10_000))
    if as_json:
        _print_json(
            [{"id": o.id, "kind": o.kind.value, "name": o.name, "country": o.country, "siren": o.siren} for o in items]
        )
        return
    table = Table("id", "kind", "name", "SIREN")
    for o in items:
        table.add_row(o.id, o.kind.value, o.name, o.siren or "")
    console.print(table)


register_risk_commands(app, _container)
register_ledger_commands(app, _container)
register_simulate_command(app)
register_compare_command(app, _container)
register_limit_commands(app, _container)
register_collection_commands(app, _container)
register_claims_commands(app, _container)
register_quote_commands(app, _container)
register_policy_commands(app, _container)
register_premium_commands(app, _container)
register_portfolio_commands(app, _container)
register_portfolio_loss_commands(_container)


def main() -> None:
    app()
