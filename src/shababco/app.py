"""create_app(): the API process. The lifespan owns the database, the cache and the jobs."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import text

from shababco import __version__, heap, metrics
from shababco.cache.asgi import CacheMiddleware
from shababco.cache.changes import ChangeFeed
from shababco.cache.core import ResponseCache
from shababco.catalog.keys import cache_key
from shababco.catalog.routes import router as catalog_router
from shababco.config import Settings, get_settings
from shababco.database.engines import Database
from shababco.database.migrate import migrated_database
from shababco.errors import ApiError, install_error_handlers
from shababco.http import dumps
from shababco.logs import register_secrets
from shababco.sale.routes import router as sale_router
from shababco.sale.stream import StreamingApp
from shababco.shopify.admin.client import ShopifyClient
from shababco.shopify.sync.scheduled import run_reconciler
from shababco.shopify.webhooks.inbox import InboxWorker, backlog
from shababco.shopify.webhooks.intake import router as webhooks_router
from shababco.shopify.webhooks.refetch import ProductRefetcher
from shababco.telemetry import TelemetryMiddleware

log = logging.getLogger(__name__)
READY_TIMEOUT_SECONDS = 2.0


class BackgroundJobs:
    """The webhook inbox worker and, when a store is configured, product refetch and the
    periodic reconciliation (which runs on one process only)."""

    def __init__(self, settings: Settings, database: Database, changes: ChangeFeed) -> None:
        self.stop = asyncio.Event()
        self.store: ShopifyClient | None = None
        refetcher = None
        coroutines = []
        if settings.shopify_shop is not None and settings.shopify_access_token is not None:
            self.store = ShopifyClient.from_settings(settings)
            currency = settings.shop_currency
            refetcher = ProductRefetcher(database.write, self.store, changes, currency=currency)
            coroutines += [
                refetcher.run(self.stop),
                run_reconciler(settings, database, changes, stop=self.stop),
            ]
        self.inbox = InboxWorker(
            database.write, changes, currency=settings.shop_currency, refetcher=refetcher
        )
        coroutines.append(self.inbox.run(self.stop))
        self._tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.store is not None:
            await self.store.aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    register_secrets(settings.secret_values())
    cache = ResponseCache(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        async with migrated_database(settings) as database:
            app.state.database = database
            app.state.changes = changes = ChangeFeed(database.write)
            await cache.start(database.read, changes)
            jobs = BackgroundJobs(settings, database, changes)
            app.state.inbox = jobs.inbox
            heap.settle()
            try:
                yield
            finally:
                await jobs.close()
                await cache.stop()

    app = StreamingApp(  # FastAPI, running the live streams after their request is answered
        title="Shababco events API",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.cache = cache
    app.add_middleware(CacheMiddleware, cache=cache, cache_key=cache_key)
    # Added last, so outermost: cache hits are measured and carry a request id too.
    app.add_middleware(TelemetryMiddleware, access_log_enabled=settings.access_log)
    install_error_handlers(app)
    app.include_router(catalog_router)
    app.include_router(webhooks_router)
    app.include_router(sale_router)  # its lifespan runs the live streams' hub
    _add_probes(app)
    _add_metrics(app, settings)
    return app


def _add_metrics(app: FastAPI, settings: Settings) -> None:
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    @app.get("/metrics", tags=["probes"], operation_id="metrics")
    async def metrics_text(request: Request) -> Response:
        """Prometheus text format: every worker's metrics, summed, and the inbox backlog."""
        if token is not None:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
            if not hmac.compare_digest(given, token.encode()):
                raise ApiError(401, "unauthorized", "/metrics needs Authorization: Bearer")
        readings = None
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                async with app.state.database.read.connect() as conn:
                    readings = metrics.inbox_readings(**await backlog(conn))
        except Exception as exc:
            log.warning("inbox backlog unavailable for /metrics: %s", type(exc).__name__)
        return Response(
            metrics.exposition(readings),
            media_type=metrics.CONTENT_TYPE,
            headers={"Cache-Control": "no-store"},
        )


def _add_probes(app: FastAPI) -> None:
    @app.get("/health", tags=["probes"], operation_id="health")
    async def health() -> Response:
        """Liveness: the process answers."""
        return Response(dumps({"status": "ok"}), media_type="application/json")

    @app.get("/ready", tags=["probes"], operation_id="ready")
    async def ready() -> Response:
        """Readiness: the database answers; a degraded cache is reported, not fatal."""
        database = app.state.database
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                async with database.read.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            db_status = "ok"
        except Exception as exc:
            log.warning("readiness check failed: %s", type(exc).__name__)
            db_status = "unavailable"
        body = {
            "status": "ready" if db_status == "ok" else "unavailable",
            "database": db_status,
            "cache": app.state.cache.status,
            # The change-log position this process's cache has followed to: compare processes.
            "change_log_seq": app.state.cache.generations.horizon,
        }
        return Response(
            dumps(body),
            status_code=200 if db_status == "ok" else 503,
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
