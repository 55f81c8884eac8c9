"""The premium run in the server: what falls due each day is issued without anyone asking.

Every ``interval`` seconds (and once at start) the server runs the same use case as
``tradecover premium run``, as of today; the run is idempotent, so repeating it issues nothing twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from tradecover.domain.periods import Clock
from tradecover.services import accounts, premium
from tradecover.services.authorization import system_actor
from tradecover.services.ports import UnitOfWork

log = logging.getLogger(__name__)


def run_once(uow_factory: Callable[[], UnitOfWork], clock: Clock) -> premium.RunSummary:
    with uow_factory() as uow:
        insurer = accounts.ensure_insurer(uow, clock)
        uow.commit()
        return premium.run_premium(uow, clock, system_actor(insurer.id), as_of=clock.today())


class BackgroundPremiumRun:
    """Runs the premium batch at start, then every ``interval`` seconds until stopped."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Clock, interval: float) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="premium-run", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            try:
                summary = run_once(self.uow_factory, self.clock)
                log.info(
                    "premium run as of %s: %d documents, %d renewals, %d alerts",
                    summary.as_of,
                    len(summary.documents),
                    summary.renewed,
                    summary.alerts,
                )
            except Exception:
                log.exception("the premium run failed; retrying at the next tick")
            if self._stop.wait(self.interval):
                return
