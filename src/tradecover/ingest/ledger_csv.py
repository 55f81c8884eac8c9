"""An insured's receivables ledger as a CSV: invoices, credit notes, payments, disputes.

Why: every accounting package can export a spreadsheet, few can export the
same one. The layout is ours, documented here and downloadable as
:data:`LEDGER_CSV_TEMPLATE`; the import service maps the buyers and applies
the file wholly or not at all, this module only reads it.

Layout:

* one header row; columns matched by name, case-insensitively, in any order;
  a column this layout does not know refuses the file (a typo such as
  ``amout`` would otherwise silently drop the amounts); ``record_type`` is
  required;
* separator ``,`` or ``;`` (what French spreadsheets write), detected from
  the header; UTF-8 (with or without byte-order mark), or Windows-1252 as
  saved by older Excel versions; a file with NUL bytes (UTF-16, binary) is
  refused;
* every cell is stripped of leading and trailing spaces;
* ``record_type``: ``invoice``, ``credit_note``, ``payment``, ``dispute`` or
  ``resolve_dispute``;
* the buyer, at least one of: ``siren``; ``vat_number`` (with its country
  prefix); ``identifier_kind`` + ``identifier`` (``siren``, ``siret``,
  ``vat_fr``, ``vat``, ``lei``, ``duns``); ``customer_account`` (the
  insured's own account, matched through a mapping). Optional:
  ``customer_name`` (shown in reports), ``country`` (ISO 3166 alpha-2).
  Every identifier given is checked, check digit included; a SIREN whose
  leading zeros a spreadsheet dropped is padded back to 9 digits;
* invoices and credit notes: ``number`` (required), ``issue_date``
  (required), ``delivery_date`` (optional, the issue date when empty),
  ``due_date`` (required for an invoice, never before the issue date;
  optional for a credit note), ``amount_excl_vat`` and ``vat_amount``
  (required, never negative, not both zero), ``currency`` (ISO 4217,
  optional, the default currency when empty), ``invoice`` (a credit note's
  invoice, optional), ``order_reference`` and ``factor`` (optional);
* payments: ``date`` (required), ``amount`` (including VAT, required, above
  zero), ``currency``, ``reference`` (optional), ``invoice`` (optional: the
  invoice numbers it settles, separated by spaces or ``|``);
* disputes and their resolution: ``invoice`` and ``date`` (required),
  ``reason`` (optional);
* dates ``YYYY-MM-DD`` (or ``DD/MM/YYYY``); amounts with a decimal point or
  a French decimal comma, spaces as thousands separators
  (see :func:`tradecover.ingest.financials_csv.parse_amount`);
* cells a record type does not use are ignored.

Like the statements CSV, this file is typed or exported by people: every
problem on every line is reported at once (file, line, column, message,
stable code ``ledger_csv.*``) and the good lines are still read, so that a
preview can show both. A file that is not this layout at all (too large,
not text, no ``record_type`` column, unknown columns, more than
:data:`MAX_PROBLEMS` problems) is refused as a whole with
:class:`~tradecover.domain.errors.InvalidInput`.

Cells are never evaluated: a cell starting with ``=`` is just text here;
escaping formulas is the concern of whatever writes the data back to a
spreadsheet.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from datetime import date
from decimal import Decimal

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import parse_identifier
from tradecover.domain.money import currency as checked_currency
from tradecover.domain.terms import country_code
from tradecover.ingest.financials_csv import parse_amount
from tradecover.ingest.ledger_records import (
    BuyerRef,
    DisputeRecord,
    InvoiceRecord,
    LedgerFile,
    LineProblem,
    PaymentRecord,
    RecordKind,
    Source,
    file_problem,
)

__all__ = [
    "COLUMNS",
    "LEDGER_CSV_TEMPLATE",
    "MAX_LEDGER_CSV_BYTES",
    "MAX_PROBLEMS",
    "decode_text",
    "parse_date",
    "parse_ledger_csv",
    "refuse_binary",
]

#: Largest file accepted: a few hundred thousand ledger lines.
MAX_LEDGER_CSV_BYTES = 50_000_000

#: Line problems reported before the file is refused as plainly not this layout.
MAX_PROBLEMS = 10_000

#: Every column the layout knows, in template order.
COLUMNS: tuple[str, ...] = (
    "record_type",
    "customer_account",
    "customer_name",
    "siren",
    "vat_number",
    "identifier_kind",
    "identifier",
    "country",
    "number",
    "issue_date",
    "delivery_date",
    "due_date",
    "amount_excl_vat",
    "vat_amount",
    "currency",
    "invoice",
    "date",
    "amount",
    "reference",
    "order_reference",
    "factor",
    "reason",
)
_KNOWN = frozenset(COLUMNS)

_TEMPLATE_COLUMNS = (
    "record_type",
    "customer_account",
    "customer_name",
    "siren",
    "vat_number",
    "country",
    "number",
    "issue_date",
    "delivery_date",
    "due_date",
    "amount_excl_vat",
    "vat_amount",
    "currency",
    "invoice",
    "date",
    "amount",
    "reference",
    "order_reference",
    "factor",
    "reason",
)

#: A header and one example line per record type, ready to download and fill in.
LEDGER_CSV_TEMPLATE = (
    ",".join(_TEMPLATE_COLUMNS) + "\n"
    "invoice,C0001,Dupont SA,732829320,,FR,F2024-0001,2024-03-01,2024-02-28,2024-04-30,"
    "1000.00,200.00,EUR,,,,,PO-4711,,\n"
    "credit_note,C0001,Dupont SA,732829320,,FR,AV2024-0001,2024-03-10,,,100.00,20.00,EUR,F2024-0001,,,,,,\n"
    "dispute,C0001,Dupont SA,732829320,,FR,,,,,,,,F2024-0001,2024-04-02,,,,,quantity delivered short\n"
    "resolve_dispute,C0001,Dupont SA,732829320,,FR,,,,,,,,F2024-0001,2024-04-09,,,,,credit note AV2024-0001\n"
    "payment,C0001,Dupont SA,,FR44732829320,FR,,,,,,,EUR,F2024-0001,2024-04-30,1080.00,VIR 2024-0430,,,\n"
)

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FRENCH_DATE = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}")
_INVOICE_LIST = re.compile(r"[\s|]+")
_MAX_MESSAGE = 300


def refuse_binary(data: bytes, name: str, code_prefix: str) -> None:
    """Refuse UTF-16 and binary data: neither is a text export.

    Both carry NUL bytes; decoding them as a single-byte encoding would turn
    every line into one unreadable problem instead of one clear refusal.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise file_problem(name, "UTF-16 text is not accepted: save the file as UTF-8", f"{code_prefix}.undecodable")
    if b"\x00" in data:
        raise file_problem(name, "contains NUL bytes: a binary file, not a text export", f"{code_prefix}.undecodable")


