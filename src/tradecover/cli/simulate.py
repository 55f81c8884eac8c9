"""``tradecover simulate FILE.yaml``: replay a scenario on a fresh in-memory database (SCENARIOS.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from tradecover.domain.errors import DomainError
from tradecover.simulation import document, load_scenario, render, run_scenario

console = Console()
errors = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Attach ``simulate``; it needs no configured database, so no container factory."""

    @app.command("simulate")
    def simulate(
        file: Annotated[Path, typer.Argument(help="the scenario, a YAML file", dir_okay=False)],
        as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
    ) -> None:
        """Replay a scenario's events through the real services and show what the system decided."""
        try:
            result = run_scenario(load_scenario(file))
        except DomainError as error:
            errors.print(f"[red]error[/] [bold]{error.code}[/]: {escape(error.message)}")
            raise typer.Exit(1) from None
        if as_json:
            sys.stdout.write(json.dumps(document(result), indent=2, ensure_ascii=False) + "\n")
        else:
            render(result, console)
