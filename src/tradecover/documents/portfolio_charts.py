"""Charts of the portfolio loss model's result, as PNG bytes: the loss distribution and the contributions.

Why: a risk committee reads a tail from a picture faster than from a table. Two charts:

* :func:`loss_distribution_png` — the probability of each loss band (a weighted histogram of the
  scenarios, or of the CreditRisk+ lattice) on a logarithmic scale so the tail shows, with a
  vertical line at each VaR (solid) and TVaR (dashed), gross, and net of reinsurance when the
  result has net figures (the net distribution itself is not kept, only its measures);
* :func:`contributions_png` — horizontal bars: what each sector and the largest obligors contribute
  to TVaR at the result's contribution level (they add up to it).

Drawn with matplotlib's Agg canvas on a `Figure` of its own (no pyplot, no global state: safe in
the API's worker threads). The bytes depend only on the result: no date nor software version is
written in the PNG.

The module reads the result through :class:`LossChart` (a protocol that
``tradecover.risk.portfolio_loss.PortfolioLossResult`` satisfies), since documents do not import the
numeric engine.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter
from numpy.typing import NDArray

__all__ = ["LossChart", "contributions_png", "loss_distribution_png"]

WIDTH_INCHES = 10.0
HEIGHT_INCHES = 6.0
DPI = 100
BINS = 120
#: The x-axis ends where the tail holds this probability: the remote scenarios of importance sampling
#: (or the CreditRisk+ lattice's 1e-13 tail) would squeeze the part that matters into a corner.
FAR_TAIL = 1e-6
GROSS_COLOUR = "#1f4e79"
NET_COLOUR = "#c55a11"
BAR_COLOUR = "#2e75b6"
#: Longer sector names and obligor ids are cut to fit the fixed margin.
LABEL_CHARACTERS = 16
_METADATA: dict[str, Any] = {"Software": None}


class _Measure(Protocol):
    @property
    def level(self) -> float: ...
    @property
    def var(self) -> float: ...
    @property
    def tvar(self) -> float: ...


class _Figures(Protocol):
    @property
    def expected_loss(self) -> float: ...
    @property
    def measures(self) -> Sequence[_Measure]: ...


class LossChart(Protocol):
    """What the charts read of a loss model's result."""

    @property
    def model(self) -> str: ...
    @property
    def n_obligors(self) -> int: ...
    @property
    def n_scenarios(self) -> int: ...
    @property
    def stress(self) -> str | None: ...
    @property
    def gross(self) -> _Figures: ...
    @property
    def net(self) -> _Figures | None: ...
    @property
    def contribution_level(self) -> float: ...
    @property
    def sector_contributions(self) -> Mapping[str, float]: ...
    @property
    def loss_values(self) -> NDArray[np.float64]: ...
    @property
    def loss_probabilities(self) -> NDArray[np.float64]: ...
    def top_contributors(self, n: int = 20) -> list[tuple[str, float]]: ...


def _amount(value: float) -> str:
    """1,234,567 — the charts' amounts, in the book's currency units."""
    return f"{value:,.0f}"


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1] + "…"


def _level(level: float) -> str:
    return f"{level * 100:.6g} %"


def _far_tail(values: NDArray[np.float64], probabilities: NDArray[np.float64]) -> float:
    """The smallest loss beyond which the distribution holds at most :data:`FAR_TAIL`."""
    if values.size == 0:
        return 0.0
    order = np.argsort(values, kind="stable")
    upper = np.cumsum(probabilities[order][::-1])[::-1]  # P(L ≥ value), sorted by value
    beyond = np.flatnonzero(upper <= FAR_TAIL * float(probabilities.sum()))
    return float(values[order][beyond[0]]) if beyond.size else float(values.max())


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata=_METADATA)
    return buffer.getvalue()


def _subtitle(result: LossChart) -> str:
    engine = "CreditRisk+" if result.model == "creditriskplus" else f"Monte Carlo, {result.n_scenarios:,} scenarios"
    stress = f", stress {result.stress!r}" if result.stress else ""
    return f"{result.n_obligors:,} obligors, {engine}{stress}"


