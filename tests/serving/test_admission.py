"""Admission: beyond its in-flight bound and queue budget, a process answers 503 `overloaded` at
once; intake, probes and live streams are never turned away; a slot is freed however its request
ends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Message, Receive, Scope, Send

from shababco.app import create_app
from shababco.cache.asgi import CacheMiddleware
from shababco.config import Settings
from shababco.serving.admission import Admission
from shababco.serving.protocol import REST_EXTENSION
from tests.support.data import load_products
from tests.support.factories import make_product
from tests.support.server import LiveServer, admission_of
from tests.support.webhook_client import deliver, eventually


class HeldApp:
    """An app whose `/hold` requests are answered once `release` is set, `/fail` raises."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0
        self.order: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.order.append(scope["path"])
        if scope["path"] == "/fail":
            raise RuntimeError("the dependency failed")
        if scope["path"] == "/hold":
            self.started += 1
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(app: Admission, path: str, rest: list[float] | None = None) -> list[Message]:
    """The messages `app` sends for a GET of `path` (`rest` records the rests it asks for)."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": path, "headers": []}
    if rest is not None:
        scope["extensions"] = {REST_EXTENSION: rest.append}
    await app(scope, receive, send)
    return sent


def status(messages: list[Message]) -> int:
    return int(messages[0]["status"])


def held(budget: float = 0) -> tuple[HeldApp, Admission]:
    """One request at a time; a queue that stands as soon as one waits (unless `budget`)."""
    inner = HeldApp()
    return inner, Admission(
        inner,
        max_in_flight=1,
        queue_budget_seconds=budget,
        retry_after_seconds=1,
        refusal_rest_seconds=0.5,
    )


async def until(check: Any) -> None:
    async def holds() -> bool:
        return bool(check())

    await eventually(holds)


async def test_beyond_the_bound_and_the_budget_a_request_is_refused_at_once() -> None:
    inner, admission = held()
    first = asyncio.create_task(call(admission, "/hold"))
    await until(lambda: inner.started == 1)
    queued = asyncio.create_task(call(admission, "/hold"))
    await until(lambda: len(admission.waiting) == 1)
    rests: list[float] = []

    refused = await call(admission, "/hold", rests)  # answered while the others are held

    assert status(refused) == 503
    headers = dict(refused[0]["headers"])
    assert headers[b"retry-after"] == b"1"
    assert headers[b"content-type"] == b"application/json"
    assert refused[1]["body"] == (
        b'{"error":{"code":"overloaded","message":'
        b'"this server is at capacity; retry after Retry-After seconds"}}'
    )
    assert rests == [0.5]  # the connection is asked to rest
    inner.release.set()
    assert [status(await first), status(await queued)] == [200, 200]
    assert admission.in_flight == 0 and not admission.waiting


async def test_waiting_requests_are_served_in_arrival_order() -> None:
    inner, admission = held(budget=3600)
    first = asyncio.create_task(call(admission, "/hold"))
    await until(lambda: inner.started == 1)
    later = []
    for path in ("/second", "/third", "/fourth"):
        later.append(asyncio.create_task(call(admission, path)))
        await until(lambda: len(admission.waiting) == len(later))
    inner.release.set()
    assert [status(m) for m in await asyncio.gather(first, *later)] == [200] * 4
    assert inner.order == ["/hold", "/second", "/third", "/fourth"]
    assert admission.in_flight == 0


@pytest.mark.parametrize(
    "path",
    ["/health", "/ready", "/metrics", "/webhooks/products/update", "/events/42/live"],
)
async def test_intake_probes_and_live_streams_are_never_refused(path: str) -> None:
    inner, admission = held()
    first = asyncio.create_task(call(admission, "/hold"))
    await until(lambda: inner.started == 1)
    queued = asyncio.create_task(call(admission, "/hold"))
    await until(lambda: len(admission.waiting) == 1)
    assert status(await call(admission, "/events")) == 503
    assert status(await call(admission, path)) == 200
    inner.release.set()
    await asyncio.gather(first, queued)


async def test_a_failing_request_frees_its_slot() -> None:
    _, admission = held()
    with pytest.raises(RuntimeError):
        await call(admission, "/fail")
    assert admission.in_flight == 0
    assert status(await call(admission, "/events")) == 200


async def test_a_request_cancelled_while_served_or_waiting_frees_its_place() -> None:
    inner, admission = held()
    first = asyncio.create_task(call(admission, "/hold"))
    await until(lambda: inner.started == 1)
    queued = asyncio.create_task(call(admission, "/events"))
    await until(lambda: len(admission.waiting) == 1)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert not admission.waiting
    first.cancel()  # as when its client is gone and the server cancels it
    with pytest.raises(asyncio.CancelledError):
        await first
    assert admission.in_flight == 0
    assert status(await call(admission, "/events")) == 200


def test_l1_hits_are_answered_before_admission(settings: Settings) -> None:
    layers: list[Any] = [middleware.cls for middleware in create_app(settings).user_middleware]
    assert layers.index(CacheMiddleware) < layers.index(Admission)  # outer before inner


# --- the real server, its reads held by a lock on the events table ----------------------------


@pytest.fixture
def tight_server(settings: Settings) -> Iterator[LiveServer]:
    tight = settings.model_copy(update={"http_max_in_flight": 1, "http_queue_budget_ms": 0})
    with LiveServer(tight) as live:
        yield live


async def test_a_saturated_server_refuses_reads_at_once_and_still_takes_intake(
    db: AsyncEngine, tight_server: LiveServer
) -> None:
    product = make_product()
    await load_products(db, product)
    admission = admission_of(tight_server)
    async with httpx.AsyncClient(base_url=tight_server.url, timeout=30) as api:
        async with db.connect() as lock:
            transaction = await lock.begin()
            await lock.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
            held_read = asyncio.create_task(api.get(f"/events/{product['id']}"))
            await until(lambda: admission.in_flight == 1)
            queued_read = asyncio.create_task(api.get("/events"))
            await until(lambda: len(admission.waiting) == 1)

            refused = await api.get("/categories")
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert refused.headers["x-request-id"]
            assert refused.json()["error"]["code"] == "overloaded"
            assert (await api.get("/health")).status_code == 200
            assert (await api.get("/ready")).status_code == 200
            acked = await deliver(api, "products/update", make_product())
            assert acked.status_code == 200
            await transaction.rollback()
        assert (await held_read).status_code == 200
        assert (await queued_read).status_code == 200
    assert admission.in_flight == 0 and not admission.waiting


def test_the_overload_answer_is_documented(settings: Settings) -> None:
    schema = create_app(settings).openapi()
    answer = schema["paths"]["/events"]["get"]["responses"]["503"]
    assert "overloaded" in answer["description"]
    assert "Retry-After" in answer["headers"]
