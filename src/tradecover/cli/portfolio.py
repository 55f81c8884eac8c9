"""``tradecover portfolio``: the insurer's whole book — accumulation, and the live book for the loss model.

:data:`portfolio_app` is the command group; other modules may add commands to it
(``@portfolio_app.command("loss")``) before :func:`register` or after: Typer builds the group when it runs.
"""

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

from tradecover.api.portfolio_schemas import AccumulationOut, LiveBookOut
from tradecover.cli.limits import _actor
from tradecover.domain.accumulation import Dimension, Measure
from tradecover.domain.errors import InvalidInput
from tradecover.services import portfolio
from tradecover.services.portfolio import PortfolioAccumulation

portfolio_app = typer.Typer(
    help="The insurer's portfolio: accumulation (concentrations, HHI, caps) and the live book", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
AsOption = Annotated[str | None, typer.Option("--as", help="act as this staff user (e-mail); default: command line")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="as of this date (YYYY-MM-DD); default: today")]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _day(value: str | None, default: date) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)", code="cli.bad_date", field="as-of") from None


def _decimal(value: str, field: str) -> Decimal:
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        raise InvalidInput(f"{value!r} is not a decimal", code="cli.bad_decimal", field=field) from None


def _write(path: Path, content: bytes, field: str) -> None:
    try:
        path.write_bytes(content)
    except OSError as error:
        raise InvalidInput(
            f"cannot write {path}: {error.strerror or error}", code="cli.cannot_write", field=field
        ) from None


def _show_accumulation(result: PortfolioAccumulation) -> None:
    if not result.books:
        console.print(f"no limit in force nor covered exposure on {result.as_of}")
    for book in result.books:
        breached = {b.key for b in result.breaches_of(book.dimension) if b.currency == book.currency}
        table = Table(
            title=f"Accumulation per {book.dimension.value} on {result.as_of} ({book.currency}): "
            f"top {min(result.top_n, len(book.concentrations))} of {len(book.concentrations)}"
        )
        for column in ("#", "key", "name", "limit", "covered exposure", "share", "limit share"):
            table.add_column(column, justify="left" if column in ("key", "name") else "right")
        for rank, item in enumerate(book.top(result.top_n), start=1):
            style = "red" if item.key in breached else None
            table.add_row(  # names come from customers' documents: text, never markup
                str(rank),
                escape(item.key),
                escape(item.name),
                item.limit_amount.quantize_str(),
                item.covered_exposure_amount.quantize_str(),
                _percent(item.covered_exposure_share),
                _percent(item.limit_share),
                style=style,
            )
        table.add_row(
            "", "TOTAL", "", book.total_limit_amount.quantize_str(), book.total_covered_exposure_amount.quantize_str(),
            "", "",
        )  # fmt: skip
        console.print(table)
        hhi = [
            f"{label} {_hhi(book.hhi_points(measure))}"
            for label, measure in (("covered exposure", Measure.COVERED_EXPOSURE), ("limits", Measure.LIMIT))
        ]
        console.print(f"HHI (points, 0..10000): {', '.join(hhi)}")
    if result.breaches:
        console.print(f"[red bold]{len(result.breaches)} cap(s) breached[/]")
        for b in result.breaches:
            console.print(
                f"[red]{escape(b.dimension.value)} {escape(b.name)} ({escape(b.key)}): {b.amount} > "
                f"{b.cap_amount} ({escape(b.cap.describe())}), excess {b.excess}[/]"
            )
    elif result.caps:
        console.print("[green]no cap breached[/]")


def _percent(share: Decimal | None) -> str:
    return "" if share is None else f"{(share * 100).quantize(Decimal('0.01'))} %"


def _hhi(points: Decimal | None) -> str:
    return "n/a" if points is None else str(points.quantize(Decimal("0.01")))


def register(app: typer.Typer, container_factory: Any) -> None:
    @portfolio_app.command("accumulation")
    def accumulation_command(
        by: Annotated[Dimension, typer.Option("--by", help="what the book is summed by")] = Dimension.BUYER,
        top: Annotated[int, typer.Option("--top", min=1, max=portfolio.MAX_TOP, help="how many keys to list")] = 10,
        as_of: AsOfOption = None,
        csv_file: Annotated[
            Path | None, typer.Option("--csv", help="also write every key to this CSV (UTF-8 with BOM, ';')")
        ] = None,
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Limits and covered exposure per buyer, group, country, sector or policy (per currency), the
        largest keys, the HHI, and the caps of TRADECOVER_ACCUMULATION_CAPS with their breaches (in red).

        Breaches are findings, not failures: the exit code is 0 with or without them; it is 1 only on an
        error (bad date, bad settings, a user who may not read the book, a file that cannot be written).
        """
        with container_factory() as container, container.uow() as uow:
            day = _day(as_of, container.clock.today())
            actor = _actor(container, uow, as_user)
            result = portfolio.accumulation(uow, actor, day, container.settings.caps, top, dimension=by)
            if csv_file is not None:
                _write(csv_file, portfolio.accumulation_csv(result), "csv")
        if as_json:
            _print_json(AccumulationOut.of(result).model_dump(mode="json"))
            return
        _show_accumulation(result)
        if csv_file is not None:
            console.print(f"every {by.value} written to {escape(str(csv_file))}")

    @portfolio_app.command("book")
    def book_command(
        out: Annotated[Path, typer.Option("--out", help="the CSV to write: obligor_id,ead,pd,lgd,sector,country")],
        as_of: AsOfOption = None,
        lgd: Annotated[str, typer.Option("--lgd", help="loss given default, 0..1")] = str(portfolio.DEFAULT_LGD_RATE),
        currency: Annotated[str, typer.Option("--currency", help="the book's currency (others converted)")] = "EUR",
        as_user: AsOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Write the live book for the loss model: one row per buyer with a limit in force or covered
        exposure; EAD = covered exposure (limit × usage), PD of its grade, the LGD given. Exit 1 on an error."""
        with container_factory() as container, container.uow() as uow:
            day = _day(as_of, container.clock.today())
            actor = _actor(container, uow, as_user)
            rows = portfolio.live_book(uow, actor, day, _decimal(lgd, "lgd"), currency=currency)
            _write(out, portfolio.live_book_csv(rows), "out")
        summary = LiveBookOut.of(day, currency, rows, limit=0, offset=0)
        if as_json:
            figures = summary.model_dump(
                mode="json", include={"as_of", "currency", "obligors", "total_ead", "expected_loss"}
            )
            _print_json(figures | {"out": str(out)})
            return
        ungraded = sum(1 for r in rows if not r.graded)
        console.print(
            f"{summary.obligors} obligors on {day} written to {escape(str(out))}: EAD "
            f"{summary.total_ead.amount} {currency}, expected loss Σ EAD × PD × LGD "
            f"{summary.expected_loss.amount} {currency}"
            + (f" ({ungraded} ungraded: PD of grade {portfolio.UNGRADED_GRADE})" if ungraded else "")
        )

    app.add_typer(portfolio_app, name="portfolio")
