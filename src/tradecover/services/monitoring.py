"""Daily monitoring: BODACC insolvency judgments and SIRENE registry updates.

Each file is applied in one transaction; every fact is recorded once (keyed by
the announcement's id), so ingesting the same file again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from tradecover.domain.buyers import INSOLVENCY_STATUSES, LegalStatus
from tradecover.domain.grades import INSOLVENT_GRADE
from tradecover.domain.monitoring import (
    Alert,
    AlertKind,
    GradeRecord,
    InsolvencyClock,
    LegalEvent,
    LegalEventKind,
    insolvency_notification_deadline,
)
from tradecover.domain.periods import Clock
from tradecover.domain.policies import terms_in_force
from tradecover.ingest.bodacc import BodaccAnnouncement, ProcedureKind
from tradecover.ingest.sirene import SireneUnit
from tradecover.services.authorization import Actor, Permission, require, visible_organisations
from tradecover.services.buyers import get_buyer
from tradecover.services.credit_limits import cancel_limits_on_buyer
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import INSURER_TENANT, new_id, record

LEGAL_MODEL = "legal-event"
DEFAULT_INSOLVENCY_DAYS = 30
_ONE = Decimal(1)


@dataclass
class BodaccSummary:
    files: list[str] = field(default_factory=list)
    announcements: int = 0
    skipped_not_collective: int = 0
    matched: int = 0
    unmatched: int = 0
    already_recorded: int = 0
    legal_events: int = 0
    status_changes: int = 0
    insolvencies: int = 0
    clocks_started: int = 0
    alerts: int = 0
    limits_affected: int = 0


def _status_of(announcement: BodaccAnnouncement) -> LegalStatus | None:
    status = announcement.resulting_status
    return None if status is None else LegalStatus(status)


def _notification_days(uow: UnitOfWork, organisation_id: str, on: date) -> int:
    """The insured's policy term in force on the publication date (30 days by default)."""
    policies, _ = uow.policies.list_page(policyholder_ids=frozenset({organisation_id}), page=Page(limit=100))
    days = [
        terms_in_force(uow.policies.terms_versions(p.id), on).terms.insolvency_notification_days
        for p in policies
        if p.period_on(on) is not None
    ]
    return min(days) if days else DEFAULT_INSOLVENCY_DAYS


def ingest_bodacc(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    announcements: Iterable[BodaccAnnouncement],
    *,
    skipped: int = 0,
    files: list[str] | None = None,
) -> BodaccSummary:
    """Record collective-procedure judgments on the buyers they name; one transaction."""
    require(actor, Permission.MONITORING_INGEST)
    summary = BodaccSummary(files=list(files or []), skipped_not_collective=skipped)
    items = list(announcements)
    summary.announcements = len(items) + skipped
    known = uow.buyers.by_sirens([siren for a in items for siren in a.sirens])
    for announcement in items:
        if announcement.kind is ProcedureKind.OTHER or announcement.notice_type == "annulation":
            summary.skipped_not_collective += 1
            continue
        buyer_ids = sorted({known[s] for s in announcement.sirens if s in known})
        if not buyer_ids:
            summary.unmatched += 1
            continue
        summary.matched += 1
        for buyer_id in buyer_ids:
            _apply_judgment(uow, clock, actor, announcement, buyer_id, summary)
    uow.commit()
    return summary


