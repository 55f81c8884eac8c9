"""Importing a ledger file (CSV, FEC, e-invoices) into a policy's ledger.

The parsers read; this maps each customer to a buyer (by SIREN, SIRET, VAT
or another identifier found in the file or in a mapping file; a customer
named by a valid identifier the platform does not know yet is created and
added to the insured's book), checks every record, and reports per line
what was created, skipped as a duplicate, or refused and why. A file
applies wholly or not at all unless partial application is asked for; a dry
run reports without writing.
"""

from __future__ import annotations

import functools
import gc
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

from tradecover.domain.errors import DomainError, InvalidInput
from tradecover.domain.identifiers import (
    CompanyIdentifier,
    IdentifierKind,
    detect_identifier,
    parse_identifier,
    siren_of,
)
from tradecover.domain.money import Money
from tradecover.domain.money import currency as checked_currency
from tradecover.domain.parties import Organisation
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy
from tradecover.domain.receivables import Dispute, EntryKind, Invoice, Payment, settle
from tradecover.ingest.ledger_records import (
    BuyerRef,
    CustomerBalance,
    DisputeRecord,
    InvoiceRecord,
    LedgerFile,
    PaymentRecord,
    RecordKind,
)
from tradecover.services import factoring
from tradecover.services.authorization import Actor
from tradecover.services.buyers import add_buyer
from tradecover.services.ledger import (
    build_invoice,
    build_payment,
    payment_dedupe_key,
    policy_to_act_on,
    refresh_balances,
    same_content,
)
from tradecover.services.ledger_ports import BuyerBalance, FactorAssignment, ImportRecord
from tradecover.services.ports import UnitOfWork
from tradecover.services.recording import new_id, record

MAX_REPORTED_LINES = 10_000
PROGRESS_EVERY = 1000  # records between two progress reports: often enough for a bar, rare enough to cost nothing

_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass(frozen=True)
class ImportLine:
    file: str
    line: int
    kind: str
    reference: str | None
    outcome: str  # created, duplicate, refused
    code: str | None = None
    field: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Reconciliation:
    customer: str
    buyer_id: str | None
    file_balance: Money
    ledger_balance: Money | None

    @property
    def matches(self) -> bool:
        return self.ledger_balance is not None and self.ledger_balance == self.file_balance


@dataclass
class ImportReport:
    file: str
    format: str
    policy_id: str
    dry_run: bool
    partial: bool
    applied: bool = False
    created: int = 0
    duplicates: int = 0
    refused: int = 0
    warnings: int = 0
    buyers_created: int = 0
    lines: list[ImportLine] = field(default_factory=list)
    unmapped_customers: list[dict[str, str | None]] = field(default_factory=list)
    reconciliation: list[Reconciliation] = field(default_factory=list)
    import_id: str | None = None

    def add(self, line: ImportLine) -> None:
        if line.outcome == "created":
            self.created += 1
        elif line.outcome == "duplicate":
            self.duplicates += 1
        elif line.outcome == "warning":
            self.warnings += 1
        else:
            self.refused += 1
        if len(self.lines) < MAX_REPORTED_LINES or line.outcome == "refused":
            self.lines.append(line)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "policy_id": self.policy_id,
            "dry_run": self.dry_run,
            "partial": self.partial,
            "applied": self.applied,
            "created": self.created,
            "duplicates": self.duplicates,
            "refused": self.refused,
            "warnings": self.warnings,
            "buyers_created": self.buyers_created,
            "unmapped_customers": self.unmapped_customers,
            "reconciliation": [
                {
                    "customer": r.customer,
                    "buyer_id": r.buyer_id,
                    "file_balance": r.file_balance.to_json(),
                    "ledger_balance": None if r.ledger_balance is None else r.ledger_balance.to_json(),
                    "matches": r.matches,
                }
                for r in self.reconciliation
            ],
            "lines": [line.to_dict() for line in self.lines],
            "import_id": self.import_id,
        }


def _ref_key(ref: BuyerRef) -> tuple[Any, ...]:
    return (ref.identifiers, ref.account, ref.name)


