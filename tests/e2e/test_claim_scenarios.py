"""``tradecover simulate``: the claim examples (overdues, claims, indemnity, recoveries) and their bad input.

Each ``examples/claim_*.yaml`` computes its amounts by hand in its comments (DOMAIN.md §6–§8); the tests
below hold the simulator to those amounts, through the same CLI entry point as ``test_simulate.py``.
Where the simulator and the rule disagree, the test states the rule's value and is marked
``xfail(strict=True)`` with the cause, until the code is fixed.
"""

from __future__ import annotations

import functools
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tradecover.cli import simulate as cli_simulate
from tradecover.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

Step = tuple[str, str | None, str, str | None]  # kind, buyer, status, code

# Every event of each example in the order it runs: (kind, buyer, status, code).
STEPS: dict[str, list[Step]] = {
    "claim_insolvency.yaml": [
        ("request_limit", "B1", "approved", None),
        ("invoice", "B1", "done", None),
        ("invoice", "B1", "done", None),
        ("invoice", "B1", "done", None),
        ("payment", "B1", "done", None),
        ("insolvency", "B1", "done", None),
        ("notify_overdue", "B1", "accepted", None),
        ("insolvency", "B1", "done", None),
        ("claim", "B1", "complete", None),
        ("settle_claim", "B1", "settled", None),
        ("recovery", "B1", "done", None),
    ],
    "claim_protracted_default.yaml": [
        ("request_limit", "B1", "approved", None),
        ("invoice", "B1", "done", None),
        ("invoice", "B1", "done", None),
        ("notify_overdue", "B1", "accepted", None),
        ("payment", "B1", "done", None),
        ("payment", "B1", "done", None),
        ("claim", "B1", "refused", "claim.waiting_period_running"),
        ("recovery", "B1", "done", None),
        ("claim", "B1", "pending", None),
        ("settle_claim", "B1", "pending", "claim.documents_missing"),
        ("claim", "B1", "complete", None),
        ("settle_claim", "B1", "settled", None),
    ],
    "claim_after_limit_reduction.yaml": [
        ("request_limit", "B1", "approved", None),
        ("invoice", "B1", "done", None),
        ("invoice", "B1", "done", None),
        ("reduce_limit", "B1", "done", None),
        ("invoice", "B1", "done", None),
        ("payment", "B1", "done", None),
        ("notify_overdue", "B1", "accepted", None),
        ("claim", "B1", "complete", None),
        ("settle_claim", "B1", "settled", None),
    ],
    "claim_non_qualifying_loss.yaml": [
        ("request_limit", "B1", "approved", None),
        ("invoice", "B1", "done", None),
        ("notify_overdue", "B1", "accepted", None),
        ("payment", "B1", "done", None),
        ("payment", "B1", "done", None),
        ("claim", "B1", "complete", None),
        ("settle_claim", "B1", "refused", "claim.non_qualifying_loss"),
    ],
    "claim_max_liability_cap.yaml": [
        ("request_limit", "B1", "approved", None),
        ("request_limit", "B2", "approved", None),
        ("invoice", "B1", "done", None),
        ("invoice", "B2", "done", None),
        ("notify_overdue", "B1", "accepted", None),
        ("insolvency", "B2", "done", None),
        ("notify_overdue", "B2", "accepted", None),
        ("claim", "B2", "complete", None),
        ("settle_claim", "B2", "settled", None),
        ("claim", "B1", "complete", None),
        ("settle_claim", "B1", "settled", None),
    ],
    "claim_late_notification.yaml": [
        ("request_limit", "B1", "approved", None),
        ("invoice", "B1", "done", None),
        ("invoice", "B1", "done", None),
        ("notify_overdue", "B1", "partially_accepted", None),
        ("claim", "B1", "complete", None),
        ("settle_claim", "B1", "settled", None),
        ("recovery", "B1", "done", None),
    ],
    "claim_factor_aggregate_deductible.yaml": [
        ("request_limit", "B1", "approved", None),
        ("request_limit", "B2", "approved", None),
        ("invoice", "B1", "done", None),
        ("invoice", "B2", "done", None),
        ("invoice", "B1", "done", None),
        ("notify_overdue", "B2", "accepted", None),
        ("notify_overdue", "B1", "accepted", None),
        ("claim", "B2", "complete", None),
        ("settle_claim", "B2", "settled", None),
        ("claim", "B1", "complete", None),
        ("settle_claim", "B1", "settled", None),
    ],
}

