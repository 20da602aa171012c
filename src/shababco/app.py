"""create_app(): the API process. The lifespan owns the database, the cache and the jobs."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.telemetry import TelemetryConfig
from pydantic import BaseModel
from sqlalchemy import text

from shababco import __version__, heap, metrics
from shababco.cache.asgi import CacheMiddleware
from shababco.cache.changes import ChangeFeed
from shababco.cache.core import ResponseCache
from shababco.catalog.front import EventFront
from shababco.catalog.keys import cache_key
from shababco.catalog.routes import router as catalog_router
from shababco.config import Settings, get_settings
from shababco.database.engines import Database, create_engine
from shababco.database.leases import Leadership
from shababco.database.migrate import migrated_database
from shababco.docs_pages import add_offline_docs
from shababco.errors import (
    ApiError,
    ErrorOut,
    error_response,
    error_responses,
    install_error_handlers,
)
from shababco.http import HeadAsGet, dumps
from shababco.logs import register_secrets
from shababco.sale.routes import router as sale_router
from shababco.sale.stream import StreamingApp
from shababco.serving.admission import Admission, Door
from shababco.serving.lane import Intake
from shababco.serving.loop import attach_door, attach_intake
from shababco.shopify.admin.client import ShopifyClient
from shababco.shopify.sync.scheduled import (
    keep_subscriptions,
    reconciler_leadership,
    run_reconciler,
)
from shababco.shopify.webhooks.inbox import InboxWorker, backlog
from shababco.shopify.webhooks.intake import router as webhooks_router
from shababco.shopify.webhooks.refetch import ProductRefetcher
from shababco.telemetry import AccessLog, TelemetryMiddleware

log = logging.getLogger(__name__)
READY_TIMEOUT_SECONDS = 2.0
# A main loop that has not run a timer for this long is stuck, not busy: /health says so.
STALLED_AFTER_SECONDS = 30.0
# FastAPI's own OpenTelemetry hooks look up the global providers on every request even when none
# is set up; this service measures itself (metrics, access log), so they are off.
NO_OPENTELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


class Heartbeat:
    """When the main loop last ran a timer: `/health` is answered on the intake lane, which
    would stay up if the main loop hung."""

    def __init__(self) -> None:
        self.beat = time.monotonic()

    async def run(self) -> None:
        while True:
            self.beat = time.monotonic()
            await asyncio.sleep(1.0)

    def stalled(self) -> bool:
        return time.monotonic() - self.beat > STALLED_AFTER_SECONDS


class InboxWake:
    """Wakes the main loop's inbox worker from the intake lane's thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, inbox: InboxWorker) -> None:
        self.loop, self.inbox = loop, inbox

    def wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the main loop has closed: nothing to wake
            self.loop.call_soon_threadsafe(self.inbox.wake)


