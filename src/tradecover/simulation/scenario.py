"""Scenario files: a YAML timeline read and validated into typed events (SCENARIOS.md).

A scenario that cannot be read at all (bad YAML, unknown event kind, unknown
buyer, a date or an amount that is not one) is refused whole with an
:class:`InvalidInput` whose message names the file, the line and the field::

    scenario.yaml, line 12, field events[3].request_limit.amount: 'abc' is not a decimal amount

What the rules refuse (a negative amount, a reduction above the limit…) is not
checked here: the replay runs it through the services, whose refusal becomes
the event's outcome.

Safe on hostile input: a size limit before parsing, no aliases (no "billion
laughs"), a nesting limit checked on the event stream before anything is
built, PyYAML's safe loader only. Dates are read as text and parsed here, and
unquoted decimals are read from their text as ``Decimal``: no binary float
ever stands for an amount.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeAlias

import yaml
from yaml.constructor import ConstructorError

from tradecover.domain.buyers import buyer_identifiers, check_naf_code
from tradecover.domain.errors import InvalidInput
from tradecover.domain.financials import STATEMENT_FIELDS, check_statement
from tradecover.domain.grades import validate_grade
from tradecover.domain.identifiers import CompanyIdentifier, IdentifierKind, parse_identifier
from tradecover.domain.money import currency as check_currency
from tradecover.domain.receco import RequestType, ResponseType
from tradecover.domain.terms import PolicyTerms, country_code
from tradecover.ingest.bodacc import ProcedureKind

__all__ = [
    "EVENT_KINDS",
    "MAX_BUYERS",
    "MAX_DEPTH",
    "MAX_EVENTS",
    "MAX_POLICIES",
    "MAX_SCENARIO_BYTES",
    "SINGLE_POLICY_ID",
    "Action",
    "BuyerSpec",
    "DecideLimit",
    "Event",
    "FinancialsSpec",
    "Insolvency",
    "Location",
    "NotBuiltYet",
    "PolicySpec",
    "PolicyholderSpec",
    "ProspectQuery",
    "RequestLimit",
    "ReviseLimit",
    "Scenario",
    "load_scenario",
    "parse_scenario",
    "scenario_error",
]

#: Largest scenario file read (a year of events on a few hundred buyers is ~100 kB).
MAX_SCENARIO_BYTES = 1_000_000
MAX_EVENTS = 10_000
MAX_BUYERS = 1_000
MAX_POLICIES = 100
#: Deepest nesting of mappings and lists (a scenario needs 5).
MAX_DEPTH = 12

#: The id of the policy of a file that uses ``policy:`` rather than ``policies:``.
SINGLE_POLICY_ID = "policy"

PROCEDURES: Mapping[str, ProcedureKind] = {
    "sauvegarde": ProcedureKind.SAFEGUARD,
    "redressement_judiciaire": ProcedureKind.RECEIVERSHIP,
    "liquidation_judiciaire": ProcedureKind.LIQUIDATION,
}
DECISIONS: Mapping[str, ResponseType] = {
    "approved": ResponseType.APPROVED,
    "partially_approved": ResponseType.PARTLY_APPROVED,
    "refused": ResponseType.NOT_APPROVED,
}
CLAIM_DOCUMENTS = frozenset(
    {"unpaid_invoices", "proof_of_delivery", "collection_attempts", "administrator_claim_filing"}
)

# Every kind of SCENARIOS.md: (required fields, optional fields). ``policy`` may also sit in the body.
EVENT_KINDS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "request_limit": (frozenset({"buyer", "amount"}), frozenset({"temporary_until", "request_type"})),
    "prospect_query": (frozenset({"buyer", "amount"}), frozenset()),
    "decide_limit": (frozenset({"buyer", "status"}), frozenset({"amount", "reason"})),
    "reduce_limit": (frozenset({"buyer", "amount"}), frozenset({"reason"})),
    "cancel_limit": (frozenset({"buyer"}), frozenset({"reason"})),
    "invoice": (
        frozenset({"buyer", "number", "issue_date", "delivery_date", "due_date", "amount_excl_vat", "vat_amount"}),
        frozenset({"assigned_to_factor"}),
    ),
    "payment": (frozenset({"buyer", "amount"}), frozenset({"invoices"})),
    "credit_note": (frozenset({"buyer", "number", "amount_excl_vat", "vat_amount"}), frozenset({"invoice"})),
    "dispute": (frozenset({"buyer", "invoice"}), frozenset()),
    "resolve_dispute": (frozenset({"buyer", "invoice"}), frozenset()),
    "order_check": (frozenset({"buyer", "amount"}), frozenset()),
    "notify_overdue": (frozenset({"buyer"}), frozenset({"invoices"})),
    "insolvency": (frozenset({"buyer", "procedure"}), frozenset({"judgment_date", "publication_date"})),
    "claim": (frozenset({"buyer", "documents"}), frozenset()),
    "settle_claim": (frozenset({"buyer"}), frozenset()),
    "recovery": (frozenset({"buyer", "amount"}), frozenset()),
    "declare_turnover": (frozenset({"period_start", "period_end", "domestic", "export"}), frozenset({"reason"})),
    "close_year": (frozenset(), frozenset()),
}
#: Kinds that concern the buyer itself, not one policy.
BUYER_LEVEL_KINDS = frozenset({"insolvency"})

_AMOUNT_FIELDS = frozenset({"amount", "amount_excl_vat", "vat_amount", "domestic", "export"})
_DATE_FIELDS = frozenset(
    {
        "temporary_until",
        "issue_date",
        "delivery_date",
        "due_date",
        "judgment_date",
        "publication_date",
        "period_start",
        "period_end",
    }
)
_TEXT_FIELDS = frozenset({"number", "invoice", "reason"})
_TEXT_LIST_FIELDS = frozenset({"invoices", "documents"})
_BOOL_FIELDS = frozenset({"assigned_to_factor"})
_EVENT_KEYS = frozenset({"date", "policy", "note"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def scenario_error(
    file: str, line: int | None, field: str, problem: str, *, code: str = "simulation.invalid_scenario"
) -> InvalidInput:
    """``FILE, line N, field F: problem`` — what the command line prints before exiting 1."""
    where = f"{file}, line {line}" if line is not None else file
    return InvalidInput(
        f"{where}, field {field or '(document)'}: {problem}",
        code=code,
        field=field or None,
        context={"file": file, "line": line},
    )


# --------------------------------------------------------------------------
# YAML with line numbers
# --------------------------------------------------------------------------


class _Map(dict[Any, Any]):
    """A mapping read from the file, with its own line and the line of each value."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[Any, int] = {}

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class _Seq(list[Any]):
    """A list read from the file, with its own line and the line of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []


class _Int(int):
    """An integer that remembers how it was written (``012345670`` is a SIREN, not octal)."""

    text: str

    def __new__(cls, value: int, text: str) -> _Int:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class _ScenarioLoader(yaml.SafeLoader):
    """The safe loader, keeping lines; dates stay text, decimals become ``Decimal``, no duplicate keys."""


def _construct_map(loader: _ScenarioLoader, node: yaml.MappingNode) -> Iterator[_Map]:
    data = _Map(node.start_mark.line + 1)
    yield data
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, _Int):
            key = key.text
        if not isinstance(key, str):
            raise ConstructorError(None, None, "keys must be plain text", key_node.start_mark)
        if key in data:
            raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = value_node.start_mark.line + 1


def _construct_seq(loader: _ScenarioLoader, node: yaml.SequenceNode) -> Iterator[_Seq]:
    data = _Seq(node.start_mark.line + 1)
    yield data
    for child in node.value:
        data.append(loader.construct_object(child, deep=True))
        data.lines.append(child.start_mark.line + 1)


def _construct_text(loader: _ScenarioLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


def _construct_decimal(loader: _ScenarioLoader, node: yaml.ScalarNode) -> Decimal | str:
    text = str(loader.construct_scalar(node))
    try:
        return Decimal(text.replace("_", ""))
    except InvalidOperation:
        return text  # .inf, .nan: refused later as "not a decimal amount"


def _construct_int(loader: _ScenarioLoader, node: yaml.ScalarNode) -> _Int:
    text = str(loader.construct_scalar(node))
    return _Int(yaml.SafeLoader.construct_yaml_int(loader, node), text)


def _construct_bool(loader: _ScenarioLoader, node: yaml.ScalarNode) -> bool | str:
    # YAML 1.1 reads yes/no/on/off as booleans: ``country: NO`` would be False, not Norway.
    text = str(loader.construct_scalar(node))
    return {"true": True, "false": False}.get(text.lower(), text)


_ScenarioLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_ScenarioLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_ScenarioLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)
_ScenarioLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_ScenarioLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_ScenarioLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)


@dataclass
class _Frame:
    is_map: bool
    key: str | None = None
    expecting_key: bool = True
    index: int = -1


def _path_of(frames: list[_Frame]) -> str:
    text = ""
    for frame in frames:
        if frame.is_map and frame.key is not None:
            text += f".{frame.key}" if text else frame.key
        elif not frame.is_map and frame.index >= 0:
            text += f"[{frame.index}]"
    return text


def _line(mark: Any) -> int | None:
    return None if mark is None else int(mark.line) + 1


def _scan(text: str, file: str) -> None:
    """Walk the event stream: syntax errors name the field being read; aliases and deep nesting are refused."""
    frames: list[_Frame] = []

    def value_done() -> None:
        if frames and frames[-1].is_map:
            frames[-1].expecting_key, frames[-1].key = True, None

    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise scenario_error(
                    file, _line(event.start_mark), _path_of(frames), "aliases (*name) are not supported"
                )
            if not isinstance(event, yaml.ScalarEvent | yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                    frames.pop()
                    value_done()
                continue
            parent = frames[-1] if frames else None
            if parent is not None and parent.is_map and parent.expecting_key:
                if not isinstance(event, yaml.ScalarEvent):
                    raise scenario_error(file, _line(event.start_mark), _path_of(frames), "keys must be plain text")
                parent.key, parent.expecting_key = event.value, False
                continue
            if parent is not None and not parent.is_map:
                parent.index += 1
            if isinstance(event, yaml.ScalarEvent):
                value_done()
                continue
            frames.append(_Frame(is_map=isinstance(event, yaml.MappingStartEvent)))
            if len(frames) > MAX_DEPTH:
                raise scenario_error(
                    file, _line(event.start_mark), _path_of(frames), f"nested deeper than {MAX_DEPTH} levels"
                )
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = None if mark is None else mark.line + 1
        problem = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise scenario_error(
            file, line, _path_of(frames), f"not valid YAML: {problem}", code="simulation.invalid_yaml"
        ) from None
    except yaml.YAMLError as error:
        raise scenario_error(
            file, None, _path_of(frames), f"not valid YAML: {error}", code="simulation.invalid_yaml"
        ) from None


def _load_yaml(text: str, file: str) -> Any:
    _scan(text, file)
    try:
        return yaml.load(text, Loader=_ScenarioLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise scenario_error(
            file, None if mark is None else mark.line + 1, "", problem, code="simulation.invalid_yaml"
        ) from None
    except yaml.YAMLError as error:
        raise scenario_error(file, None, "", str(error), code="simulation.invalid_yaml") from None


def _plain(value: Any) -> Any:
    """Builtin containers and ints, for the services (which know nothing of lines)."""
    if isinstance(value, _Map):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, _Seq):
        return [_plain(v) for v in value]
    if isinstance(value, _Int):
        return int(value)
    return value


# --------------------------------------------------------------------------
# The typed scenario
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where something was written: for the errors of the replay's set-up."""

    line: int
    field: str