def decode_text(data: bytes, name: str, fallback: str, code_prefix: str) -> str:
    """UTF-8 (byte-order mark tolerated), else ``fallback``; UTF-16 and binary data refuse the file."""
    refuse_binary(data, name, code_prefix)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]  # a UTF-8 mark on a file that is not (wholly) UTF-8
    try:
        return data.decode(fallback)
    except UnicodeDecodeError as error:
        raise file_problem(
            name,
            f"neither UTF-8 nor {fallback} (byte {data[error.start]:#04x} at offset {error.start})",
            f"{code_prefix}.undecodable",
        ) from None


def parse_date(raw: str) -> date:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY``; ValueError says what is wrong."""
    if _ISO_DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    elif _FRENCH_DATE.fullmatch(raw):
        try:
            return date(int(raw[6:]), int(raw[3:5]), int(raw[:2]))
        except ValueError:
            pass
    raise ValueError(f"{raw[:40]!r} is not a date YYYY-MM-DD or DD/MM/YYYY")


class _TooMany(Exception):
    """Raised inside the line loop once :data:`MAX_PROBLEMS` is reached."""


class _Line:
    """One data line: its cells by column name, and where to report its problems."""

    __slots__ = ("cells", "collector", "ok", "source")

    def __init__(self, cells: dict[str, str], source: Source, collector: _Problems) -> None:
        self.cells = cells
        self.source = source
        self.collector = collector
        self.ok = True

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def problem(self, column: str | None, message: str, code: str) -> None:
        self.ok = False
        if len(message) > _MAX_MESSAGE:  # a message quotes the cell, which may be huge
            message = message[: _MAX_MESSAGE - 1] + "…"
        self.collector.add(LineProblem(self.source, column, message, f"ledger_csv.{code}"))

    def required(self, column: str, what: str) -> str | None:
        value = self.get(column)
        if not value:
            self.problem(column, f"missing {column.replace('_', ' ')} (required for {what})", "missing_field")
            return None
        return value

    def date(self, column: str, what: str, *, required: bool) -> date | None:
        raw = self.required(column, what) if required else self.get(column)
        if not raw:
            return None
        try:
            return parse_date(raw)
        except ValueError as error:
            self.problem(column, str(error), "invalid_date")
            return None

    def amount(self, column: str, what: str, *, positive: bool = False) -> Decimal | None:
        raw = self.required(column, what)
        if raw is None:
            return None
        try:
            value = parse_amount(raw)
        except ValueError as error:
            self.problem(column, str(error), "invalid_amount")
            return None
        if value < 0:
            self.problem(
                column, f"{raw!r} is negative (amounts are positive, the record type gives the way)", "negative_amount"
            )
            return None
        if positive and value == 0:
            self.problem(column, f"{raw!r}: the amount must be above zero", "zero_amount")
            return None
        return value

    def currency(self, default: str) -> str | None:
        raw = self.get("currency").upper()
        if not raw:
            return default
        try:
            return checked_currency(raw)
        except InvalidInput as error:
            self.problem("currency", error.message, "invalid_currency")
            return None


class _Problems:
    def __init__(self, name: str) -> None:
        self.name = name
        self.items: list[LineProblem] = []

    def add(self, problem: LineProblem) -> None:
        if len(self.items) >= MAX_PROBLEMS:
            raise _TooMany
        self.items.append(problem)


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _header(cells: list[str], name: str) -> dict[str, int]:
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for position, cell in enumerate(cells):
        column = cell.strip().lstrip("\ufeff").strip().casefold()
        if not column:
            continue
        if column not in _KNOWN:
            unknown.append(column)
        elif column in positions:
            raise file_problem(name, f"column {column!r} appears twice", "ledger_csv.duplicate_column", field=column)
        else:
            positions[column] = position
    if unknown:
        shown = ", ".join(repr(column[:40]) for column in unknown[:20])
        raise file_problem(
            name,
            f"unknown column(s) {shown} (known: {', '.join(COLUMNS)})",
            "ledger_csv.unknown_column",
            field=unknown[0][:40],
        )
    if "record_type" not in positions:
        raise file_problem(name, "missing column 'record_type'", "ledger_csv.missing_column", field="record_type")
    return positions


class _Buyers:
    """Buyer references of one file; identifiers checked once per distinct value."""

    def __init__(self) -> None:
        self._identifiers: dict[tuple[str, str], tuple[str, str] | str] = {}

    def identifier(self, kind: str, raw: str) -> tuple[str, str] | str:
        """``(kind, value)`` when valid, else the error message."""
        key = (kind, raw)
        known = self._identifiers.get(key)
        if known is not None:
            return known
        text = raw
        if kind == "siren" and raw.isascii() and raw.isdigit() and 5 <= len(raw) < 9:
            # A spreadsheet read the SIREN as a number and dropped its leading
            # zeros; the check digit still guards the padded value.
            text = raw.zfill(9)
        result: tuple[str, str] | str
        try:
            identifier = parse_identifier(kind, text)
        except InvalidInput as error:
            result = error.message
        else:
            result = (identifier.kind.value, identifier.value)
        if len(self._identifiers) < 100_000:
            self._identifiers[key] = result
        return result

    def buyer(self, line: _Line) -> BuyerRef | None:
        identifiers: list[tuple[str, str]] = []
        named = False
        for column, kind in (("siren", "siren"), ("vat_number", "vat")):
            raw = line.get(column)
            if raw:
                named = True
                found = self.identifier(kind, raw)
                if isinstance(found, str):
                    line.problem(column, found, "invalid_identifier")
                elif found not in identifiers:
                    identifiers.append(found)
        kind_text, raw = line.get("identifier_kind").lower(), line.get("identifier")
        if kind_text or raw:
            named = True
            if not kind_text:
                line.problem("identifier_kind", "missing identifier kind (the identifier is given)", "missing_field")
            elif not raw:
                line.problem("identifier", "missing identifier (its kind is given)", "missing_field")
            else:
                found = self.identifier(kind_text, raw)
                if isinstance(found, str):
                    field = "identifier_kind" if found.startswith("unknown identifier kind") else "identifier"
                    line.problem(field, found, "invalid_identifier")
                elif found not in identifiers:
                    identifiers.append(found)
        account = line.get("customer_account") or None
        if not named and account is None:
            line.problem(
                None,
                "no buyer: give siren, vat_number, identifier_kind + identifier or customer_account",
                "missing_buyer",
            )
        country: str | None = None
        if raw_country := line.get("country"):
            try:
                country = country_code(raw_country)
            except InvalidInput as error:
                line.problem("country", error.message, "invalid_country")
        if not line.ok:
            return None
        return BuyerRef(tuple(identifiers), account, line.get("customer_name") or None, country)


def _invoice(line: _Line, kind: RecordKind, buyer: BuyerRef | None, default_currency: str) -> InvoiceRecord | None:
    what = kind.value.replace("_", " ")
    number = line.required("number", what)
    issued = line.date("issue_date", what, required=True)
    delivered = line.date("delivery_date", what, required=False)
    due = line.date("due_date", what, required=kind is RecordKind.INVOICE)
    excl = line.amount("amount_excl_vat", what)
    vat = line.amount("vat_amount", what)
    money = line.currency(default_currency)
    if issued is not None and due is not None and due < issued:
        line.problem(
            "due_date",
            f"due date {due.isoformat()} is before the issue date {issued.isoformat()}",
            "due_before_issue",
        )
    if excl is not None and vat is not None and excl + vat == 0:
        line.problem("amount_excl_vat", f"the {what} total is zero", "zero_total")
    if not line.ok or buyer is None or number is None or issued is None or excl is None or vat is None or money is None:
        return None
    return InvoiceRecord(
        source=line.source,
        kind=kind,
        buyer=buyer,
        number=number,
        issue_date=issued,
        delivery_date=delivered or issued,
        due_date=due,
        amount_excl_vat=excl,
        vat_amount=vat,
        currency=money,
        invoice_reference=(line.get("invoice") or None) if kind is RecordKind.CREDIT_NOTE else None,
        order_reference=line.get("order_reference") or None,
        factor=line.get("factor") or None,
    )


def _payment(line: _Line, buyer: BuyerRef | None, default_currency: str) -> PaymentRecord | None:
    received = line.date("date", "payment", required=True)
    amount = line.amount("amount", "payment", positive=True)
    money = line.currency(default_currency)
    if not line.ok or buyer is None or received is None or amount is None or money is None:
        return None
    invoices = tuple(number for number in _INVOICE_LIST.split(line.get("invoice")) if number)
    return PaymentRecord(line.source, buyer, received, amount, money, line.get("reference") or None, invoices)


def _dispute(line: _Line, kind: RecordKind, buyer: BuyerRef | None) -> DisputeRecord | None:
    what = kind.value.replace("_", " ")
    invoice = line.required("invoice", what)
    on = line.date("date", what, required=True)
    if not line.ok or buyer is None or invoice is None or on is None:
        return None
    return DisputeRecord(line.source, kind, buyer, invoice, on, line.get("reason") or None)


_KINDS = {kind.value: kind for kind in RecordKind}


def parse_ledger_csv(data: bytes, name: str, *, default_currency: str = "EUR") -> LedgerFile:
    """Read every record of a ledger CSV and every problem in it.

    Raises :class:`~tradecover.domain.errors.InvalidInput` (via
    :func:`~tradecover.ingest.ledger_records.file_problem`) when the file as
    a whole cannot be this layout; otherwise returns the good records in file
    order and a :class:`LineProblem` per problem of the other lines.
    """
    default_currency = checked_currency(default_currency)
    if len(data) > MAX_LEDGER_CSV_BYTES:
        raise file_problem(name, f"larger than {MAX_LEDGER_CSV_BYTES} bytes", "ledger_csv.too_large")
    text = decode_text(data, name, "cp1252", "ledger_csv")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    result = LedgerFile(name=name, format="csv")
    problems = _Problems(name)
    buyers = _Buyers()
    try:
        header: list[str] | None = None
        while header is None:
            cells = next(reader, None)
            if cells is None:
                raise file_problem(name, "empty file, no header", "ledger_csv.missing_column", field="record_type")
            if any(cell.strip() for cell in cells):
                header = cells
        positions = _header(header, name)
        width = len(header)
        line_end = reader.line_num
        for cells in reader:
            start, line_end = line_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            source = Source(name, start)
            if len(cells) > width and not any(cell.strip() for cell in cells[width:]):
                del cells[width:]  # trailing separators some spreadsheets add
            if len(cells) != width:
                problems.add(
                    LineProblem(
                        source, None, f"{len(cells)} fields, the header has {width}", "ledger_csv.wrong_field_count"
                    )
                )
                continue
            line = _Line({column: cells[position].strip() for column, position in positions.items()}, source, problems)
            _read_line(line, result, buyers, default_currency)
    except csv.Error as error:
        raise file_problem(name, f"line {reader.line_num}: unreadable CSV ({error})", "ledger_csv.unreadable") from None
    except _TooMany:
        raise file_problem(
            name,
            f"more than {MAX_PROBLEMS} problems, stopped checking: is this the ledger CSV layout?",
            "ledger_csv.too_many_problems",
        ) from None
    result.problems = problems.items
    return result


def _read_line(line: _Line, result: LedgerFile, buyers: _Buyers, default_currency: str) -> None:
    raw_kind = line.get("record_type")
    kind = _KINDS.get(raw_kind.lower())
    if kind is None:
        if raw_kind:
            message = f"unknown record type {raw_kind[:40]!r} (known: {', '.join(_KINDS)})"
            line.problem("record_type", message, "unknown_record_type")
        else:
            line.problem("record_type", "missing record type (required)", "missing_field")
        return
    buyer = buyers.buyer(line)
    record: InvoiceRecord | PaymentRecord | DisputeRecord | None
    if kind is RecordKind.INVOICE or kind is RecordKind.CREDIT_NOTE:
        record = _invoice(line, kind, buyer, default_currency)
    elif kind is RecordKind.PAYMENT:
        record = _payment(line, buyer, default_currency)
    else:
        record = _dispute(line, kind, buyer)
    if record is not None:
        result.records.append(record)
