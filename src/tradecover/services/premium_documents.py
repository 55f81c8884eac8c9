"""A policy's premium documents as files: one invoice or credit note (PDF), the statement (PDF, CSV)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from tradecover.documents.pdf_layout import Party
from tradecover.documents.premium_invoice import PremiumInvoiceView, render_premium_invoice
from tradecover.documents.premium_statement import (
    PremiumStatementView,
    StatementEntry,
    StatementYear,
    render_premium_statement,
)
from tradecover.domain.money import Money, sum_money
from tradecover.domain.periods import Clock, Period
from tradecover.domain.policies import Policy, terms_in_force
from tradecover.domain.premium import DocumentKind, PremiumDocument, PremiumItem, paid_per_document
from tradecover.services import premium
from tradecover.services.authorization import Actor
from tradecover.services.exports import Cell, csv_bytes
from tradecover.services.policies import get_policy
from tradecover.services.ports import UnitOfWork

_INSTALMENT_KEY = re.compile(r":(\d+)/(\d+)$")
_CLOSING_KEY = re.compile(r":v(\d+):[a-z_]+$")


def _insured(uow: UnitOfWork, policy: Policy) -> Party:
    holder = uow.organisations.get(policy.policyholder_id)
    if holder is None:
        return Party(policy.policyholder_id)
    return Party(holder.name, (holder.country,), None if holder.siren is None else f"SIREN {holder.siren}")


def _insurer(uow: UnitOfWork) -> Party:
    insurer = uow.organisations.insurer()
    if insurer is None:
        return Party("tradecover")
    return Party(insurer.name, (insurer.country,), None if insurer.siren is None else f"SIREN {insurer.siren}")


def _closing_version(document: PremiumDocument) -> int | None:
    found = _CLOSING_KEY.search(document.source_key) if document.source_key.startswith("year_end:") else None
    return None if found is None else int(found.group(1))


def _year(policy: Policy, year_start: date) -> Period:
    return next((p for p in policy.periods if p.start == year_start), Period.twelve_months(year_start))


# ------------------------------------------------------------------------------------------ one document


def document_pdf(uow: UnitOfWork, actor: Actor, policy_id: str, document_id: str) -> tuple[bytes, str]:
    """A premium invoice or credit note, with the computation of a year-end document."""
    document = premium.get_document(uow, actor, policy_id, document_id)
    policy = get_policy(uow, actor, policy_id)
    cur = policy.currency
    docs = uow.premium.documents_of(policy.id)
    year = _year(policy, document.year_start)
    versions = uow.policies.terms_versions(policy.id)
    settled = None
    if document.kind is DocumentKind.INVOICE:
        settled = paid_per_document(docs, uow.premium.payments_of(policy.id)).get(document.id)
    instalment: tuple[int, int] | None = None
    minimum: Money | None = None
    found = _INSTALMENT_KEY.search(document.source_key)
    if document.item is PremiumItem.INSTALMENT and found is not None:
        instalment = (int(found.group(1)), int(found.group(2)))
        minimum = terms_in_force(versions, year.start).terms.minimum_premium or Money.zero(cur)
    version = _closing_version(document)
    closing = next((y for y in uow.premium.year_ends_of(policy.id, year.start) if y.version == version), None)
    terms = terms_in_force(versions, year.last_day).terms
    earlier = [
        d
        for d in docs
        if d.year_start == year.start
        and d.item is document.item
        and d.id != document.id
        and (_closing_version(d) or 0) < (version or 0)
    ]
    view = PremiumInvoiceView(
        number=document.number,
        kind=document.kind.value,
        item=document.item.value,
        policy_number=policy.number,
        issued_on=document.issued_on,
        due_on=document.due_on,
        year_start=year.start,
        year_last_day=year.last_day,
        insurer=_insurer(uow),
        insured=_insured(uow, policy),
        label=document.label,
        amount=document.amount,
        settled=settled,
        instalment=instalment,
        minimum_premium=minimum,
        figures=None if closing is None else closing.figures,
        closing_version=None if closing is None else closing.version,
        already=None if closing is None else sum_money((d.signed for d in earlier), cur),
        request_fee=terms.request_fee,
        monitoring_fee=terms.monitoring_fee,
        bonus_rate=terms.no_claims_bonus_rate,
        bonus_threshold=terms.no_claims_bonus_threshold,
    )
    return render_premium_invoice(view), f"{document.number}.pdf"


# ---------------------------------------------------------------------------------------- the statement


def statement_pdf(uow: UnitOfWork, clock: Clock, actor: Actor, policy_id: str) -> tuple[bytes, str]:
    """Every document and payment with the running balance, then each policy year's figures."""
    s = premium.statement(uow, actor, policy_id)
    today = clock.today()
    view = PremiumStatementView(
        policy_number=s.policy.number,
        statement_date=today,
        insured=_insured(uow, s.policy),
        currency=s.currency,
        entries=tuple(
            StatementEntry(line.on, line.kind, line.number, line.label, line.debit, line.credit, line.balance)
            for line in s.lines
        ),
        balance=s.balance,
        years=tuple(StatementYear(y.figures, len(y.closings)) for y in s.years),
    )
    return render_premium_statement(view), f"premium-statement-{s.policy.number}-{today.isoformat()}.pdf"


STATEMENT_HEADER = ("date", "kind", "number", "label", "policy_year", "debit", "credit", "balance", "currency")
YEAR_HEADER = (
    "policy_year",
    "year_end",
    "status",
    "minimum",
    "earned",
    "premium",
    "called",
    "paid",
    "adjustment",
    "fees",
    "indemnities",
    "bonus",
    "year_end_balance",
    "max_liability",
    "loss_ratio",
    "declared_periods",
    "expected_periods",
)


def _decimal(money: Money) -> Decimal:
    return money.round().amount


def statement_csv(uow: UnitOfWork, clock: Clock, actor: Actor, policy_id: str) -> tuple[bytes, str]:
    """The statement as CSV: the entries with the running balance, a blank line, then the years' figures.

    Labels and references are text a spreadsheet could read as a formula: :func:`csv_bytes` defuses them.
    """
    s = premium.statement(uow, actor, policy_id)
    rows: list[list[Cell]] = [
        [
            line.on,
            line.kind,
            line.number,
            line.label,
            line.year_start,
            _decimal(line.debit),
            _decimal(line.credit),
            _decimal(line.balance),
            s.currency,
        ]
        for line in s.lines
    ]
    rows.append([None, "total", None, None, None, None, None, _decimal(s.balance), s.currency])
    rows.append([])
    rows.append(list(YEAR_HEADER))
    for view in s.years:
        f = view.figures
        rows.append(
            [
                f.year.start,
                f.year.last_day,
                f"closed v{len(view.closings)}" if view.closings else "open",
                _decimal(f.minimum),
                _decimal(f.earned),
                _decimal(f.premium),
                _decimal(f.called),
                _decimal(f.paid),
                _decimal(f.adjustment),
                _decimal(f.fees),
                _decimal(f.indemnities),
                _decimal(f.bonus),
                _decimal(f.balance),
                None if f.max_liability is None else _decimal(f.max_liability),
                f.loss_ratio,
                f.declared_periods,
                f.expected_periods,
            ]
        )
    name = f"premium-statement-{s.policy.number}-{clock.today().isoformat()}.csv"
    return csv_bytes(STATEMENT_HEADER, rows), name
