"""Delivery channels for alerts: e-mail over SMTP and signed webhooks.

This package sits at the persistence layer's level: it may use the domain
(errors, :mod:`tradecover.domain.webhook_signing`) and the services' ports, but
no database or web framework, and the services never import it. The outbox
decides *when* to deliver (and retries by
:func:`tradecover.domain.webhook_signing.retry_delay`); the channels here only
try once and say whether a failure is worth retrying
(:class:`tradecover.notify.errors.DeliveryFailed`).
"""