def _apply_judgment(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    announcement: BodaccAnnouncement,
    buyer_id: str,
    summary: BodaccSummary,
) -> None:
    status = _status_of(announcement)
    event = LegalEvent(
        id=new_id(),
        buyer_id=buyer_id,
        kind=LegalEventKind(announcement.kind.value),
        nature=announcement.nature,
        judgment_date=announcement.judgment_date,
        publication_date=announcement.publication_date,
        source=announcement.source,
        reference=announcement.announcement_id,
        resulting_status=status,
        recorded_at=clock.now(),
    )
    if not uow.monitoring.add_legal_event(event):
        summary.already_recorded += 1
        return
    summary.legal_events += 1
    buyer = uow.buyers.get(buyer_id)
    assert buyer is not None
    record(
        uow,
        clock,
        actor,
        tenant=INSURER_TENANT,
        action="buyer.legal_event_recorded",
        object_type="buyer",
        object_id=buyer_id,
        summary={
            "kind": event.kind.value,
            "nature": event.nature,
            "publication_date": event.publication_date,
            "judgment_date": event.judgment_date,
            "reference": event.reference,
            "before": {"legal_status": buyer.legal_status.value},
            "after": {"legal_status": (status or buyer.legal_status).value},
        },
        reason=f"BODACC {announcement.source}",
    )
    if status is not None and status is not buyer.legal_status:
        uow.buyers.set_legal_status(buyer_id, status)
        summary.status_changes += 1
    if not announcement.opens_insolvency or status not in INSOLVENCY_STATUSES:
        return
    summary.insolvencies += 1
    summary.limits_affected += cancel_limits_on_buyer(
        uow, clock, actor, buyer_id, reason=f"insolvency published on {event.publication_date:%d/%m/%Y}"
    )
    refreshed = uow.buyers.get(buyer_id)
    assert refreshed is not None
    uow.buyers.record_grade(
        GradeRecord(
            buyer_id=buyer_id,
            grade=INSOLVENT_GRADE,
            probability_of_default=_ONE,
            factors={"legal": 1.0},
            model_version=LEGAL_MODEL,
            run_id=event.id,  # the legal event is the grading "run"
            inputs_version=refreshed.inputs_version,
            graded_at=clock.now(),
            previous_grade=buyer.risk_grade,
        )
    )
    for organisation_id in uow.buyers.book_organisations(buyer_id):
        days = _notification_days(uow, organisation_id, event.publication_date)
        deadline = insolvency_notification_deadline(event.publication_date, days)
        started = uow.monitoring.start_clock(
            InsolvencyClock(organisation_id, buyer_id, event.id, event.publication_date, deadline, clock.now())
        )
        if started:
            summary.clocks_started += 1
            record(
                uow,
                clock,
                actor,
                tenant=organisation_id,
                action="insolvency.clock_started",
                object_type="buyer",
                object_id=buyer_id,
                summary={"publication_date": event.publication_date, "deadline": deadline, "event": event.id},
            )
        message = (
            f"{buyer.legal_name}: {event.nature} published on {event.publication_date:%d/%m/%Y}. "
            f"Notify its unpaid invoices by {deadline:%d/%m/%Y}."
        )
        summary.alerts += _alert(
            uow,
            clock,
            organisation_id,
            AlertKind.INSOLVENCY_PUBLISHED,
            buyer_id,
            message,
            key=f"insolvency:{event.reference}:{buyer_id}:{organisation_id}",
            due=deadline,
        )
    insurer = uow.organisations.insurer()
    if insurer is not None:
        summary.alerts += _alert(
            uow,
            clock,
            insurer.id,
            AlertKind.INSOLVENCY_PUBLISHED,
            buyer_id,
            f"{buyer.legal_name}: {event.nature}. Cancel its limits for future deliveries and open the files.",
            key=f"insolvency:{event.reference}:{buyer_id}:insurer",
            due=None,
        )


def _alert(
    uow: UnitOfWork,
    clock: Clock,
    organisation_id: str,
    kind: AlertKind,
    buyer_id: str | None,
    message: str,
    *,
    key: str,
    due: date | None,
) -> int:
    alert = Alert(new_id(), organisation_id, kind, buyer_id, message, key, clock.now(), due)
    return 1 if uow.monitoring.raise_alert(alert) else 0


@dataclass
class SireneSummary:
    file: str = ""
    read: int = 0
    matched: int = 0
    unknown_skipped: int = 0
    ceased: int = 0
    renamed: int = 0
    naf_changed: int = 0
    alerts: int = 0


