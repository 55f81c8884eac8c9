"""Background jobs: a page reads a snapshot, never the job its thread keeps changing."""

from __future__ import annotations

import threading
import time

import pytest

from tradecover.domain.errors import InvalidInput, NotFound
from tradecover.web.jobs import JobRegistry, Progress


def test_a_page_reads_a_snapshot_that_the_work_does_not_change_under_it() -> None:
    registry = JobRegistry()
    go_on = threading.Event()

    def work(progress: Progress) -> str:
        progress(1, 2)
        go_on.wait(timeout=10)
        return "the result"

    started = registry.start("test", "user-1", work)
    deadline = time.monotonic() + 10
    while registry.get(started.id, "test", "user-1").done != 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    seen = registry.get(started.id, "test", "user-1")
    go_on.set()
    assert started.thread is not None
    started.thread.join(timeout=10)
    assert (seen.finished, seen.result, seen.percent) == (False, None, 50)  # as it was when read
    done = registry.get(started.id, "test", "user-1")
    assert (done.finished, done.result, done.percent) == (True, "the result", 100)
    with pytest.raises(NotFound):
        registry.get(started.id, "test", "user-2")  # another user's job is not found
    with pytest.raises(NotFound):
        registry.get(started.id, "other kind", None)


def test_a_refusal_of_the_services_is_kept_for_the_page_to_word() -> None:
    registry = JobRegistry()

    def work(progress: Progress) -> str:
        raise InvalidInput("bad", code="test.bad")

    job = registry.start("test", "user-1", work, wait=True)
    seen = registry.get(job.id, "test", None)
    assert seen.finished
    assert seen.failure is not None
    assert seen.failure.code == "test.bad"
    assert seen.result is None
