"""What a replay reports: the JSON document of SCENARIOS.md and the same as readable tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradecover.simulation.runner import EventResult, SimulationResult

__all__ = ["document", "render"]


def _event(result: EventResult, *, with_policy: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"index": result.index, "date": result.date.isoformat(), "kind": result.kind}
    if with_policy and result.policy is not None:
        data["policy"] = result.policy
    if result.buyer is not None:
        data["buyer"] = result.buyer
    data["outcome"] = result.outcome
    return data


def document(result: SimulationResult) -> dict[str, Any]:
    """``{"currency", "events": [{index, date, kind, [policy], [buyer], outcome}], "final"}``.

    Events are listed in the order they ran (date order; the file's order within
    a date); ``index`` is the event's position in the file. Nothing in it depends
    on generated ids or the machine's clock: two runs of one file give the same
    document.
    """
    with_policy = result.scenario.uses_policies
    return {
        "currency": result.scenario.currency,
        "events": [_event(e, with_policy=with_policy) for e in result.events],
        "final": result.final,
    }


def _amount(outcome: dict[str, Any]) -> str:
    for key in ("granted_amount", "covered_amount", "indemnity_amount", "premium_amount", "amount"):
        if outcome.get(key) is not None:
            return str(outcome[key])
    return ""


def _details(outcome: dict[str, Any]) -> str:
    if "code" in outcome:
        return f"{outcome['code']}: {outcome.get('message', '')}"
    parts: list[str] = []
    if outcome.get("reasons"):
        parts.append(", ".join(str(r) for r in outcome["reasons"]))
    keys: tuple[str, ...] = (
        "suggested_amount",
        "effective_date",
        "expires_on",
        "legal_status",
        "limits_cancelled",
        "approvals",
        "version",
        "earned_amount",
        "paid_amount",
        "adjustment_amount",
        "fees_amount",
        "bonus_amount",
        "max_liability_amount",
    )
    for key in keys:
        if outcome.get(key) is not None:
            parts.append(f"{key.removesuffix('_amount').replace('_', ' ')}: {outcome[key]}")
    if outcome.get("late"):
        parts.append("late")
    return "; ".join(parts)


# One row per figure and one column per policy year: amounts never wrap, and a narrow terminal (80
# columns, what rich assumes when the output is not a terminal) still shows three years side by side.
_PREMIUM_ROWS = (
    ("declared periods", None),
    ("earned", "earned_amount"),
    ("minimum", "minimum_amount"),
    ("premium", "premium_amount"),
    ("paid (called)", "paid_amount"),
    ("adjustment", "adjustment_amount"),
    ("fees", "fees_amount"),
    ("indemnities", "indemnities_amount"),
    ("loss ratio", "loss_ratio"),
    ("no-claims bonus", "bonus_amount"),
    ("max liability", "max_liability_amount"),
    ("closed", None),
)


def _premium_cell(year: dict[str, Any], label: str, key: str | None) -> str:
    if label == "declared periods":
        return f"{year['declared_periods']}/{year['expected_periods']}"
    if label == "closed":
        return "yes" if year["closed"] else "no"
    assert key is not None
    value = year.get(key)
    return "-" if value is None else str(value)


def _premium_tables(final: dict[str, Any], currency: str, *, with_policy: bool) -> list[Table]:
    grouped: dict[str, Any] = final["premium"] if with_policy else {"": final["premium"]}
    tables = []
    for policy, figures in grouped.items():
        owner = f" of {policy}" if with_policy else ""
        table = Table(title=escape(f"Premium ({currency}){owner} as of {final['as_of']}"), title_justify="left")
        table.add_column("", no_wrap=True)
        for year in figures["years"]:
            table.add_column(f"{year['year_start']}\n{year['year_end']}", justify="right", no_wrap=True)
        for label, key in _PREMIUM_ROWS:
            table.add_row(label, *(_premium_cell(year, label, key) for year in figures["years"]))
        tables.append(table)
    return tables


_STATUS_STYLE = {"refused": "red", "error": "red", "referred": "yellow", "partially_approved": "yellow"}


def render(result: SimulationResult, console: Console) -> None:
    """The replay as two tables: the events with what the system decided, then the final limits."""
    scenario = result.scenario
    with_policy = scenario.uses_policies
    events = Table(title=escape(f"{scenario.file}: {len(result.events)} events"), title_justify="left")
    events.add_column("#", justify="right")
    events.add_column("date", no_wrap=True)
    if with_policy:
        events.add_column("policy")
    events.add_column("event", no_wrap=True)
    events.add_column("buyer")
    events.add_column("status", no_wrap=True)
    events.add_column(f"amount ({scenario.currency})", justify="right", no_wrap=True)
    events.add_column("details", overflow="fold", min_width=30)
    for item in result.events:
        status = str(item.outcome.get("status", ""))
        style = _STATUS_STYLE.get(status, "green")
        row = [str(item.index), item.date.isoformat()]
        if with_policy:
            row.append(escape(item.policy or ""))
        row += [
            item.kind,
            escape(item.buyer or ""),
            f"[{style}]{status}[/]",
            _amount(item.outcome),
            escape(_details(item.outcome)),
        ]
        events.add_row(*row)
    console.print(events)
    final = result.final
    limits = Table(title=f"Limits as of {final['as_of']}", title_justify="left")
    if with_policy:
        limits.add_column("policy")
    for name in ("buyer", f"in force ({scenario.currency})", "status", "next change"):
        limits.add_column(name, justify="right" if name.startswith("in force") else "left")
    grouped: dict[str, dict[str, Any]] = final["limits"] if with_policy else {"": final["limits"]}
    for policy, by_buyer in grouped.items():
        for buyer, limit in by_buyer.items():
            change = limit.get("next_change")
            row = [escape(policy)] if with_policy else []
            row += [
                escape(buyer),
                limit["amount_in_force"],
                limit["status"] + (" (referral pending)" if limit.get("referral_pending") else ""),
                "" if not change else f"{change['amount_in_force']} from {change['effective_date']}",
            ]
            limits.add_row(*row)
    console.print(limits)
    for table in _premium_tables(final, scenario.currency, with_policy=with_policy):
        console.print(table)
