"""The re-grading job killed with SIGKILL mid-run, then run again, ends as an uninterrupted run would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sqlalchemy import func, select

from tradecover.bootstrap import Container
from tradecover.persistence import tables as t
from tradecover.persistence.synthetic_book import seed_synthetic_buyers
from tradecover.risk.grading import load_default_model
from tradecover.services.grading import score_batch
from tradecover.services.grading_ports import RunState

BUYERS = 12000
BATCH = 25


def _cli(database_url: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRADECOVER_DATABASE_URL": database_url, "TRADECOVER_ENVIRONMENT": "test"}
    return subprocess.Popen(  # noqa: S603 - our own command line, fixed arguments
        [sys.executable, "-c", "from tradecover.cli.main import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _processed(container: Container) -> tuple[int, int]:
    with container.engine.connect() as connection:
        processed = connection.scalar(select(func.coalesce(func.max(t.JobRunRow.processed), 0))) or 0
        history = connection.scalar(select(func.count()).select_from(t.GradeHistoryRow)) or 0
    return processed, history


def _reference_grades(container: Container) -> dict[str, tuple[int, str]]:
    """What an uninterrupted run gives: the pure scoring of every buyer's inputs, nothing written."""
    model = load_default_model()
    expected: dict[str, tuple[int, str]] = {}
    cursor = ""
    with container.uow() as uow:
        while True:
            batch = uow.grading.next_batch(RunState("reference", "all", "", cursor, 0, 0, False), 1000)
            if batch is None:
                break
            result = score_batch(model, batch)
            for buyer_id, grade, pd in zip(result.buyer_ids, result.grade.tolist(), result.pd.tolist(), strict=True):
                expected[buyer_id] = (grade, f"{pd:.8f}")
            cursor = batch.buyer_ids[-1]
    return expected


def test_a_killed_regrade_resumes_to_the_uninterrupted_state(container: Container, database_url: str) -> None:
    seed_synthetic_buyers(container.engine, BUYERS, seed=11)
    expected = _reference_grades(container)

    # The pause between batches lets this test's reads in between the job's commits (SQLite).
    first = _cli(database_url, "jobs", "regrade", "--all", "--batch-size", str(BATCH), "--pause-ms", "5", "--json")
    deadline = time.monotonic() + 120
    seen = []
    while time.monotonic() < deadline:
        processed, _ = _processed(container)
        seen.append((round(time.monotonic(), 3), processed))
        if processed >= 5 * BATCH or first.poll() is not None:
            break
        time.sleep(0.01)
    if first.poll() is not None:
        pytest.fail(f"the job ended on its own ({first.returncode}): {first.communicate()[1].decode()[-2000:]}")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    processed, history = _processed(container)
    if processed >= BUYERS:
        pytest.fail(f"the job finished before it could be killed: raise BUYERS or lower BATCH {seen[-5:]}")
    assert first.returncode == -signal.SIGKILL
    assert 0 < processed < BUYERS
    # Whatever the kill interrupted, committed batches are whole: history matches the cursor.
    assert history == processed

    second = _cli(database_url, "jobs", "regrade", "--all", "--batch-size", str(BATCH), "--json")
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err.decode()
    assert b'"resumed": true' in out

    with container.engine.connect() as connection:
        runs = connection.execute(select(t.JobRunRow.processed, t.JobRunRow.finished_at)).all()
        rows = connection.execute(
            select(t.GradeHistoryRow.buyer_id, t.GradeHistoryRow.grade, t.GradeHistoryRow.probability_of_default)
        ).all()
        current = dict(connection.execute(select(t.BuyerRow.id, t.BuyerRow.risk_grade)).all())
        alerts = connection.scalar(select(func.count()).select_from(t.AlertRow))
    assert len(runs) == 1
    assert runs[0].processed == BUYERS
    assert runs[0].finished_at is not None
    assert len(rows) == BUYERS  # no duplicate grade rows
    assert len({r.buyer_id for r in rows}) == BUYERS
    graded = {r.buyer_id: (r.grade, f"{float(r.probability_of_default):.8f}") for r in rows}
    assert graded == expected
    assert current == {buyer_id: grade for buyer_id, (grade, _) in expected.items()}
    assert alerts == 0  # first grades: nobody was downgraded
    assert np.isfinite([float(r.probability_of_default) for r in rows]).all()
