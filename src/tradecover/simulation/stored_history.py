"""The insured's history as tradecover holds it, for a comparison of offers without an uploaded ledger.

:func:`stored_ledger` rebuilds a :class:`~tradecover.ingest.ledger_records.LedgerFile` from the ledger of
every policy of the insured (the invoices, credit notes, payments with the invoices they name, the disputes
opened and resolved; reversed entries left out), in date order, each buyer named by its identifiers (SIREN
first) and its name, and the insolvencies of those buyers (their first opening judgment, from the legal
events BODACC publishes) as the comparison's insolvency facts. Only the entries in the offers' currency are
taken. It reads through the services' tenancy: the actor must be able to read the insured.

The comparison then reads this file exactly as an uploaded one (docs/COMPARE.md): the same ledger imported
and then compared from tradecover gives the same figures as when compared from the file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import CompanyIdentifier, IdentifierKind
from tradecover.domain.monitoring import LegalEventKind
from tradecover.domain.parties import OrganisationKind
from tradecover.ingest.ledger_records import (
    BuyerRef,
    DisputeRecord,
    InvoiceRecord,
    LedgerFile,
    LedgerRecord,
    PaymentRecord,
    RecordKind,
    Source,
)
from tradecover.services.authorization import Actor, ensure_can_read, not_found
from tradecover.services.buyers import get_buyer
from tradecover.services.overdues import OPENING_JUDGMENTS
from tradecover.services.policies import get_policy
from tradecover.services.ports import Page, UnitOfWork
from tradecover.simulation.comparison import InsolvencyFact, OffersFile, buyer_key

__all__ = ["StoredHistory", "stored_ledger"]

MAX_POLICIES = 1_000
#: How a legal event's kind reads as the comparison's (and the simulator's) procedure.
PROCEDURE_OF: dict[LegalEventKind, str] = {
    LegalEventKind.SAFEGUARD: "sauvegarde",
    LegalEventKind.RECEIVERSHIP: "redressement_judiciaire",
    LegalEventKind.LIQUIDATION: "liquidation_judiciaire",
}
# Records of one day in the order the books take them: invoices before what settles or disputes them.
_ORDER = {
    RecordKind.INVOICE: 0,
    RecordKind.CREDIT_NOTE: 1,
    RecordKind.PAYMENT: 2,
    RecordKind.DISPUTE: 3,
    RecordKind.RESOLVE_DISPUTE: 4,
}
_IDENTIFIER_ORDER = {kind: n for n, kind in enumerate(IdentifierKind)}


@dataclass(frozen=True)
class StoredHistory:
    """The insured's ledger as a file the comparison reads, and its buyers' insolvencies."""

    ledger: LedgerFile
    insolvencies: tuple[InsolvencyFact, ...]

    def applied_to(self, offers: OffersFile) -> OffersFile:
        """The offers with these insolvencies added to the file's; a buyer's insolvency counts once (the file's
        own, when it gives one, takes the place of the stored one)."""
        given = {fact.buyer for fact in offers.insolvencies}
        added = tuple(fact for fact in self.insolvencies if fact.buyer not in given)
        return replace(offers, insolvencies=(*offers.insolvencies, *added))


def _ref(identifiers: list[CompanyIdentifier], name: str, country: str) -> BuyerRef:
    ordered = sorted(identifiers, key=lambda i: (_IDENTIFIER_ORDER[i.kind], i.value))
    return BuyerRef(identifiers=tuple((i.kind.value, i.value) for i in ordered), name=name, country=country)


def _record_day(record: LedgerRecord) -> date:
    if isinstance(record, InvoiceRecord):
        return record.issue_date
    if isinstance(record, PaymentRecord):
        return record.received_on
    return record.on


def _sort_key(record: LedgerRecord) -> tuple[date, int, str]:
    kind = RecordKind.PAYMENT if isinstance(record, PaymentRecord) else record.kind
    number = (
        record.number
        if isinstance(record, InvoiceRecord)
        else record.invoice_number
        if isinstance(record, DisputeRecord)
        else record.reference or ""
    )
    return _record_day(record), _ORDER[kind], number


def stored_ledger(uow: UnitOfWork, actor: Actor, organisation_id: str, currency: str) -> StoredHistory:
    """The insured's ledger held by tradecover, in ``currency``; ``compare.no_history`` when it has none."""
    organisation = uow.organisations.get(organisation_id)
    if organisation is None or organisation.kind is not OrganisationKind.POLICYHOLDER:
        raise not_found("organisation", organisation_id)
    ensure_can_read(actor, organisation_id, "organisation", organisation_id)
    name = f"tradecover ledger of {organisation.name}"
    listed, _ = uow.policies.list_page(policyholder_ids=frozenset({organisation_id}), page=Page(limit=MAX_POLICIES))
    refs: dict[str, BuyerRef] = {}
    records: list[LedgerRecord] = []

    def ref_of(buyer_id: str) -> BuyerRef:
        if buyer_id not in refs:
            buyer = get_buyer(uow, actor, buyer_id)
            refs[buyer_id] = _ref(buyer.identifiers, buyer.legal_name, buyer.country)
        return refs[buyer_id]

    for listed_policy in listed:
        policy = get_policy(uow, actor, listed_policy.id)
        reversed_ids = uow.ledger.reversed_ids(policy.id)
        invoices, payments = uow.ledger.entries(policy.id)
        kept_numbers: set[tuple[str, str]] = set()
        for buyer_id, entries in sorted(invoices.items()):
            for invoice in entries:
                if invoice.id in reversed_ids or invoice.currency != currency:
                    continue
                kept_numbers.add((buyer_id, invoice.number))
                records.append(
                    InvoiceRecord(
                        source=Source(name, 0),
                        kind=RecordKind(invoice.kind.value),
                        buyer=ref_of(buyer_id),
                        number=invoice.number,
                        issue_date=invoice.issue_date,
                        delivery_date=invoice.delivery_date,
                        due_date=invoice.due_date,
                        amount_excl_vat=invoice.amount_excl_vat.amount,
                        vat_amount=invoice.vat_amount.amount,
                        currency=invoice.currency,
                        invoice_reference=invoice.invoice_reference,
                        order_reference=invoice.order_reference,
                    )
                )
        for buyer_id, received in sorted(payments.items()):
            for payment in received:
                if payment.id in reversed_ids or payment.amount.currency != currency:
                    continue
                records.append(
                    PaymentRecord(
                        source=Source(name, 0),
                        buyer=ref_of(buyer_id),
                        received_on=payment.received_on,
                        amount=payment.amount.amount,
                        currency=payment.amount.currency,
                        reference=payment.reference,
                        invoices=payment.invoices,
                    )
                )
        for dispute in uow.ledger.disputes(policy.id):
            if (dispute.buyer_id, dispute.invoice_number) not in kept_numbers:
                continue
            buyer = ref_of(dispute.buyer_id)
            records.append(
                DisputeRecord(
                    Source(name, 0),
                    RecordKind.DISPUTE,
                    buyer,
                    dispute.invoice_number,
                    dispute.opened_on,
                    dispute.reason,
                )
            )
            if dispute.resolved_on is not None:
                records.append(
                    DisputeRecord(
                        Source(name, 0), RecordKind.RESOLVE_DISPUTE, buyer, dispute.invoice_number, dispute.resolved_on
                    )
                )
    if not records:
        raise InvalidInput(
            f"{organisation.name} has no invoice in {currency} in tradecover: import its ledger first, or upload it",
            code="compare.no_history",
            field="ledger",
            context={"organisation_id": organisation_id},
        )
    records.sort(key=_sort_key)
    numbered: list[LedgerRecord] = [replace(r, source=Source(name, n)) for n, r in enumerate(records, start=1)]
    return StoredHistory(LedgerFile(name, "tradecover", numbered), _insolvencies(uow, refs))


def _insolvencies(uow: UnitOfWork, refs: dict[str, BuyerRef]) -> tuple[InsolvencyFact, ...]:
    """Each buyer's first opening judgment (later ones, a conversion for instance, are the same insolvency)."""
    facts: list[InsolvencyFact] = []
    for buyer_id, ref in refs.items():
        events = [e for e in uow.monitoring.legal_events(buyer_id) if e.kind in OPENING_JUDGMENTS]
        if not events:
            continue
        first = min(events, key=lambda e: (e.publication_date, e.judgment_date or e.publication_date))
        kind, value = ref.identifiers[0]
        key = buyer_key(CompanyIdentifier(IdentifierKind(kind), value))
        facts.append(
            InsolvencyFact(
                key, PROCEDURE_OF[first.kind], first.judgment_date or first.publication_date, first.publication_date
            )
        )
    return tuple(sorted(facts, key=lambda f: (f.publication_date, f.buyer)))
