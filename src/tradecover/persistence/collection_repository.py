"""Collection cases, their debts, actions, receipts (with allocations), costs and letters; late-payment rates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tradecover.domain.collection import (
    ActionKind,
    AllocationLine,
    CaseAction,
    CaseCost,
    CaseDebt,
    CaseStage,
    ClosureOutcome,
    CollectionCase,
    CostKind,
    Receipt,
)
from tradecover.domain.money import Money
from tradecover.persistence import tables as t
from tradecover.services.collection_ports import CaseLetter, ConfiguredBaseRate


def _debt(r: t.CollectionCaseDebtRow, currency: str) -> CaseDebt:
    return CaseDebt(
        invoice_id=r.invoice_id,
        number=r.number,
        issue_date=r.issue_date,
        due_date=r.due_date,
        amount_incl_vat=Money.from_minor(r.amount_incl_vat_minor, currency),
        unpaid_amount=Money.from_minor(r.unpaid_minor, currency),
        guaranteed=r.guaranteed,
        notification_id=r.notification_id,
    )


def _case(r: t.CollectionCaseRow, debts: Sequence[t.CollectionCaseDebtRow]) -> CollectionCase:
    return CollectionCase(
        id=r.id,
        reference=r.reference,
        policy_id=r.policy_id,
        buyer_id=r.buyer_id,
        organisation_id=r.organisation_id,
        currency=r.currency,
        stage=CaseStage(r.stage),
        opened_on=r.opened_on,
        opened_at=r.opened_at,
        opened_by=r.opened_by,
        commission_rate=r.commission_rate,
        debts=[_debt(d, r.currency) for d in debts],
        closed_on=r.closed_on,
        outcome=None if r.outcome is None else ClosureOutcome(r.outcome),
        closure_reason=r.closure_reason,
        closed_by=r.closed_by,
    )


def _debt_row(case_id: str, debt: CaseDebt, on: date, at: datetime) -> t.CollectionCaseDebtRow:
    return t.CollectionCaseDebtRow(
        case_id=case_id,
        invoice_id=debt.invoice_id,
        number=debt.number,
        issue_date=debt.issue_date,
        due_date=debt.due_date,
        amount_incl_vat_minor=debt.amount_incl_vat.to_minor(),
        unpaid_minor=debt.unpaid_amount.to_minor(),
        guaranteed=debt.guaranteed,
        notification_id=debt.notification_id,
        added_on=on,
        added_at=at,
    )


def _letter(r: t.CollectionLetterRow) -> CaseLetter:
    return CaseLetter(
        r.id,
        r.case_id,
        r.kind,
        r.reference,
        r.language,
        r.letter_date,
        r.media_type,
        r.content,
        r.sha256,
        r.created_by,
        r.created_at,
    )


class CollectionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # Cases ------------------------------------------------------------------------------------------

    def next_case_number(self, year: int) -> int:
        row = self.session.get(t.CollectionCaseNumberRow, year, with_for_update=True)
        if row is None:
            row = t.CollectionCaseNumberRow(year=year, last=0)
            self.session.add(row)
        row.last += 1
        self.session.flush()
        return row.last

    def add_case(self, case: CollectionCase) -> None:
        self.session.add(
            t.CollectionCaseRow(
                id=case.id,
                reference=case.reference,
                policy_id=case.policy_id,
                buyer_id=case.buyer_id,
                organisation_id=case.organisation_id,
                currency=case.currency,
                stage=case.stage.value,
                opened_on=case.opened_on,
                opened_at=case.opened_at,
                opened_by=case.opened_by,
                commission_rate=case.commission_rate,
                closed_on=case.closed_on,
                outcome=None if case.outcome is None else case.outcome.value,
                closure_reason=case.closure_reason,
                closed_by=case.closed_by,
            )
        )
        self.session.flush()
        self.add_debts(case.id, case.debts, on=case.opened_on, at=case.opened_at)

    def add_debts(self, case_id: str, debts: Sequence[CaseDebt], *, on: date, at: datetime) -> None:
        self.session.add_all([_debt_row(case_id, d, on, at) for d in debts])
        self.session.flush()

    def _debts_of(self, case_ids: Sequence[str]) -> dict[str, list[t.CollectionCaseDebtRow]]:
        out: dict[str, list[t.CollectionCaseDebtRow]] = {case_id: [] for case_id in case_ids}
        if not case_ids:
            return out
        rows = self.session.scalars(
            select(t.CollectionCaseDebtRow)
            .where(t.CollectionCaseDebtRow.case_id.in_(list(case_ids)))
            .order_by(
                t.CollectionCaseDebtRow.issue_date,
                t.CollectionCaseDebtRow.due_date,
                t.CollectionCaseDebtRow.number,
                t.CollectionCaseDebtRow.invoice_id,
            )
        )
        for row in rows:
            out[row.case_id].append(row)
        return out

    def get_case(self, case_id: str, *, lock: bool = False) -> CollectionCase | None:
        q = select(t.CollectionCaseRow).where(t.CollectionCaseRow.id == case_id)
        if lock:  # the row as committed by whoever held it before, not the session's copy
            q = q.with_for_update().execution_options(populate_existing=True)
        row = self.session.scalars(q).one_or_none()
        if row is None:
            return None
        return _case(row, self._debts_of([row.id])[row.id])

    def open_case_of(self, policy_id: str, buyer_id: str) -> CollectionCase | None:
        row = self.session.scalars(
            select(t.CollectionCaseRow).where(
                t.CollectionCaseRow.policy_id == policy_id,
                t.CollectionCaseRow.buyer_id == buyer_id,
                t.CollectionCaseRow.stage != CaseStage.CLOSED.value,
            )
        ).one_or_none()
        return None if row is None else _case(row, self._debts_of([row.id])[row.id])

    def case_id_of(self, reference: str) -> str | None:
        return self.session.scalar(select(t.CollectionCaseRow.id).where(t.CollectionCaseRow.reference == reference))

    def find_cases(
        self,
        *,
        organisation_ids: frozenset[str] | None,
        policy_id: str | None,
        buyer_id: str | None,
        stage: CaseStage | None,
        limit: int,
        offset: int,
    ) -> tuple[list[CollectionCase], int]:
        q = select(t.CollectionCaseRow)
        if organisation_ids is not None:
            q = q.where(t.CollectionCaseRow.organisation_id.in_(organisation_ids))
        if policy_id is not None:
            q = q.where(t.CollectionCaseRow.policy_id == policy_id)
        if buyer_id is not None:
            q = q.where(t.CollectionCaseRow.buyer_id == buyer_id)
        if stage is not None:
            q = q.where(t.CollectionCaseRow.stage == stage.value)
        total = int(self.session.scalar(select(func.count()).select_from(q.subquery())) or 0)
        rows = list(
            self.session.scalars(
                q.order_by(t.CollectionCaseRow.opened_at.desc(), t.CollectionCaseRow.reference.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        debts = self._debts_of([r.id for r in rows])
        return [_case(r, debts[r.id]) for r in rows], total

    def set_stage(self, case_id: str, stage: CaseStage) -> None:
        self.session.execute(
            update(t.CollectionCaseRow).where(t.CollectionCaseRow.id == case_id).values(stage=stage.value)
        )

    def close_case(
        self, case_id: str, *, outcome: ClosureOutcome, on: date, reason: str | None, by: str, at: datetime
    ) -> None:
        self.session.execute(
            update(t.CollectionCaseRow)
            .where(t.CollectionCaseRow.id == case_id)
            .values(
                stage=CaseStage.CLOSED.value,
                outcome=outcome.value,
                closed_on=on,
                closure_reason=reason,
                closed_by=by,
                closed_at=at,
            )
        )

    # Actions ------------------------------------------------------------------------------------------

    def add_action(self, action: CaseAction) -> None:
        self.session.add(
            t.CollectionActionRow(
                id=action.id,
                case_id=action.case_id,
                kind=action.kind.value,
                on=action.on,
                author=action.author,
                note=action.note,
                letter_id=action.letter_id,
                created_at=action.created_at,
            )
        )
        self.session.flush()

    def actions(self, case_id: str) -> list[CaseAction]:
        rows = self.session.scalars(
            select(t.CollectionActionRow)
            .where(t.CollectionActionRow.case_id == case_id)
            .order_by(t.CollectionActionRow.on, t.CollectionActionRow.created_at, t.CollectionActionRow.id)
        )
        return [
            CaseAction(r.id, r.case_id, ActionKind(r.kind), r.on, r.author, r.note, r.created_at, r.letter_id)
            for r in rows
        ]

    # Receipts -----------------------------------------------------------------------------------------

    def add_receipt(self, receipt: Receipt) -> None:
        self.session.add(
            t.CollectionReceiptRow(
                id=receipt.id,
                case_id=receipt.case_id,
                currency=receipt.amount.currency,
                amount_minor=receipt.amount.to_minor(),
                received_on=receipt.received_on,
                reference=receipt.reference,
                guaranteed_minor=receipt.guaranteed_amount.to_minor(),
                non_guaranteed_minor=receipt.non_guaranteed_amount.to_minor(),
                commission_rate=receipt.commission_rate,
                commission_minor=receipt.commission_amount.to_minor(),
                ledger_payment_id=receipt.ledger_payment_id,
                recorded_by=receipt.recorded_by,
                recorded_at=receipt.recorded_at,
            )
        )
        self.session.flush()
        self.session.add_all(
            [
                t.CollectionAllocationRow(
                    receipt_id=receipt.id,
                    invoice_id=line.invoice_id,
                    number=line.number,
                    amount_minor=line.amount.to_minor(),
                    guaranteed=line.guaranteed,
                )
                for line in receipt.lines
            ]
        )
        self.session.flush()

    def _receipts(self, rows: Sequence[t.CollectionReceiptRow]) -> list[Receipt]:
        lines: dict[str, list[t.CollectionAllocationRow]] = {r.id: [] for r in rows}
        if rows:
            for line in self.session.scalars(
                select(t.CollectionAllocationRow).where(t.CollectionAllocationRow.receipt_id.in_(list(lines)))
            ):
                lines[line.receipt_id].append(line)
        out: list[Receipt] = []
        for r in rows:
            cur = r.currency
            ordered = sorted(lines[r.id], key=lambda x: x.number)
            out.append(
                Receipt(
                    id=r.id,
                    case_id=r.case_id,
                    amount=Money.from_minor(r.amount_minor, cur),
                    received_on=r.received_on,
                    reference=r.reference,
                    lines=tuple(
                        AllocationLine(x.invoice_id, x.number, Money.from_minor(x.amount_minor, cur), x.guaranteed)
                        for x in ordered
                    ),
                    guaranteed_amount=Money.from_minor(r.guaranteed_minor, cur),
                    non_guaranteed_amount=Money.from_minor(r.non_guaranteed_minor, cur),
                    commission_rate=r.commission_rate,
                    commission_amount=Money.from_minor(r.commission_minor, cur),
                    ledger_payment_id=r.ledger_payment_id,
                    recorded_by=r.recorded_by,
                    recorded_at=r.recorded_at,
                )
            )
        return out

    def receipts(self, case_id: str) -> list[Receipt]:
        rows = self.session.scalars(
            select(t.CollectionReceiptRow)
            .where(t.CollectionReceiptRow.case_id == case_id)
            .order_by(t.CollectionReceiptRow.received_on, t.CollectionReceiptRow.recorded_at, t.CollectionReceiptRow.id)
        )
        return self._receipts(list(rows))

    def receipt_of_payment(self, ledger_payment_id: str) -> Receipt | None:
        rows = list(
            self.session.scalars(
                select(t.CollectionReceiptRow).where(t.CollectionReceiptRow.ledger_payment_id == ledger_payment_id)
            )
        )
        found = self._receipts(rows[:1])
        return found[0] if found else None

    # Costs ------------------------------------------------------------------------------------------

    def add_cost(self, cost: CaseCost) -> None:
        self.session.add(
            t.CollectionCostRow(
                id=cost.id,
                case_id=cost.case_id,
                kind=cost.kind.value,
                currency=cost.amount.currency,
                amount_minor=cost.amount.to_minor(),
                incurred_on=cost.incurred_on,
                description=cost.description,
                recorded_by=cost.recorded_by,
                recorded_at=cost.recorded_at,
            )
        )
        self.session.flush()

    def costs(self, case_id: str) -> list[CaseCost]:
        rows = self.session.scalars(
            select(t.CollectionCostRow)
            .where(t.CollectionCostRow.case_id == case_id)
            .order_by(t.CollectionCostRow.incurred_on, t.CollectionCostRow.recorded_at, t.CollectionCostRow.id)
        )
        return [
            CaseCost(
                r.id,
                r.case_id,
                CostKind(r.kind),
                Money.from_minor(r.amount_minor, r.currency),
                r.incurred_on,
                r.description,
                r.recorded_by,
                r.recorded_at,
            )
            for r in rows
        ]

    # Letters ----------------------------------------------------------------------------------------

    def add_letter(self, letter: CaseLetter) -> None:
        self.session.add(
            t.CollectionLetterRow(
                id=letter.id,
                case_id=letter.case_id,
                kind=letter.kind,
                reference=letter.reference,
                language=letter.language,
                letter_date=letter.letter_date,
                media_type=letter.media_type,
                content=letter.content,
                sha256=letter.sha256,
                created_by=letter.created_by,
                created_at=letter.created_at,
            )
        )
        self.session.flush()

    def get_letter(self, letter_id: str) -> CaseLetter | None:
        row = self.session.get(t.CollectionLetterRow, letter_id)
        return None if row is None else _letter(row)

    def count_letters(self, case_id: str) -> int:
        q = select(func.count()).select_from(t.CollectionLetterRow).where(t.CollectionLetterRow.case_id == case_id)
        return int(self.session.scalar(q) or 0)

    # Late-payment base rates ---------------------------------------------------------------------------

    def base_rates(self) -> list[ConfiguredBaseRate]:
        rows = self.session.scalars(select(t.LatePaymentBaseRateRow).order_by(t.LatePaymentBaseRateRow.effective_date))
        return [ConfiguredBaseRate(r.effective_date, r.rate, r.recorded_by, r.recorded_at) for r in rows]

    def add_base_rate(self, rate: ConfiguredBaseRate) -> bool:
        if self.session.get(t.LatePaymentBaseRateRow, rate.effective_date) is not None:
            return False
        self.session.add(
            t.LatePaymentBaseRateRow(
                effective_date=rate.effective_date,
                rate=rate.rate,
                recorded_by=rate.recorded_by,
                recorded_at=rate.recorded_at,
            )
        )
        self.session.flush()
        return True