@dataclass(frozen=True)
class PolicyholderSpec:
    name: str
    country: str
    siren: str | None
    naf_code: str | None
    location: Location


@dataclass(frozen=True)
class PolicySpec:
    key: str
    policyholder: PolicyholderSpec
    start_date: date
    terms: Mapping[str, Any]
    location: Location


@dataclass(frozen=True)
class FinancialsSpec:
    fiscal_year_end: date
    currency: str
    amounts: Mapping[str, Decimal | None]
    location: Location


@dataclass(frozen=True)
class BuyerSpec:
    key: str
    name: str
    country: str
    identifiers: tuple[tuple[str, str], ...]  # (kind, canonical value), as add_buyer takes them
    naf_code: str | None
    legal_form: str | None
    grade: int | None
    capacity: Decimal | None
    financials: FinancialsSpec | None
    location: Location

    @property
    def siren(self) -> str | None:
        return next((value for kind, value in self.identifiers if kind == IdentifierKind.SIREN.value), None)


@dataclass(frozen=True)
class RequestLimit:
    buyer: str
    amount: Decimal
    temporary_until: date | None = None
    request_type: RequestType = RequestType.NEW


@dataclass(frozen=True)
class ProspectQuery:
    buyer: str
    amount: Decimal


@dataclass(frozen=True)
class DecideLimit:
    buyer: str
    status: ResponseType
    amount: Decimal | None
    reason: str | None