class BackgroundJobs:
    """The webhook inbox worker and, when a store is configured, product refetch and the
    periodic reconciliation (which runs on one process only)."""

    def __init__(self, settings: Settings, database: Database, changes: ChangeFeed) -> None:
        self.stop = asyncio.Event()
        self.store: ShopifyClient | None = None
        self.leadership = reconciler_leadership(settings, database)
        refetcher = None
        coroutines = []
        if settings.shopify_shop is not None and settings.shopify_access_token is not None:
            self.store = ShopifyClient.from_settings(settings)
            currency = settings.shop_currency
            refetcher = ProductRefetcher(database.write, self.store, changes, currency=currency)
            coroutines += [
                refetcher.run(self.stop),
                run_reconciler(
                    settings, database, changes, stop=self.stop, leadership=self.leadership
                ),
                keep_subscriptions(settings, database, stop=self.stop),
            ]
        self.inbox = InboxWorker(
            database.write,
            changes,
            currency=settings.shop_currency,
            refetcher=refetcher,
            retention=timedelta(days=settings.webhook_inbox_retention_days),
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
    access_log = (
        AccessLog(log_format=settings.log_format, capacity=settings.access_log_buffer_lines)
        if settings.access_log
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        async with migrated_database(settings) as database:
            app.state.database = database
            app.state.changes = changes = ChangeFeed(database.write)
            await cache.start(database.read, changes)
            jobs = BackgroundJobs(settings, database, changes)
            app.state.inbox = jobs.inbox
            app.state.leadership = jobs.leadership
            app.state.loop = asyncio.get_running_loop()
            heartbeat = asyncio.create_task(app.state.heartbeat.run())
            attach_intake(
                Intake(
                    app=intake,
                    main_app=app,
                    keepalive=settings.http_keepalive_seconds,
                    request_timeout=settings.http_request_timeout_seconds,
                )
            )
            attach_door(door)
            heap.settle()
            if access_log is not None:
                access_log.start()
            try:
                yield
            finally:
                heartbeat.cancel()
                await jobs.close()
                await cache.stop()
                if access_log is not None:
                    access_log.close()  # every request answered by now: write their lines

    app = StreamingApp(  # FastAPI, running the live streams after their request is answered
        title="Shababco events API",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_OPENTELEMETRY,
    )
    add_offline_docs(app)  # Swagger UI and ReDoc with their files: the docs work offline
    app.state.cache = cache
    app.state.heartbeat = Heartbeat()
    app.state.access_log = access_log
    intake = create_intake_app(settings, main=app, access_log=access_log)
    # Innermost: an event's reads pass admission, the cache and telemetry like any route's.
    app.add_middleware(EventFront, routes=catalog_router.routes, handlers=app.exception_handlers)
    # Inside the cache's, so L1 hits are answered before admission (serving.admission); what
    # admission would refuse is answered at the connection's door, before the app.
    door = Door(app=app, cache=cache, cache_key=cache_key, access_log=access_log)
    app.add_middleware(
        Admission,
        max_in_flight=settings.http_max_in_flight,
        queue_budget_seconds=settings.http_queue_budget_ms / 1000,
        retry_after_seconds=settings.http_retry_after_seconds,
        refusal_rest_seconds=settings.http_refusal_rest_ms / 1000,
        door=door,
    )
    app.add_middleware(CacheMiddleware, cache=cache, cache_key=cache_key)
    app.add_middleware(HeadAsGet)  # outside the cache's, so a HEAD is an L1 hit too
    # Added last, so outermost: cache hits are measured and carry a request id too.
    app.add_middleware(TelemetryMiddleware, access_log=access_log)
    install_error_handlers(app)
    app.include_router(catalog_router)
    app.include_router(webhooks_router)
    app.include_router(sale_router)  # its lifespan runs the live streams' hub
    _add_health(app, app.state.heartbeat)
    _add_ready(app)
    _add_metrics(app, settings)
    _document_every_answer(app)
    return app


API_DESCRIPTION = """The Shababco events catalog: events (Shopify products) and their tickets.

Every answer carries `X-Request-ID` (the caller's, when it is a sane token, else a new one).
Errors are `{"error": {"code", "message"}}`; an unknown path is 404 and a method a path does not
take is 405, both in that shape. `HEAD` works wherever `GET` does. A query parameter given blank
(empty, or spaces) is the same as one not given."""


def _document_every_answer(app: FastAPI) -> None:
    """Serve the OpenAPI document with `X-Request-ID` on every answer, every error as JSON (even
    a text route's), and without the 422s that FastAPI adds to routes whose parameters cannot
    fail its validation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            for operations in schema["paths"].values():
                for operation in operations.values():
                    _complete_responses(operation["responses"])
            components = schema.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete_responses(responses: dict[str, Any]) -> None:
    schema = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema == {"$ref": "#/components/schemas/HTTPValidationError"}:
        del responses["422"]
    request_id = {
        "description": "The request's id, as in the logs.",
        "required": True,
        "schema": {"type": "string"},
    }
    for status, response in responses.items():
        response.setdefault("headers", {})["X-Request-ID"] = request_id
        if status >= "400" and "content" in response:
            response["content"] = {"application/json": next(iter(response["content"].values()))}


def create_intake_app(
    settings: Settings, *, main: FastAPI, access_log: AccessLog | None = None
) -> FastAPI:
    """Webhooks and `/health`, answered on the intake lane's loop (serving.lane).

    Its lifespan runs there once the main app has started: a pool of its own on the main app's
    database (up to DB_POOL_SIZE connections), and the main app's inbox worker woken across
    threads.
    """

    @asynccontextmanager
    async def lifespan(intake: FastAPI) -> AsyncIterator[None]:
        # DB_POOL_SIZE connections, opened as deliveries need them; more deliveries at once wait
        # for one: an overflow connection is closed when returned, and opening one costs more
        # than the insert it is for (it had cut ingest by a third).
        no_overflow = settings.model_copy(update={"db_max_overflow": 0})
        engine = create_engine(main.state.database.url, no_overflow)
        database = Database(url=main.state.database.url, write=engine, read=engine)
        intake.state.settings = settings
        intake.state.database = database
        intake.state.inbox = InboxWake(main.state.loop, main.state.inbox)
        try:
            yield
        finally:
            await database.dispose()

    intake = FastAPI(
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_OPENTELEMETRY,
    )
    intake.add_middleware(HeadAsGet)
    intake.add_middleware(TelemetryMiddleware, access_log=access_log)  # the main app's
    install_error_handlers(intake)
    intake.include_router(webhooks_router)
    _add_health(intake, main.state.heartbeat)
    return intake


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an `Authorization` header is `Bearer <token>` (the scheme in any case, as RFC
    9110 has it); a bare token is refused."""
    scheme, _, credentials = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.encode(), token.encode())


def _add_metrics(app: FastAPI, settings: Settings) -> None:
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    @app.get(
        "/metrics",
        tags=["probes"],
        operation_id="metrics",
        response_class=PlainTextResponse,
        responses={
            200: {"description": "Prometheus text format."},
            **error_responses(401, 500),
        },
    )
    async def metrics_text(request: Request) -> Response:
        """Prometheus text format: every worker's metrics, summed, and the inbox backlog."""
        if token is not None and not bearer_matches(request.headers.get("authorization"), token):
            raise ApiError(401, "unauthorized", "/metrics needs Authorization: Bearer <token>")
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


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready", "unavailable"]
    database: Literal["ok", "unavailable"]
    cache: Literal["ok", "degraded", "disabled"]
    change_log_seq: int
    reconcile: Literal["leader", "standby", "off"]


READY_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"model": ReadyOut, "description": "The database does not answer."},
    **error_responses(500),
}


def _reconcile_role(leadership: Leadership | None) -> str:
    """`leader` (this process runs the periodic passes), `standby`, or `off`."""
    if leadership is None:
        return "off"
    return "leader" if leadership.leader else "standby"


def _add_health(app: FastAPI, heartbeat: Heartbeat) -> None:
    @app.get(
        "/health",
        tags=["probes"],
        operation_id="health",
        response_model=HealthOut,
        responses={
            503: {"model": ErrorOut, "description": "The main event loop is stuck"},
            **error_responses(500),
        },
    )
    async def health() -> Response:
        """Liveness: the process answers, and its main loop is not stuck (busy is alive)."""
        if heartbeat.stalled():
            message = f"the main event loop has not run for {STALLED_AFTER_SECONDS:.0f} s"
            return error_response(503, "stalled", message)
        return Response(dumps({"status": "ok"}), media_type="application/json")


def _add_ready(app: FastAPI) -> None:
    @app.get(
        "/ready",
        tags=["probes"],
        operation_id="ready",
        response_model=ReadyOut,
        responses=READY_RESPONSES,
    )
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
            "reconcile": _reconcile_role(app.state.leadership),
        }
        return Response(
            dumps(body),
            status_code=200 if db_status == "ok" else 503,
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
