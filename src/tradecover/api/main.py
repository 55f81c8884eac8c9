"""The ASGI application for servers: ``uvicorn tradecover.api.main:app``."""

from __future__ import annotations

from tradecover.api.app import create_app

# The served application delivers the alert outbox in the background (tests build apps without it).
app = create_app(deliver_alerts=True)
