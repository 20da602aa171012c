"""Serving cache entries: a raw ASGI front for L1 hits, and responses for the routes.

The front keys requests with the key function the app hands it (the routes' own: catalog.keys).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shababco.cache.core import ResponseCache
from shababco.cache.keys import KeyFunction
from shababco.cache.store import Entry
from shababco.http import etag_matches


def _if_none_match(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return str(value.decode("latin-1"))
    return None


class CacheMiddleware:
    """Answers GETs whose fresh response is in L1 before FastAPI sees them; passes the rest."""

    def __init__(self, app: ASGIApp, cache: ResponseCache, cache_key: KeyFunction) -> None:
        self.app, self.cache, self.cache_key = app, cache, cache_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            key = self.cache_key(scope["path"], scope["query_string"])
            entry = self.cache.hit(key) if key is not None else None
            if entry is not None:
                await _send(entry, _if_none_match(scope), send)
                return
        await self.app(scope, receive, send)


async def _send(entry: Entry, if_none_match: str | None, send: Send) -> None:
    if if_none_match and etag_matches(if_none_match, entry.etag):
        headers = entry.not_modified_headers
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": entry.ok_headers})
    await send({"type": "http.response.body", "body": entry.body})


class EntryResponse(Response):
    """An entry fetched by a route, with `X-Cache` saying where it came from.

    Its header list is built directly, in the order Starlette would give it: one response
    class instead of a header mapping parsed, lowered and encoded on every uncached read.
    """

    def __init__(self, entry: Entry, source: str, *, not_modified: bool) -> None:
        headers = [
            (b"etag", entry.etag.encode()),
            (b"cache-control", entry.cache_control.encode()),
            (b"x-cache", source.encode()),
        ]
        self.background = None
        if not_modified:
            self.status_code, self.body, self.raw_headers = 304, b"", headers
            return
        headers.append((b"content-length", str(len(entry.body)).encode()))
        headers.append((b"content-type", b"application/json"))
        self.status_code, self.body, self.raw_headers = 200, entry.body, headers


def entry_response(request: Request, entry: Entry, source: str) -> Response:
    """The response for an entry fetched by a route: 304 when the client's ETag matches."""
    if_none_match = _if_none_match(request.scope)
    not_modified = if_none_match is not None and etag_matches(if_none_match, entry.etag)
    return EntryResponse(entry, source, not_modified=not_modified)
