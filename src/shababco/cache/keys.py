"""Cache keys: the route template and a canonical form of what the response depends on.

Two requests get the same key only when the API answers them identically. The canonical form of
a list query (which parameters count, which defaults drop) is the API's to say: it builds its
key function here (catalog.keys), which the app hands to `CacheMiddleware`; this package imports
nothing of the routes it caches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

MAX_PATH = 512
MAX_QUERY = 2048


@dataclass(frozen=True, slots=True)
class CacheKey:
    """Where one cacheable response lives; `listing` selects the list TTL and headers.

    Over-long requests get a key that is never stored, so that nobody can fill memory with them.
    """

    text: str
    endpoint: str
    listing: bool
    storable: bool = True

    @property
    def digest(self) -> str:
        """A short, fixed-length name for the shared tier."""
        return hashlib.blake2b(self.text.encode(), digest_size=16).hexdigest()


ListQuery = Callable[[bytes], str]  # a list request's query string, in canonical form
KeyFunction = Callable[[str, bytes], CacheKey | None]  # (path, query string) -> key of a GET


def key_function(list_query: ListQuery) -> KeyFunction:
    """The key function of a GET, `/events` queries put in canonical form by `list_query`."""

    @lru_cache(maxsize=8192)
    def cache_key(path: str, query_string: bytes) -> CacheKey | None:
        """The key of a GET on a cacheable route, None for anything else."""
        route = endpoint(path)
        if route is None:
            return None
        template, listing = route
        if len(path) > MAX_PATH or len(query_string) > MAX_QUERY:
            return CacheKey("", template, listing, storable=False)
        if template == "/events":
            return CacheKey(f"/events?{list_query(query_string)}", template, listing)
        return CacheKey(path, template, listing)

    return cache_key


def endpoint(path: str) -> tuple[str, bool] | None:
    """The route template of a cacheable path and whether it lists, None for anything else."""
    if path in ("/events", "/categories"):
        return path, True
    parts = path.split("/")
    if len(parts) < 3 or parts[1] != "events" or not parts[2]:
        return None
    if len(parts) == 3:
        return "/events/{event_id}", False
    if len(parts) == 4 and parts[3] == "tickets":
        return "/events/{event_id}/tickets", False
    return None
