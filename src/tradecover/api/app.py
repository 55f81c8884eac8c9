"""The application factory: nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tradecover import __version__
from tradecover.api.middleware import BodySizeLimit, Idempotency, upload_aware_limit
from tradecover.api.problems import install_handlers
from tradecover.api.routes import (
    alerts,
    api_keys,
    audit,
    auth,
    buyers,
    claims,
    collection,
    factoring,
    health,
    limits,
    offers,
    organisations,
    policies,
    portfolio,
    portfolio_loss,
    premium,
    quotes,
    receivables,
    risk,
)
from tradecover.bootstrap import Container, build
from tradecover.config import Settings
from tradecover.jobs.premium_run import BackgroundPremiumRun
from tradecover.notify.dispatcher import BackgroundDispatcher
from tradecover.web.pages import router as web_router

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None, container: Container | None = None, *, deliver_alerts: bool = False
) -> FastAPI:
    container = container or build(settings)
    built = container

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        interval = built.settings.alert_dispatch_seconds
        dispatcher = None
        premium_run = None
        if deliver_alerts and interval > 0:
            dispatcher = BackgroundDispatcher(built.uow, built.clock, built.settings, interval)
            dispatcher.start()
        # The server's background jobs run together: the outbox, and the premium run.
        if deliver_alerts and built.settings.premium_run_seconds > 0:
            premium_run = BackgroundPremiumRun(built.uow, built.clock, built.settings.premium_run_seconds)
            premium_run.start()
        try:
            yield
        finally:
            if dispatcher is not None:
                dispatcher.stop()
            if premium_run is not None:
                premium_run.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="tradecover",
        version=__version__,
        summary="Trade credit insurance platform (assurance-crédit) API",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.container = container
    install_handlers(app)
    for module in (
        auth,
        organisations,
        api_keys,
        buyers,
        policies,
        limits,
        risk,
        receivables,
        alerts,
        claims,
        collection,
        quotes,
        offers,
        premium,
        factoring,
        portfolio,
        portfolio_loss,
        audit,
        health,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(web_router)
    # Outermost first: the size limit guards everything, idempotency sees bounded bodies.
    app.add_middleware(Idempotency, container=container)
    app.add_middleware(BodySizeLimit, max_bytes=upload_aware_limit(container))
    return app
