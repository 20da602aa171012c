"""The door: what admission would refuse is answered 503 by the connection, as the app would
answer it, without entering the app; cache hits are still served; a refused connection rests,
then is served again; pipelined requests are answered in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from shababco.config import Settings
from shababco.telemetry import AccessLog
from tests.support.data import load_products
from tests.support.factories import make_product
from tests.support.server import LiveServer, admission_of
from tests.support.webhook_client import eventually

# Long enough for a test to see a connection resting, short enough to wait out.
REST_MS = 2000
Answer = tuple[int, list[tuple[str, str]], bytes]


@pytest.fixture
def tight(settings: Settings) -> Settings:
    """One request at a time, refusing as soon as one waits; the detail cache on."""
    return settings.model_copy(
        update={
            "http_max_in_flight": 1,
            "http_queue_budget_ms": 0,
            "http_refusal_rest_ms": REST_MS,
            "cache_ttl_detail": 600,
        }
    )


@pytest.fixture
def server(tight: Settings, db: AsyncEngine) -> Iterator[LiveServer]:
    with LiveServer(tight) as live:
        yield live


class Entering:
    """The app's middleware, noting the path of each request that enters it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


def paths_entering(live: LiveServer) -> list[str]:
    """The paths of the requests that enter the app from now on, as they enter."""
    assert live.app.middleware_stack is not None, "the app has started"
    entering = Entering(live.app.middleware_stack)
    live.app.middleware_stack = entering
    return entering.paths


@asynccontextmanager
async def saturated(live: LiveServer, db: AsyncEngine) -> AsyncIterator[None]:
    """One read served (held by a lock on the events table) and one waiting: admission refuses
    every other request until the block ends."""
    admission = admission_of(live)
    async with httpx.AsyncClient(base_url=live.url, timeout=60) as api, db.connect() as lock:
        transaction = await lock.begin()
        await lock.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
        held = asyncio.create_task(api.get("/events?held=1"))
        await until(lambda: admission.in_flight == 1)
        queued = asyncio.create_task(api.get("/events?queued=1"))
        await until(lambda: len(admission.waiting) == 1)
        try:
            yield
        finally:
            await transaction.rollback()
            assert [(await held).status_code, (await queued).status_code] == [200, 200]


async def until(check: Any) -> None:
    async def holds() -> bool:
        return bool(check())

    await eventually(holds, within=30)


def request(path: str, *extra: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: test", *extra, "", ""]).encode()


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *lines = head.split("\r\n")
    headers = [
        (name.lower(), value) for name, value in (line.split(": ", 1) for line in lines if line)
    ]
    body = await reader.readexactly(int(dict(headers)["content-length"]))
    return int(status_line.split()[1]), headers, body


async def exchange(live: LiveServer, data: bytes, answers: int = 1) -> list[Answer]:
    """Send `data` on a new connection; its first `answers` answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
    try:
        writer.write(data)
        return [await read_answer(reader) for _ in range(answers)]
    finally:
        writer.close()


def without(headers: list[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name not in names]


def refusals_counted() -> float:
    labels = {"endpoint": "/categories", "method": "GET", "status": "503"}
    return REGISTRY.get_sample_value("api_requests_total", labels) or 0.0


async def test_a_refusal_is_the_apps_answer_given_at_the_door(
    access_logging: None, server: LiveServer, db: AsyncEngine
) -> None:
    entered = paths_entering(server)
    access_log: AccessLog = server.app.state.access_log
    access_log.flush()  # earlier lines to the usual place
    written: list[bytes] = []
    access_log.sink = written.append
    counted = refusals_counted()
    try:
        async with saturated(server, db):
            [(status, headers, body)] = await exchange(
                server, request("/categories", "X-Request-ID: at-the-door")
            )
            # A request that closes its connection is left to the app, which refuses it too.
            [(app_status, app_headers, app_body)] = await exchange(
                server, request("/categories", "X-Request-ID: in-the-app", "Connection: close")
            )
        access_log.flush()
    finally:
        access_log.sink = AccessLog().sink
    assert status == app_status == 503
    assert body == app_body
    assert orjson.loads(body)["error"]["code"] == "overloaded"
    assert ("x-request-id", "at-the-door") in headers
    assert ("x-request-id", "in-the-app") in app_headers
    assert ("retry-after", "1") in headers
    same = ("date", "x-request-id", "connection")
    assert without(headers, *same) == without(app_headers, *same)
    assert entered.count("/categories") == 1  # only the one the app answered
    assert refusals_counted() == counted + 2
    lines = [orjson.loads(line) for line in b"".join(written).splitlines()]
    logged = {line["request_id"]: line for line in lines}
    for rid in ("at-the-door", "in-the-app"):
        assert (logged[rid]["status"], logged[rid]["endpoint"]) == (503, "/categories")


async def test_a_cached_read_is_served_while_others_are_refused(
    tight: Settings, db: AsyncEngine
) -> None:
    product = make_product()
    await load_products(db, product)
    cached = f"/events/{product['id']}"
    with LiveServer(tight) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
            assert (await api.get(cached)).status_code == 200  # fills the cache
            assert (await api.get(cached)).headers["x-cache"] == "l1"
        async with saturated(server, db):
            [(hit, headers, _)] = await exchange(server, request(cached))
            [(refused, _, _)] = await exchange(server, request("/categories"))
    assert (hit, refused) == (200, 503)
    assert ("x-cache", "l1") in headers


async def test_a_refused_connection_rests_then_is_served(
    server: LiveServer, db: AsyncEngine
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        async with saturated(server, db):
            writer.write(request("/categories"))
            assert (await read_answer(reader))[0] == 503
            await until(lambda: resting_connections(server) == 1)
        writer.write(request("/categories"))
        status, _, _ = await read_answer(reader)  # once the rest is over
        assert status == 200
        assert resting_connections(server) == 0
    finally:
        writer.close()


def resting_connections(live: LiveServer) -> int:
    """The server's connections that are not being read."""
    return sum(
        not protocol.transport.is_reading() for protocol in live.server.server_state.connections
    )


async def test_pipelined_requests_are_answered_in_order(
    server: LiveServer, db: AsyncEngine
) -> None:
    pipelined = b"".join(
        [
            request("/ready"),  # never refused: the app answers it, and the rest wait
            request("/categories", "X-Request-ID: second"),
            request("/categories", "X-Request-ID: third"),
        ]
    )
    async with saturated(server, db):
        answers = await exchange(server, pipelined, answers=3)
    assert [status for status, _, _ in answers] == [200, 503, 503]
    assert ("x-request-id", "second") in answers[1][1]
    assert ("x-request-id", "third") in answers[2][1]
