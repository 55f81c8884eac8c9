"""Bulk reads and writes for the re-grading job, in SQL Core for speed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from tradecover.domain.financials import STATEMENT_FIELDS
from tradecover.persistence import tables as t
from tradecover.services.grading_ports import GradeBatchResult, GradingBatch, RunState

JOB_KIND = "regrade"
BUYERS: Table = t.BuyerRow.__table__  # type: ignore[assignment]
GRADE_HISTORY: Table = t.GradeHistoryRow.__table__  # type: ignore[assignment]


class SqlGradingStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open_run(self, *, mode: str, model_version: str, run_id: str, now: datetime) -> RunState:
        row = self.session.scalar(
            select(t.JobRunRow)
            .where(t.JobRunRow.kind == JOB_KIND, t.JobRunRow.finished_at.is_(None))
            .order_by(t.JobRunRow.started_at)
            .limit(1)
        )
        if row is not None:
            return RunState(row.id, row.mode, row.model_version, row.cursor, row.processed, row.changed, True)
        self.session.add(
            t.JobRunRow(
                id=run_id,
                kind=JOB_KIND,
                mode=mode,
                model_version=model_version,
                cursor="",
                processed=0,
                changed=0,
                started_at=now,
                finished_at=None,
            )
        )
        self.session.flush()
        return RunState(run_id, mode, model_version, "", 0, 0, False)

    def _candidates(self, run: RunState):  # type: ignore[no-untyped-def]
        query = select(t.BuyerRow.id).where(t.BuyerRow.id > run.cursor)
        if run.mode != "all":
            query = query.where(t.BuyerRow.graded_version < t.BuyerRow.inputs_version)
        return query

    def count_to_grade(self, run: RunState) -> int:
        return self.session.scalar(select(func.count()).select_from(self._candidates(run).subquery())) or 0

    def next_batch(self, run: RunState, size: int) -> GradingBatch | None:
        ids = list(self.session.scalars(self._candidates(run).order_by(t.BuyerRow.id).limit(size)))
        if not ids:
            return None
        b = t.BuyerRow
        rows = self.session.execute(
            select(b.id, b.inputs_version, b.risk_grade, b.legal_status, b.naf_code, b.country)
            .where(b.id.in_(ids))
            .order_by(b.id)
        ).all()
        n = len(rows)
        position = {row[0]: i for i, row in enumerate(rows)}
        columns = {name: np.full(n, np.nan) for name in STATEMENT_FIELDS}
        s = t.FinancialStatementRow
        latest = (
            select(s.buyer_id, func.max(s.fiscal_year_end).label("year_end"))
            .where(s.buyer_id.in_(ids))
            .group_by(s.buyer_id)
            .subquery()
        )
        statements = self.session.execute(
            select(s)
            .join(latest, and_(s.buyer_id == latest.c.buyer_id, s.fiscal_year_end == latest.c.year_end))
            .order_by(s.buyer_id, s.version)
        ).scalars()
        for statement in statements:  # later versions of a year overwrite earlier ones
            i = position[statement.buyer_id]
            for name in STATEMENT_FIELDS:
                minor = getattr(statement, f"{name}_minor")
                # Ratios only: the minor unit and the currency cancel out within one statement.
                columns[name][i] = np.nan if minor is None else float(minor)
        days_beyond, notifications = self._payment_experience(ids, position, n)
        return GradingBatch(
            buyer_ids=[r[0] for r in rows],
            inputs_version=np.array([r[1] for r in rows], dtype=np.int64),
            previous_grade=np.array([r[2] or 0 for r in rows], dtype=np.int64),
            legal_status=np.array([r[3] for r in rows], dtype=str),
            naf_code=np.array([r[4] or "" for r in rows], dtype=str),
            country=np.array([r[5] for r in rows], dtype=str),
            statements=columns,
            days_beyond_terms=days_beyond,
            overdue_notifications=notifications,
        )

    def _payment_experience(
        self, ids: list[str], position: dict[str, int], n: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """What insureds' ledgers say of the buyers (DOMAIN.md §4): days beyond terms over every insured,
        weighted by invoices paid, and the overdue notifications on them. NaN: no experience reported."""
        days = np.full(n, np.nan)
        notifications = np.zeros(n)
        bb = t.BuyerBalanceRow
        paid: dict[str, int] = {}
        weighted: dict[str, float] = {}
        for buyer_id, count, average in self.session.execute(
            select(bb.buyer_id, bb.invoices_paid, bb.days_beyond_terms).where(
                bb.buyer_id.in_(ids), bb.invoices_paid > 0
            )
        ):
            paid[buyer_id] = paid.get(buyer_id, 0) + count
            weighted[buyer_id] = weighted.get(buyer_id, 0.0) + float(average) * count
        for buyer_id, count in paid.items():
            days[position[buyer_id]] = weighted[buyer_id] / count
        on = t.OverdueNotificationRow
        for buyer_id, count in self.session.execute(
            select(on.buyer_id, func.count()).where(on.buyer_id.in_(ids)).group_by(on.buyer_id)
        ):
            notifications[position[buyer_id]] = float(count)
        return days, notifications

    def write_batch(self, run: RunState, result: GradeBatchResult, now: datetime) -> RunState:
        pds = [Decimal(f"{p:.8f}") for p in result.pd.tolist()]
        factors = result.factors_json()
        grades = result.grade.tolist()
        versions = result.inputs_version.tolist()
        previous = result.previous_grade.tolist()
        self.session.execute(
            insert(GRADE_HISTORY),
            [
                {
                    "buyer_id": buyer_id,
                    "run_id": run.id,
                    "grade": grades[i],
                    "previous_grade": previous[i] or None,
                    "probability_of_default": pds[i],
                    "factors": factors[i],
                    "model_version": run.model_version,
                    "inputs_version": versions[i],
                    "graded_at": now,
                }
                for i, buyer_id in enumerate(result.buyer_ids)
            ],
        )
        self.session.execute(
            update(BUYERS)
            .where(BUYERS.c.id == bindparam("b_id"))
            .values(
                risk_grade=bindparam("b_grade"),
                probability_of_default=bindparam("b_pd"),
                graded_at=bindparam("b_at"),
                graded_version=bindparam("b_version"),
            ),
            [
                {
                    "b_id": buyer_id,
                    "b_grade": grades[i],
                    "b_pd": pds[i],
                    "b_at": now,
                    "b_version": versions[i],
                }
                for i, buyer_id in enumerate(result.buyer_ids)
            ],
        )
        changed = sum(1 for i in range(len(grades)) if grades[i] != previous[i])
        cursor = result.buyer_ids[-1]
        processed = run.processed + len(result.buyer_ids)
        self.session.execute(
            update(t.JobRunRow)
            .where(t.JobRunRow.id == run.id)
            .values(cursor=cursor, processed=processed, changed=run.changed + changed)
        )
        return RunState(run.id, run.mode, run.model_version, cursor, processed, run.changed + changed, run.resumed)

    def finish_run(self, run: RunState, now: datetime) -> None:
        self.session.execute(update(t.JobRunRow).where(t.JobRunRow.id == run.id).values(finished_at=now))

    def book_organisations(self, buyer_ids: Sequence[str]) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {i: [] for i in buyer_ids}
        rows = self.session.execute(
            select(t.BookEntryRow.buyer_id, t.BookEntryRow.organisation_id)
            .where(t.BookEntryRow.buyer_id.in_(list(buyer_ids)))
            .order_by(t.BookEntryRow.organisation_id)
        )
        for buyer_id, organisation_id in rows:
            result[buyer_id].append(organisation_id)
        return result
