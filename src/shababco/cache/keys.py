"""Cache keys: the route template and a canonical form of what the response depends on.

Two requests get the same key only when the API answers them identically: unknown query
parameters are dropped (the API ignores them), a scalar parameter keeps its last value (as the
API reads it), repeated `category` values become a sorted multiset, and defaults are dropped only
where they cannot change validation (`limit=20`; `page=1` without a cursor; `sort=start_date`
without a search).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

LIST_PARAMS = frozenset(
    {"page", "limit", "cursor", "search", "starts_after", "starts_before", "sort"}
)
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


def _canonical_list_query(query_string: bytes) -> str:
    scalars: dict[str, str] = {}
    categories: list[str] = []
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "category":
            categories.append(value)
        elif name in LIST_PARAMS:
            scalars[name] = value
    if scalars.get("limit") == "20":
        del scalars["limit"]
    if scalars.get("page") == "1" and "cursor" not in scalars:
        del scalars["page"]
    if scalars.get("sort") == "start_date" and "search" not in scalars:
        del scalars["sort"]
    pairs = sorted(scalars.items()) + [("category", value) for value in sorted(categories)]
    return urlencode(pairs)


@lru_cache(maxsize=8192)
def cache_key(path: str, query_string: bytes) -> CacheKey | None:
    """The key of a GET on a cacheable route, None for anything else."""
    storable = len(path) <= MAX_PATH and len(query_string) <= MAX_QUERY
    key = _route_key(path, query_string if storable else b"")
    if key is None or storable:
        return key
    return CacheKey("", key.endpoint, key.listing, storable=False)


def _route_key(path: str, query_string: bytes) -> CacheKey | None:
    if path == "/events":
        return CacheKey(f"/events?{_canonical_list_query(query_string)}", "/events", True)
    if path == "/categories":
        return CacheKey(path, path, True)
    parts = path.split("/")
    if len(parts) < 3 or parts[1] != "events" or not parts[2]:
        return None
    if len(parts) == 3:
        return CacheKey(path, "/events/{event_id}", False)
    if len(parts) == 4 and parts[3] == "tickets":
        return CacheKey(path, "/events/{event_id}/tickets", False)
    return None
