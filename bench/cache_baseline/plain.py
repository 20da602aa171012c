"""The original plan's Phase 1, written plainly: FastAPI route → Redis GET → on a miss, query,
`json.dumps`, SETEX. No ETag, no L1, no invalidation beyond the TTL.

Environment: `DATABASE_URL`, `REDIS_URL`.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import create_async_engine

from shababco.catalog import detail, listing
from shababco.catalog.params import EventListParams
from shababco.catalog.schemas import detail_dict, summary_dict
from shababco.database.engines import async_url

TTL = 300
engine = create_async_engine(async_url(os.environ["DATABASE_URL"]), pool_size=20)
redis = Redis(
    connection_pool=BlockingConnectionPool.from_url(os.environ["REDIS_URL"], max_connections=100)
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await redis.aclose()
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


async def cached(key: str, compute: Any) -> Response:
    body = await redis.get(key)
    if body is None:
        body = json.dumps(await compute(), default=str)
        await redis.setex(key, TTL, body)
    return Response(body, media_type="application/json")


@app.get("/events")
async def list_events(limit: int = 20) -> Response:
    async def compute() -> Any:
        async with engine.connect() as conn:
            result = await listing.list_events(conn, EventListParams(limit=limit))
        return {"items": [summary_dict(row) for row in result.rows], "total": result.total}

    return await cached(f"plain:events:{limit}", compute)


@app.get("/events/{event_id}")
async def get_event(event_id: str) -> Response:
    async def compute() -> Any:
        event = await detail.get_event(engine, event_id)
        assert event is not None, "the benchmark asks for events that exist"
        return detail_dict(event)

    return await cached(f"plain:event:{event_id}", compute)
