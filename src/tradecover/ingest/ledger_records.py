"""What every ledger parser (CSV, FEC, e-invoices) produces: records naming their source line.

Why one shape: the import service maps buyers, checks duplicates and applies
the file wholly or not at all, whatever the format; the parsers only read.
A parser never guesses a buyer: it passes on the identifiers it found
(SIREN, VAT, ...) and the customer's own account and name, and the service
maps them (or reports the customer as unmapped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from tradecover.domain.errors import InvalidInput

__all__ = [
    "BuyerRef",
    "CustomerBalance",
    "DisputeRecord",
    "InvoiceRecord",
    "LedgerFile",
    "LedgerRecord",
    "LineProblem",
    "PaymentRecord",
    "RecordKind",
    "Source",
    "file_problem",
    "line_problem",
]


class RecordKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"
    DISPUTE = "dispute"
    RESOLVE_DISPUTE = "resolve_dispute"


@dataclass(frozen=True)
class Source:
    """Where a record comes from: the file's name and the 1-based line (or XML element line)."""

    file: str
    line: int


@dataclass(frozen=True)
class BuyerRef:
    """How the file names the customer. At least one field is set.

    ``identifiers`` are canonical ``(kind, value)`` pairs as understood by
    :func:`tradecover.domain.identifiers.parse_identifier` (``siren``,
    ``siret``, ``vat_fr``, ``vat``, ``lei``, ``duns``); ``account`` is the
    insured's own customer account (FEC CompAuxNum, a CSV ``customer_account``),
    matched through a mapping file; ``name`` is only shown in reports.
    """

    identifiers: tuple[tuple[str, str], ...] = ()
    account: str | None = None
    name: str | None = None
    country: str | None = None

    def label(self) -> str:
        for kind, value in self.identifiers:
            return f"{kind} {value}"
        return self.account or self.name or "unnamed customer"


@dataclass(frozen=True)
class InvoiceRecord:
    """An invoice or a credit note. Amounts are positive; ``kind`` says which way they go."""

    source: Source
    kind: RecordKind  # INVOICE or CREDIT_NOTE
    buyer: BuyerRef
    number: str
    issue_date: date
    delivery_date: date | None  # None: the issue date is taken
    due_date: date | None  # None: the issue date is taken (payable at once)
    amount_excl_vat: Decimal
    vat_amount: Decimal
    currency: str
    invoice_reference: str | None = None  # a credit note's invoice
    order_reference: str | None = None
    factor: str | None = None  # name of the factor it is assigned to


@dataclass(frozen=True)
class PaymentRecord:
    """Cash received from the customer, including VAT; settles the named invoices first, then the oldest."""

    source: Source
    buyer: BuyerRef
    received_on: date
    amount: Decimal
    currency: str
    reference: str | None = None
    invoices: tuple[str, ...] = ()


@dataclass(frozen=True)
class DisputeRecord:
    """A dispute opened (or resolved) on an invoice."""

    source: Source
    kind: RecordKind  # DISPUTE or RESOLVE_DISPUTE
    buyer: BuyerRef
    invoice_number: str
    on: date
    reason: str | None = None


LedgerRecord = InvoiceRecord | PaymentRecord | DisputeRecord


@dataclass(frozen=True)
class LineProblem:
    """A line the parser refused: file, line, field, message and a stable code."""

    source: Source
    field: str | None
    message: str
    code: str
    refuses: bool = True  # False: a warning (e.g. an identifier ignored), the record itself is kept

    def text(self) -> str:
        where = f"{self.source.file}, line {self.source.line}" + (f", field {self.field}" if self.field else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class CustomerBalance:
    """A customer's balance as the file states it (FEC: debit − credit on its 411 account), for reconciliation."""

    buyer: BuyerRef
    balance: Decimal
    currency: str


@dataclass
class LedgerFile:
    """A parsed file: its records in file order, the lines refused, and the balances it states (if any)."""

    name: str
    format: str  # "csv", "fec", "cii", "ubl", "facturx"
    records: list[LedgerRecord] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    balances: list[CustomerBalance] = field(default_factory=list)


def line_problem(source: Source, field: str | None, message: str, code: str, *, refuses: bool = True) -> LineProblem:
    return LineProblem(source, field, message, code, refuses)


def file_problem(name: str, message: str, code: str, field: str | None = None) -> InvalidInput:
    """The whole file is unreadable (too large, not this format, hostile XML): nothing is imported."""
    return InvalidInput(f"{name}: {message}", code=code, field=field, context={"file": name})