def loss_distribution_png(result: LossChart, *, bins: int = BINS) -> bytes:
    """The loss distribution: probability per loss band (log scale), VaR and TVaR at each level.

    The bands are equal, from 0 to the loss exceeded with probability :data:`FAR_TAIL` (or a quarter
    beyond the largest TVaR, if further); a band without probability is left empty, and the few
    losses beyond the last band are not drawn.
    """
    values = np.asarray(result.loss_values, dtype=np.float64)
    probabilities = np.asarray(result.loss_probabilities, dtype=np.float64)
    keep = probabilities > 0
    values, probabilities = values[keep], probabilities[keep]
    marks = [(result.gross, "gross", GROSS_COLOUR)]
    if result.net is not None:
        marks.append((result.net, "net", NET_COLOUR))
    marked = max((m.tvar for figures, _, _ in marks for m in figures.measures), default=0.0)
    top = max(min(_far_tail(values, probabilities), float(values.max(initial=0.0))), marked * 1.25)
    top = top if top > 0 else 1.0
    edges = np.linspace(0.0, top * 1.02, bins + 1)
    mass, _ = np.histogram(values, bins=edges, weights=probabilities)

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    axes = figure.add_subplot()
    shown = mass > 0
    floor = float(mass[shown].min()) / 10 if shown.any() else 1e-6
    axes.bar(
        edges[:-1][shown],
        mass[shown],
        width=np.diff(edges)[shown],
        align="edge",
        color=GROSS_COLOUR,
        alpha=0.35,
        label="gross loss: probability per band",
    )
    axes.set_yscale("log")
    axes.set_ylim(bottom=floor, top=max(float(mass.max(initial=0.0)) * 3, floor * 10))
    axes.set_xlim(0.0, top * 1.02)
    styles = ("-", "--")
    for figures, label, colour in marks:
        for measure in figures.measures:
            for value, name, style in ((measure.var, "VaR", styles[0]), (measure.tvar, "TVaR", styles[1])):
                axes.axvline(
                    value,
                    color=colour,
                    linestyle=style,
                    linewidth=1.2,
                    alpha=0.45 + 0.5 * measure.level,
                    label=f"{label} {name} {_level(measure.level)}: {_amount(value)}",
                )
        axes.axvline(
            figures.expected_loss,
            color=colour,
            linestyle=":",
            linewidth=1.2,
            label=f"{label} expected loss: {_amount(figures.expected_loss)}",
        )
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _amount(x)))
    axes.set_xlabel("annual loss (book currency)")
    axes.set_ylabel("probability (log scale)")
    axes.set_title(f"Loss distribution — {_subtitle(result)}", fontsize=11)
    axes.grid(True, which="major", axis="y", alpha=0.3)
    axes.yaxis.set_minor_formatter(NullFormatter())
    axes.legend(loc="upper right", fontsize=7, ncol=2 if result.net is not None else 1, framealpha=0.9)
    figure.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.1)  # fixed: tight_layout costs a draw
    return _png(figure)


def _bars(axes: Any, labels: Sequence[str], values: Sequence[float], title: str) -> None:
    positions = np.arange(len(labels))
    axes.barh(positions, values, color=BAR_COLOUR)
    axes.set_yticks(positions, labels=[_label(label) for label in labels], fontsize=8)
    axes.invert_yaxis()  # the largest on top
    axes.set_title(title, fontsize=10)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _amount(x)))
    axes.tick_params(axis="x", labelsize=8, labelrotation=30)
    axes.grid(True, axis="x", alpha=0.3)
    axes.axvline(0.0, color="black", linewidth=0.6)


def contributions_png(result: LossChart, top: int = 20) -> bytes:
    """Contributions to TVaR at the contribution level: every sector (the largest `top`, the rest summed
    as ``others``) and the `top` largest obligors."""
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}")
    sectors = sorted(result.sector_contributions.items(), key=lambda item: (-item[1], item[0]))
    if len(sectors) > top:
        rest = sum(value for _, value in sectors[top - 1 :])
        sectors = [*sectors[: top - 1], (f"others ({len(sectors) - top + 1})", rest)]
    obligors = result.top_contributors(top)
    total = sum(result.sector_contributions.values())

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    left, right = figure.subplots(1, 2)
    _bars(left, [name for name, _ in sectors], [value for _, value in sectors], "per sector")
    _bars(right, [name for name, _ in obligors], [value for _, value in obligors], f"top {len(obligors)} obligors")
    figure.suptitle(
        f"Contributions to TVaR {_level(result.contribution_level)} ({_amount(total)}) — {_subtitle(result)}",
        fontsize=11,
    )
    figure.subplots_adjust(left=0.14, right=0.98, top=0.88, bottom=0.12, wspace=0.45)
    return _png(figure)