class BuyerMapper:
    """Finds (or creates) the buyer a file's customer names, once per customer."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        actor: Actor,
        policy: Policy,
        *,
        create: bool,
        customers: Mapping[str, str] | None = None,
    ) -> None:
        # The user's mapping: a customer's account or name (any case) -> a buyer id or an identifier.
        self.customers = {k.strip().casefold(): v.strip() for k, v in (customers or {}).items()}
        self.uow = uow
        self.clock = clock
        self.actor = actor
        self.policy = policy
        self.create = create
        self.cache: dict[tuple[Any, ...], str | None] = {}
        self.errors: dict[tuple[Any, ...], InvalidInput] = {}
        self.created = 0

    def prefetch(self, refs: Iterable[BuyerRef]) -> None:
        """One query per 500 SIRENs instead of one per customer (large FEC files)."""
        # A parser names each customer with one BuyerRef object, on every record: read each once.
        seen: set[int] = set()
        unique: dict[tuple[Any, ...], BuyerRef] = {}
        for ref in refs:
            if id(ref) not in seen:
                seen.add(id(ref))
                unique.setdefault(_ref_key(ref), ref)
        sirens: dict[str, list[BuyerRef]] = defaultdict(list)
        for ref in unique.values():
            for kind, value in ref.identifiers:
                try:
                    siren = siren_of(parse_identifier(kind, value))
                except InvalidInput:
                    continue
                if siren:
                    sirens[siren].append(ref)
                    break
        found = self.uow.buyers.by_sirens(list(sirens))
        for siren, buyer_id in found.items():
            for ref in sirens[siren]:
                self.cache[_ref_key(ref)] = buyer_id

    def buyer_id(self, ref: BuyerRef) -> str | None:
        key = _ref_key(ref)
        if key in self.cache:
            return self.cache[key]
        if key in self.errors:
            raise self.errors[key]
        try:
            identifiers: list[CompanyIdentifier] = [parse_identifier(kind, value) for kind, value in ref.identifiers]
        except InvalidInput as error:
            self.errors[key] = error
            raise
        found = self.uow.buyers.find_by_identifiers(identifiers) if identifiers else []
        mapped = self.mapped(ref)
        if not found and mapped is not None:
            if self.uow.buyers.get(mapped) is not None:
                self.cache[key] = mapped
                return mapped
            try:
                identifiers = [detect_identifier(mapped)]
            except InvalidInput as error:
                self.errors[key] = error
                raise
            found = self.uow.buyers.find_by_identifiers(identifiers)
        buyer_id: str | None
        if found:
            buyer_id = found[0].id
        elif identifiers and self.create:
            buyer_id = self._create(ref, identifiers)
        else:
            buyer_id = None
        self.cache[key] = buyer_id
        return buyer_id

    def mapped(self, ref: BuyerRef) -> str | None:
        for name in (ref.account, ref.name):
            if name and name.strip().casefold() in self.customers:
                return self.customers[name.strip().casefold()]
        return None

    def _create(self, ref: BuyerRef, identifiers: list[CompanyIdentifier]) -> str:
        country = ref.country or ("FR" if any(siren_of(i) for i in identifiers) else None)
        if country is None:
            vat = next((i for i in identifiers if i.kind is IdentifierKind.VAT), None)
            country = vat.value[:2] if vat is not None else "FR"
        if country == "EL":
            country = "GR"
        buyer, created = add_buyer(
            self.uow,
            self.clock,
            self.actor,
            identifiers=[(i.kind.value, i.value) for i in identifiers],
            legal_name=(ref.name or ref.label())[:200],
            country=country,
            organisation_id=self.policy.policyholder_id,
            customer_reference=ref.account,
            commit=False,
        )
        self.created += int(created)
        return buyer.id

    def ensure_in_book(self, buyer_id: str) -> None:
        if self.uow.buyers.book_entry(self.policy.policyholder_id, buyer_id) is None:
            buyer = self.uow.buyers.get(buyer_id)
            assert buyer is not None
            add_buyer(
                self.uow,
                self.clock,
                self.actor,
                identifiers=[(i.kind.value, i.value) for i in buyer.identifiers],
                legal_name=buyer.legal_name,
                country=buyer.country,
                organisation_id=self.policy.policyholder_id,
                commit=False,
            )

    def ensure_all_in_book(self, buyer_ids: Iterable[str]) -> None:
        """:meth:`ensure_in_book` for many buyers: the book is read in bulk, only the missing ones are added."""
        wanted = list(buyer_ids)
        ledger = self.uow.ledger
        present = ledger.in_book(self.policy.policyholder_id, wanted) if isinstance(ledger, _BookIndex) else set()
        for buyer_id in wanted:
            if buyer_id not in present:
                self.ensure_in_book(buyer_id)


@runtime_checkable
class _BookIndex(Protocol):
    """What the SQL ledger store offers besides :class:`LedgerStore`: which buyers a book holds, in one query."""

    def in_book(self, organisation_id: str, buyer_ids: Sequence[str]) -> set[str]: ...


def _without_cyclic_gc(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``function`` with the cyclic garbage collector off (restored after).

    A large file makes a million objects, all kept until the end (records, entries, balances): the collector
    would walk them again and again for nothing (none holds a cycle), as in the FEC parser.
    """

    @functools.wraps(function)
    def without(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        collecting = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if collecting:
                gc.enable()

    return without


@_without_cyclic_gc
def import_ledger(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    parsed: LedgerFile,
    content: bytes,
    dry_run: bool = False,
    partial: bool = False,
    create_buyers: bool = True,
    customers: Mapping[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check every record of ``parsed`` and, unless dry-run (or refused lines without ``partial``), record them.

    The caller commits: on an exception nothing of the file is kept. ``progress(done, total)``, when given, is
    told how many records were checked, every :data:`PROGRESS_EVERY` records and at the end (a portal job's bar).
    """
    policy = policy_to_act_on(uow, actor, policy_id)
    report = ImportReport(parsed.name, parsed.format, policy.id, dry_run, partial)
    by = actor.audit_label(policy.policyholder_id)
    for problem in parsed.problems:
        report.add(
            ImportLine(problem.source.file, problem.source.line, "line", None,
                       "refused" if problem.refuses else "warning", problem.code, problem.field, problem.message)
        )  # fmt: skip
    mapper = BuyerMapper(uow, clock, actor, policy, create=create_buyers and not dry_run, customers=customers)
    mapper.prefetch([*(r.buyer for r in parsed.records), *(b.buyer for b in parsed.balances)])
    existing = uow.ledger.invoice_keys(policy.id)
    existing_payments = uow.ledger.payment_keys(policy.id)
    known_disputes = uow.ledger.disputes(policy.id)
    open_disputes = {(d.buyer_id, d.invoice_number): d for d in known_disputes if d.resolved_on is None}
    # A dispute line already applied (opened, or resolved, on that date): re-importing the file changes nothing.
    recorded_disputes = {(d.buyer_id, d.invoice_number, RecordKind.DISPUTE.value, d.opened_on) for d in known_disputes}
    recorded_disputes |= {
        (d.buyer_id, d.invoice_number, RecordKind.RESOLVE_DISPUTE.value, d.resolved_on)
        for d in known_disputes
        if d.resolved_on is not None
    }
    occurrences: dict[tuple[str, str], int] = {}
    new_invoices: list[Invoice] = []
    new_payments: list[tuple[Payment, str]] = []
    new_disputes: list[Dispute] = []
    resolutions: list[tuple[str, date]] = []
    assignments: list[tuple[Invoice, Organisation]] = []
    order_closures: dict[str, list[tuple[str, date]]] = defaultdict(list)
    touched: set[str] = set()
    unmapped: dict[tuple[Any, ...], BuyerRef] = {}
    fake_ids: dict[tuple[Any, ...], str] = {}
    # A large file names each customer on many records, with one BuyerRef object: resolve each object once.
    resolved: dict[int, str] = {}
    currencies: dict[str, str] = {}
    reported = report.lines

    def resolve(ref: BuyerRef) -> str | None:
        bid = resolved.get(id(ref))
        if bid is not None:
            return bid
        bid = mapper.buyer_id(ref)
        if bid is None and (ref.identifiers or mapper.mapped(ref)) and dry_run and create_buyers:
            bid = fake_ids.setdefault(_ref_key(ref), f"new:{ref.label()}")
        if bid is not None:
            resolved[id(ref)] = bid
        return bid

    def checked(code: str) -> str:
        known = currencies.get(code)
        if known is None:
            known = currencies[code] = checked_currency(code)
        return known

    total = len(parsed.records)
    for index, rec in enumerate(parsed.records):
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(index, total)
        src = rec.source
        kind = rec.kind.value if not isinstance(rec, PaymentRecord) else "payment"
        reference = rec.number if isinstance(rec, InvoiceRecord) else (
            rec.reference if isinstance(rec, PaymentRecord) else rec.invoice_number
        )  # fmt: skip
        try:
            buyer_id = resolve(rec.buyer)
            if buyer_id is None:
                unmapped[_ref_key(rec.buyer)] = rec.buyer
                raise InvalidInput(
                    f"customer {rec.buyer.label()} is not mapped to a buyer: give its SIREN or VAT number "
                    "(in the file or a mapping file)",
                    code="ledger.unmapped_customer",
                    field="customer",
                )
            if isinstance(rec, InvoiceRecord):
                entry_kind = EntryKind.INVOICE if rec.kind is RecordKind.INVOICE else EntryKind.CREDIT_NOTE
                cur = checked(rec.currency)
                invoice = build_invoice(
                    policy_id=policy.id,
                    buyer_id=buyer_id,
                    kind=entry_kind,
                    number=rec.number,
                    issue_date=rec.issue_date,
                    delivery_date=rec.delivery_date,
                    due_date=rec.due_date,
                    amount_excl_vat=Money.of(rec.amount_excl_vat, cur),
                    vat_amount=Money.of(rec.vat_amount, cur),
                    invoice_reference=rec.invoice_reference,
                    order_reference=rec.order_reference,
                    source=f"{parsed.format}:{src.file}:{src.line}",
                    by=by,
                    clock=clock,
                )
                key = (buyer_id, entry_kind.value, invoice.number)
                known = existing.get(key)
                if known is not None:
                    if not same_content(known, invoice):
                        raise InvalidInput(
                            f"{entry_kind.value.replace('_', ' ')} {invoice.number} was already recorded with other "
                            "content; correct it with a credit note or a reversal",
                            code="ledger.conflicting_resend",
                            field="number",
                        )
                    report.duplicates += 1
                    if len(reported) < MAX_REPORTED_LINES:
                        reported.append(ImportLine(src.file, src.line, kind, reference, "duplicate"))
                    continue
                if rec.factor and rec.factor.strip():
                    # The factor column names a registered factor (its id or exact name) that the policy
                    # delegates to on the invoice's date; else the line is refused.
                    factor = factoring.factor_named(uow, policy, rec.factor, on=invoice.issue_date)
                    if entry_kind is not EntryKind.INVOICE:
                        raise InvalidInput(
                            "only an invoice is assigned to a factor", code="ledger.bad_factor", field="factor"
                        )
                    assignments.append((invoice, factor))
                existing[key] = invoice
                new_invoices.append(invoice)
                if invoice.order_reference:
                    order_closures[buyer_id].append((invoice.order_reference, invoice.issue_date))
            elif isinstance(rec, PaymentRecord):
                cur = checked(rec.currency)
                payment = build_payment(
                    policy_id=policy.id,
                    buyer_id=buyer_id,
                    amount=Money.of(rec.amount, cur),
                    received_on=rec.received_on,
                    reference=rec.reference,
                    invoices=rec.invoices,
                    source=f"{parsed.format}:{src.file}:{src.line}",
                    by=by,
                    clock=clock,
                )
                # The n-th identical payment of a customer in the file is "#n": two payments with the same
                # reference (a FEC's piece and label) are both kept, and re-importing the file finds both.
                base = payment_dedupe_key(payment)
                if payment.reference:
                    base += f"|{payment.received_on.isoformat()}|{payment.amount.amount}"
                occurrence = occurrences.get((buyer_id, base), 0) + 1
                occurrences[(buyer_id, base)] = occurrence
                dedupe = base if occurrence == 1 else f"{base}#{occurrence}"
                if len(dedupe) > 200:
                    dedupe = "sha256:" + hashlib.sha256(dedupe.encode()).hexdigest()
                if (buyer_id, dedupe) in existing_payments:
                    report.duplicates += 1
                    if len(reported) < MAX_REPORTED_LINES:
                        reported.append(ImportLine(src.file, src.line, kind, reference, "duplicate"))
                    continue
                existing_payments.add((buyer_id, dedupe))
                new_payments.append((payment, dedupe))
            else:
                assert isinstance(rec, DisputeRecord)
                if (buyer_id, EntryKind.INVOICE.value, rec.invoice_number) not in existing:
                    raise InvalidInput(
                        f"invoice {rec.invoice_number} is not in the ledger", code="ledger.unknown_invoice",
                        field="invoice",
                    )  # fmt: skip
                current = open_disputes.get((buyer_id, rec.invoice_number))
                if (buyer_id, rec.invoice_number, rec.kind.value, rec.on) in recorded_disputes:
                    report.add(ImportLine(src.file, src.line, kind, reference, "duplicate"))
                    continue
                if rec.kind is RecordKind.DISPUTE:
                    if current is not None:
                        report.add(ImportLine(src.file, src.line, kind, reference, "duplicate"))
                        continue
                    dispute = Dispute(new_id(), policy.id, buyer_id, rec.invoice_number, rec.on, rec.reason)
                    open_disputes[(buyer_id, rec.invoice_number)] = dispute
                    new_disputes.append(dispute)
                else:
                    if current is None:
                        raise InvalidInput(
                            f"no open dispute on invoice {rec.invoice_number}", code="dispute.not_found",
                            field="invoice",
                        )  # fmt: skip
                    if rec.on < current.opened_on:
                        raise InvalidInput(
                            "a dispute cannot be resolved before it was opened", code="dispute.bad_date", field="date"
                        )
                    del open_disputes[(buyer_id, rec.invoice_number)]
                    resolutions.append((current.id, rec.on))
            touched.add(buyer_id)
            # report.add, without building the line when it is not kept (a large file creates a million).
            report.created += 1
            if len(reported) < MAX_REPORTED_LINES:
                reported.append(ImportLine(src.file, src.line, kind, reference, "created"))
        except DomainError as error:
            report.add(ImportLine(src.file, src.line, kind, reference, "refused", error.code, error.field, str(error)))

    if progress is not None:
        progress(total, total)
    report.unmapped_customers = [
        {
            "account": ref.account,
            "name": ref.name,
            "identifiers": " ".join(f"{k}:{v}" for k, v in ref.identifiers) or None,
        }
        for ref in unmapped.values()
    ]
    report.buyers_created = mapper.created if not dry_run else len(fake_ids)
    apply = not dry_run and (partial or report.refused == 0)
    # The ledger after the import of every buyer it touches or reconciles, read once (before the new entries
    # are written) and completed with them: balances and reconciliation need not read it back.
    stated = _stated_balances(parsed, mapper, fake_ids)
    wanted = {bid for bid in stated if bid and not bid.startswith("new:")}
    if apply:
        wanted.update(touched)
    invoices, payments = uow.ledger.entries(policy.id, sorted(wanted)) if wanted else ({}, {})
    after = _with_new_entries(invoices, payments, new_invoices, new_payments)
    balances: dict[str, list[BuyerBalance]] = {}
    if apply:
        # Disputes reference resolutions recorded in the same file: apply in file order per kind.
        uow.ledger.add_invoices(new_invoices)
        uow.ledger.add_payments(new_payments)
        for dispute in new_disputes:
            uow.ledger.add_dispute(dispute, by=by, at=clock.now())
        for dispute_id, on in resolutions:
            uow.ledger.resolve_dispute(dispute_id, on)
        for invoice, factor in assignments:
            uow.ledger.assign_to_factor(
                FactorAssignment(new_id(), invoice.id, factor.name, invoice.issue_date, factor.id),
                by=by,
                at=clock.now(),
            )
        for buyer_id, closures in order_closures.items():
            for reference, on in closures:
                uow.ledger.close_orders(policy.id, buyer_id, [reference], on)
        mapper.ensure_all_in_book(buyer_id for buyer_id in touched if not buyer_id.startswith("new:"))
        balances = refresh_balances(uow, clock, policy.id, sorted(touched), entries=after)
        report.applied = True
    report.reconciliation = _reconcile(uow, policy, stated, after, balances)
    if apply:
        report.import_id = new_id()
        digest = hashlib.sha256(content).hexdigest()
        summary = report.to_dict()
        summary["lines"] = [line.to_dict() for line in report.lines if line.outcome == "refused"][:1000]
        uow.ledger.add_import(
            ImportRecord(
                id=report.import_id,
                policy_id=policy.id,
                file_name=parsed.name,
                format=parsed.format,
                sha256=digest,
                created=report.created,
                duplicates=report.duplicates,
                refused=report.refused,
                report=summary,
                imported_by=by,
                imported_at=clock.now(),
            )
        )
        record(
            uow, clock, actor, tenant=policy.policyholder_id, action="ledger.imported", object_type="ledger_import",
            object_id=report.import_id,
            summary={"file": parsed.name, "format": parsed.format, "sha256": digest,
                     "created": report.created, "duplicates": report.duplicates, "refused": report.refused,
                     "partial": partial},
        )  # fmt: skip
        from tradecover.services.alerts import check_alerts

        check_alerts(uow, clock, policy, on=clock.today(), buyer_ids=sorted(touched))
    return report


def _stated_balances(
    parsed: LedgerFile, mapper: BuyerMapper, fake_ids: dict[tuple[Any, ...], str]
) -> dict[str, list[CustomerBalance]]:
    """The balances the file states (FEC), by buyer id ("" for a customer mapped to none), in file order."""
    stated: dict[str, list[CustomerBalance]] = {}
    for balance in parsed.balances:
        key = _ref_key(balance.buyer)
        bid = mapper.cache.get(key) or fake_ids.get(key)
        stated.setdefault(bid or "", []).append(balance)
    return stated


_Entries = tuple[Mapping[str, Sequence[Invoice]], Mapping[str, Sequence[Payment]]]


def _with_new_entries(
    invoices: Mapping[str, list[Invoice]],
    payments: Mapping[str, list[Payment]],
    new_invoices: list[Invoice],
    new_payments: list[tuple[Payment, str]],
) -> _Entries:
    """The recorded entries with the file's new ones (by buyer)."""
    all_invoices: dict[str, list[Invoice]] = defaultdict(list, invoices)
    all_payments: dict[str, list[Payment]] = defaultdict(list, payments)
    for invoice in new_invoices:
        all_invoices[invoice.buyer_id].append(invoice)
    for payment, _ in new_payments:
        all_payments[payment.buyer_id].append(payment)
    return all_invoices, all_payments


def _reconcile(
    uow: UnitOfWork,
    policy: Policy,
    stated: dict[str, list[CustomerBalance]],
    entries: _Entries,
    balances: Mapping[str, Sequence[BuyerBalance]],
) -> list[Reconciliation]:
    """The file's stated customer balances against the ledger's (FEC: debit − credit on the 411 account).

    ``entries`` is the ledger with the file's entries (applied or not); ``balances`` the balances just refreshed
    from it (the same settlement, on no date limit), for the buyers the import touched.
    """
    if not stated:
        return []
    invoices, payments = entries
    reversed_ids = uow.ledger.reversed_ids(policy.id)
    out: list[Reconciliation] = []
    for bid, items in stated.items():
        owed: dict[str, int] | None = None
        if bid in balances:
            owed = {b.currency: b.unpaid_gross_minor - b.on_account_minor for b in balances[bid]}
        elif bid:
            settlements = settle(invoices.get(bid, []), payments.get(bid, []), on=date.max, reversed_ids=reversed_ids)
            owed = {cur: settlement.balance_minor() for cur, settlement in settlements.items()}
        for balance in items:
            cur = checked_currency(balance.currency)
            file_balance = Money.of(balance.balance, cur)
            ledger = None if owed is None else Money.from_minor(owed.get(cur, 0), cur)
            out.append(Reconciliation(balance.buyer.label(), bid or None, file_balance, ledger))
    return out
