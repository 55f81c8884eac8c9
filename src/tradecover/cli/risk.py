"""Buyer-risk commands: financials import, grading model, monitoring, re-grading job."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tradecover.bootstrap import Container
from tradecover.domain.errors import DomainError
from tradecover.ingest.bodacc import parse_bodacc
from tradecover.ingest.default_datasets import read_polish_arff
from tradecover.ingest.financials_csv import parse_financials_csv
from tradecover.ingest.sirene import parse_sirene_csv
from tradecover.risk.grading import DEFAULT_SPLIT_SEED, GradingModel, evaluate
from tradecover.risk.ratios import ratios_from_polish
from tradecover.services import accounts, financials, grading, monitoring
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.model_fitting import build_artifact

buyers_app = typer.Typer(help="Buyers", no_args_is_help=True)
grading_app = typer.Typer(help="The grading model", no_args_is_help=True)
monitor_app = typer.Typer(help="Buyer monitoring (BODACC, SIRENE)", no_args_is_help=True)
jobs_app = typer.Typer(help="Batch jobs", no_args_is_help=True)

console = Console()
errors = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _actor(container: Container) -> Actor:
    with container.uow() as uow:
        return system_actor(accounts.ensure_insurer(uow, container.clock).id)


def register(app: typer.Typer, container_factory: Any) -> None:
    """Attach the commands; ``container_factory`` is the CLI's context manager giving a Container."""

    @buyers_app.command("import-financials")
    def import_financials(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="statements CSV")],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="report without writing")] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Import buyers' yearly statements; the file applies wholly or not at all."""
        with container_factory() as container:
            rows, parse_errors = parse_financials_csv(file)
            actor = _actor(container)
            with container.uow() as uow:
                report = financials.import_financials(
                    uow,
                    container.clock,
                    actor,
                    source=file.name,
                    rows=rows,
                    parse_errors=parse_errors,
                    dry_run=dry_run,
                )
        data = {
            "file": file.name,
            "applied": report.applied,
            "created": report.count("created"),
            "unchanged": report.count("unchanged"),
            "refused": report.count("refused"),
            "lines": [line.__dict__ for line in report.lines],
        }
        if as_json:
            _print_json(data)
        else:
            for line in report.errors:
                errors.print(f"[red]{_located(file.name, line.line, line.field, line.message)}[/]")
            verdict = (
                "applied"
                if report.applied
                else ("dry run: nothing written" if dry_run and not report.errors else "refused: nothing written")
            )
            console.print(
                f"{file.name}: {data['created']} created, {data['unchanged']} unchanged, "
                f"{data['refused']} refused — {verdict}"
            )
        if report.errors:
            raise typer.Exit(1)

    @grading_app.command("fit")
    def fit(
        data: Annotated[Path, typer.Option(exists=True, help="Polish bankruptcy ARFF (.arff or .arff.gz)")],
        out: Annotated[Path, typer.Option(help="where to write the model JSON")],
        altman: Annotated[Path | None, typer.Option(exists=True, help="Altman ratios TSV for the cross-check")] = None,
        seed: Annotated[int, typer.Option(help="hold-out split seed")] = DEFAULT_SPLIT_SEED,
        as_json: JsonOption = False,
    ) -> None:
        """Fit the grading model, validate it on a held-out part, and save it as JSON."""
        artifact = _guarded(lambda path: build_artifact(path, altman, seed=seed), data)
        out.write_text(json.dumps(artifact, indent=2, ensure_ascii=False, allow_nan=False) + "\n", "utf-8")
        validation = artifact["validation"]
        if as_json:
            _print_json(validation)
            return
        _report(validation["held_out"], as_json=False, title=f"held-out validation, written to {out}")
        if "altman" in validation:
            a = validation["altman"]
            console.print(
                f"Altman cross-check (50 US firms): AUC of Z {a['auc_altman_z']:.3f}, of the model {a['auc_model']:.3f}"
            )

    @grading_app.command("evaluate")
    def evaluate_cmd(
        model_path: Annotated[Path, typer.Option("--model", exists=True, help="model JSON")],
        data: Annotated[Path, typer.Option(exists=True, help="Polish bankruptcy ARFF")],
        as_json: JsonOption = False,
    ) -> None:
        """AUC, Gini, Brier and the calibration table of a model on a data set."""
        model = _guarded(_load_model, model_path)
        X, y, names = _guarded(read_polish_arff, data)
        _report(evaluate(model.predict_pd(ratios_from_polish(X, names)), y), as_json, title=data.name)

    @monitor_app.command("bodacc")
    def bodacc(
        files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="BODACC JSON or XML files")],
        as_json: JsonOption = False,
    ) -> None:
        """Record collective procedures on the buyers they name; re-ingesting changes nothing."""
        with container_factory() as container:
            actor = _actor(container)
            totals: dict[str, Any] = {}
            for file in files:
                parsed = parse_bodacc(file)
                with container.uow() as uow:
                    summary = monitoring.ingest_bodacc(
                        uow,
                        container.clock,
                        actor,
                        parsed.announcements,
                        skipped=parsed.skipped,
                        files=[file.name],
                    )
                for key, value in summary.__dict__.items():
                    totals[key] = totals.get(key, [] if isinstance(value, list) else 0) + value
        if as_json:
            _print_json(totals)
            return
        console.print(
            f"{len(files)} file(s): {totals['announcements']} announcements, {totals['matched']} matched buyers' "
            f"procedures, {totals['legal_events']} new legal events ({totals['already_recorded']} already "
            f"recorded), {totals['status_changes']} status changes, {totals['insolvencies']} insolvencies, "
            f"{totals['clocks_started']} 30-day clocks started, {totals['alerts']} alerts, "
            f"{totals['limits_affected']} limits affected"
        )

    @monitor_app.command("sirene")
    def sirene(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="StockUniteLegale CSV")],
        as_json: JsonOption = False,
    ) -> None:
        """Apply SIRENE updates: ceased companies, names and NAF codes; unknown SIRENs are skipped."""
        with container_factory() as container:
            actor = _actor(container)
            with container.uow() as uow:
                summary = monitoring.apply_sirene(uow, container.clock, actor, parse_sirene_csv(file), source=file.name)
        if as_json:
            _print_json(summary.__dict__)
            return
        console.print(
            f"{file.name}: {summary.read} units read, {summary.matched} buyers matched, "
            f"{summary.unknown_skipped} unknown skipped, {summary.ceased} ceased, {summary.renamed} renamed, "
            f"{summary.naf_changed} NAF changes, {summary.alerts} alerts"
        )

    @jobs_app.command("regrade")
    def regrade(
        everything: Annotated[bool, typer.Option("--all", help="re-grade every buyer, not only changed ones")] = False,
        dask: Annotated[str | None, typer.Option("--dask", help="Dask scheduler address, or 'local'")] = None,
        batch_size: Annotated[int, typer.Option(min=10, max=1_000_000, help="buyers per transaction")] = 20_000,
        pause_ms: Annotated[
            int, typer.Option(min=0, max=60_000, help="pause between batches, leaving the database to others")
        ] = 0,
        model_path: Annotated[
            Path | None, typer.Option("--model", exists=True, help="a fitted model JSON (default: the shipped one)")
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Re-grade buyers; restartable: a killed run resumes where it stopped."""
        client: Any = None
        cluster: Any = None
        scorer: grading.Scorer = grading.score_batch
        if dask is not None:
            from distributed import Client, LocalCluster

            if dask == "local":
                cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True)
                client = Client(cluster)
            else:
                client = Client(dask)
            scorer = grading.dask_scorer(client)
        try:
            with container_factory() as container:
                actor = _actor(container)
                with progress_bar("re-grading", errors, disable=as_json) as progress:
                    task = progress.add_task("regrade", total=None)
                    summary = grading.regrade(
                        container.uow,
                        container.clock,
                        actor,
                        everything=everything,
                        batch_size=batch_size,
                        pause_seconds=pause_ms / 1000,
                        scorer=scorer,
                        model=None if model_path is None else _guarded(_load_model, model_path),
                        on_progress=lambda done, total: progress.update(task, completed=done, total=total),
                    )
        finally:
            if client is not None:
                client.close()
            if cluster is not None:  # a Client does not close a cluster it was handed
                cluster.close()
        if as_json:
            _print_json(summary.__dict__)
            return
        console.print(
            f"run {summary.run_id} ({summary.mode}{', resumed' if summary.resumed else ''}): {summary.graded} buyers "
            f"graded, {summary.changed} grade changes, {summary.downgrades} downgrades of 2+ grades, "
            f"{summary.alerts} alerts"
        )

    app.add_typer(buyers_app, name="buyers")
    app.add_typer(grading_app, name="grading")
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(jobs_app, name="jobs")


def progress_bar(label: str, console_: Console, *, disable: bool) -> Progress:
    """The progress bar of long commands, on stderr so that --json output stays clean."""
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console_, disable=disable
    )


def _load_model(path: Path) -> GradingModel:
    return GradingModel.from_json(json.loads(path.read_text(encoding="utf-8")))


def _located(file_name: str, line: int | None, field: str | None, message: str) -> str:
    """``file, line N, field F: message``, said once even when the parser's message already says it."""
    if message.startswith(file_name):
        return message
    where = file_name + ("" if line is None else f", line {line}") + (f", field {field}" if field else "")
    return f"{where}: {message}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _guarded(read: Any, path: Path) -> Any:
    """Run a reader outside any database work; a bad file exits 1 with its error."""
    try:
        return read(path)
    except DomainError as error:
        errors.print(f"[red]error[/] [bold]{error.code}[/]: {error.message}")
        raise typer.Exit(1) from None
    except (ValueError, KeyError) as error:
        errors.print(f"[red]error[/]: {path.name}: {error}")
        raise typer.Exit(1) from None


def _report(report: dict[str, Any], as_json: bool, *, title: str) -> None:
    if as_json:
        _print_json(report)
        return
    console.print(
        f"[bold]{title}[/]: AUC {report['auc']:.3f}  Gini {report['gini']:.3f}  Brier "
        f"{report['brier']:.4f}  ({report['n']} firms, {report['defaults']} defaults)"
    )
    table = Table("grade", "firms", "mean predicted PD", "observed default rate")
    for row in report["calibration"]:
        table.add_row(str(row["grade"]), str(row["count"]), _pct(row["mean_pd"]), _pct(row["default_rate"]))
    console.print(table)
