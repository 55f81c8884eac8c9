"""Buyer risk: financial statements, grades with their reasons, legal events, alerts."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from tradecover.api.deps import ActorDep, ContainerDep
from tradecover.api.schemas import (
    FinancialsImportOut,
    GradeOut,
    GradesOut,
    ImportLineOut,
    LegalEventOut,
    StatementIn,
    StatementOut,
)
from tradecover.domain.errors import InvalidInput
from tradecover.ingest.financials_csv import parse_financials_csv
from tradecover.services import buyers, financials, monitoring

router = APIRouter(tags=["buyer risk"])


@router.get("/buyers/{buyer_id}/financials", response_model=list[StatementOut])
def list_financials(container: ContainerDep, actor: ActorDep, buyer_id: str) -> list[StatementOut]:
    with container.uow() as uow:
        return [StatementOut.of(s) for s in financials.statements_of(uow, actor, buyer_id)]


@router.post(
    "/buyers/{buyer_id}/financials",
    response_model=StatementOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "identical figures were already recorded: nothing changed"}},
)
def record_financials(
    container: ContainerDep, actor: ActorDep, buyer_id: str, body: StatementIn, response: Response
) -> StatementOut:
    with container.uow() as uow:
        statement, created = financials.record_financials(
            uow,
            container.clock,
            actor,
            buyer_id,
            fiscal_year_end=body.fiscal_year_end,
            currency=body.currency,
            amounts=body.amounts(),
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return StatementOut.of(statement)


@router.post("/financials/imports", response_model=FinancialsImportOut)
def import_financials(
    container: ContainerDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="CSV of yearly statements (see the template)")],
    dry_run: Annotated[bool, Query(description="report without writing")] = False,
) -> FinancialsImportOut:
    name = Path(file.filename or "upload.csv").name
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(file.file.read())
        rows, errors = parse_financials_csv(path)
    with container.uow() as uow:
        report = financials.import_financials(
            uow, container.clock, actor, source=name, rows=rows, parse_errors=errors, dry_run=dry_run
        )
    if report.errors and not dry_run:
        first = report.errors[0]
        where = "" if first.line is None else f"line {first.line}: "
        raise InvalidInput(
            f"{name}: {len(report.errors)} problem(s), nothing applied; {where}{_unprefixed(first.message, name)}",
            code="financials.import_refused",
            field=first.field,
            context={"file": name, "line": first.line or "", "refused": len(report.errors)},
        )
    return FinancialsImportOut(
        file=name,
        applied=report.applied,
        created=report.count("created"),
        unchanged=report.count("unchanged"),
        refused=report.count("refused"),
        lines=[ImportLineOut(**line.__dict__) for line in report.lines],
    )


@router.get("/buyers/{buyer_id}/grades", response_model=GradesOut)
def grades(container: ContainerDep, actor: ActorDep, buyer_id: str) -> GradesOut:
    with container.uow() as uow:
        buyer = buyers.get_buyer(uow, actor, buyer_id)
        history = uow.buyers.grade_history(buyer.id)
    return GradesOut(
        buyer_id=buyer.id,
        current=GradeOut.of(history[-1]) if history else None,
        history=[GradeOut.of(g) for g in reversed(history)],
    )


@router.get("/buyers/{buyer_id}/legal-events", response_model=list[LegalEventOut])
def legal_events(container: ContainerDep, actor: ActorDep, buyer_id: str) -> list[LegalEventOut]:
    with container.uow() as uow:
        events, clocks = monitoring.legal_events_of(uow, actor, buyer_id)
    return [
        LegalEventOut(
            kind=e.kind.value,
            nature=e.nature,
            judgment_date=e.judgment_date,
            publication_date=e.publication_date,
            source=e.source,
            reference=e.reference,
            resulting_status=None if e.resulting_status is None else e.resulting_status.value,
            insolvency_deadlines=[
                {"organisation_id": c.organisation_id, "deadline": c.deadline}
                for c in clocks
                if c.legal_event_id == e.id
            ],
        )
        for e in events
    ]


def _unprefixed(message: str, file_name: str) -> str:
    """The parser's messages already start with the file name; say it once."""
    return message.removeprefix(f"{file_name}, ").removeprefix(f"{file_name}: ")