Lines = list[tuple[str, str | None]]

# Each settlement of each example, in order: the outcome's amounts and its statement lines (code, amount).
SETTLEMENTS: dict[str, list[tuple[dict[str, Any], Lines]]] = {
    "claim_insolvency.yaml": [
        (
            {
                "status": "settled",
                "cause": "insolvency",
                "date_of_loss": "2026-05-07",
                "loss_amount": "115000.00",
                "covered_loss_amount": "115000.00",
                "indemnity_amount": "103500.00",
                "approvals": 2,  # above the approval amount of 100,000
                "payees": [{"name": "insured", "role": "insured", "amount": "103500.00"}],
            },
            [
                ("invoices_unpaid", "135000.00"),
                ("payments_before_settlement", "-20000.00"),
                ("loss", "115000.00"),
                ("covered_loss", "115000.00"),
                ("indemnity_rate", "103500.00"),
                ("indemnity", "103500.00"),
            ],
        )
    ],
    "claim_protracted_default.yaml": [
        (
            {
                "status": "pending",
                "code": "claim.documents_missing",
                "missing_documents": ["collection_attempts"],
                "indemnity_amount": "0.00",
            },
            [
                ("invoices_unpaid", "40000.00"),
                ("payments_before_settlement", "-13000.00"),
                ("recoveries_before_settlement", "-2000.00"),
                ("loss", "25000.00"),
                ("covered_loss", "25000.00"),
                ("indemnity_rate", "21250.00"),
                ("indemnity", "21250.00"),
            ],
        ),
        (
            {
                "status": "settled",
                "cause": "protracted_default",
                "date_of_loss": "2026-10-17",
                "loss_amount": "25000.00",
                "covered_loss_amount": "25000.00",
                "indemnity_amount": "21250.00",
                "approvals": 1,
                "payees": [{"name": "insured", "role": "insured", "amount": "21250.00"}],
            },
            [
                ("invoices_unpaid", "40000.00"),
                ("payments_before_settlement", "-13000.00"),
                ("recoveries_before_settlement", "-2000.00"),
                ("loss", "25000.00"),
                ("covered_loss", "25000.00"),
                ("indemnity_rate", "21250.00"),
                ("indemnity", "21250.00"),
            ],
        ),
    ],
    "claim_after_limit_reduction.yaml": [
        (
            {
                "status": "settled",
                "cause": "protracted_default",
                "date_of_loss": "2026-10-17",
                "loss_amount": "28000.00",
                "covered_loss_amount": "20000.00",
                "indemnity_amount": "18000.00",
            },
            [
                ("invoices_unpaid", "31000.00"),
                ("payments_before_settlement", "-3000.00"),
                ("loss", "28000.00"),
                ("above_covered_exposure", "-8000.00"),
                ("covered_loss", "20000.00"),
                ("indemnity_rate", "18000.00"),
                ("indemnity", "18000.00"),
            ],
        )
    ],
    "claim_non_qualifying_loss.yaml": [
        (
            {
                "status": "refused",
                "code": "claim.non_qualifying_loss",
                "date_of_loss": "2026-10-01",
                "loss_amount": "2400.00",
                "covered_loss_amount": "2400.00",
                "indemnity_amount": "0.00",
                "payees": [],
            },
            [
                ("invoices_unpaid", "9000.00"),
                ("payments_before_settlement", "-6600.00"),
                ("loss", "2400.00"),
                ("covered_loss", "2400.00"),
                ("non_qualifying_loss", None),
                ("indemnity", "0.00"),
            ],
        )
    ],
    "claim_max_liability_cap.yaml": [
        (
            {
                "status": "settled",
                "cause": "insolvency",
                "date_of_loss": "2026-05-19",
                "loss_amount": "20000.00",
                "covered_loss_amount": "20000.00",
                "indemnity_amount": "17500.00",
            },
            [
                ("invoices_unpaid", "20000.00"),
                ("loss", "20000.00"),
                ("covered_loss", "20000.00"),
                ("indemnity_rate", "18000.00"),
                ("deductible", "-500.00"),
                ("indemnity", "17500.00"),
            ],
        ),
        (
            {
                "status": "settled",
                "cause": "protracted_default",
                "date_of_loss": "2026-10-03",
                "loss_amount": "25000.00",
                "covered_loss_amount": "25000.00",
                "indemnity_amount": "12500.00",
            },
            [
                ("invoices_unpaid", "25000.00"),
                ("loss", "25000.00"),
                ("covered_loss", "25000.00"),
                ("indemnity_rate", "22500.00"),
                ("deductible", "-500.00"),
                ("max_liability", "-9500.00"),  # 20 × 1,500 = 30,000, less the 17,500 already paid
                ("indemnity", "12500.00"),
            ],
        ),
    ],
    "claim_late_notification.yaml": [
        (
            {
                "status": "settled",
                "cause": "protracted_default",
                "date_of_loss": "2026-10-17",
                "loss_amount": "9000.00",
                "covered_loss_amount": "9000.00",
                "indemnity_amount": "8100.00",
            },
            [
                ("invoices_unpaid", "9000.00"),
                ("loss", "9000.00"),
                ("covered_loss", "9000.00"),
                ("indemnity_rate", "8100.00"),
                ("indemnity", "8100.00"),
            ],
        )
    ],
    "claim_factor_aggregate_deductible.yaml": [
        (
            {
                "status": "settled",
                "date_of_loss": "2026-09-17",
                "loss_amount": "4000.00",
                "covered_loss_amount": "4000.00",
                "indemnity_amount": "0.00",
                "payees": [],
            },
            [
                ("invoices_unpaid", "4000.00"),
                ("loss", "4000.00"),
                ("covered_loss", "4000.00"),
                ("indemnity_rate", "3600.00"),
                ("aggregate_deductible", "-3600.00"),
                ("indemnity", "0.00"),
            ],
        ),
        (
            {
                "status": "settled",
                "date_of_loss": "2026-10-12",
                "loss_amount": "15000.00",
                "covered_loss_amount": "15000.00",
                "indemnity_amount": "12100.00",
                "payees": [
                    {"name": "insured", "role": "insured", "amount": "4033.33"},
                    {"name": "factor", "role": "factor", "amount": "8066.67"},
                ],
            },
            [
                ("invoices_unpaid", "15000.00"),
                ("loss", "15000.00"),
                ("covered_loss", "15000.00"),
                ("indemnity_rate", "13500.00"),
                ("aggregate_deductible", "-1400.00"),
                ("indemnity", "12100.00"),
            ],
        ),
    ],
}