def apply_sirene(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    units: Iterable[SireneUnit],
    *,
    source: str,
    batch: int = 5000,
) -> SireneSummary:
    """Ceased companies become ceased buyers; names and NAF codes follow the registry. One transaction."""
    require(actor, Permission.MONITORING_INGEST)
    summary = SireneSummary(file=source)
    pending: list[SireneUnit] = []

    def flush() -> None:
        known = uow.buyers.by_sirens([u.siren for u in pending])
        for unit in pending:
            buyer_id = known.get(unit.siren)
            if buyer_id is None:
                summary.unknown_skipped += 1
                continue
            summary.matched += 1
            _apply_unit(uow, clock, actor, unit, buyer_id, source, summary)
        pending.clear()

    for unit in units:
        summary.read += 1
        pending.append(unit)
        if len(pending) >= batch:
            flush()
    flush()
    uow.commit()
    return summary


def _apply_unit(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    unit: SireneUnit,
    buyer_id: str,
    source: str,
    summary: SireneSummary,
) -> None:
    buyer = uow.buyers.get(buyer_id)
    assert buyer is not None
    renamed = bool(unit.name) and unit.name != buyer.legal_name
    naf_changed = bool(unit.naf_code) and unit.naf_code != buyer.naf_code
    if renamed or naf_changed:
        uow.buyers.update_identity(buyer_id, legal_name=unit.name, naf_code=unit.naf_code)
        summary.renamed += int(renamed)
        summary.naf_changed += int(naf_changed)
        record(
            uow,
            clock,
            actor,
            tenant=INSURER_TENANT,
            action="buyer.identity_updated",
            object_type="buyer",
            object_id=buyer_id,
            summary={
                "before": {"legal_name": buyer.legal_name, "naf_code": buyer.naf_code},
                "after": {
                    "legal_name": unit.name or buyer.legal_name,
                    "naf_code": unit.naf_code or buyer.naf_code,
                },
            },
            reason=f"SIRENE {source}",
        )
    if unit.active or buyer.legal_status is LegalStatus.CEASED:
        return
    ceased_on = unit.ceased_on or clock.today()
    event = LegalEvent(
        new_id(),
        buyer_id,
        LegalEventKind.CEASED,
        "Cessation (SIRENE)",
        unit.ceased_on,
        ceased_on,
        source,
        f"sirene:{unit.siren}:{ceased_on.isoformat()}",
        LegalStatus.CEASED,
        clock.now(),
    )
    if not uow.monitoring.add_legal_event(event):
        return
    uow.buyers.set_legal_status(buyer_id, LegalStatus.CEASED)
    summary.ceased += 1
    record(
        uow,
        clock,
        actor,
        tenant=INSURER_TENANT,
        action="buyer.legal_event_recorded",
        object_type="buyer",
        object_id=buyer_id,
        summary={
            "kind": "ceased",
            "before": {"legal_status": buyer.legal_status.value},
            "after": {"legal_status": LegalStatus.CEASED.value},
            "ceased_on": ceased_on,
        },
        reason=f"SIRENE {source}",
    )
    for organisation_id in uow.buyers.book_organisations(buyer_id):
        summary.alerts += _alert(
            uow,
            clock,
            organisation_id,
            AlertKind.BUYER_CEASED,
            buyer_id,
            f"{buyer.legal_name} has ceased trading (SIRENE, {ceased_on:%d/%m/%Y}).",
            key=f"ceased:{event.reference}:{organisation_id}",
            due=None,
        )


def legal_events_of(uow: UnitOfWork, actor: Actor, buyer_id: str) -> tuple[list[LegalEvent], list[InsolvencyClock]]:
    """A buyer's legal events, and the insolvency clocks the actor may see."""
    buyer = get_buyer(uow, actor, buyer_id)
    visible = visible_organisations(actor)
    clocks = [c for c in uow.monitoring.clocks(buyer.id) if visible is None or c.organisation_id in visible]
    return uow.monitoring.legal_events(buyer.id), clocks