@dataclass(frozen=True)
class ReviseLimit:
    """``reduce_limit`` (an amount) or ``cancel_limit`` (None): the insurer's revision."""

    buyer: str
    amount: Decimal | None
    reason: str | None


@dataclass(frozen=True)
class Insolvency:
    buyer: str
    procedure: ProcedureKind
    judgment_date: date
    publication_date: date


@dataclass(frozen=True)
class NotBuiltYet:
    """A kind of SCENARIOS.md whose use case a later issue builds; its fields are checked already."""

    buyer: str | None
    fields: Mapping[str, Any]


Action: TypeAlias = RequestLimit | ProspectQuery | DecideLimit | ReviseLimit | Insolvency | NotBuiltYet


@dataclass(frozen=True)
class Event:
    index: int  # position in the file's ``events`` list
    line: int
    date: date
    kind: str
    policy: str | None  # the scenario's policy id; None for buyer-level kinds
    action: Action

    @property
    def buyer(self) -> str | None:
        return self.action.buyer


@dataclass(frozen=True)
class Scenario:
    file: str
    currency: str
    policies: tuple[PolicySpec, ...]
    uses_policies: bool  # the file has ``policies:`` (results are keyed by policy)
    buyers: tuple[BuyerSpec, ...]
    events: tuple[Event, ...]  # in file order

    def timeline(self) -> list[Event]:
        """Events in date order; events of one date keep the file's order."""
        return sorted(self.events, key=lambda e: (e.date, e.index))

    def start_date(self) -> date:
        """The set-up date: the first policy start or the first event, whichever comes first."""
        dates = [p.start_date for p in self.policies] + [e.date for e in self.events]
        return min(dates)


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def _join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, line: int, field: str, problem: str, code: str = "simulation.invalid_field") -> InvalidInput:
        return scenario_error(self.file, line, field, problem, code=code)

    def mapping(self, value: Any, line: int, path: str, *, what: str = "a mapping") -> _Map:
        if not isinstance(value, _Map):
            raise self.error(line, path, f"expected {what}, got {_shown(value)}")
        return value

    def keys(self, data: _Map, path: str, required: frozenset[str], optional: frozenset[str]) -> None:
        for key in data:
            if key not in required and key not in optional:
                allowed = ", ".join(sorted(required | optional)) or "none"
                raise self.error(
                    data.line_of(key),
                    _join(path, key),
                    f"unknown field (allowed: {allowed})",
                    "simulation.unknown_field",
                )
        for key in sorted(required):
            if data.get(key) is None:
                raise self.error(data.line, _join(path, key), "this field is required", "simulation.missing_field")

    def text(self, data: _Map, key: str, path: str, *, max_length: int = 300) -> str:
        value = data.get(key)
        if isinstance(value, _Int):
            value = value.text
        elif isinstance(value, Decimal):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.error(data.line_of(key), _join(path, key), f"expected text, got {_shown(value)}")
        if len(value) > max_length:
            raise self.error(data.line_of(key), _join(path, key), f"longer than {max_length} characters")
        return value.strip()

    def optional_text(self, data: _Map, key: str, path: str) -> str | None:
        return None if data.get(key) is None else self.text(data, key, path)

    def day(self, data: _Map, key: str, path: str) -> date:
        value = data.get(key)
        line, field = data.line_of(key), _join(path, key)
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
            raise self.error(
                line, field, f"{_shown(value)} is not a date (write YYYY-MM-DD)", "simulation.invalid_date"
            )
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise self.error(line, field, f"{value} is not a valid date", "simulation.invalid_date") from None

    def optional_day(self, data: _Map, key: str, path: str) -> date | None:
        return None if data.get(key) is None else self.day(data, key, path)

    def amount(self, data: _Map, key: str, path: str) -> Decimal:
        value = data.get(key)
        line, field = data.line_of(key), _join(path, key)
        problem = f'{_shown(value)} is not a decimal amount (write it as "12500.00")'
        if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
            raise self.error(line, field, problem, "simulation.invalid_amount")
        try:
            amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
        except InvalidOperation:
            raise self.error(line, field, problem, "simulation.invalid_amount") from None
        if not amount.is_finite() or abs(amount) >= Decimal("1e15"):
            raise self.error(line, field, problem, "simulation.invalid_amount")
        return amount

    def optional_amount(self, data: _Map, key: str, path: str) -> Decimal | None:
        return None if data.get(key) is None else self.amount(data, key, path)

    def choice(self, data: _Map, key: str, path: str, allowed: Mapping[str, Any] | frozenset[str]) -> str:
        value = self.text(data, key, path)
        if value not in allowed:
            shown = ", ".join(sorted(allowed))
            raise self.error(data.line_of(key), _join(path, key), f"{value!r} is not one of {shown}")
        return value

    def ref(self, data: _Map, key: str, path: str, known: Mapping[str, Any], what: str) -> str:
        value = self.text(data, key, path, max_length=100)
        if value not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise self.error(
                data.line_of(key),
                _join(path, key),
                f"unknown {what} {value!r} (known: {listed})",
                f"simulation.unknown_{what}",
            )
        return value

    def guarded(self, line: int, path: str, error: InvalidInput) -> InvalidInput:
        """A domain validation error, placed in the file."""
        field = _join(path, error.field) if error.field else path
        return self.error(line, field, error.message, error.code)


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, _Map):
        return "a mapping"
    if isinstance(value, _Seq):
        return "a list"
    if isinstance(value, _Int):
        return repr(value.text)
    if isinstance(value, Decimal):
        return repr(str(value))
    return repr(value)


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file; :class:`InvalidInput` names the file, line and field."""
    file = str(path)
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_SCENARIO_BYTES + 1)
    except OSError as error:
        raise scenario_error(
            file, None, "", f"cannot be read: {error.strerror}", code="simulation.unreadable"
        ) from None
    if len(raw) > MAX_SCENARIO_BYTES:
        raise scenario_error(file, None, "", f"larger than {MAX_SCENARIO_BYTES} bytes", code="simulation.too_large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise scenario_error(file, None, "", f"not UTF-8 text ({error.reason})", code="simulation.unreadable") from None
    return parse_scenario(text, file)


def parse_scenario(text: str, file: str = "<scenario>") -> Scenario:
    """Validate a scenario's text (see :func:`load_scenario`)."""
    if len(text.encode("utf-8")) > MAX_SCENARIO_BYTES:
        raise scenario_error(file, None, "", f"larger than {MAX_SCENARIO_BYTES} bytes", code="simulation.too_large")
    reader = _Reader(file)
    document = _load_yaml(text, file)
    root = reader.mapping(document, 1, "", what="a mapping with currency, policy, buyers and events")
    if "policy" in root and "policies" in root:
        raise reader.error(root.line_of("policies"), "policies", "give either policy or policies, not both")
    policy_key = "policies" if "policies" in root else "policy"
    reader.keys(root, "", frozenset({policy_key, "events"}), frozenset({"currency", "buyers", "description"}))
    currency = "EUR"
    if root.get("currency") is not None:
        currency = reader.text(root, "currency", "")
        try:
            check_currency(currency)
        except InvalidInput as error:
            raise reader.error(root.line_of("currency"), "currency", error.message) from None
    if policy_key == "policies":
        entries = reader.mapping(root["policies"], root.line_of("policies"), "policies")
        if not entries:
            raise reader.error(entries.line, "policies", "at least one policy is needed", "simulation.missing_field")
        if len(entries) > MAX_POLICIES:
            raise reader.error(entries.line, "policies", f"more than {MAX_POLICIES} policies", "simulation.too_large")
        policies = tuple(_policy(reader, entries, str(key), f"policies.{key}", currency) for key in entries)
    else:
        policies = (_policy(reader, root, "policy", "policy", currency, key=SINGLE_POLICY_ID),)
    buyers: dict[str, BuyerSpec] = {}
    if root.get("buyers") is not None:
        entries = reader.mapping(root["buyers"], root.line_of("buyers"), "buyers")
        if len(entries) > MAX_BUYERS:
            raise reader.error(entries.line, "buyers", f"more than {MAX_BUYERS} buyers", "simulation.too_large")
        seen: dict[CompanyIdentifier, str] = {}
        for key in entries:
            buyer = _buyer(reader, entries, str(key), currency)
            for kind, value in buyer.identifiers:
                other = seen.setdefault(CompanyIdentifier(IdentifierKind(kind), value), buyer.key)
                if other != buyer.key:
                    raise reader.error(
                        entries.line_of(key), f"buyers.{key}", f"names the same company as buyer {other} ({value})"
                    )
            buyers[buyer.key] = buyer
    raw_events = root["events"]
    if not isinstance(raw_events, _Seq):
        raise reader.error(root.line_of("events"), "events", f"expected a list of events, got {_shown(raw_events)}")
    if len(raw_events) > MAX_EVENTS:
        raise reader.error(raw_events.line, "events", f"more than {MAX_EVENTS} events", "simulation.too_large")
    policy_ids = {p.key: p for p in policies}
    events = tuple(_event(reader, raw, raw_events.lines[i], i, policy_ids, buyers) for i, raw in enumerate(raw_events))
    scenario = Scenario(
        file=file,
        currency=currency,
        policies=policies,
        uses_policies=policy_key == "policies",
        buyers=tuple(buyers.values()),
        events=events,
    )
    start = scenario.start_date()
    for buyer in scenario.buyers:
        statement = buyer.financials
        if statement is not None and statement.fiscal_year_end > start:
            raise reader.error(
                statement.location.line,
                f"{statement.location.field}.fiscal_year_end",
                f"the year must have ended by the scenario's start ({start})",
            )
    return scenario


