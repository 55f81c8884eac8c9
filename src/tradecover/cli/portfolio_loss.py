"""``tradecover portfolio loss`` and ``tradecover portfolio generate-book``: the loss model from the command line.

``loss`` runs the portfolio loss model (DOMAIN.md §11) on a book file (``--book``, CSV or Parquet) or on
the live book of the database (``--live``), prints the figures (Rich tables, or ``--json``) and may draw
the loss distribution and the contributions as PNG. ``generate-book`` writes a synthetic book of any
size, e.g. the million-obligor book of the benchmarks.

Every problem — a bad book, correlation or scenario file (named with its line and column), a bad
parameter, a Dask scheduler out of reach — is one message on stderr and exit code 1, no traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradecover.cli.limits import _actor
from tradecover.cli.portfolio import portfolio_app
from tradecover.cli.risk import progress_bar
from tradecover.documents.portfolio_charts import contributions_png, loss_distribution_png
from tradecover.domain.errors import DomainError
from tradecover.ingest.loss_inputs import LossInputError, read_factor_correlation, read_scenario_file
from tradecover.ingest.portfolio_book import BookFileError, read_book, write_book
from tradecover.risk.book_generator import generate_book
from tradecover.risk.factor_model import FactorCorrelationError
from tradecover.risk.portfolio_book import BookError
from tradecover.risk.portfolio_loss import LossFigures, PortfolioLossResult
from tradecover.services import portfolio, portfolio_loss
from tradecover.services.portfolio_loss import LossParameters

console = Console()
errors = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
#: Bars of the contributions chart, whatever --top lists.
MAX_CHART_BARS = 50

#: The option behind each parameter a service error names.
OPTION_OF_FIELD = {
    "model": "--model",
    "scenarios": "--scenarios",
    "seed": "--seed",
    "factors": "--factors",
    "asset_correlation": "--asset-correlation",
    "levels": "--levels",
    "contribution_level": "--contribution-level",
    "chunk_size": "--chunk-size",
    "target_relative_error": "--target-rse",
    "correlation": "--correlation",
    "stress": "--scenario-file",
    "lgd": "--lgd",
    "as-of": "--as-of",
    "currency": "--currency",
}


class _Problem(Exception):
    """A problem of the command line itself (an option's value), said as is."""


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _fail(message: str) -> typer.Exit:
    errors.print(f"[red]error[/]: {escape(message)}")
    return typer.Exit(1)


@contextmanager
def _problems() -> Iterator[None]:
    """Every expected failure as one message on stderr and exit code 1."""
    try:
        yield
    except (BookFileError, LossInputError) as error:
        for line in str(error).splitlines():  # one problem a line, each with its file, line and column
            errors.print(f"[red]error[/]: {escape(line)}")
        raise typer.Exit(1) from None
    except DomainError as error:
        option = OPTION_OF_FIELD.get((error.field or "").split(".")[0])
        where = f" (option {option})" if option else (f" (field: {error.field})" if error.field else "")
        errors.print(f"[red]error[/] [bold]{escape(error.code)}[/]: {escape(error.message)}{escape(where)}")
        raise typer.Exit(1) from None
    except (_Problem, BookError, FactorCorrelationError) as error:
        raise _fail(str(error)) from None
    except OSError as error:
        name = f"{error.filename}: " if error.filename else ""
        raise _fail(f"{name}{error.strerror or error}") from None
    except ValueError as error:  # a parameter the checks above let through
        raise _fail(str(error)) from None


def _levels(text: str) -> tuple[float, ...]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise _Problem(f"--levels {text!r}: give confidence levels separated by commas, e.g. 0.99,0.995")
    return tuple(sorted({_fraction(part, "--levels") for part in parts}))


def _fraction(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _Problem(f"{option} {text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise _Problem(f"{option} {text} must lie strictly between 0 and 1 (0.995, not 99.5)")
    return value


def _asset_correlation(text: str) -> float | Literal["basel"]:
    if text.strip().casefold() == "basel":
        return "basel"
    try:
        value = float(text)
    except ValueError:
        raise _Problem(f"--asset-correlation {text!r}: give 'basel' or a number in [0, 1)") from None
    if not 0.0 <= value < 1.0:
        raise _Problem(f"--asset-correlation {text}: a correlation lies in [0, 1)")
    return value


def _day(text: str | None, default: date) -> date:
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Problem(f"--as-of {text!r} is not a date (YYYY-MM-DD)") from None


def _lgd(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _Problem(f"--lgd {text!r} is not a number") from None
    if not value.is_finite() or not 0 <= value <= 1:
        raise _Problem(f"--lgd {text}: a loss given default lies in [0, 1] (0.6, not 60)")
    return value


@contextmanager
def _dask(address: str | None) -> Iterator[Any]:
    """A dask.distributed Client on ``address`` ('local': a cluster of two processes here), or None."""
    if address is None:
        yield None
        return
    from distributed import Client, LocalCluster

    # distributed's Client and LocalCluster carry no annotations
    cluster: Any = None
    client: Any = None
    try:
        if address == "local":
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True)  # type: ignore[no-untyped-call]
            client = Client(cluster)  # type: ignore[no-untyped-call]
        else:
            client = Client(address, timeout="10s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as error:
        if cluster is not None:
            cluster.close()
        raise _Problem(f"--dask {address}: cannot reach the scheduler ({error})") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:  # a Client does not close a cluster it was handed
            cluster.close()


def _progress_callback(progress: Any, task: Any) -> Callable[[int, int], None]:
    """The bar follows the chunks of the simulation, then those of the contributions (a second, shorter pass)."""

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return update


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _with_se(value: float, se: float) -> str:
    return _money(value) if se == 0 else f"{_money(value)} ± {_money(se)}"


def _level(level: float) -> str:
    return f"{level * 100:.6g} %"


def _figures_table(result: PortfolioLossResult) -> Table:
    columns: list[tuple[str, LossFigures]] = [("gross", result.gross)]
    if result.net is not None:
        columns.append(("net of reinsurance", result.net))
    table = Table(title="Loss distribution (book currency; ± one Monte Carlo standard error)")
    table.add_column("figure")
    for name, _ in columns:
        table.add_column(name, justify="right")
    table.add_row("expected loss", *(_with_se(f.expected_loss, f.expected_loss_se) for _, f in columns))
    table.add_row("standard deviation", *(_money(f.standard_deviation) for _, f in columns))
    for i, measure in enumerate(result.gross.measures):
        table.add_row(
            f"VaR {_level(measure.level)}", *(_with_se(f.measures[i].var, f.measures[i].var_se) for _, f in columns)
        )
        table.add_row(
            f"TVaR {_level(measure.level)}", *(_with_se(f.measures[i].tvar, f.measures[i].tvar_se) for _, f in columns)
        )
    return table


def _share(value: float, total: float) -> str:
    return f"{value / total * 100:.2f} %" if total else ""


def _contributions_table(title: str, key: str, items: list[tuple[str, float]], total: float) -> Table:
    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column(key)
    table.add_column("contribution", justify="right")
    table.add_column("share", justify="right")
    for rank, (name, value) in enumerate(items, start=1):
        table.add_row(str(rank), escape(name), _money(value), _share(value, total))
    return table


def _show(result: PortfolioLossResult, top: int, plots: list[Path]) -> None:
    engine = (
        "CreditRisk+ (analytic)"
        if result.model == "creditriskplus"
        else f"Monte Carlo, {result.n_scenarios:,} scenarios, seed {result.seed}, importance sampling "
        + ("on" if result.importance_sampling else "off")
    )
    console.print(
        f"{result.n_obligors:,} obligors, total EAD {_money(result.total_ead)}, expected loss Σ EAD × PD × LGD "
        f"{_money(result.analytic_expected_loss)} — {engine}"
        + (f", stress {escape(repr(result.stress))}" if result.stress else "")
    )
    console.print(_figures_table(result))
    total = float(result.obligor_contributions.sum())
    level = _level(result.contribution_level)
    sectors = sorted(result.sector_contributions.items(), key=lambda item: (-item[1], item[0]))
    console.print(
        _contributions_table(
            f"Contributions to TVaR {level} per sector ({len(sectors)})", "sector", sectors[:top], total
        )
    )
    countries = sorted(result.country_contributions.items(), key=lambda item: (-item[1], item[0]))
    console.print(
        _contributions_table(
            f"Contributions to TVaR {level} per country ({len(countries)})", "country", countries[:top], total
        )
    )
    obligors = result.top_contributors(top)
    console.print(
        _contributions_table(
            f"Top {len(obligors)} obligors by contribution to TVaR {level}", "obligor", obligors, total
        )
    )
    for path in plots:
        console.print(f"chart written to {escape(str(path))}")


def _write(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as error:
        raise _Problem(f"cannot write {path}: {error.strerror or error}") from None


def register(container_factory: Any) -> None:
    """Add ``loss`` and ``generate-book`` to the ``portfolio`` group; ``container_factory`` gives a Container."""

    @portfolio_app.command("loss")
    def loss_command(
        book: Annotated[
            Path | None,
            typer.Option("--book", help="book file, .csv or .parquet: obligor_id,ead,pd,lgd,sector,country"),
        ] = None,
        live: Annotated[bool, typer.Option("--live", help="the live book of the database instead of a file")] = False,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="--live: the book on this date; default today")
        ] = None,
        lgd: Annotated[str, typer.Option("--lgd", help="--live: loss given default, 0..1")] = str(
            portfolio.DEFAULT_LGD_RATE
        ),
        currency: Annotated[str, typer.Option("--currency", help="--live: the book's currency")] = "EUR",
        as_user: Annotated[
            str | None, typer.Option("--as", help="--live: act as this staff user (e-mail); default: command line")
        ] = None,
        model: Annotated[str, typer.Option("--model", help="mc (Monte Carlo) or creditriskplus (analytic)")] = "mc",
        scenarios: Annotated[int, typer.Option("--scenarios", help="Monte Carlo scenarios")] = 10_000,
        seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same figures)")] = 0,
        factors: Annotated[
            str, typer.Option("--factors", help="sector_country (a factor per sector and country) or single")
        ] = "sector_country",
        asset_correlation: Annotated[
            str, typer.Option("--asset-correlation", help="'basel' (the IRB formula of each PD) or a number in [0, 1)")
        ] = "basel",
        correlation: Annotated[
            Path | None, typer.Option("--correlation", help="factor correlation matrix CSV (default: a block matrix)")
        ] = None,
        scenario_file: Annotated[
            Path | None, typer.Option("--scenario-file", help="stress and reinsurance, YAML or JSON")
        ] = None,
        levels: Annotated[str, typer.Option("--levels", help="VaR/TVaR confidence levels")] = "0.99,0.995,0.999",
        contribution_level: Annotated[
            str, typer.Option("--contribution-level", help="level of the TVaR allocated to obligors")
        ] = "0.995",
        importance_sampling: Annotated[
            bool,
            typer.Option("--importance-sampling/--no-importance-sampling", help="aim the scenarios at the tail"),
        ] = True,
        target_rse: Annotated[
            float | None,
            typer.Option("--target-rse", help="add scenarios until the VaR 99.5 % has this relative standard error"),
        ] = None,
        chunk_size: Annotated[
            int,
            typer.Option(
                "--chunk-size", help="scenarios per chunk of work (the unit of parallel work and of random streams)"
            ),
        ] = 1_000,
        dask: Annotated[str | None, typer.Option("--dask", help="Dask scheduler address, or 'local'")] = None,
        plot_distribution: Annotated[
            Path | None, typer.Option("--plot-distribution", help="write the loss distribution chart (PNG) here")
        ] = None,
        plot_contributions: Annotated[
            Path | None, typer.Option("--plot-contributions", help="write the contributions chart (PNG) here")
        ] = None,
        top: Annotated[int, typer.Option("--top", min=1, max=10_000, help="obligors (and sectors) listed")] = 20,
        as_json: JsonOption = False,
    ) -> None:
        """Loss distribution of a book under correlated defaults: expected loss, standard deviation, VaR and
        TVaR (gross, and net of the scenario file's reinsurance), and the contributions of sectors,
        countries and obligors to TVaR. Exit 1 on any problem (bad file, line and column named)."""
        with _problems():
            if (book is None) == (not live):
                raise _Problem("give a book: --book FILE or --live (one of them)")
            stress, reinsurance = read_scenario_file(scenario_file) if scenario_file is not None else (None, None)
            parameters = LossParameters(
                model=model,
                n_scenarios=scenarios,
                seed=seed,
                factors=factors,
                asset_correlation=_asset_correlation(asset_correlation),
                factor_correlation=read_factor_correlation(correlation) if correlation is not None else None,
                levels=_levels(levels),
                contribution_level=_fraction(contribution_level, "--contribution-level"),
                importance_sampling=importance_sampling,
                stress=stress,
                reinsurance=reinsurance,
                chunk_size=chunk_size,
                target_relative_error=target_rse,
            )
            portfolio_loss.check_parameters(parameters)
            if reinsurance is not None and model == "creditriskplus":
                errors.print("[yellow]warning[/]: net figures are computed by the Monte Carlo model only (--model mc)")
            loaded = read_book(book) if book is not None else None
            lgd_rate = _lgd(lgd)
            with _dask(dask) as client, progress_bar("simulating", errors, disable=as_json) as progress:
                task = progress.add_task("simulating", total=None)
                on_progress = _progress_callback(progress, task)
                if loaded is not None:
                    result = portfolio_loss.run_loss(loaded, parameters, client=client, progress=on_progress)
                else:
                    with container_factory() as container:
                        day = _day(as_of, container.clock.today())
                        with container.uow() as uow:
                            actor = _actor(container, uow, as_user)
                        result = portfolio_loss.live_loss(
                            container.uow,
                            actor,
                            day,
                            parameters,
                            lgd_rate=lgd_rate,
                            currency=currency,
                            client=client,
                            progress=on_progress,
                        ).result
            plots = []
            if plot_distribution is not None:
                _write(plot_distribution, loss_distribution_png(result))
                plots.append(plot_distribution)
            if plot_contributions is not None:
                _write(plot_contributions, contributions_png(result, top=min(top, MAX_CHART_BARS)))
                plots.append(plot_contributions)
        if as_json:
            _print_json(result.to_dict(top=top))
            return
        _show(result, top, plots)

    @portfolio_app.command("generate-book")
    def generate_book_command(
        obligors: Annotated[int, typer.Option("--obligors", min=1, max=20_000_000, help="number of obligors")],
        out: Annotated[Path, typer.Option("--out", help="the book file to write, .csv or .parquet")],
        seed: Annotated[int, typer.Option("--seed", min=0, help="random seed (same seed, same book)")] = 0,
        sectors: Annotated[int, typer.Option("--sectors", min=1, max=99, help="sectors S01…")] = 20,
        countries: Annotated[int, typer.Option("--countries", min=1, max=10, help="countries FR, DE, IT…")] = 10,
        as_json: JsonOption = False,
    ) -> None:
        """Write a synthetic book (lognormal EAD, PD of grades 1 to 9, LGD 0.45/0.60/0.75) for the loss model."""
        with _problems():
            generated = generate_book(obligors, n_sectors=sectors, n_countries=countries, seed=seed)
            write_book(generated, out)
        summary = {
            "out": str(out),
            "obligors": generated.size,
            "sectors": len(generated.sectors),
            "countries": len(generated.countries),
            "total_ead": f"{float(generated.ead.sum()):.2f}",
            "expected_loss": f"{generated.expected_loss:.2f}",
            "seed": seed,
        }
        if as_json:
            _print_json(summary)
            return
        console.print(
            f"{generated.size:,} obligors ({len(generated.sectors)} sectors, {len(generated.countries)} countries) "
            f"written to {escape(str(out))}: total EAD {_money(float(generated.ead.sum()))}, expected loss "
            f"{_money(generated.expected_loss)}"
        )
