"""The ASGI application for servers: ``uvicorn tradecover.api.main:app``."""

from __future__ import annotations

from tradecover.api.app import create_app

app = create_app()
