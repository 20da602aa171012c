"""The simulated store's ASGI app: GraphQL Admin, REST Admin, bulk downloads, control API."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request, Response
from fastapi_offline import FastAPIOffline

from shababco.simulator import control, rest
from shababco.simulator.about import DESCRIPTION
from shababco.simulator.graphql_exec import MISSING_QUERY, execute_request, read_request
from shababco.simulator.runtime import Simulator, SimulatorConfig
from shababco.simulator.schema import admin_schema


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def create_app(config: SimulatorConfig) -> FastAPI:
    """Build the app; the store is seeded here, webhook workers start with the lifespan."""
    simulator = Simulator(config)
    admin_schema()  # load Shopify's schema now rather than on the first request

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await simulator.dispatcher.start()
        try:
            yield
        finally:
            await simulator.dispatcher.stop()

    # Swagger UI's files are served by this process: the docs work with no network.
    app = FastAPIOffline(
        title="Shababco simulated Shopify store",
        description=DESCRIPTION,
        version="1",
        lifespan=lifespan,
        openapi_url="/_simulator/openapi.json",
        docs_url="/_simulator/docs",
        redoc_url=None,
        static_url="/_simulator/docs/static",
    )
    app.state.simulator = simulator
    app.include_router(control.router)
    app.include_router(rest.router)

    @app.post("/admin/api/{version}/graphql.json", include_in_schema=False)
    async def graphql(request: Request, version: str) -> Response:
        denied = simulator.check_token(request)
        if denied is not None:
            return denied
        parsed = read_request(await request.body(), request.headers.get("content-type", ""))
        if parsed is None:
            return _json(MISSING_QUERY, 400)
        return _json(execute_request(parsed, simulator.context(version), simulator.bucket))

    @app.get("/_simulator/bulk/{operation_id}.jsonl", include_in_schema=False)
    async def bulk_result(operation_id: int, signature: str = "") -> Response:
        operation = simulator.store.bulk_operations.get(operation_id)
        if operation is None or not hmac.compare_digest(
            signature, simulator.bulk.signature(operation_id)
        ):
            return _json({"error": "not found"}, 404)
        return Response(operation.result, media_type="application/jsonl")

    @app.get("/_simulator/health", operation_id="health")
    async def health() -> dict[str, str]:
        """Liveness; needs no token."""
        return {"status": "ok"}

    app.include_router(rest.unknown_routes)
    return app