def _claim(
    reference: str,
    buyer: str,
    status: str,
    cause: str,
    date_of_loss: str,
    indemnity: str,
    loss: str | None = None,
    covered: str | None = None,
    recovered: str = "0.00",
    insurer_recovered: str = "0.00",
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "reference": reference,
        "buyer": buyer,
        "status": status,
        "cause": cause,
        "date_of_loss": date_of_loss,
        "indemnity_amount": indemnity,
        "recovered_amount": recovered,
        "insurer_recovered_amount": insurer_recovered,
    }
    if loss is not None:
        entry["loss_amount"] = loss
        entry["covered_loss_amount"] = covered
    return entry


FINAL_CLAIMS: dict[str, list[dict[str, Any]]] = {
    "claim_insolvency.yaml": [
        _claim(
            "CLM-2026-000001",
            "B1",
            "settled",
            "insolvency",
            "2026-05-07",
            "103500.00",
            "115000.00",
            "115000.00",
            recovered="12000.00",
            insurer_recovered="9000.00",
        ),
    ],
    "claim_protracted_default.yaml": [
        _claim(
            "CLM-2026-000001", "B1", "settled", "protracted_default", "2026-10-17", "21250.00", "25000.00", "25000.00"
        ),
    ],
    "claim_after_limit_reduction.yaml": [
        _claim(
            "CLM-2026-000001", "B1", "settled", "protracted_default", "2026-10-17", "18000.00", "28000.00", "20000.00"
        ),
    ],
    "claim_non_qualifying_loss.yaml": [
        _claim("CLM-2026-000001", "B1", "refused", "protracted_default", "2026-10-01", "0.00", "2400.00", "2400.00"),
    ],
    "claim_max_liability_cap.yaml": [
        _claim(
            "CLM-2026-000002", "B1", "settled", "protracted_default", "2026-10-03", "12500.00", "25000.00", "25000.00"
        ),
        _claim("CLM-2026-000001", "B2", "settled", "insolvency", "2026-05-19", "17500.00", "20000.00", "20000.00"),
    ],
    # The 6,000 recovered on 1 December paid F-601, which is not part of the claim: nothing of the claim's loss
    # was recovered (see test_a_recovery_on_a_debt_outside_the_claim_is_not_shared).
    "claim_late_notification.yaml": [
        _claim("CLM-2026-000001", "B1", "settled", "protracted_default", "2026-10-17", "8100.00", "9000.00", "9000.00"),
    ],
    "claim_factor_aggregate_deductible.yaml": [
        _claim(
            "CLM-2026-000002", "B1", "settled", "protracted_default", "2026-10-12", "12100.00", "15000.00", "15000.00"
        ),
        _claim("CLM-2026-000001", "B2", "settled", "protracted_default", "2026-09-17", "0.00", "4000.00", "4000.00"),
    ],
}


