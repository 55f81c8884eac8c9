"""Buyer risk end to end over the database: BODACC, SIRENE, financials, re-grading."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tradecover.bootstrap import Container
from tradecover.domain.buyers import BookEntry, LegalStatus
from tradecover.domain.parties import OrganisationKind
from tradecover.ingest.bodacc import parse_bodacc
from tradecover.ingest.financials_csv import parse_financials_csv
from tradecover.ingest.sirene import parse_sirene_csv
from tradecover.persistence import tables as t
from tradecover.persistence.synthetic_book import seed_synthetic_buyers
from tradecover.services import accounts, audit, buyers, financials, grading, monitoring, policies
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.ports import Page

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "external"
PLANS = SHARED / "bodacc" / "plansde_pcl_derived_grands_plans_1y.csv"


class Book:
    def __init__(self, container: Container) -> None:
        self.container = container
        clock = container.clock
        with container.uow() as uow:
            insurer = accounts.ensure_insurer(uow, clock)
            self.admin: Actor = system_actor(insurer.id)
            self.insurer_id = insurer.id
            self.a = accounts.create_organisation(
                uow, clock, self.admin, kind=OrganisationKind.POLICYHOLDER, name="Insured A", country="FR"
            ).id
            self.b = accounts.create_organisation(
                uow, clock, self.admin, kind=OrganisationKind.POLICYHOLDER, name="Insured B", country="FR"
            ).id
            policies.issue_policy(uow, clock, self.admin, policyholder_id=self.a, start_date=date(2026, 1, 1))
            policies.issue_policy(
                uow,
                clock,
                self.admin,
                policyholder_id=self.b,
                start_date=date(2026, 1, 1),
                terms={"insolvency_notification_days": 20},
            )
        self.buyers: dict[str, str] = {}

    def buyer(self, siren: str, *books: str) -> str:
        with self.container.uow() as uow:
            for organisation_id in books:
                buyer, _ = buyers.add_buyer(
                    uow,
                    self.container.clock,
                    self.admin,
                    identifiers=[("siren", siren)],
                    legal_name=f"Buyer {siren}",
                    country="FR",
                    organisation_id=organisation_id,
                )
        self.buyers[siren] = buyer.id
        return buyer.id


def _ods_file(tmp_path: Path, records: list[dict[str, object]]) -> Path:
    path = tmp_path / "annonces.json"
    path.write_text(json.dumps({"total_count": len(records), "results": records}), encoding="utf-8")
    return path


def _liquidation(siren_spelling: str, published: str, notice_id: str = "A202600501") -> dict[str, object]:
    judgment = {
        "type": "initial",
        "famille": "Jugement d'ouverture",
        "nature": "Jugement d'ouverture de liquidation judiciaire",
        "date": "2026-03-05",
        "complementJugement": "Jugement prononçant la liquidation judiciaire.",
    }
    return {
        "id": notice_id,
        "publicationavis": "A",
        "dateparution": published,
        "typeavis_lib": "Avis initial",
        "familleavis": "collective",
        "tribunal": "TRIBUNAL DE COMMERCE DE LYON",
        "commercant": "TRANSPORTS MARTIN",
        "registre": [siren_spelling.replace(" ", ""), siren_spelling],
        "jugement": json.dumps(judgment),
    }


def _count(container: Container, table: type[t.Base]) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table)) or 0


def test_a_published_liquidation_marks_the_buyer_insolvent_once(container: Container, tmp_path: Path) -> None:
    book = Book(container)
    buyer_id = book.buyer("552100554", book.a, book.b)
    other = book.buyer("542051180", book.a)
    path = _ods_file(tmp_path, [_liquidation("552 100 554", "2026-03-10")])

    def ingest() -> monitoring.BodaccSummary:
        parsed = parse_bodacc(path)
        with container.uow() as uow:
            return monitoring.ingest_bodacc(
                uow, container.clock, book.admin, parsed.announcements, skipped=parsed.skipped
            )

    first = ingest()
    assert (first.matched, first.legal_events, first.insolvencies, first.clocks_started) == (1, 1, 1, 2)
    assert first.alerts == 3  # both insureds and the insurer
    with container.uow() as uow:
        buyer = uow.buyers.get(buyer_id)
        untouched = uow.buyers.get(other)
        clocks = {c.organisation_id: c.deadline for c in uow.monitoring.clocks(buyer_id)}
        alerts, _ = uow.monitoring.alerts(organisation_ids=frozenset({book.a}), page=Page())
        [event] = uow.monitoring.legal_events(buyer_id)
    assert buyer is not None
    assert untouched is not None
    assert buyer.legal_status is LegalStatus.LIQUIDATION
    assert buyer.risk_grade == 10
    assert untouched.legal_status is LegalStatus.ACTIVE
    # 30 days for A (default), 20 for B (its policy term), from the publication date.
    assert clocks == {book.a: date(2026, 4, 9), book.b: date(2026, 3, 30)}
    assert [a.due_date for a in alerts] == [date(2026, 4, 9)]
    assert event.judgment_date == date(2026, 3, 5)
    assert event.publication_date == date(2026, 3, 10)

    events_before = _count(container, t.AuditEventRow)
    again = ingest()
    assert (again.legal_events, again.already_recorded, again.alerts, again.clocks_started) == (0, 1, 0, 0)
    assert _count(container, t.AuditEventRow) == events_before
    assert _count(container, t.AlertRow) == 3
    with container.uow() as uow:
        assert audit.verify_audit(uow)[2] == []


@pytest.mark.skipif(not PLANS.exists(), reason="shared BODACC sample not found beside the repository")
def test_the_real_pcl_sample_matches_buyers_whatever_the_siren_spelling(container: Container) -> None:
    book = Book(container)
    converted = book.buyer("345086177", book.a)  # conversion to liquidation, 2021-04-14
    lost_zero = book.buyer("094130994", book.a)  # written 94130994 in the file
    closed = book.buyer("954507976", book.b)  # closure for lack of assets
    absent = book.buyer("552100554", book.a)
    parsed = parse_bodacc(PLANS)
    assert len(parsed.announcements) + parsed.skipped == 544  # SOURCES.md says 543: the file has 544 rows
    with container.uow() as uow:
        summary = monitoring.ingest_bodacc(
            uow, container.clock, book.admin, parsed.announcements, skipped=parsed.skipped
        )
    assert summary.matched == 3
    with container.uow() as uow:
        statuses = {i: uow.buyers.get(i).legal_status for i in (converted, lost_zero, closed, absent)}  # type: ignore[union-attr]
    assert statuses == {
        converted: LegalStatus.LIQUIDATION,
        lost_zero: LegalStatus.LIQUIDATION,
        closed: LegalStatus.CEASED,
        absent: LegalStatus.ACTIVE,
    }


def test_a_file_with_a_bad_record_changes_nothing(container: Container, tmp_path: Path) -> None:
    from tradecover.domain.errors import InvalidInput

    book = Book(container)
    book.buyer("552100554", book.a)
    bad = _liquidation("552 100 554", "2026-13-45", notice_id="A2")
    path = _ods_file(tmp_path, [_liquidation("552 100 554", "2026-03-10"), bad])
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc(path)
    assert caught.value.context["record"] == 2
    assert caught.value.field == "dateparution"
    assert "annonces.json" in caught.value.message
    assert _count(container, t.LegalEventRow) == 0


def test_sirene_updates_cease_rename_and_skip_unknown(container: Container, tmp_path: Path) -> None:
    book = Book(container)
    ceased = book.buyer("552100554", book.a)
    renamed = book.buyer("542051180", book.b)
    path = tmp_path / "StockUniteLegale.csv"
    path.write_text(
        "siren,etatAdministratifUniteLegale,denominationUniteLegale,activitePrincipaleUniteLegale,"
        "nomenclatureActivitePrincipaleUniteLegale,dateDebut,categorieJuridiqueUniteLegale\n"
        "552100554,C,Buyer 552100554,46.69B,NAFRev2,2026-02-28,5710\n"
        "542051180,A,Nouveau Nom SAS,25.11Z,NAFRev2,2020-01-01,5710\n"
        "732829320,A,Inconnue SA,25.11Z,NAFRev2,2020-01-01,5599\n",
        encoding="utf-8",
    )
    with container.uow() as uow:
        summary = monitoring.apply_sirene(uow, container.clock, book.admin, parse_sirene_csv(path), source=path.name)
    assert (summary.read, summary.matched, summary.unknown_skipped, summary.ceased) == (3, 2, 1, 1)
    with container.uow() as uow:
        gone, kept = uow.buyers.get(ceased), uow.buyers.get(renamed)
        alerts, _ = uow.monitoring.alerts(organisation_ids=frozenset({book.a}), page=Page())
    assert gone is not None
    assert kept is not None
    assert gone.legal_status is LegalStatus.CEASED
    assert (kept.legal_name, kept.naf_code, kept.legal_status) == ("Nouveau Nom SAS", "25.11Z", LegalStatus.ACTIVE)
    assert [a.kind.value for a in alerts] == ["buyer_ceased"]
    with container.uow() as uow:
        again = monitoring.apply_sirene(uow, container.clock, book.admin, parse_sirene_csv(path), source=path.name)
    assert (again.ceased, again.renamed, again.alerts) == (0, 0, 0)


def test_a_financials_file_applies_wholly_or_not_at_all(container: Container, tmp_path: Path) -> None:
    book = Book(container)
    buyer_id = book.buyer("552100554", book.a)
    good = tmp_path / "good.csv"
    good.write_text(
        "siren;fiscal_year_end;total_assets;equity;turnover;ebit;net_income\n"
        "552 100 554;2025-12-31;1 250 000,50;400000;2000000;150000;90000\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "siren,fiscal_year_end,total_assets,equity\n"
        "552100554,2024-12-31,900000,300000\n"
        "542051180,2024-12-31,100000,10000\n"  # not a buyer of the book
        "552100554,2024-13-31,100000,abc\n",
        encoding="utf-8",
    )
    rows, errors = parse_financials_csv(bad)
    with container.uow() as uow:
        report = financials.import_financials(
            uow, container.clock, book.admin, source=bad.name, rows=rows, parse_errors=errors
        )
    assert not report.applied
    refused = {(line.line, line.field) for line in report.errors}
    assert (3, "siren") in refused
    assert any(line == 4 for line, _ in refused)
    assert _count(container, t.FinancialStatementRow) == 0

    rows, errors = parse_financials_csv(good)
    assert errors == []
    for expected in ("created", "unchanged"):
        with container.uow() as uow:
            report = financials.import_financials(
                uow, container.clock, book.admin, source=good.name, rows=rows, parse_errors=errors
            )
        assert report.applied
        assert [line.outcome for line in report.lines] == [expected]
    with container.uow() as uow:
        [statement] = uow.financials.current(buyer_id)
    assert str(statement.amounts["total_assets"]) == "1250000.50 EUR"
    assert statement.amounts["working_capital"] is None


def test_regrading_grades_changed_buyers_keeps_history_and_alerts_on_downgrades(container: Container) -> None:
    book = Book(container)
    seed_synthetic_buyers(container.engine, 300, seed=3)
    first = grading.regrade(container.uow, container.clock, book.admin, batch_size=64)
    assert (first.graded, first.mode) == (300, "changed")
    assert _count(container, t.GradeHistoryRow) == 300
    nothing = grading.regrade(container.uow, container.clock, book.admin)
    assert nothing.graded == 0

    with container.engine.connect() as connection:
        buyer_id, grade = connection.execute(
            select(t.BuyerRow.id, t.BuyerRow.risk_grade).where(t.BuyerRow.risk_grade <= 7).limit(1)
        ).one()
    with container.uow() as uow:
        uow.buyers.add_to_book(  # an insured trades with it, so it hears of the downgrade
            BookEntry(book.a, buyer_id, None, container.clock.now())
        )
        statement = uow.financials.current(buyer_id)[0]
        uow.commit()
    amounts = {k: None if v is None else v.amount for k, v in statement.amounts.items()}
    amounts.update(
        equity=-amounts["total_assets"],
        net_income=-amounts["total_assets"] / 2,  # type: ignore[operator]
        ebit=-amounts["total_assets"] / 3,
        working_capital=-amounts["total_assets"],  # type: ignore[operator]
        retained_earnings=-amounts["total_assets"],
    )  # type: ignore[operator]
    with container.uow() as uow:
        financials.record_financials(
            uow,
            container.clock,
            book.admin,
            buyer_id,
            fiscal_year_end=statement.fiscal_year_end,
            currency="EUR",
            amounts=amounts,
        )
    second = grading.regrade(container.uow, container.clock, book.admin)
    assert second.graded == 1
    assert second.downgrades == 1
    with container.uow() as uow:
        history = uow.buyers.grade_history(buyer_id)
        alerts, _ = uow.monitoring.alerts(organisation_ids=None, page=Page())
    assert next(h.grade for h in history) == grade
    assert history[-1].grade >= grade + 2
    assert history[-1].previous_grade == grade
    assert {a.kind.value for a in alerts} == {"buyer_downgraded", "limit_review_proposed"}
    reasons = dict(history[-1].reasons())
    assert all(name.startswith("ratio:") for name in reasons)


def test_an_interrupted_run_resumes_to_the_uninterrupted_state(container: Container) -> None:
    book = Book(container)
    seed_synthetic_buyers(container.engine, 500, seed=5)
    partial = grading.regrade(
        container.uow, container.clock, book.admin, everything=True, batch_size=100, stop_after_batches=2
    )
    assert partial.graded == 200
    resumed = grading.regrade(container.uow, container.clock, book.admin, everything=True, batch_size=100)
    assert resumed.resumed
    assert resumed.run_id == partial.run_id
    assert resumed.graded == 500
    with container.engine.connect() as connection:
        per_buyer = connection.execute(
            select(t.GradeHistoryRow.buyer_id, func.count()).group_by(t.GradeHistoryRow.buyer_id)
        ).all()
    assert len(per_buyer) == 500
    assert {n for _, n in per_buyer} == {1}
    fresh = grading.regrade(container.uow, container.clock, book.admin, everything=True, batch_size=100)
    assert not fresh.resumed
    assert fresh.run_id != partial.run_id
