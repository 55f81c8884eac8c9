"""Long work started from the portal (a loss run, a ledger import, a re-grading) runs in a background thread.

The page that starts it answers at once with a redirect to the job's page, which refreshes itself and shows
the progress (``done`` of ``total``) until the result or the error is there. Jobs live in this process's
memory, by a random id, and belong to the user who started them: another user's job is not found, exactly as
an unknown id. The registry keeps the last finished jobs only.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from tradecover.domain.errors import DomainError, NotFound

T = TypeVar("T")
Progress = Callable[[int, int], None]


@dataclass
class Job(Generic[T]):
    id: str
    kind: str
    owner: str  # the user id of who started it
    parameters: Any = None
    done: int = 0
    total: int = 0
    result: T | None = None
    error: str | None = None  # the failure in the log's words (English); pages show `failure` or a generic text
    failure: DomainError | None = None  # a refusal of the services, for problem_text
    finished: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        return min(int(100 * self.done / self.total), 99) if self.total > 0 else 0

    def snapshot(self) -> Job[T]:
        """The job as it stands, for one page: the work thread keeps changing the job while a page renders it.

        ``finished`` is read first: the work sets its result (or its error) before it says it is finished, so
        a snapshot that is finished always holds the one or the other.
        """
        finished = self.finished
        return Job(
            id=self.id,
            kind=self.kind,
            owner=self.owner,
            parameters=self.parameters,
            done=self.done,
            total=self.total,
            result=self.result,
            error=self.error,
            failure=self.failure,
            finished=finished,
        )


class JobRegistry:
    """The jobs started in this process, by id: progress, then the result or the error."""

    def __init__(self, keep: int = 50) -> None:
        self._jobs: dict[str, Job[Any]] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def start(
        self, kind: str, owner: str, work: Callable[[Progress], T], *, parameters: Any = None, wait: bool = False
    ) -> Job[T]:
        """Run `work(progress)` in a thread; with `wait`, return once it ended (for work known to be short)."""
        job: Job[T] = Job(id=uuid.uuid4().hex, kind=kind, owner=owner, parameters=parameters)

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        def run() -> None:
            try:
                job.result = work(progress)
            except DomainError as error:
                job.error, job.failure = str(error), error
            except Exception as error:  # shown on the job's page: the work is over either way
                job.error = f"the work failed: {type(error).__name__}"
            finally:
                job.finished = True

        with self._lock:
            finished = [key for key, old in self._jobs.items() if old.finished]
            for key in finished[: max(len(self._jobs) - self._keep + 1, 0)]:
                del self._jobs[key]
            self._jobs[job.id] = job
        job.thread = threading.Thread(target=run, name=f"portal-{kind}-{job.id[:8]}", daemon=True)
        job.thread.start()
        if wait:
            job.thread.join()
        return job

    def get(self, job_id: str, kind: str, owner: str | None) -> Job[Any]:
        """A snapshot of the job of this kind; `owner` None lets any caller see it (staff sharing a loss run)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.kind != kind or (owner is not None and job.owner != owner):
            raise NotFound("no such job", code="job.not_found")
        return job.snapshot()


JOBS = JobRegistry()