def _policy(
    reader: _Reader, parent: _Map, name: str, path: str, currency: str, *, key: str | None = None
) -> PolicySpec:
    data = reader.mapping(parent.get(name), parent.line_of(name), path)
    reader.keys(data, path, frozenset({"policyholder", "start_date"}), frozenset({"terms"}))
    holder_path = f"{path}.policyholder"
    holder = reader.mapping(data["policyholder"], data.line_of("policyholder"), holder_path)
    reader.keys(holder, holder_path, frozenset({"name"}), frozenset({"registration_number", "country", "sector"}))
    country = _country(reader, holder, holder_path)
    siren = None
    if holder.get("registration_number") is not None:
        kind = _registration_kind(reader, holder, holder_path, country)
        siren = _identifier(reader, holder, "registration_number", holder_path, kind).value
    holder_spec = PolicyholderSpec(
        name=reader.text(holder, "name", holder_path, max_length=200),
        country=country,
        siren=siren,
        naf_code=_naf(reader, holder, holder_path),
        location=Location(holder.line, holder_path),
    )
    terms: dict[str, Any] = {}
    if data.get("terms") is not None:
        raw_terms = reader.mapping(data["terms"], data.line_of("terms"), f"{path}.terms")
        terms = _plain(raw_terms)
        try:
            PolicyTerms.build(currency_code=currency, policyholder_country=country, overrides=terms)
        except InvalidInput as error:
            top = (error.field or "").split(".")[0]
            raise reader.guarded(raw_terms.line_of(top), f"{path}.terms", error) from None
    return PolicySpec(
        key=key or name,
        policyholder=holder_spec,
        start_date=reader.day(data, "start_date", path),
        terms=terms,
        location=Location(data.line, path),
    )


