"""The alert outbox's delivery loop, for the server (a daemon thread) and ``tradecover jobs deliver-alerts``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from tradecover.config import Settings
from tradecover.domain.periods import Clock
from tradecover.notify.channels import SmtpAndWebhookChannels
from tradecover.notify.email import SmtpSettings
from tradecover.services.alerts import DispatchSummary, dispatch
from tradecover.services.ports import UnitOfWork

log = logging.getLogger(__name__)


def channels_for(s: Settings) -> SmtpAndWebhookChannels:
    smtp = (
        None
        if not s.smtp_host
        else SmtpSettings(
            host=s.smtp_host,
            port=s.smtp_port,
            sender=s.smtp_sender,
            username=s.smtp_username,
            password=s.smtp_password,
            starttls=s.smtp_starttls,
        )
    )
    return SmtpAndWebhookChannels(smtp, allow_private=s.webhook_allow_private_networks)


def deliver_due(
    uow_factory: Callable[[], UnitOfWork], clock: Clock, channels: SmtpAndWebhookChannels
) -> DispatchSummary:
    """Deliver every outbox row that is due, batch after batch."""
    total = DispatchSummary()
    while True:
        batch = dispatch(uow_factory, clock, channels)
        total.delivered += batch.delivered
        total.retried += batch.retried
        total.failed += batch.failed
        if batch.delivered + batch.retried + batch.failed == 0:
            return total


class BackgroundDispatcher:
    """Delivers the outbox every ``interval`` seconds until stopped."""

    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], clock: Clock, settings: Settings, interval: float
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.settings = settings
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        channels = channels_for(self.settings)
        try:
            while not self._stop.wait(self.interval):
                try:
                    deliver_due(self.uow_factory, self.clock, channels)
                except Exception:
                    log.exception("alert delivery failed; retrying at the next tick")
        finally:
            channels.close()
