"""Insurers' offers compared on the insured's own history, each replayed through the simulator (docs/COMPARE.md).

One scenario per offer is generated from the offers file and the insured's
ledger (invoices, payments, credit notes, disputes) and the past insolvencies:
a policy with the offer's terms from the history's start, a ``request_limit``
per offered limit (the buyer's grade and capacity overridden so that the
insurer grants what it offered; a ``decide_limit`` when the engine refers it),
the ledger's events in date order, the insured's overdue notifications at the
practice the assumptions state, the claims when the rules allow them,
``settle_claim``, ``declare_turnover`` per declaration period and
``close_year`` at each year end. The scenario is written as YAML text and read
back with :func:`~tradecover.simulation.scenario.parse_scenario`: what the
comparison replays is exactly what ``tradecover simulate`` replays from the
file ``--scenarios`` writes.

Reproducible: the same inputs give the same scenarios, the same JSON and the
same chart bytes (nothing depends on the clock, ids or dict order).

Ownership of the ledger (a sound check, since a ledger CSV does not name its
author): the ledger is refused with ``compare.ledger_not_of_insured`` when it
names the insured itself as a customer, when a FEC file's name (``SIRENFEC…``)
carries another SIREN than the insured's, or when none of the buyers the
offers grant limits on is a customer in it. One offered buyer missing from an
otherwise matching ledger is ``compare.unknown_buyer``.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml

from tradecover.domain.buyers import check_naf_code
from tradecover.domain.errors import InvalidInput
from tradecover.domain.grades import validate_grade
from tradecover.domain.identifiers import CompanyIdentifier, IdentifierKind, parse_identifier, siren_of
from tradecover.domain.terms import PolicyTerms, country_code
from tradecover.ingest.ledger_records import (
    BuyerRef,
    DisputeRecord,
    InvoiceRecord,
    LedgerFile,
    PaymentRecord,
    RecordKind,
)
from tradecover.ingest.offer_limits_csv import parse_identifier_text, parse_offer_limits_csv
from tradecover.simulation.runner import SimulationResult, run_scenario
from tradecover.simulation.scenario import (
    MAX_SCENARIO_BYTES,
    PROCEDURES,
    _Int,
    _load_yaml,
    _Map,
    _plain,
    _Reader,
    _Seq,
    parse_scenario,
    scenario_error,
)

__all__ = [
    "MAX_OFFERS",
    "Assumptions",
    "Comparison",
    "InsolvencyFact",
    "InsuredSpec",
    "OfferInput",
    "OffersFile",
    "compare_offers",
    "comparison_png",
    "load_offers",
    "offer_input",
    "parse_offers",
]

MAX_OFFERS = 20
DEFAULT_NOTIFY_CAP_DAYS = 60
DEFAULT_DECLARATION_DELAY_DAYS = 10
#: Days between the insolvency's publication and the insured's notification, then its claim.
INSOLVENCY_NOTIFY_DAYS = 5
INSOLVENCY_CLAIM_DAYS = 10
CLOSE_AFTER_DECLARATION_DAYS = 5
REFERENCE_GRADE = 3
FEE_NAMES = frozenset({"annual_fee", "per_buyer_fee"})
_CENT = Decimal("0.01")
_RATIO = Decimal("0.0001")
_FEC_NAME = re.compile(r"^(\d{9})FEC", re.IGNORECASE)
ALL_DOCUMENTS = ["unpaid_invoices", "proof_of_delivery", "collection_attempts"]
INSOLVENCY_DOCUMENTS = [*ALL_DOCUMENTS, "administrator_claim_filing"]


def _cents(value: Decimal) -> str:
    return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _problem(code: str, message: str, **context: Any) -> InvalidInput:
    return InvalidInput(message, code=code, field=context.pop("field", None), context=context)


# --------------------------------------------------------------------------
# The offers file
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class InsuredSpec:
    name: str
    siren: str | None
    country: str
    sector: str | None


@dataclass(frozen=True)
class InsolvencyFact:
    buyer: str  # buyer key (SIREN)
    procedure: str
    judgment_date: date
    publication_date: date


@dataclass(frozen=True)
class Assumptions:
    """The insured's practice the replay assumes; ``None``: the default, per offer."""

    notify_after_days: int | None = None
    declaration_delay_days: int = DEFAULT_DECLARATION_DELAY_DAYS


@dataclass(frozen=True)
class OfferInput:
    insurer: str
    terms: Mapping[str, Any]
    fees: Mapping[str, Decimal]
    limits: tuple[tuple[CompanyIdentifier, Decimal], ...]


@dataclass(frozen=True)
class OffersFile:
    file: str
    insured: InsuredSpec
    currency: str
    period: tuple[date, date] | None
    buyers: Mapping[str, Mapping[str, Any]]  # buyer key → overrides (name, country, sector, grade)
    insolvencies: tuple[InsolvencyFact, ...]
    assumptions: Assumptions
    offers: tuple[OfferInput, ...]


def buyer_key(identifier: CompanyIdentifier) -> str:
    """The key a buyer goes by in the comparison: its SIREN when it has one, else its identifier."""
    return siren_of(identifier) or identifier.value


def offer_input(
    insurer: str, terms: Mapping[str, Any], fees: Mapping[str, Decimal], limits: Iterable[tuple[str, Decimal]]
) -> OfferInput:
    """A recorded offer as the comparison reads it (limits named by identifier)."""
    return OfferInput(
        insurer,
        dict(terms),
        {k: v for k, v in fees.items() if v != 0},
        tuple((parse_identifier_text(text), amount) for text, amount in limits),
    )


def check_offer_terms(terms: Mapping[str, Any], *, currency: str, country: str) -> PolicyTerms:
    """The offer's terms validated as a policy's (``terms.*`` codes, as when a policy is issued)."""
    return PolicyTerms.build(currency_code=currency, policyholder_country=country, overrides=dict(terms))


