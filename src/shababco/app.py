"""create_app(): the API process. The lifespan owns the database (and, later, cache and jobs)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import Response
from sqlalchemy import text

from shababco import __version__
from shababco.cache.asgi import CacheMiddleware
from shababco.cache.core import ResponseCache
from shababco.catalog.routes import router as catalog_router
from shababco.changes import ChangeFeed
from shababco.config import Settings, get_settings
from shababco.db import Database, open_database
from shababco.errors import install_error_handlers
from shababco.http import dumps
from shababco.migrate import upgrade
from shababco.shopify.client import ShopifyClient
from shababco.shopify.inbox import InboxWorker
from shababco.shopify.refetch import ProductRefetcher
from shababco.shopify.scheduled import run_reconciler
from shababco.shopify.webhooks import router as webhooks_router

log = logging.getLogger(__name__)
READY_TIMEOUT_SECONDS = 2.0


async def start_database(settings: Settings) -> Database:
    """Open the engines; on the embedded default also start the server and migrate it."""
    database = await asyncio.to_thread(open_database, settings)
    if database.embedded is not None:
        await upgrade(database.write)
    return database


def _store_client(settings: Settings) -> ShopifyClient | None:
    """The Admin API client, when a store is configured (not on a bare local default)."""
    if settings.shopify_shop is None or settings.shopify_access_token is None:
        return None
    return ShopifyClient.from_settings(settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    cache = ResponseCache(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.database = database = await start_database(settings)
        app.state.changes = changes = ChangeFeed(database.write)
        await cache.start(database.read, changes)
        stop = asyncio.Event()
        store = _store_client(settings)
        refetcher = None
        workers = []
        if store is not None:
            refetcher = ProductRefetcher(
                database.write, store, changes, currency=settings.shop_currency
            )
            workers.append(asyncio.create_task(refetcher.run(stop), name="product-refetch"))
            workers.append(
                asyncio.create_task(
                    run_reconciler(settings, database, changes, stop=stop), name="reconciler"
                )
            )
        app.state.inbox = InboxWorker(
            database.write, changes, currency=settings.shop_currency, refetcher=refetcher
        )
        workers.append(asyncio.create_task(app.state.inbox.run(stop), name="webhook-inbox"))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*workers, return_exceptions=True)
            if store is not None:
                await store.aclose()
            await cache.stop()
            await database.dispose()

    app = FastAPI(
        title="Shababco events API",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.cache = cache
    app.add_middleware(CacheMiddleware, cache=cache)
    install_error_handlers(app)
    app.include_router(catalog_router)
    app.include_router(webhooks_router)
    _add_probes(app)
    return app


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
        }
        return Response(
            dumps(body),
            status_code=200 if db_status == "ok" else 503,
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
