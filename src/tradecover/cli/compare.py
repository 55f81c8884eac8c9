"""``tradecover compare OFFERS.yaml --ledger FILE`` (or ``--insured ORGANISATION_ID``, the ledger tradecover holds):
insurers' offers replayed on the insured's history (COMPARE.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradecover.bootstrap import Container
from tradecover.domain.errors import DomainError, InvalidInput
from tradecover.ingest.ledger_formats import FORMATS, parse_ledger_file
from tradecover.ingest.ledger_records import LedgerFile
from tradecover.services import accounts
from tradecover.services.authorization import system_actor
from tradecover.simulation.comparison import OffersFile, compare_offers, comparison_png, load_offers
from tradecover.simulation.stored_history import stored_ledger

console = Console()
errors = Console(stderr=True)

#: Largest ledger file read (as the import service's limit: a FEC of a large insured).
MAX_LEDGER_BYTES = 50_000_000

_ROWS: tuple[tuple[str, str], ...] = (
    ("premium", "premium_amount"),
    ("fees", "fees_amount"),
    ("indemnities", "indemnity_amount"),
    ("net cost", "net_cost_amount"),
    ("limits granted", "limits_granted_amount"),
    ("covered at peak", "covered_peak_amount"),
    ("share of peak covered", "peak_share"),
    ("covered on average", "covered_average_amount"),
    ("share of average covered", "average_share"),
    ("cost per covered euro", "cost_per_covered_euro"),
)


def _render(document: dict[str, Any]) -> None:
    period = document["period"]
    exposure = document["exposure"]
    console.print(
        f"[bold]{escape(document['insured']['name'])}[/]: {len(document['offers'])} offers replayed on"
        f" {period['start']} to {period['end']} ({document['currency']}); exposure needed: peak"
        f" {exposure['peak_amount']} on {exposure['peak_date']}, average {exposure['average_amount']}"
    )
    table = Table(title="Offers side by side")
    table.add_column("")
    for offer in document["offers"]:
        table.add_column(escape(offer["insurer"]), justify="right")
    for label, key in _ROWS:
        table.add_row(label, *(str(o[key]) if o[key] is not None else "—" for o in document["offers"]))
    for n, year in enumerate(period["years"]):
        table.add_row(f"net cost {year}", *(o["years"][n]["net_cost_amount"] for o in document["offers"]))
    table.add_row(
        "worst year",
        *(f"{o['worst_year']['year']} ({o['worst_year']['net_cost_amount']})" for o in document["offers"]),
    )
    console.print(table)
    console.print("Ranking by net cost: " + ", ".join(escape(n) for n in document["ranking"]))
    console.print("[bold]Assumptions[/]")
    for line in document["assumptions"]:
        console.print(f"  • {escape(line)}")


def _read_ledger(ledger: Path, offers: OffersFile, ledger_format: str) -> LedgerFile:
    try:
        with open(ledger, "rb") as stream:
            data = stream.read(MAX_LEDGER_BYTES + 1)
    except OSError as error:
        raise InvalidInput(f"{ledger}: cannot be read: {error.strerror}", code="compare.unreadable") from None
    if len(data) > MAX_LEDGER_BYTES:
        raise InvalidInput(f"{ledger}: larger than {MAX_LEDGER_BYTES} bytes", code="compare.too_large")
    return parse_ledger_file(data, str(ledger), file_format=ledger_format, currency=offers.currency)


def _stored(
    container_factory: Callable[[], AbstractContextManager[Container]], insured: str, offers: OffersFile
) -> tuple[OffersFile, LedgerFile]:
    """The insured's ledger held in the configured database, read as the insurer (the system actor)."""
    with container_factory() as container, container.uow() as uow:
        actor = system_actor(accounts.ensure_insurer(uow, container.clock).id)
        stored = stored_ledger(uow, actor, insured, offers.currency)
        organisation = uow.organisations.get(insured)
        assert organisation is not None
    if offers.insured.siren and organisation.siren and offers.insured.siren != organisation.siren:
        raise InvalidInput(
            f"the offers are for SIREN {offers.insured.siren}, not for this insured ({organisation.siren})",
            code="compare.insured_mismatch",
            field="insured.registration_number",
        )
    return stored.applied_to(offers), stored.ledger


def register(app: typer.Typer, container_factory: Callable[[], AbstractContextManager[Container]]) -> None:
    """Attach ``compare``; like ``simulate`` it needs no configured database, unless ``--insured`` is given."""

    @app.command("compare")
    def compare(
        offers_file: Annotated[Path, typer.Argument(help="the offers, a YAML file (docs/COMPARE.md)", dir_okay=False)],
        ledger: Annotated[
            Path | None, typer.Option("--ledger", help="the insured's ledger: CSV, FEC or e-invoice", dir_okay=False)
        ] = None,
        insured: Annotated[
            str | None,
            typer.Option("--insured", help="the insured's organisation id: its ledger held in the database"),
        ] = None,
        years: Annotated[int | None, typer.Option("--years", help="the last N calendar years of the ledger")] = None,
        ledger_format: Annotated[str, typer.Option("--format", help=f"the ledger's format: {', '.join(FORMATS)}")] = (
            "auto"
        ),
        as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
        chart: Annotated[Path | None, typer.Option("--chart", help="write the comparison's chart (PNG)")] = None,
        scenarios: Annotated[
            Path | None, typer.Option("--scenarios", help="write each offer's scenario (YAML) in this folder")
        ] = None,
    ) -> None:
        """Replay each insurer's offer over the insured's real history through the simulator, side by side.

        The history is a ledger file (``--ledger``) or the insured's ledger held by tradecover (``--insured``,
        with its buyers' insolvencies): exactly one of the two."""
        try:
            if (ledger is None) == (insured is None):
                raise InvalidInput(
                    "give either --ledger FILE or --insured ORGANISATION_ID (the ledger held by tradecover)",
                    code="compare.history_source",
                    field="ledger",
                )
            offers = load_offers(offers_file)
            if ledger is not None:
                parsed = _read_ledger(ledger, offers, ledger_format)
            else:
                assert insured is not None
                offers, parsed = _stored(container_factory, insured, offers)
            result = compare_offers(offers, parsed, years=years)
        except DomainError as error:
            errors.print(f"[red]error[/] [bold]{error.code}[/]: {escape(error.message)}")
            raise typer.Exit(1) from None
        if scenarios is not None:
            scenarios.mkdir(parents=True, exist_ok=True)
            for name, text in result.scenarios.items():
                (scenarios / name).write_text(text, encoding="utf-8")
        if chart is not None:
            chart.write_bytes(comparison_png(result.document))
        if as_json:
            sys.stdout.write(json.dumps(result.document, indent=2, ensure_ascii=False) + "\n")
        else:
            _render(result.document)