def _country(reader: _Reader, data: _Map, path: str) -> str:
    if data.get("country") is None:
        return "FR"
    value = reader.text(data, "country", path)
    try:
        return country_code(value)
    except InvalidInput as error:
        raise reader.error(data.line_of("country"), _join(path, "country"), error.message) from None


def _naf(reader: _Reader, data: _Map, path: str) -> str | None:
    if data.get("sector") is None:
        return None
    try:
        return check_naf_code(reader.text(data, "sector", path))
    except InvalidInput as error:
        raise reader.error(data.line_of("sector"), _join(path, "sector"), error.message) from None


def _registration_kind(reader: _Reader, data: _Map, path: str, country: str) -> IdentifierKind:
    if country != "FR":
        raise reader.error(
            data.line_of("registration_number"),
            _join(path, "registration_number"),
            "registration_number is read as a French SIREN: for another country give vat_number, lei or duns",
        )
    return IdentifierKind.SIREN


def _identifier(reader: _Reader, data: _Map, key: str, path: str, kind: IdentifierKind) -> CompanyIdentifier:
    value = reader.text(data, key, path, max_length=50)
    try:
        return parse_identifier(kind, value)
    except InvalidInput as error:
        raise reader.error(data.line_of(key), _join(path, key), error.message) from None


