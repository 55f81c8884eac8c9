"""Buyers' financial statements: recorded one by one or imported in bulk, never overwritten."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from tradecover.domain.errors import DomainError, InvalidInput
from tradecover.domain.financials import FinancialStatement, check_statement
from tradecover.domain.identifiers import parse_identifier
from tradecover.domain.periods import Clock
from tradecover.ingest.financials_csv import StatementRow
from tradecover.services.authorization import Actor, Permission, require
from tradecover.services.buyers import get_buyer
from tradecover.services.ports import UnitOfWork
from tradecover.services.recording import INSURER_TENANT, record


def _stage(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    buyer_id: str,
    fiscal_year_end: date,
    currency: str,
    amounts: Mapping[str, Decimal | str | None],
    source: str,
) -> tuple[FinancialStatement, bool]:
    cur, checked = check_statement(
        fiscal_year_end=fiscal_year_end, currency_code=currency, amounts=amounts, today=clock.today()
    )
    versions = uow.financials.versions(buyer_id, fiscal_year_end)
    statement = FinancialStatement(
        buyer_id, fiscal_year_end, len(versions) + 1, cur, checked, source, actor.audit_label(), clock.now()
    )
    if versions and versions[-1].same_figures(statement):
        return versions[-1], False
    uow.financials.add(statement)
    uow.buyers.touch_inputs(buyer_id)
    record(
        uow,
        clock,
        actor,
        tenant=INSURER_TENANT,
        action="financials.recorded",
        object_type="buyer",
        object_id=buyer_id,
        summary={
            "fiscal_year_end": fiscal_year_end.isoformat(),
            "version": statement.version,
            "after": {k: None if v is None else v.to_json()["amount"] for k, v in checked.items()},
            "currency": cur,
        },
        reason=source,
    )
    return statement, True


def record_financials(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    buyer_id: str,
    *,
    fiscal_year_end: date,
    currency: str,
    amounts: Mapping[str, Decimal | str | None],
    source: str = "api",
) -> tuple[FinancialStatement, bool]:
    """A new statement version (or the same one, unchanged, when the figures are identical)."""
    buyer = get_buyer(uow, actor, buyer_id)
    require(actor, Permission.FINANCIALS_RECORD)
    statement, created = _stage(
        uow,
        clock,
        actor,
        buyer_id=buyer.id,
        fiscal_year_end=fiscal_year_end,
        currency=currency,
        amounts=amounts,
        source=source,
    )
    uow.commit()
    return statement, created


def statements_of(uow: UnitOfWork, actor: Actor, buyer_id: str) -> list[FinancialStatement]:
    buyer = get_buyer(uow, actor, buyer_id)
    return uow.financials.current(buyer.id)


@dataclass
class ImportLine:
    line: int | None  # None: a problem of the whole file (a missing column)
    identifier: str
    fiscal_year_end: str
    outcome: str  # created, unchanged, refused
    message: str = ""
    field: str | None = None


@dataclass
class FinancialsImport:
    source: str
    applied: bool
    lines: list[ImportLine] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    @property
    def errors(self) -> list[ImportLine]:
        return [line for line in self.lines if line.outcome == "refused"]


def import_financials(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    source: str,
    rows: Sequence[StatementRow],
    parse_errors: Sequence[InvalidInput],
    dry_run: bool = False,
) -> FinancialsImport:
    """Apply a whole file or nothing: any refused line leaves the database untouched."""
    require(actor, Permission.FINANCIALS_RECORD)
    report = FinancialsImport(source=source, applied=False)
    for error in parse_errors:
        raw_line = error.context.get("line")
        line = int(raw_line) if raw_line not in (None, "", 0) else None
        report.lines.append(ImportLine(line, "", "", "refused", error.message, error.field))
    by_siren = uow.buyers.by_sirens([r.identifier for r in rows if r.identifier_kind == "siren"])
    for row in rows:
        outcome = ImportLine(row.line, row.identifier, row.fiscal_year_end.isoformat(), "created")
        try:
            identifier = parse_identifier(row.identifier_kind, row.identifier)
            if identifier.kind.value == "siren":
                buyer_id = by_siren.get(identifier.value)
            else:
                matches = uow.buyers.find_by_identifiers([identifier])
                buyer_id = matches[0].id if matches else None
            if buyer_id is None:
                raise InvalidInput(
                    f"no buyer with {identifier.kind.value} {identifier.value}: add the buyer first",
                    code="financials.unknown_buyer",
                    field=row.identifier_kind,
                )
            _, created = _stage(
                uow,
                clock,
                actor,
                buyer_id=buyer_id,
                fiscal_year_end=row.fiscal_year_end,
                currency=row.currency,
                amounts=row.amounts,
                source=f"{source}, line {row.line}",
            )
            outcome.outcome = "created" if created else "unchanged"
        except DomainError as error:
            outcome.outcome, outcome.message, outcome.field = "refused", error.message, error.field
        report.lines.append(outcome)
    report.lines.sort(key=lambda line: line.line or 0)
    if report.errors or dry_run:
        uow.rollback()
        return report
    uow.commit()
    report.applied = True
    return report
