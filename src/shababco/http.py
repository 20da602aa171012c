"""JSON bytes, strong ETags and `If-None-Match` matching, Cache-Control values, and `HEAD`."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LIST_CACHE_CONTROL = "public, max-age=5, stale-while-revalidate=30"
DETAIL_CACHE_CONTROL = "public, max-age=5"


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload)


def etag_of(body: bytes) -> str:
    """Quoted hash of the body: the same bytes give the same tag in every process."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an `If-None-Match` header names `etag` (weak comparison, as RFC 9110 says)."""
    if if_none_match.strip() == "*":
        return True
    candidates = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return etag in candidates


class HeadAsGet:
    """Answers `HEAD` on every `GET` route (the cache's hit path included) as `GET` would, without
    the body: the app sees a GET, the client gets its status and headers, Content-Length too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server reads the method from its own scope, and drops a HEAD's body too.
        as_get = {**scope, "method": "GET"}

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(as_get, receive, without_body)
        finally:
            if "route" in as_get:  # the route that answered, for the metrics' endpoint label
                scope["route"] = as_get["route"]