_IDENTIFIER_FIELDS: Mapping[str, IdentifierKind] = {
    "vat_number": IdentifierKind.VAT,
    "lei": IdentifierKind.LEI,
    "duns": IdentifierKind.DUNS,
}


def _buyer(reader: _Reader, entries: _Map, key: str, currency: str) -> BuyerSpec:
    path = f"buyers.{key}"
    data = reader.mapping(entries.get(key), entries.line_of(key), path)
    reader.keys(
        data,
        path,
        frozenset({"name"}),
        frozenset(
            {
                "registration_number",
                *_IDENTIFIER_FIELDS,
                "country",
                "sector",
                "legal_form",
                "grade",
                "capacity",
                "financials",
            }
        ),
    )
    country = _country(reader, data, path)
    parsed: list[CompanyIdentifier] = []
    if data.get("registration_number") is not None:
        kind = _registration_kind(reader, data, path, country)
        parsed.append(_identifier(reader, data, "registration_number", path, kind))
    for field, kind in _IDENTIFIER_FIELDS.items():
        if data.get(field) is not None:
            parsed.append(_identifier(reader, data, field, path, kind))
    if not parsed:
        raise reader.error(
            data.line,
            f"{path}.registration_number",
            "a buyer needs registration_number, vat_number, lei or duns",
            "simulation.missing_field",
        )
    try:
        complete = buyer_identifiers(parsed)
    except InvalidInput as error:
        raise reader.guarded(data.line, path, error) from None
    grade = None
    if data.get("grade") is not None:
        raw_grade = data["grade"]
        try:
            grade = validate_grade(int(raw_grade) if isinstance(raw_grade, _Int) else raw_grade)
        except InvalidInput as error:
            raise reader.error(data.line_of("grade"), f"{path}.grade", error.message) from None
    capacity = reader.optional_amount(data, "capacity", path)
    if capacity is not None and capacity < 0:
        raise reader.error(data.line_of("capacity"), f"{path}.capacity", "a capacity cannot be negative")
    legal_form = None
    if data.get("legal_form") is not None:
        legal_form = reader.text(data, "legal_form", path, max_length=10)
    financials = None
    if data.get("financials") is not None:
        financials = _financials(reader, data, path, currency)
    return BuyerSpec(
        key=key,
        name=reader.text(data, "name", path),
        country=country,
        identifiers=tuple((i.kind.value, i.value) for i in complete),
        naf_code=_naf(reader, data, path),
        legal_form=legal_form,
        grade=grade,
        capacity=capacity,
        financials=financials,
        location=Location(data.line, path),
    )