def check_fees(fees: Mapping[str, Any]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for name, value in fees.items():
        if name not in FEE_NAMES:
            raise _problem(
                "offer.unknown_fee", f"unknown fee {name!r} (known: {', '.join(sorted(FEE_NAMES))})", field=name
            )
        amount = Decimal(str(value))
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
            raise _problem("offer.invalid_fee", f"fee {name} must be an amount >= 0", field=name)
        out[name] = amount
    return out


def load_offers(path: Path | str) -> OffersFile:
    """Read an offers file; ``limits_csv`` paths are read relative to it."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()[: MAX_SCENARIO_BYTES + 1]
    except OSError as error:
        raise scenario_error(file, None, "", f"cannot be read: {error.strerror}", code="compare.unreadable") from None
    if len(raw) > MAX_SCENARIO_BYTES:
        raise scenario_error(file, None, "", f"larger than {MAX_SCENARIO_BYTES} bytes", code="compare.too_large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise scenario_error(file, None, "", "not UTF-8 text", code="compare.unreadable") from None
    base = Path(path).resolve().parent

    def read(relative: str) -> bytes:
        target = (base / relative).resolve()
        if not target.is_relative_to(base):
            raise InvalidInput(f"{relative}: outside the offers file's folder", code="compare.unreadable")
        try:
            return target.read_bytes()
        except OSError as error:
            raise InvalidInput(f"{relative}: cannot be read: {error.strerror}", code="compare.unreadable") from None

    return parse_offers(text, file, read_file=read)


def parse_offers(
    text: str | None,
    file: str = "<offers>",
    *,
    read_file: Callable[[str], bytes] | None = None,
    organisation: InsuredSpec | None = None,
    stored: tuple[str, tuple[OfferInput, ...]] | None = None,
) -> OffersFile:
    """Validate an offers file's text; every error names the file, the line and the field.

    From the API: ``organisation`` is the insured (the file's ``insured`` is then optional, and refused
    when its SIREN differs); ``stored`` (currency, offers) are the recorded offers, used when the file
    has no ``offers`` (it may then hold only the history's period, buyers, insolvencies and assumptions).
    """
    reader = _Reader(file)
    document = _Map(1) if text is None or not text.strip() else _load_yaml(text, file)
    root = reader.mapping(document, 1, "", what="a mapping with insured, currency and offers")
    required = frozenset({"insured"} if organisation is None else set()) | frozenset(
        {"offers"} if stored is None else set()
    )
    optional = frozenset(
        {"insured", "offers", "currency", "period", "buyers", "insolvencies", "assumptions", "description"}
    )
    reader.keys(root, "", required, optional - required)
    default_currency = "EUR" if stored is None or "offers" in root else stored[0]
    currency = default_currency if root.get("currency") is None else reader.text(root, "currency", "")
    insured = organisation
    if root.get("insured") is not None:
        insured_map = reader.mapping(root["insured"], root.line_of("insured"), "insured")
        reader.keys(
            insured_map, "insured", frozenset({"name"}), frozenset({"registration_number", "country", "sector"})
        )
        siren = None
        if insured_map.get("registration_number") is not None:
            siren = _identifier(reader, insured_map, "registration_number", "insured", IdentifierKind.SIREN).value
        country = "FR" if insured_map.get("country") is None else reader.text(insured_map, "country", "insured")
        named = InsuredSpec(
            name=reader.text(insured_map, "name", "insured", max_length=200),
            siren=siren,
            country=country,
            sector=None if insured_map.get("sector") is None else reader.text(insured_map, "sector", "insured"),
        )
        if organisation is not None and organisation.siren and siren and siren != organisation.siren:
            raise reader.error(
                insured_map.line_of("registration_number"),
                "insured.registration_number",
                f"the offers are for SIREN {siren}, not for this insured ({organisation.siren})",
                "compare.insured_mismatch",
            )
        insured = named if organisation is None else replace(organisation, sector=named.sector)
    assert insured is not None
    country = insured.country
    period = None
    if root.get("period") is not None:
        p = reader.mapping(root["period"], root.line_of("period"), "period")
        reader.keys(p, "period", frozenset({"start", "end"}), frozenset())
        start, end = reader.day(p, "start", "period"), reader.day(p, "end", "period")
        if start.month != 1 or start.day != 1 or end.month != 12 or end.day != 31 or end < start:
            raise reader.error(
                p.line, "period", "the history is whole calendar years: start YYYY-01-01, end YYYY-12-31"
            )
        period = (start, end)
    buyers: dict[str, Mapping[str, Any]] = {}
    if root.get("buyers") is not None:
        entries = reader.mapping(root["buyers"], root.line_of("buyers"), "buyers")
        for raw_key in entries:
            path = f"buyers.{raw_key}"
            key = buyer_key(_identifier_text(reader, entries, str(raw_key), path, raw_key))
            data = reader.mapping(entries[raw_key], entries.line_of(raw_key), path)
            reader.keys(data, path, frozenset(), frozenset({"name", "country", "sector", "grade"}))
            buyers[key] = _buyer_overrides(reader, data, path)
    insolvencies: list[InsolvencyFact] = []
    if root.get("insolvencies") is not None:
        items = root["insolvencies"]
        if not isinstance(items, _Seq):
            raise reader.error(root.line_of("insolvencies"), "insolvencies", "expected a list")
        for i, item in enumerate(items):
            path = f"insolvencies[{i}]"
            data = reader.mapping(item, items.lines[i], path)
            reader.keys(data, path, frozenset({"buyer", "procedure", "judgment_date"}), frozenset({"publication_date"}))
            key = buyer_key(_identifier_text(reader, data, "buyer", f"{path}.buyer", data["buyer"]))
            judged = reader.day(data, "judgment_date", path)
            insolvencies.append(
                InsolvencyFact(
                    key,
                    reader.choice(data, "procedure", path, PROCEDURES),
                    judged,
                    reader.optional_day(data, "publication_date", path) or judged,
                )
            )
    assumptions = Assumptions()
    if root.get("assumptions") is not None:
        a = reader.mapping(root["assumptions"], root.line_of("assumptions"), "assumptions")
        reader.keys(a, "assumptions", frozenset(), frozenset({"notify_after_days", "declaration_delay_days"}))
        assumptions = Assumptions(
            notify_after_days=_days(reader, a, "notify_after_days", 1, 365),
            declaration_delay_days=_or(
                _days(reader, a, "declaration_delay_days", 0, 120), DEFAULT_DECLARATION_DELAY_DAYS
            ),
        )
    if "offers" in root:
        raw_offers = root["offers"]
        if not isinstance(raw_offers, _Seq) or not raw_offers:
            raise reader.error(root.line_of("offers"), "offers", "expected a list of offers", "compare.no_offers")
        if len(raw_offers) > MAX_OFFERS:
            raise reader.error(raw_offers.line, "offers", f"more than {MAX_OFFERS} offers", "compare.too_large")
        offers = tuple(
            _offer(reader, raw, raw_offers.lines[i], f"offers[{i}]", currency, country, read_file)
            for i, raw in enumerate(raw_offers)
        )
        names = [o.insurer for o in offers]
        if len(set(names)) != len(names):
            raise reader.error(raw_offers.line, "offers", "two offers name the same insurer", "compare.duplicate_offer")
    else:
        assert stored is not None
        offers = stored[1]
        if not offers:
            raise InvalidInput("no offer is recorded for this insured", code="compare.no_offers", field="offers")
        if len(offers) > MAX_OFFERS:
            raise InvalidInput(f"more than {MAX_OFFERS} offers", code="compare.too_large", field="offers")
    return OffersFile(file, insured, currency, period, buyers, tuple(insolvencies), assumptions, offers)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _buyer_overrides(reader: _Reader, data: _Map, path: str) -> dict[str, Any]:
    """A buyer's name, country, sector and grade, checked here so that errors name the offers file."""
    out: dict[str, Any] = {}
    if data.get("name") is not None:
        out["name"] = reader.text(data, "name", path, max_length=200)
    for key, check in (("country", country_code), ("sector", check_naf_code)):
        if data.get(key) is not None:
            try:
                out[key] = check(reader.text(data, key, path))
            except InvalidInput as error:
                raise reader.error(data.line_of(key), f"{path}.{key}", error.message, error.code) from None
    if data.get("grade") is not None:
        raw = data["grade"]
        try:
            out["grade"] = validate_grade(int(raw) if isinstance(raw, _Int) else raw)
        except InvalidInput as error:
            raise reader.error(data.line_of("grade"), f"{path}.grade", error.message, error.code) from None
    return out


def _days(reader: _Reader, data: _Map, key: str, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, _Int) or not low <= int(value) <= high:
        raise reader.error(data.line_of(key), f"assumptions.{key}", f"expected a whole number of days {low}..{high}")
    return int(value)


def _identifier(reader: _Reader, data: _Map, key: str, path: str, kind: IdentifierKind) -> CompanyIdentifier:
    value = reader.text(data, key, path, max_length=50)
    try:
        return parse_identifier(kind, value)
    except InvalidInput as error:
        raise reader.error(data.line_of(key), f"{path}.{key}", error.message, error.code) from None


def _identifier_text(reader: _Reader, data: _Map, key: str, path: str, raw: Any) -> CompanyIdentifier:
    text = raw.text if isinstance(raw, _Int) else str(raw)
    try:
        return parse_identifier_text(text.strip())
    except InvalidInput as error:
        raise reader.error(data.line_of(key), path, error.message, error.code) from None


def _offer(
    reader: _Reader,
    raw: Any,
    line: int,
    path: str,
    currency: str,
    country: str,
    read_file: Callable[[str], bytes] | None,
) -> OfferInput:
    data = reader.mapping(raw, line, path)
    reader.keys(data, path, frozenset({"insurer"}), frozenset({"terms", "fees", "limits", "limits_csv"}))
    terms: dict[str, Any] = {}
    if data.get("terms") is not None:
        raw_terms = reader.mapping(data["terms"], data.line_of("terms"), f"{path}.terms")
        terms = _plain(raw_terms)
        try:
            check_offer_terms(terms, currency=currency, country=country)
        except InvalidInput as error:
            top = (error.field or "").split(".")[0]
            raise reader.guarded(raw_terms.line_of(top), f"{path}.terms", error) from None
    fees: dict[str, Decimal] = {}
    if data.get("fees") is not None:
        raw_fees = reader.mapping(data["fees"], data.line_of("fees"), f"{path}.fees")
        amounts = {str(k): reader.amount(raw_fees, str(k), f"{path}.fees") for k in raw_fees}
        try:
            fees = check_fees(amounts)
        except InvalidInput as error:
            raise reader.error(
                raw_fees.line_of(error.field or ""), f"{path}.fees.{error.field}", error.message, error.code
            ) from None
    if ("limits" in data) == ("limits_csv" in data):
        raise reader.error(data.line, f"{path}.limits", "give either limits or limits_csv", "simulation.missing_field")
    limits: list[tuple[CompanyIdentifier, Decimal]] = []
    if "limits" in data:
        entries = reader.mapping(data["limits"], data.line_of("limits"), f"{path}.limits")
        for raw_key in entries:
            text = str(raw_key)
            identifier = _identifier_text(reader, entries, text, f"{path}.limits.{text}", raw_key)
            amount = reader.amount(entries, text, f"{path}.limits")
            if amount < 0:
                raise reader.error(entries.line_of(text), f"{path}.limits.{text}", "a limit cannot be negative")
            limits.append((identifier, amount))
    else:
        relative = reader.text(data, "limits_csv", path)
        if read_file is None:
            raise reader.error(data.line_of("limits_csv"), f"{path}.limits_csv", "no file can be read here")
        try:
            rows = parse_offer_limits_csv(read_file(relative), relative)
        except InvalidInput as error:
            raise reader.error(data.line_of("limits_csv"), f"{path}.limits_csv", error.message, error.code) from None
        limits = [(row.identifier, row.amount) for row in rows]
    keys = [buyer_key(i) for i, _ in limits]
    if len(set(keys)) != len(keys):
        raise reader.error(data.line, f"{path}.limits", "one limit per buyer", "offer_limits_csv.duplicate_buyer")
    return OfferInput(reader.text(data, "insurer", path, max_length=200), terms, fees, tuple(limits))


# --------------------------------------------------------------------------
# The history read from the ledger
# --------------------------------------------------------------------------


@dataclass
class _Invoice:
    buyer: str
    number: str
    issue_date: date
    due_date: date
    gross: Decimal
    open: Decimal


@dataclass
class _Buyer:
    key: str
    identifier: CompanyIdentifier
    name: str | None
    country: str | None


@dataclass
class History:
    start: date
    end: date
    buyers: dict[str, _Buyer]
    records: list[tuple[date, int, InvoiceRecord | PaymentRecord | DisputeRecord]]  # in date order
    excluded: int = 0


def _ref_identifier(ref: BuyerRef) -> CompanyIdentifier | None:
    for kind, value in ref.identifiers:
        try:
            return parse_identifier(kind, value)
        except InvalidInput:
            continue
    return None


def _key_of(record: InvoiceRecord | PaymentRecord | DisputeRecord) -> str:
    identifier = _ref_identifier(record.buyer)
    assert identifier is not None, "read_history refused the records without an identifier"
    return buyer_key(identifier)


def _record_date(record: InvoiceRecord | PaymentRecord | DisputeRecord) -> date:
    if isinstance(record, InvoiceRecord):
        return record.issue_date
    if isinstance(record, PaymentRecord):
        return record.received_on
    return record.on


def read_history(offers: OffersFile, ledger: LedgerFile, *, years: int | None) -> History:
    refused = [p for p in ledger.problems if p.refuses]
    if refused:
        shown = "; ".join(p.text() for p in refused[:20])
        first = refused[0]
        raise InvalidInput(
            f"the ledger has lines that cannot be read: {shown}",
            code="compare.ledger_problems",
            field=first.field,
            context={"file": first.source.file, "line": first.source.line},
        )
    fec = _FEC_NAME.match(ledger.name.rsplit("/", 1)[-1])
    if fec and offers.insured.siren and fec.group(1) != offers.insured.siren:
        raise _problem(
            "compare.ledger_not_of_insured",
            f"{ledger.name}: this FEC is the books of SIREN {fec.group(1)}, not of the insured"
            f" ({offers.insured.siren})",
            file=ledger.name,
        )
    buyers: dict[str, _Buyer] = {}
    dated: list[tuple[date, int, InvoiceRecord | PaymentRecord | DisputeRecord]] = []
    for n, record in enumerate(ledger.records):
        identifier = _ref_identifier(record.buyer)
        if identifier is None:
            raise _problem(
                "compare.unidentified_customer",
                f"{record.source.file}, line {record.source.line}: the customer {record.buyer.label()} has no"
                " identifier (SIREN, VAT, LEI, DUNS): the comparison names buyers by identifier",
                file=record.source.file,
                line=record.source.line,
            )
        key = buyer_key(identifier)
        if offers.insured.siren is not None and key == offers.insured.siren:
            raise _problem(
                "compare.ledger_not_of_insured",
                f"{record.source.file}, line {record.source.line}: the ledger names the insured itself"
                f" ({key}) as a customer: it is another company's ledger",
                file=record.source.file,
                line=record.source.line,
            )
        if not isinstance(record, DisputeRecord) and record.currency != offers.currency:
            raise _problem(
                "compare.currency_mismatch",
                f"{record.source.file}, line {record.source.line}: {record.currency}, the offers are in"
                f" {offers.currency}",
                file=record.source.file,
                line=record.source.line,
            )
        buyers.setdefault(key, _Buyer(key, identifier, record.buyer.name, record.buyer.country))
        dated.append((_record_date(record), n, record))
    if not dated:
        raise _problem("compare.no_history", f"{ledger.name}: the ledger has no record", file=ledger.name)
    dated.sort(key=lambda item: (item[0], item[1]))
    if offers.period is not None:
        start, end = offers.period
    else:
        # The history's years are those of the invoices: payments after the last one are collections.
        issued = [d for d, _, r in dated if isinstance(r, InvoiceRecord)] or [d for d, _, _ in dated]
        last_year = max(issued).year
        first_year = min(issued).year if years is None else last_year - years + 1
        start, end = date(first_year, 1, 1), date(last_year, 12, 31)
    kept = [item for item in dated if start <= item[0] <= end]
    if not kept:
        raise _problem("compare.no_history", f"{ledger.name}: no record between {start} and {end}", file=ledger.name)
    numbers = {r.number for _, _, r in kept if isinstance(r, InvoiceRecord) and r.kind is RecordKind.INVOICE}
    # Records about invoices before the history are left out with them.
    records = [
        item
        for item in kept
        if not (isinstance(item[2], PaymentRecord) and item[2].invoices and not set(item[2].invoices) <= numbers)
        and not (isinstance(item[2], DisputeRecord) and item[2].invoice_number not in numbers)
        and not (
            isinstance(item[2], InvoiceRecord)
            and item[2].kind is RecordKind.CREDIT_NOTE
            and item[2].invoice_reference is not None
            and item[2].invoice_reference not in numbers
        )
    ]
    used = {_key_of(r) for _, _, r in records}
    offered = {buyer_key(i) for offer in offers.offers for i, _ in offer.limits}
    if offered and not offered & set(buyers):
        raise _problem(
            "compare.ledger_not_of_insured",
            f"{ledger.name}: none of the buyers the offers grant limits on is a customer in this ledger",
            file=ledger.name,
        )
    for offer in offers.offers:
        for identifier, _ in offer.limits:
            if buyer_key(identifier) not in buyers:
                raise _problem(
                    "compare.unknown_buyer",
                    f"{offer.insurer}: a limit on {identifier.value}, which is no customer in {ledger.name}",
                    field="limits",
                    buyer=identifier.value,
                )
    for fact in offers.insolvencies:
        if fact.buyer not in buyers:
            raise _problem(
                "compare.unknown_buyer",
                f"an insolvency of {fact.buyer}, which is no customer in {ledger.name}",
                field="insolvencies",
                buyer=fact.buyer,
            )
    kept_buyers = {k: b for k, b in buyers.items() if k in used or k in offered}
    return History(start, end, kept_buyers, records, len(dated) - len(records))


# --------------------------------------------------------------------------
# The replay of the history: balances day by day
# --------------------------------------------------------------------------


@dataclass
class _Ledger:
    """The ledger's balances as the insured's books show them: payments settle named invoices, then the oldest."""

    invoices: dict[str, list[_Invoice]] = field(default_factory=lambda: defaultdict(list))

    def apply(self, record: InvoiceRecord | PaymentRecord | DisputeRecord, key: str) -> None:
        if isinstance(record, InvoiceRecord) and record.kind is RecordKind.INVOICE:
            gross = record.amount_excl_vat + record.vat_amount
            self.invoices[key].append(
                _Invoice(key, record.number, record.issue_date, record.due_date or record.issue_date, gross, gross)
            )
        elif isinstance(record, InvoiceRecord):
            self._settle(key, record.amount_excl_vat + record.vat_amount, (record.invoice_reference,))
        elif isinstance(record, PaymentRecord):
            self._settle(key, record.amount, record.invoices)

    def _settle(self, key: str, amount: Decimal, named: Iterable[str | None]) -> None:
        wanted = [n for n in named if n]
        ordered = [i for n in wanted for i in self.invoices[key] if i.number == n]
        ordered += sorted((i for i in self.invoices[key] if i.number not in wanted), key=lambda i: i.issue_date)
        for invoice in ordered:
            part = min(invoice.open, amount)
            invoice.open -= part
            amount -= part
            if amount <= 0:
                return

    def outstanding(self, key: str) -> Decimal:
        return sum((i.open for i in self.invoices[key]), Decimal(0))


@dataclass
class _Facts:
    """What the history says, independently of any offer."""

    daily: dict[date, dict[str, Decimal]]  # day → buyer → outstanding incl. VAT
    overdue: dict[str, list[tuple[date, str, date]]]  # buyer → (due date, invoice, last day open or None)
    outstanding_at: Callable[[str, date], Decimal]


def _facts(history: History) -> _Facts:
    ledger = _Ledger()
    daily: dict[date, dict[str, Decimal]] = {}
    open_until: dict[tuple[str, str], date] = {}
    records = iter(history.records)
    pending = next(records, None)
    day = history.start
    while day <= history.end:
        while pending is not None and pending[0] <= day:
            ledger.apply(pending[2], _key_of(pending[2]))
            pending = next(records, None)
        daily[day] = {key: ledger.outstanding(key) for key in history.buyers}
        for key, invoices in ledger.invoices.items():
            for invoice in invoices:
                if invoice.open > 0:
                    open_until[(key, invoice.number)] = day
        day += timedelta(days=1)
    overdue: dict[str, list[tuple[date, str, date]]] = defaultdict(list)
    for key, invoices in ledger.invoices.items():
        for invoice in invoices:
            last_open = open_until.get((key, invoice.number))
            if last_open is not None:
                overdue[key].append((invoice.due_date, invoice.number, last_open))

    def outstanding_at(key: str, on: date) -> Decimal:
        return daily[min(max(on, history.start), history.end)].get(key, Decimal(0))

    return _Facts(daily, overdue, outstanding_at)


# --------------------------------------------------------------------------
# One offer's scenario
# --------------------------------------------------------------------------


def _buyer_entry(buyer: _Buyer, overrides: Mapping[str, Any], amount: Decimal) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": str(overrides.get("name") or buyer.name or buyer.key)}
    identifier = buyer.identifier
    siren = siren_of(identifier)
    if siren is not None:
        entry["registration_number"] = siren
    elif identifier.kind is IdentifierKind.LEI:
        entry["lei"] = identifier.value
    elif identifier.kind is IdentifierKind.DUNS:
        entry["duns"] = identifier.value
    else:
        entry["vat_number"] = identifier.value
    country = overrides.get("country") or buyer.country
    if country is None and siren is None and identifier.kind is IdentifierKind.VAT:
        country = identifier.value[:2]
    entry["country"] = str(country or "FR")
    if overrides.get("sector"):
        entry["sector"] = str(overrides["sector"])
    entry["grade"] = int(overrides.get("grade") or REFERENCE_GRADE)
    entry["capacity"] = str(max(amount, Decimal(0)))
    return entry


def _scenario_events(
    offers: OffersFile,
    offer: OfferInput,
    terms: PolicyTerms,
    history: History,
    facts: _Facts,
    referred: frozenset[str],
) -> list[dict[str, Any]]:
    start, end = history.start, history.end
    events: list[tuple[date, int, dict[str, Any]]] = []

    def add(day: date, order: int, kind: str, body: dict[str, Any] | None) -> None:
        events.append((day, order, {"date": day.isoformat(), kind: body}))

    for identifier, amount in offer.limits:
        key = buyer_key(identifier)
        add(start, 0, "request_limit", {"buyer": key, "amount": str(amount)})
        if key in referred:
            add(start, 1, "decide_limit", {"buyer": key, "status": "approved", "amount": str(amount)})
    for day, _, record in history.records:
        key = _key_of(record)
        if isinstance(record, InvoiceRecord):
            kind = "invoice" if record.kind is RecordKind.INVOICE else "credit_note"
            body: dict[str, Any] = {
                "buyer": key,
                "number": record.number,
                "amount_excl_vat": str(record.amount_excl_vat),
                "vat_amount": str(record.vat_amount),
            }
            if kind == "invoice":
                body.update(
                    issue_date=record.issue_date.isoformat(),
                    delivery_date=(record.delivery_date or record.issue_date).isoformat(),
                    due_date=(record.due_date or record.issue_date).isoformat(),
                )
            elif record.invoice_reference:
                body["invoice"] = record.invoice_reference
            add(day, 2, kind, body)
        elif isinstance(record, PaymentRecord):
            payment: dict[str, Any] = {"buyer": key, "amount": str(record.amount)}
            if record.invoices:
                payment["invoices"] = list(record.invoices)
            add(day, 2, "payment", payment)
        else:
            kind = "dispute" if record.kind is RecordKind.DISPUTE else "resolve_dispute"
            add(day, 2, kind, {"buyer": key, "invoice": record.invoice_number})
    # Losses: the insolvencies, then the protracted defaults (one claim per buyer).
    notify_after = offers.assumptions.notify_after_days or min(terms.overdue_notification_days, DEFAULT_NOTIFY_CAP_DAYS)
    claimed: dict[str, date] = {}
    for fact in sorted(offers.insolvencies, key=lambda f: (f.publication_date, f.buyer)):
        add(
            fact.publication_date,
            3,
            "insolvency",
            {
                "buyer": fact.buyer,
                "procedure": fact.procedure,
                "judgment_date": fact.judgment_date.isoformat(),
                "publication_date": fact.publication_date.isoformat(),
            },
        )
        if fact.buyer in claimed or facts.outstanding_at(fact.buyer, fact.publication_date) <= 0:
            continue
        notified = fact.publication_date + timedelta(
            days=min(INSOLVENCY_NOTIFY_DAYS, terms.insolvency_notification_days)
        )
        claim_on = fact.publication_date + timedelta(days=INSOLVENCY_CLAIM_DAYS)
        add(notified, 4, "notify_overdue", {"buyer": fact.buyer})
        add(claim_on, 5, "claim", {"buyer": fact.buyer, "documents": INSOLVENCY_DOCUMENTS})
        add(claim_on + timedelta(days=1), 6, "settle_claim", {"buyer": fact.buyer})
        claimed[fact.buyer] = fact.publication_date
    for key in sorted(facts.overdue):
        dates = sorted(
            {
                due + timedelta(days=notify_after)
                for due, _, last_open in facts.overdue[key]
                if due + timedelta(days=notify_after) <= min(last_open, end)
                and (key not in claimed or due + timedelta(days=notify_after) < claimed[key])
            }
        )
        for day in dates:
            add(day, 4, "notify_overdue", {"buyer": key})
        if dates and key not in claimed:
            claim_on = dates[0] + timedelta(days=terms.waiting_period_days + 1)
            if facts.outstanding_at(key, claim_on) > 0:
                add(claim_on, 5, "claim", {"buyer": key, "documents": ALL_DOCUMENTS})
                add(claim_on + timedelta(days=1), 6, "settle_claim", {"buyer": key})
    # The premium: turnover declared per period, each year closed.
    delay = min(offers.assumptions.declaration_delay_days, terms.declaration_days)
    months = terms.declaration_frequency.months
    turnover = _turnover(history, offers.insured.country)
    year = start.year
    while year <= end.year:
        for first_month in range(1, 13, months):
            period_start = date(year, first_month, 1)
            next_start = date(year + 1, 1, 1) if first_month + months > 12 else date(year, first_month + months, 1)
            period_end = next_start - timedelta(days=1)
            domestic = export = Decimal(0)
            for (day, is_domestic), amount in turnover.items():
                if period_start <= day <= period_end:
                    if is_domestic:
                        domestic += amount
                    else:
                        export += amount
            add(
                period_end + timedelta(days=delay),
                7,
                "declare_turnover",
                {
                    "period_start": period_start.isoformat(),
                    "period_end": period_end.isoformat(),
                    "domestic": _cents(max(domestic, Decimal(0))),
                    "export": _cents(max(export, Decimal(0))),
                },
            )
        add(date(year, 12, 31) + timedelta(days=delay + CLOSE_AFTER_DECLARATION_DAYS), 8, "close_year", None)
        year += 1
    events.sort(key=lambda item: (item[0], item[1]))
    return [e for _, _, e in events]


def _turnover(history: History, insured_country: str) -> dict[tuple[date, bool], Decimal]:
    """Sales excluding VAT per day, domestic or export (credit notes deducted)."""
    out: dict[tuple[date, bool], Decimal] = defaultdict(Decimal)
    for day, _, record in history.records:
        if not isinstance(record, InvoiceRecord):
            continue
        identifier = _ref_identifier(record.buyer)
        assert identifier is not None
        buyer = history.buyers[buyer_key(identifier)]
        country = buyer.country or ("FR" if siren_of(identifier) else identifier.value[:2])
        sign = 1 if record.kind is RecordKind.INVOICE else -1
        out[(day, country == insured_country)] += sign * record.amount_excl_vat
    return out


def scenario_document(
    offers: OffersFile,
    offer: OfferInput,
    history: History,
    facts: _Facts,
    referred: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    terms = check_offer_terms(offer.terms, currency=offers.currency, country=offers.insured.country)
    offered = {buyer_key(i): a for i, a in offer.limits}
    holder: dict[str, Any] = {"name": offers.insured.name, "country": offers.insured.country}
    if offers.insured.siren:
        holder["registration_number"] = offers.insured.siren
    if offers.insured.sector:
        holder["sector"] = offers.insured.sector
    return {
        "description": f"Offer of {offer.insurer} replayed on {offers.insured.name}'s history"
        f" {history.start.isoformat()} to {history.end.isoformat()} (tradecover compare)",
        "currency": offers.currency,
        "policy": {"policyholder": holder, "start_date": history.start.isoformat(), "terms": _yaml_terms(offer.terms)},
        "buyers": {
            key: _buyer_entry(buyer, offers.buyers.get(key, {}), offered.get(key, Decimal(0)))
            for key, buyer in sorted(history.buyers.items())
        },
        "events": _scenario_events(offers, offer, terms, history, facts, referred),
    }


def _yaml_terms(terms: Mapping[str, Any]) -> Any:
    if isinstance(terms, Mapping):
        return {str(k): _yaml_terms(v) for k, v in terms.items()}
    if isinstance(terms, Decimal):
        return str(terms)
    return terms


class _ScenarioDumper(yaml.SafeDumper):
    """Digits-only text (SIRENs with a leading zero) quoted, so that no YAML reader takes it for a number; a
    value used twice (the same documents list for two claims) written out twice, never as an alias, which the
    scenario reader refuses."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "'" if value[:1].isdigit() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ScenarioDumper.add_representer(str, _text)


def scenario_yaml(document: Mapping[str, Any]) -> str:
    return yaml.dump(dict(document), Dumper=_ScenarioDumper, sort_keys=False, allow_unicode=True, width=120)


# --------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    document: dict[str, Any]
    scenarios: dict[str, str]  # file name → scenario YAML, in the offers' order


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40] or "offer"


def _replay(text: str, name: str) -> SimulationResult:
    return run_scenario(parse_scenario(text, name))


def compare_offers(offers: OffersFile, ledger: LedgerFile, *, years: int | None = None) -> Comparison:
    """Replay every offer over the insured's history; the figures side by side (see the module's docstring)."""
    if years is not None and years < 1:
        raise _problem("compare.invalid_years", "--years is at least 1", field="years")
    history = read_history(offers, ledger, years=years)
    facts = _facts(history)
    days = sorted(facts.daily)
    needed = {day: sum(facts.daily[day].values(), Decimal(0)) for day in days}
    peak_day = max(days, key=lambda d: (needed[d], -d.toordinal()))
    average_needed = sum(needed.values(), Decimal(0)) / len(days)
    year_list = list(range(history.start.year, history.end.year + 1))
    results: list[dict[str, Any]] = []
    scenarios: dict[str, str] = {}
    for number, offer in enumerate(offers.offers, start=1):
        name = f"offer-{number}-{_slug(offer.insurer)}.yaml"
        text = scenario_yaml(scenario_document(offers, offer, history, facts))
        result = _replay(text, name)
        referred = frozenset(
            e.buyer
            for e in result.events
            if e.buyer is not None and e.kind == "request_limit" and e.outcome.get("status") == "referred"
        )
        if referred:
            text = scenario_yaml(scenario_document(offers, offer, history, facts, referred))
            result = _replay(text, name)
        scenarios[name] = text
        results.append(_offer_figures(offers, offer, history, facts, result, name, needed, peak_day, year_list))
    return Comparison(
        {
            "insured": {
                "name": offers.insured.name,
                "registration_number": offers.insured.siren,
                "country": offers.insured.country,
            },
            "currency": offers.currency,
            "ledger": ledger.name,
            "period": {"start": history.start.isoformat(), "end": history.end.isoformat(), "years": year_list},
            "assumptions": _assumptions(offers, history),
            "exposure": {
                "peak_amount": _cents(needed[peak_day]),
                "peak_date": peak_day.isoformat(),
                "average_amount": _cents(average_needed),
                "buyers": len(history.buyers),
            },
            "offers": results,
            "ranking": [
                r["insurer"] for r in sorted(results, key=lambda r: (Decimal(r["net_cost_amount"]), r["insurer"]))
            ],
        },
        scenarios,
    )


def _assumptions(offers: OffersFile, history: History) -> list[str]:
    a = offers.assumptions
    notify = (
        f"each unpaid invoice is notified {a.notify_after_days} days after its due date"
        if a.notify_after_days
        else "each unpaid invoice is notified N days after its due date, N = the lesser of the offer's"
        f" overdue_notification_days and {DEFAULT_NOTIFY_CAP_DAYS}"
    )
    return [
        f"history: {history.start.isoformat()} to {history.end.isoformat()}, each offer's policy starting on"
        f" {history.start.isoformat()} (calendar policy years)",
        f"{history.excluded} ledger record(s) outside the history (or about invoices outside it) left out",
        "each offered limit is requested on the policy's first day and granted as offered (the buyer's grade and"
        " capacity set so that the engine grants it; an underwriter approves it when the engine refers it)",
        notify,
        f"an insolvency is notified {INSOLVENCY_NOTIFY_DAYS} days after its publication (or within the offer's"
        f" insolvency_notification_days) and claimed {INSOLVENCY_CLAIM_DAYS} days after it, with every document",
        "a protracted default is claimed the day after the waiting period (from the first notification) ends, with"
        " every document, if the buyer still owes money; one claim per buyer; settlement the next day",
        "a balance still open at the history's end stays unpaid",
        f"turnover (invoices less credit notes, excl. VAT; domestic when the buyer is in {offers.insured.country})"
        f" declared {a.declaration_delay_days} days after each period (or within the offer's declaration_days);"
        f" each year closed {CLOSE_AFTER_DECLARATION_DAYS} days after its last declaration",
        "premium = the year's premium after the minimum premium, less the no-claims bonus; fees = the terms'"
        " request and monitoring fees charged by the policy plus the offer's annual_fee per year and per_buyer_fee"
        " per year and buyer with a limit; indemnities by the year of the loss",
        "net cost = premium + fees - indemnities; cost per covered euro = (premium + fees) / average covered"
        " exposure; exposure = amounts owed incl. VAT, covered up to the limit granted until the buyer's insolvency",
    ]


def _offer_figures(
    offers: OffersFile,
    offer: OfferInput,
    history: History,
    facts: _Facts,
    result: SimulationResult,
    name: str,
    needed: Mapping[date, Decimal],
    peak_day: date,
    year_list: list[int],
) -> dict[str, Any]:
    granted: dict[str, Decimal] = {}
    limits: list[dict[str, Any]] = []
    for identifier, amount in offer.limits:
        key = buyer_key(identifier)
        outcomes = [e.outcome for e in result.events if e.buyer == key and e.kind in ("request_limit", "decide_limit")]
        last = outcomes[-1] if outcomes else {"status": "none", "granted_amount": "0"}
        granted[key] = Decimal(str(last.get("granted_amount", "0")))
        limits.append(
            {
                "buyer": key,
                "offered_amount": _cents(amount),
                "granted_amount": _cents(granted[key]),
                "status": last.get("status"),
            }
        )
    cancelled = {f.buyer: f.publication_date for f in offers.insolvencies}

    def covered_on(day: date) -> Decimal:
        return sum(
            (
                min(owed, granted.get(key, Decimal(0)))
                for key, owed in facts.daily[day].items()
                if key not in cancelled or day < cancelled[key]
            ),
            Decimal(0),
        )

    covered = {day: covered_on(day) for day in needed}
    average_covered = sum(covered.values(), Decimal(0)) / len(covered)
    average_needed = sum(needed.values(), Decimal(0)) / len(needed)
    premium_years = {int(y["year_start"][:4]): y for y in result.final["premium"]["years"]}
    indemnities: dict[int, Decimal] = defaultdict(Decimal)
    claims = []
    for claim in result.final["claims"]:
        year = min(max(int(claim["date_of_loss"][:4]), year_list[0]), year_list[-1])
        indemnities[year] += Decimal(claim["indemnity_amount"])
        claims.append(
            {
                k: claim[k]
                for k in ("buyer", "status", "cause", "date_of_loss", "loss_amount", "indemnity_amount")
                if k in claim
            }
        )
    with_limit = sum(1 for v in granted.values() if v > 0)
    years: list[dict[str, Any]] = []
    for year in year_list:
        figures = premium_years.get(year)
        premium = bonus = fees = Decimal(0)
        if figures is not None:
            premium = Decimal(figures["premium_amount"])
            bonus = Decimal(figures["bonus_amount"])
            fees = Decimal(figures["fees_amount"])
        extra = offer.fees.get("annual_fee", Decimal(0)) + offer.fees.get("per_buyer_fee", Decimal(0)) * with_limit
        net = premium - bonus + fees + extra - indemnities[year]
        years.append(
            {
                "year": year,
                "premium_amount": _cents(premium - bonus),
                "bonus_amount": _cents(bonus),
                "fees_amount": _cents(fees + extra),
                "indemnity_amount": _cents(indemnities[year]),
                "net_cost_amount": _cents(net),
            }
        )
    total = {k: sum((Decimal(y[k]) for y in years), Decimal(0)) for k in ("premium_amount", "fees_amount")}
    total_indemnity = sum((Decimal(y["indemnity_amount"]) for y in years), Decimal(0))
    worst = max(years, key=lambda y: (Decimal(y["net_cost_amount"]), -y["year"]))
    price = total["premium_amount"] + total["fees_amount"]
    per_euro = None if average_covered == 0 else str((price / average_covered).quantize(_RATIO, ROUND_HALF_UP))
    return {
        "insurer": offer.insurer,
        "scenario": name,
        "terms": _yaml_terms(offer.terms),
        "fees": {k: _cents(v) for k, v in sorted(offer.fees.items())},
        "limits": limits,
        "years": years,
        "premium_amount": _cents(total["premium_amount"]),
        "fees_amount": _cents(total["fees_amount"]),
        "indemnity_amount": _cents(total_indemnity),
        "net_cost_amount": _cents(price - total_indemnity),
        "limits_granted_amount": _cents(sum(granted.values(), Decimal(0))),
        "covered_peak_amount": _cents(covered[peak_day]),
        "covered_average_amount": _cents(average_covered),
        "peak_share": _share(covered[peak_day], needed[peak_day]),
        "average_share": _share(average_covered, average_needed),
        "cost_per_covered_euro": per_euro,
        "worst_year": {"year": worst["year"], "net_cost_amount": worst["net_cost_amount"]},
        "claims": claims,
    }


def _share(part: Decimal, whole: Decimal) -> str | None:
    return None if whole == 0 else str((part / whole).quantize(_RATIO, ROUND_HALF_UP))


# --------------------------------------------------------------------------
# The chart
# --------------------------------------------------------------------------


#: The chart's words, in the languages of the portal (the API and the CLI draw it in English).
CHART_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "premium": "premium + fees",
        "indemnities": "indemnities",
        "net": "net cost",
        "title": "{insured}: offers replayed from {start} to {end} ({currency})",
    },
    "fr": {
        "premium": "prime + frais",
        "indemnities": "indemnités",
        "net": "coût net",
        "title": "{insured} : offres rejouées du {start} au {end} ({currency})",
    },
}


def comparison_png(document: Mapping[str, Any], language: str = "en") -> bytes:
    """Bars per offer: premium and fees, indemnities, net cost; the same document gives the same bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    words = CHART_WORDS.get(language, CHART_WORDS["en"])
    offers = document["offers"]
    names = [o["insurer"][:24] for o in offers]
    series = [
        (
            words["premium"],
            [float(Decimal(o["premium_amount"]) + Decimal(o["fees_amount"])) for o in offers],
            "#2e75b6",
        ),
        (words["indemnities"], [float(Decimal(o["indemnity_amount"])) for o in offers], "#70ad47"),
        (words["net"], [float(Decimal(o["net_cost_amount"])) for o in offers], "#c55a11"),
    ]
    figure = Figure(figsize=(10.0, 6.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.8 / len(series)
    for n, (label, values, colour) in enumerate(series):
        positions = [i + (n - 1) * width for i in range(len(offers))]
        axes.bar(positions, values, width=width, label=label, color=colour)
    axes.set_xticks(range(len(offers)), names)
    axes.axhline(0, color="black", linewidth=0.8)
    period = document["period"]
    axes.set_title(
        words["title"].format(
            insured=document["insured"]["name"],
            start=period["start"],
            end=period["end"],
            currency=document["currency"],
        )
    )
    axes.set_ylabel(document["currency"])
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
