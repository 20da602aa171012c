"""Serving JSON bytes with a strong ETag, `If-None-Match` → 304, and Cache-Control (SPEC §4, §8)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

LIST_CACHE_CONTROL = "public, max-age=5, stale-while-revalidate=30"
DETAIL_CACHE_CONTROL = "public, max-age=5"


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload)


def etag_of(body: bytes) -> str:
    """Quoted hash of the body: the same bytes give the same tag in every process."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    candidates = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return etag in candidates


def json_response(request: Request, body: bytes, cache_control: str) -> Response:
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