def _exposure(outstanding: str, covered: str, limit: str) -> dict[str, str]:
    uncovered = str(Decimal(outstanding) - Decimal(covered))
    return {
        "outstanding_amount": outstanding,
        "covered_amount": covered,
        "uncovered_amount": uncovered,
        "limit_in_force_amount": limit,
    }


FINAL_EXPOSURE: dict[str, dict[str, dict[str, str]]] = {
    # 115,000 less the dividend's 10,000 excl. VAT; covered by the 150,000 in force before the cancellation.
    "claim_insolvency.yaml": {"B1": _exposure("105000.00", "105000.00", "0.00")},
    "claim_protracted_default.yaml": {"B1": _exposure("25000.00", "25000.00", "60000.00")},
    "claim_after_limit_reduction.yaml": {"B1": _exposure("28000.00", "20000.00", "20000.00")},
    "claim_non_qualifying_loss.yaml": {"B1": _exposure("2400.00", "2400.00", "15000.00")},
    "claim_max_liability_cap.yaml": {
        "B1": _exposure("25000.00", "25000.00", "40000.00"),
        "B2": _exposure("20000.00", "20000.00", "0.00"),
    },
    # F-601 (7,000 left) lost its cover when its notification deadline passed: only F-602 is covered.
    "claim_late_notification.yaml": {"B1": _exposure("16000.00", "9000.00", "40000.00")},
    "claim_factor_aggregate_deductible.yaml": {
        "B1": _exposure("15000.00", "15000.00", "30000.00"),
        "B2": _exposure("4000.00", "4000.00", "10000.00"),
    },
}

# --------------------------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    # Wide consoles, so that messages are not wrapped, whatever the terminal.
    for console in (cli_simulate.console, cli_simulate.errors):
        monkeypatch.setattr(console, "_width", 200)


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, ["simulate", *args])
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def simulate_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run(str(path), "--json").stdout)
    return data


@functools.cache
def _replay_text(name: str) -> str:
    return run(str(EXAMPLES / name), "--json").stdout


def replay(name: str) -> dict[str, Any]:
    """The example's JSON document; each example runs once per test session (a fresh copy each call)."""
    data: dict[str, Any] = json.loads(_replay_text(name))
    return data


def outcomes(data: dict[str, Any], kind: str, buyer: str | None = None) -> list[dict[str, Any]]:
    return [e["outcome"] for e in data["events"] if e["kind"] == kind and buyer in (None, e.get("buyer"))]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


HEADER = """\
currency: EUR
policy:
  policyholder: {name: "Atelier Dupont SAS", registration_number: "552100554"}
  start_date: 2026-01-01
buyers:
  B1: {name: "Client SA", registration_number: "443061841", grade: 4, capacity: "1000000"}
events:
  - {date: 2026-01-10, request_limit: {buyer: B1, amount: "50000"}}
"""
INVOICE = (
    "  - {{date: {day}, invoice: {{buyer: B1, number: {number}, issue_date: {day}, delivery_date: {day},\n"
    "       due_date: {due}, amount_excl_vat: '{net}', vat_amount: '{vat}'}}}}\n"
)
F1 = INVOICE.format(day="2026-02-10", number="F-1", due="2026-04-11", net="18000.00", vat="3600.00")
F2 = INVOICE.format(day="2026-03-05", number="F-2", due="2026-05-04", net="22000.00", vat="4400.00")


