"""The response cache's key function for the read endpoints, with their list query canonical.

Two list requests share a key only when the API answers them identically: unknown query
parameters are dropped (the API ignores them), a scalar parameter keeps its last value (as the
API reads it), repeated `category` values become a sorted multiset, and defaults are dropped only
where they cannot change validation (`limit`; `page` without a cursor; `sort` without a search),
the defaults being the route's own (catalog.params). app.py hands `cache_key` to the cache's
middleware; imports params and cache.keys (the cache imports nothing of the catalog).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from shababco.cache.keys import KeyFunction, key_function
from shababco.catalog.params import DEFAULT_LIMIT, DEFAULT_SORT, FIRST_PAGE

LIST_PARAMS = frozenset(
    {"page", "limit", "cursor", "search", "starts_after", "starts_before", "sort"}
)  # and `category`, which repeats


def canonical_list_query(query_string: bytes) -> str:
    """The query string of `GET /events` in canonical form (the module docstring's)."""
    scalars: dict[str, str] = {}
    categories: list[str] = []
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "category":
            categories.append(value)
        elif name in LIST_PARAMS:
            scalars[name] = value
    if scalars.get("limit") == str(DEFAULT_LIMIT):
        del scalars["limit"]
    if scalars.get("page") == str(FIRST_PAGE) and "cursor" not in scalars:
        del scalars["page"]
    if scalars.get("sort") == DEFAULT_SORT.value and "search" not in scalars:
        del scalars["sort"]
    pairs = sorted(scalars.items()) + [("category", value) for value in sorted(categories)]
    return urlencode(pairs)


cache_key: KeyFunction = key_function(canonical_list_query)
