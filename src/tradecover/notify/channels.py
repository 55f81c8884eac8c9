"""The alert channels of the outbox (``services.alerts.AlertChannels``): SMTP e-mail and signed webhooks."""

from __future__ import annotations

from tradecover.domain.errors import InvalidInput
from tradecover.notify.email import SmtpMailer, SmtpSettings
from tradecover.notify.errors import DeliveryFailed
from tradecover.notify.webhooks import WebhookSender
from tradecover.services.alerts import ChannelFailure


class SmtpAndWebhookChannels:
    """Sends e-mail through an SMTP relay and POSTs webhooks; failures become retryable or permanent."""

    def __init__(self, smtp: SmtpSettings | None, *, webhook_timeout: float = 10.0, allow_private: bool = True) -> None:
        self.mailer = None if smtp is None else SmtpMailer(smtp)
        self.webhooks = WebhookSender(timeout=webhook_timeout, allow_private_networks=allow_private)

    def send_email(self, *, to: str, subject: str, text: str) -> None:
        if self.mailer is None:
            raise ChannelFailure("no SMTP relay is configured (TRADECOVER_SMTP_HOST)", permanent=False)
        try:
            self.mailer.send(to=[to], subject=subject, text=text)
        except DeliveryFailed as failure:
            raise ChannelFailure(str(failure), permanent=failure.permanent) from failure
        except InvalidInput as error:
            raise ChannelFailure(error.message, permanent=True) from error

    def post_webhook(self, *, url: str, secret: str, event_id: str, body: bytes, now: int) -> None:
        try:
            self.webhooks.post(url=url, secret=secret, event_id=event_id, body=body, now=now)
        except DeliveryFailed as failure:
            raise ChannelFailure(str(failure), permanent=failure.permanent) from failure
        except InvalidInput as error:
            raise ChannelFailure(error.message, permanent=True) from error

    def close(self) -> None:
        self.webhooks.close()