# ------------------------------------------------------------------------------------------- examples


def test_every_claim_example_is_checked() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("claim_*.yaml")) == sorted(STEPS)
    assert sorted(STEPS) == sorted(SETTLEMENTS) == sorted(FINAL_CLAIMS) == sorted(FINAL_EXPOSURE)


@pytest.mark.parametrize("name", sorted(STEPS))
def test_example_replays_with_the_documented_outcomes(name: str) -> None:
    assert (EXAMPLES / name).read_text(encoding="utf-8").startswith("#"), "each example opens with its story"
    data = replay(name)
    got = [(e["kind"], e.get("buyer"), e["outcome"]["status"], e["outcome"].get("code")) for e in data["events"]]
    assert got == STEPS[name]


@pytest.mark.parametrize("name", sorted(SETTLEMENTS))
def test_settlements_have_the_hand_computed_amounts_and_lines(name: str) -> None:
    settled = outcomes(replay(name), "settle_claim")
    assert len(settled) == len(SETTLEMENTS[name])
    for outcome, (expected, lines) in zip(settled, SETTLEMENTS[name], strict=True):
        assert {key: outcome.get(key) for key in expected} == expected
        assert [(line["code"], line["amount"]) for line in outcome["lines"]] == lines
        assert all(line["label"] and line["rule"] for line in outcome["lines"])


@pytest.mark.parametrize(
    "name",
    [name for name in sorted(FINAL_CLAIMS)],
)
def test_final_claims(name: str) -> None:
    assert replay(name)["final"]["claims"] == FINAL_CLAIMS[name]


@pytest.mark.parametrize(
    "name",
    [name for name in sorted(FINAL_EXPOSURE)],
)
def test_final_exposure(name: str) -> None:
    assert replay(name)["final"]["exposure"] == FINAL_EXPOSURE[name]


@pytest.mark.parametrize("name", sorted(STEPS))
def test_readable_table_mentions_every_event(name: str) -> None:
    text = " ".join(ANSI.sub("", run(str(EXAMPLES / name)).output).split())
    for event in replay(name)["events"]:
        assert event["date"] in text
        assert event["kind"] in text
        assert event["outcome"]["status"] in text
        if "code" in event["outcome"]:
            assert event["outcome"]["code"] in text


def test_insolvency_notification_deadline_is_30_days_after_publication() -> None:
    data = replay("claim_insolvency.yaml")
    first, second = outcomes(data, "insolvency")
    assert first == {"status": "done", "legal_status": "receivership", "limits_cancelled": 1}
    assert second == {"status": "done", "legal_status": "liquidation", "limits_cancelled": 0}
    (notification,) = outcomes(data, "notify_overdue")
    # min(due date + 90 days, publication 12 May + 30 days) = 11 June for each invoice
    assert notification["invoices"] == [
        {"number": number, "status": "accepted", "code": None, "deadline": "2026-06-11"}
        for number in ("F-2026-0101", "F-2026-0188", "F-2026-0240")
    ]
    (claim,) = outcomes(data, "claim")
    assert claim == {
        "status": "complete",
        "claim_reference": "CLM-2026-000001",
        "cause": "insolvency",
        "date_of_loss": "2026-05-07",  # the first opening judgment, not the liquidation's
    }


def test_a_recovery_after_indemnity_is_shared_in_proportion_to_the_loss() -> None:
    (recovery,) = outcomes(replay("claim_insolvency.yaml"), "recovery")
    # The loss excludes VAT: of the 12,000 received, 10,000 reduced it (each invoice's ratio 100/120).
    # 10,000 × 103,500 / 115,000 = 9,000 for the insurer, the rest (VAT included) for the insured; no commission
    # on a guaranteed debt
    assert recovery == {
        "status": "done",
        "insurer_share_amount": "9000.00",
        "insured_share_amount": "3000.00",
        "commission_amount": "0.00",
    }


