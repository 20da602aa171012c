"""The read endpoints' cache keys (catalog.keys): one key per distinct answer, the list defaults
dropped being exactly the route's, and the cache generic (it imports nothing of the catalog)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from shababco.app import create_app
from shababco.cache.asgi import CacheMiddleware
from shababco.catalog.keys import LIST_PARAMS, cache_key
from shababco.catalog.params import EventListParams, Sort
from shababco.catalog.routes import _list_params, router
from shababco.config import Settings

CACHE_PACKAGE = Path(__file__).resolve().parents[2] / "src" / "shababco" / "cache"


def key_text(path: str, query: str = "") -> str:
    key = cache_key(path, query.encode())
    assert key is not None
    return key.text


def test_equivalent_queries_share_a_key() -> None:
    assert key_text("/events", "limit=20") == key_text("/events")
    assert key_text("/events", "page=1") == key_text("/events")
    assert key_text("/events", "sort=start_date") == key_text("/events")
    assert key_text("/events", "category=b&category=a") == key_text(
        "/events", "category=a&category=b"
    )
    assert key_text("/events", "utm_source=x&limit=5") == key_text("/events", "limit=5")
    assert key_text("/events", "limit=5&limit=7") == key_text("/events", "limit=7")
    assert key_text("/events", "search=a+b") == key_text("/events", "search=a%20b")
    assert key_text("/events/42", "x=1") == "/events/42"


def test_different_answers_get_different_keys() -> None:
    # page=1 with a cursor is an error, a cursor alone is not: they must not share an entry.
    assert key_text("/events", "page=1&cursor=abc") != key_text("/events", "cursor=abc")
    assert key_text("/events", "sort=start_date&search=x") != key_text("/events", "search=x")
    assert key_text("/events", "category=a&category=a") != key_text("/events", "category=a")
    assert key_text("/events", "limit=7&limit=5") != key_text("/events", "limit=7")
    assert key_text("/events/42") != key_text("/events/42/tickets")


def declared() -> dict[str, Any]:
    """The query parameters `GET /events` declares to FastAPI, with their declared defaults."""
    (route,) = [r for r in router.routes if isinstance(r, APIRoute) and r.path == "/events"]
    return {field.alias: field.default for field in route.dependant.query_params}


def test_the_key_reads_every_parameter_the_route_declares() -> None:
    assert set(declared()) == LIST_PARAMS | {"category"}


def test_the_key_drops_exactly_the_route_s_defaults() -> None:
    """Derived from the route, not restated: a default changed there moves with the key."""
    bare = _list_params(**declared())  # a request without parameters, as the route reads it
    assert bare == EventListParams()  # the params dataclass agrees with the route
    defaults = {"limit": str(bare.limit), "page": str(bare.page), "sort": bare.sort.value}
    candidates = {
        "limit": [str(n) for n in range(1, 101)],
        "page": [str(n) for n in range(1, 30)],
        "sort": [sort.value for sort in Sort],
    }
    for name, values in candidates.items():
        assert defaults[name] in values
        for value in values:
            dropped = key_text("/events", f"{name}={value}") == key_text("/events")
            assert dropped == (value == defaults[name]), (name, value)
    # Dropping a default is sound: the route reads the request as it reads none.
    typed: dict[str, Any] = {"limit": bare.limit, "page": bare.page, "sort": bare.sort}
    for parameter, default in typed.items():
        assert _list_params(**(declared() | {parameter: default})) == bare, parameter


def test_requests_differing_only_in_a_non_default_limit_get_different_keys() -> None:
    limit = EventListParams().limit
    others = [limit + 1, limit + 2] if limit < 99 else [limit - 1, limit - 2]
    first, second = (key_text("/events", f"limit={n}&search=gala") for n in others)
    assert first != second
    assert key_text("/events", f"limit={others[0]}") != key_text("/events")


def _class_of(middleware: Any) -> object:
    return middleware.cls


def test_the_app_hands_the_cache_the_routes_key_function(settings: Settings) -> None:
    app = create_app(settings)
    handed = [m.kwargs for m in app.user_middleware if _class_of(m) is CacheMiddleware]
    assert handed == [{"cache": app.state.cache, "cache_key": cache_key}]