def _financials(reader: _Reader, buyer: _Map, buyer_path: str, currency: str) -> FinancialsSpec:
    path = f"{buyer_path}.financials"
    data = reader.mapping(buyer["financials"], buyer.line_of("financials"), path)
    reader.keys(data, path, frozenset({"fiscal_year_end", "total_assets"}), frozenset({"currency", *STATEMENT_FIELDS}))
    statement_currency = currency if data.get("currency") is None else reader.text(data, "currency", path)
    amounts = {name: reader.optional_amount(data, name, path) for name in STATEMENT_FIELDS if name in data}
    year_end = reader.day(data, "fiscal_year_end", path)
    try:
        check_statement(fiscal_year_end=year_end, currency_code=statement_currency, amounts=amounts, today=date.max)
    except InvalidInput as error:
        raise reader.guarded(data.line_of(error.field or ""), path, error) from None
    return FinancialsSpec(year_end, statement_currency, amounts, Location(data.line, path))


def _event(
    reader: _Reader,
    raw: Any,
    line: int,
    index: int,
    policies: Mapping[str, PolicySpec],
    buyers: Mapping[str, BuyerSpec],
) -> Event:
    path = f"events[{index}]"
    data = reader.mapping(raw, line, path, what="an event such as {date: 2026-01-10, request_limit: {...}}")
    kinds = [k for k in data if k not in _EVENT_KEYS]
    if not kinds:
        raise reader.error(
            data.line, path, "the event names no kind (request_limit, invoice, …)", "simulation.missing_field"
        )
    kind = kinds[0]
    if kind not in EVENT_KINDS:
        known = ", ".join(EVENT_KINDS)
        raise reader.error(
            data.line_of(kind),
            _join(path, kind),
            f"unknown event kind {kind!r} (known: {known})",
            "simulation.unknown_event_kind",
        )
    if len(kinds) > 1:
        raise reader.error(data.line_of(kinds[1]), _join(path, kinds[1]), f"one kind per event: this one is {kind}")
    if data.get("date") is None:
        raise reader.error(data.line, f"{path}.date", "this field is required", "simulation.missing_field")
    when = reader.day(data, "date", path)
    if data.get("note") is not None:
        reader.text(data, "note", path, max_length=2000)
    body_path = f"{path}.{kind}"
    body = (
        _Map(data.line_of(kind))
        if data.get(kind) is None
        else reader.mapping(data[kind], data.line_of(kind), body_path)
    )
    required, optional = EVENT_KINDS[kind]
    buyer_level = kind in BUYER_LEVEL_KINDS
    reader.keys(body, body_path, required, optional if buyer_level else optional | {"policy"})
    policy = _event_policy(reader, data, body, path, body_path, policies, buyer_level=buyer_level)
    buyer = reader.ref(body, "buyer", body_path, buyers, "buyer") if "buyer" in required else None
    action: Action
    if kind == "request_limit":
        assert buyer is not None
        request_type = RequestType.NEW
        if body.get("request_type") is not None:
            request_type = RequestType(
                reader.choice(body, "request_type", body_path, frozenset(t.value for t in RequestType))
            )
        action = RequestLimit(
            buyer,
            reader.amount(body, "amount", body_path),
            reader.optional_day(body, "temporary_until", body_path),
            request_type,
        )
    elif kind == "prospect_query":
        assert buyer is not None
        action = ProspectQuery(buyer, reader.amount(body, "amount", body_path))
    elif kind == "decide_limit":
        assert buyer is not None
        status = DECISIONS[reader.choice(body, "status", body_path, DECISIONS)]
        action = DecideLimit(
            buyer,
            status,
            reader.optional_amount(body, "amount", body_path),
            reader.optional_text(body, "reason", body_path),
        )
    elif kind in ("reduce_limit", "cancel_limit"):
        assert buyer is not None
        amount = reader.amount(body, "amount", body_path) if kind == "reduce_limit" else None
        action = ReviseLimit(buyer, amount, reader.optional_text(body, "reason", body_path))
    elif kind == "insolvency":
        assert buyer is not None
        if buyers[buyer].siren is None:
            raise reader.error(
                body.line_of("buyer"),
                f"{body_path}.buyer",
                "an insolvency is read from BODACC, which names buyers by SIREN:"
                f" give buyer {buyer} a registration_number",
            )
        published = reader.optional_day(body, "publication_date", body_path) or when
        action = Insolvency(
            buyer,
            PROCEDURES[reader.choice(body, "procedure", body_path, PROCEDURES)],
            reader.optional_day(body, "judgment_date", body_path) or published,
            published,
        )
    else:
        action = NotBuiltYet(buyer, _generic_fields(reader, body, body_path))
    return Event(index=index, line=data.line, date=when, kind=kind, policy=policy, action=action)