def test_protracted_default_waits_for_the_waiting_period_and_the_documents() -> None:
    data = replay("claim_protracted_default.yaml")
    notification = outcomes(data, "notify_overdue")[0]
    assert [(i["number"], i["status"], i["deadline"]) for i in notification["invoices"]] == [
        ("F-1001", "accepted", "2026-07-10"),
        ("F-1002", "accepted", "2026-08-02"),
    ]
    early, pending, complete = outcomes(data, "claim")
    assert early["code"] == "claim.waiting_period_running"
    assert "2026-10-17" in early["message"]  # 20 May + 150 days
    assert pending["status"] == "pending"
    assert pending["missing_documents"] == ["collection_attempts"]
    assert pending["date_of_loss"] == "2026-10-17"
    assert complete["status"] == "complete"
    assert complete["claim_reference"] == pending["claim_reference"]  # the same claim, its file completed
    (recovery,) = outcomes(data, "recovery")
    assert recovery["insurer_share_amount"] == "0.00"  # before settlement it only reduces the loss
    assert recovery["insured_share_amount"] == "2400.00"


def test_a_pending_settlement_pays_nobody() -> None:
    pending = outcomes(replay("claim_protracted_default.yaml"), "settle_claim")[0]
    assert pending["status"] == "pending"
    assert pending["indemnity_amount"] == "0.00"
    assert pending.get("payees", []) == []


def test_late_invoice_loses_its_cover_and_the_other_is_indemnified() -> None:
    data = replay("claim_late_notification.yaml")
    (notification,) = outcomes(data, "notify_overdue")
    assert notification["invoices"] == [
        {"number": "F-601", "status": "refused", "code": "overdue.deadline_passed", "deadline": "2026-05-15"},
        {"number": "F-602", "status": "accepted", "code": None, "deadline": "2026-07-14"},
    ]


def test_a_recovery_on_a_debt_outside_the_claim_is_not_shared() -> None:
    data = replay("claim_late_notification.yaml")
    (recovery,) = outcomes(data, "recovery")
    assert recovery["commission_amount"] == "600.00"  # 10 % on the non-guaranteed F-601
    assert recovery["insurer_share_amount"] == "0.00"
    assert recovery["insured_share_amount"] == "6000.00"
    assert data["final"]["claims"] == FINAL_CLAIMS["claim_late_notification.yaml"]


def test_limit_reduction_caps_only_the_later_delivery() -> None:
    data = replay("claim_after_limit_reduction.yaml")
    (reduction,) = outcomes(data, "reduce_limit")
    assert reduction["granted_amount"] == "20000.00"
    assert reduction["effective_date"] == "2026-03-01"
    (notification,) = outcomes(data, "notify_overdue")
    assert [i["number"] for i in notification["invoices"]] == ["F-2026-034", "F-2026-047"]  # F-2026-021 is paid


def test_the_second_claim_of_the_year_is_capped_by_the_maximum_liability() -> None:
    settled = outcomes(replay("claim_max_liability_cap.yaml"), "settle_claim")
    cap = next(line for line in settled[1]["lines"] if line["code"] == "max_liability")
    assert "30000.00" in cap["rule"]
    assert "17500.00" in cap["rule"]
    assert not any(line["code"] == "max_liability" for line in settled[0]["lines"])


# ------------------------------------------------------------------------------------------ bad input


def test_notifying_a_buyer_without_overdue_invoice_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + F1
        + "  - {date: 2026-03-01, notify_overdue: {buyer: B1}}\n"  # F-1 falls due on 11 April
        + "  - {date: 2026-04-20, notify_overdue: {buyer: B1}}\n",
    )
    early, in_time = outcomes(simulate_json(path), "notify_overdue")
    assert early["status"] == "refused"
    assert early["code"] == "overdue.no_overdue_invoice"
    assert early["message"]
    assert in_time["status"] == "accepted"  # the replay went on, and nothing was recorded by the refusal


def test_settling_without_a_claim_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + F1
        + "  - {date: 2026-05-20, notify_overdue: {buyer: B1}}\n"
        + "  - {date: 2026-05-21, settle_claim: {buyer: B1}}\n"
        + "  - {date: 2026-05-22, claim: {buyer: B1, documents: [unpaid_invoices]}}\n",
    )
    data = simulate_json(path)
    (settle,) = outcomes(data, "settle_claim")
    assert settle["status"] == "refused"
    assert settle["code"] == "claim.not_filed"
    (claim,) = outcomes(data, "claim")
    assert claim["code"] == "claim.waiting_period_running"
    assert data["final"]["claims"] == []


