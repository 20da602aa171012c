"""JSON bytes, strong ETags and `If-None-Match` matching, Cache-Control values (SPEC §4, §8)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

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
