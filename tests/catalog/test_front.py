"""The event front answers exactly as FastAPI's router would: same status, headers and body."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Message, Receive, Scope, Send

from shababco.app import create_app
from shababco.catalog.front import EventFront
from shababco.catalog.routes import router as catalog_router
from shababco.config import Settings
from shababco.errors import install_error_handlers
from tests.support.data import load_products
from tests.support.factories import BASE_TIME, make_product, make_variant
from tests.support.server import LiveServer

# Differ between any two answers, whoever gives them.
UNIQUE_HEADERS = {b"x-request-id", b"date"}


@pytest.fixture(scope="module")
def router_only(settings: Settings) -> Iterator[LiveServer]:
    """The same app without the front: every request goes through FastAPI's router."""
    app = create_app(settings)
    app.user_middleware = [m for m in app.user_middleware if cast(object, m.cls) is not EventFront]
    with LiveServer(app=app) as server:
        yield server


@pytest.fixture
async def clients(
    live_api: LiveServer, router_only: LiveServer, db: AsyncEngine
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=live_api.url, timeout=10) as fronted,
        httpx.AsyncClient(base_url=router_only.url, timeout=10) as routed,
    ):
        yield fronted, routed


@pytest.fixture
async def store(db: AsyncEngine) -> dict[str, Any]:
    jazz = make_product(title="Jazz Night", handle="jazz-night", variants=[make_variant()])
    oud = make_product(title="أمسية العود 🎶", handle="أمسية-العود", variants=[])
    draft = make_product(title="Draft", handle="draft", status="draft")
    await load_products(db, jazz, oud, draft)
    later = (BASE_TIME + timedelta(days=1)).isoformat()
    await load_products(db, {**jazz, "handle": "jazz-nights", "updated_at": later})
    return {"jazz": str(jazz["id"]), "oud": str(oud["id"]), "draft": str(draft["id"])}


def _keys(store: dict[str, Any]) -> list[str]:
    jazz = store["jazz"]
    return [
        jazz,
        "jazz-nights",
        "jazz-night",  # an old handle: 301
        store["oud"],
        "%D8%A3%D9%85%D8%B3%D9%8A%D8%A9-%D8%A7%D9%84%D8%B9%D9%88%D8%AF",
        store["draft"],
        "draft",
        "0" + jazz,
        "²",
        "٣",
        "%00",
        jazz + "%00",
        "%20",
        "nope",
        "9" * 400,
        "-1",
        "%F0%9F%8E%B6",
        "a%2Fb",
        "jazz-nights.json",
    ]


def _paths(store: dict[str, Any]) -> list[str]:
    paths = []
    for key in _keys(store):
        paths += [f"/events/{key}", f"/events/{key}/tickets"]
    paths += ["/events/", "/events//tickets", f"/events/{store['jazz']}/", "/events/x/tickets/"]
    paths += [f"/events/{store['jazz']}/tickets/extra", "/events"]
    return paths


def _answer(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """What must match: a redirect's absolute location differs only by the server's port."""
    base = str(response.request.url.copy_with(path="/", query=None)).rstrip("/").encode()
    headers = [
        (name, value.replace(base, b"<server>"))
        for name, value in response.headers.raw
        if name.lower() not in UNIQUE_HEADERS
    ]
    return response.status_code, headers, response.content


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "OPTIONS"])
async def test_every_answer_is_the_routers(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], store: dict[str, Any], method: str
) -> None:
    fronted, routed = clients
    for path in _paths(store):
        mine = await fronted.request(method, path)
        theirs = await routed.request(method, path)
        assert _answer(mine) == _answer(theirs), (method, path)
        assert mine.headers["x-request-id"]


async def test_conditional_answers_are_the_routers(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], store: dict[str, Any]
) -> None:
    fronted, routed = clients
    path = f"/events/{store['jazz']}"
    etag = (await routed.get(path)).headers["etag"]
    for if_none_match in (etag, f"W/{etag}", '"other"', "*"):
        for suffix in ("", "/tickets"):
            headers = {"If-None-Match": if_none_match}
            mine = await fronted.get(path + suffix, headers=headers)
            theirs = await routed.get(path + suffix, headers=headers)
            assert _answer(mine) == _answer(theirs), (if_none_match, suffix)
    assert (await fronted.get(path, headers={"If-None-Match": etag})).status_code == 304


async def test_the_front_labels_requests_with_the_route(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], store: dict[str, Any]
) -> None:
    fronted, _ = clients
    await fronted.get(f"/events/{store['jazz']}/tickets")
    metrics = (await fronted.get("/metrics")).text
    assert 'endpoint="/events/{event_id}/tickets"' in metrics


async def test_the_front_answers_without_the_router() -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.state.database = None  # never reached: the key is refused first
    passed: list[str] = []

    async def router(scope: Scope, receive: Receive, send: Send) -> None:
        passed.append(scope["path"])

    front = EventFront(router, routes=catalog_router.routes, handlers=app.exception_handlers)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    for path in ("/events/a\x00b", "/events/a\x00b/tickets", "/events", "/events/1/live"):
        scope: Scope = {"type": "http", "method": "GET", "path": path, "app": app}
        scope.update(headers=[], query_string=b"")
        await front(scope, receive, send)
    statuses = [message["status"] for message in sent if message["type"] == "http.response.start"]
    assert statuses == [404, 404]  # a NUL in the key: refused before any query
    assert passed == ["/events", "/events/1/live"]