def _event_policy(
    reader: _Reader,
    data: _Map,
    body: _Map,
    path: str,
    body_path: str,
    policies: Mapping[str, PolicySpec],
    *,
    buyer_level: bool,
) -> str | None:
    named = [(d, p) for d, p in ((data, path), (body, body_path)) if d.get("policy") is not None]
    if buyer_level:
        if named:
            d, p = named[0]
            raise reader.error(d.line_of("policy"), f"{p}.policy", "this event concerns the buyer, not one policy")
        return None
    values = {reader.ref(d, "policy", p, policies, "policy") for d, p in named}
    if len(values) > 1:
        raise reader.error(body.line_of("policy"), f"{body_path}.policy", "names another policy than the event")
    if values:
        return values.pop()
    if len(policies) > 1:
        raise reader.error(
            data.line,
            f"{path}.policy",
            "with several policies, every event names its policy",
            "simulation.missing_field",
        )
    return next(iter(policies))


def _generic_fields(reader: _Reader, body: _Map, path: str) -> dict[str, Any]:
    """The fields of a kind not built yet, checked by their type so that the file is right already."""
    fields: dict[str, Any] = {}
    for key, value in body.items():
        if key in ("buyer", "policy") or value is None:
            continue
        if key in _AMOUNT_FIELDS:
            fields[key] = reader.amount(body, key, path)
        elif key in _DATE_FIELDS:
            fields[key] = reader.day(body, key, path)
        elif key in _TEXT_FIELDS:
            fields[key] = reader.text(body, key, path, max_length=100)
        elif key in _BOOL_FIELDS:
            if not isinstance(value, bool):
                raise reader.error(body.line_of(key), _join(path, key), f"expected true or false, got {_shown(value)}")
            fields[key] = value
        elif key in _TEXT_LIST_FIELDS:
            fields[key] = _text_list(reader, body, key, path)
    return fields


def _text_list(reader: _Reader, body: _Map, key: str, path: str) -> list[str]:
    value = body[key]
    if not isinstance(value, _Seq):
        raise reader.error(body.line_of(key), _join(path, key), f"expected a list, got {_shown(value)}")
    items: list[str] = []
    for i, item in enumerate(value):
        text = item.text if isinstance(item, _Int) else item
        if not isinstance(text, str) or not text.strip():
            raise reader.error(value.lines[i], f"{_join(path, key)}[{i}]", f"expected text, got {_shown(item)}")
        if key == "documents" and text not in CLAIM_DOCUMENTS:
            known = ", ".join(sorted(CLAIM_DOCUMENTS))
            raise reader.error(
                value.lines[i], f"{_join(path, key)}[{i}]", f"unknown document {text!r} (known: {known})"
            )
        items.append(text.strip())
    return items