def test_a_claim_without_an_accepted_notification_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + F1 + "  - {date: 2026-12-01, claim: {buyer: B1, documents: [unpaid_invoices]}}\n")
    (claim,) = outcomes(simulate_json(path), "claim")
    assert claim["status"] == "refused"
    assert claim["code"] == "claim.no_accepted_notification"


def test_a_recovery_larger_than_the_debt_is_refused(tmp_path: Path) -> None:
    # Notified: 21,600 + 26,400 = 48,000 incl. VAT owed.
    path = write(
        tmp_path,
        HEADER
        + F1
        + F2
        + "  - {date: 2026-05-20, notify_overdue: {buyer: B1}}\n"
        + "  - {date: 2026-06-15, recovery: {buyer: B1, amount: '48000.01'}}\n"
        + "  - {date: 2026-06-16, recovery: {buyer: B1, amount: '48000.00'}}\n",
    )
    data = simulate_json(path)
    too_much, everything = outcomes(data, "recovery")
    assert too_much["status"] == "refused"
    assert too_much["code"] == "collection.receipt_exceeds_debt"
    assert everything["status"] == "done"
    assert data["final"]["exposure"]["B1"]["outstanding_amount"] == "0.00"


def test_a_recovery_without_a_collection_case_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + F1 + "  - {date: 2026-05-20, recovery: {buyer: B1, amount: '100.00'}}\n")
    (recovery,) = outcomes(simulate_json(path), "recovery")
    assert recovery["status"] == "refused"
    assert recovery["code"] == "recovery.no_collection_case"


def test_a_recovery_larger_than_what_remains_after_the_buyers_payments_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + F1
        + F2
        + "  - {date: 2026-05-20, notify_overdue: {buyer: B1}}\n"
        + "  - {date: 2026-06-30, payment: {buyer: B1, amount: '9600.00'}}\n"
        + "  - {date: 2026-08-10, payment: {buyer: B1, amount: '6000.00'}}\n"
        + "  - {date: 2026-09-15, recovery: {buyer: B1, amount: '40000.00'}}\n",
    )
    (recovery,) = outcomes(simulate_json(path), "recovery")
    assert recovery["status"] == "refused"
    assert recovery["code"] == "collection.receipt_exceeds_debt"


def test_after_a_published_insolvency_every_unpaid_invoice_is_notified(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + INVOICE.format(day="2026-03-02", number="F-1", due="2026-05-01", net="10000.00", vat="2000.00")
        + INVOICE.format(day="2026-04-30", number="F-2", due="2026-06-29", net="20000.00", vat="4000.00")
        + "  - {date: 2026-05-12, insolvency: {buyer: B1, procedure: redressement_judiciaire,\n"
        + "                                    judgment_date: 2026-05-07, publication_date: 2026-05-12}}\n"
        + "  - {date: 2026-06-05, notify_overdue: {buyer: B1}}\n"
        + "  - {date: 2026-07-10, claim: {buyer: B1, documents: [unpaid_invoices, proof_of_delivery,\n"
        + "                                                      collection_attempts, administrator_claim_filing]}}\n"
        + "  - {date: 2026-07-20, settle_claim: {buyer: B1}}\n",
    )
    data = simulate_json(path)
    (notification,) = outcomes(data, "notify_overdue")
    assert [(i["number"], i["status"], i["deadline"]) for i in notification["invoices"]] == [
        ("F-1", "accepted", "2026-06-11"),
        ("F-2", "accepted", "2026-06-11"),
    ]
    (settle,) = outcomes(data, "settle_claim")
    assert (settle["loss_amount"], settle["indemnity_amount"]) == ("30000.00", "27000.00")


def test_an_unknown_document_refuses_the_file_naming_its_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + F1
        + "  - {date: 2026-05-20, notify_overdue: {buyer: B1}}\n"
        + "  - date: 2026-10-20\n"
        + "    claim:\n"
        + "      buyer: B1\n"
        + "      documents:\n"
        + "        - unpaid_invoices\n"
        + "        - kbis_extract\n",
    )
    result = run(str(path), "--json", code=1)
    assert result.stdout == ""
    text = " ".join(ANSI.sub("", result.output).split())
    assert f"{path}, line 17, field events[3].claim.documents[1]: unknown document 'kbis_extract'" in text
    assert "administrator_claim_filing" in text  # the message lists the known codes
