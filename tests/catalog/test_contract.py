"""The read API's contract under any input: no 5xx, one URL per event, category filters that
ignore case, empty parameters as absent ones, and bodies that match the documented models."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.app import HealthOut, ReadyOut
from shababco.catalog.schemas import CategoriesOut, EventDetail, EventsPage, TicketsOut
from shababco.errors import ErrorOut
from shababco.shopify.mirror.apply import delete_products
from tests.support.data import load_products
from tests.support.factories import BASE_TIME, make_product, make_variant
from tests.support.server import LiveServer
from tests.support.webhook_client import eventually

# What people type into a search box that holds no word to find.
WORDLESS = ["%", "?", "-", "'", '"', ".", "...", "*", "(", "\\", "!!!", "—", "🎉", "؟", "،"]
WORDLESS += ["ـ", "\u064e", "\u200b", "ʼ", "ː", "ˈˈ"]


@pytest.fixture
async def store(db: AsyncEngine) -> dict[str, dict[str, Any]]:
    products = {
        "jazz": make_product(title="Jazz Night", category="Music", handle="jazz-night"),
        "rock": make_product(title="Rock Show", category="music", handle="rock-show"),
        "loud": make_product(title="Loud Night", category="MUSIC", handle="loud-night"),
        "hamlet": make_product(title="Hamlet", category="Théâtre", handle="hamlet"),
        "oud": make_product(title="أمسية العود", category="أمسيات", handle="oud-evening"),
        "draft": make_product(title="Draft", status="draft", handle="draft-show"),
    }
    await load_products(db, *products.values())
    return products


async def _rename(db: AsyncEngine, product: dict[str, Any], handle: str, days: int) -> None:
    later = (BASE_TIME + timedelta(days=days)).isoformat()
    await load_products(db, {**product, "handle": handle, "updated_at": later})


def _cursor(sort: str, value: Any, last_id: Any) -> str:
    raw = orjson.dumps({"s": sort, "v": value, "i": last_id})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("search", WORDLESS)
async def test_a_search_without_a_word_finds_nothing(
    api: httpx.AsyncClient, store: Any, search: str
) -> None:
    far: dict[str, str] = {"search": search, "page": "500", "sort": "title"}
    for params in ({"search": search}, far):
        response = await api.get("/events", params=params)
        assert response.status_code == 200, (search, response.text)
        body = EventsPage.model_validate_json(response.content)
        assert (body.items, body.total, body.next_cursor) == ([], 0, None)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/events", {"search": "jazz\x00"}),
        ("/events", {"category": "Music\x00"}),
        ("/events", {"cursor": "abc\x00"}),
        ("/events", {"starts_after": "9999-12-31"}),
        ("/events", {"starts_after": "9999-12-31T23:59:59+00:00"}),
        ("/events", {"starts_before": "0001-01-01T05:00:00+14:00"}),
        ("/events", {"starts_after": "-6"}),
        ("/events", {"starts_after": "1700000000"}),
        ("/events", {"starts_before": "2026-02-30"}),
        ("/events", {"starts_before": "2026-01-01T10:00:00 02:00"}),  # an unescaped +
        ("/events", {"limit": "٣"}),
    ],
)
async def test_out_of_range_and_nul_are_422(
    api: httpx.AsyncClient, store: Any, path: str, params: dict[str, str]
) -> None:
    response = await api.get(path, params=params)
    assert response.status_code == 422, response.text
    assert ErrorOut.model_validate_json(response.content).error.code == "invalid_parameter"


async def test_dates_at_the_calendar_edges_are_answered(api: httpx.AsyncClient, store: Any) -> None:
    for params in (
        {"starts_after": "9999-12-30"},
        {"starts_after": "0001-01-01", "starts_before": "9999-12-30T23:59:59Z"},
        {"starts_before": "0001-01-01T00:00:00-05:00"},
        {"starts_after": "2020-01-01T00:00", "category": "music"},
    ):
        response = await api.get("/events", params=params)
        assert response.status_code == 200, (params, response.text)
        EventsPage.model_validate_json(response.content)


@pytest.mark.parametrize(
    ("sort", "value", "last_id"),
    [
        ("start_date", "2026-01-01 00:00:00+00", "9223372036854775808"),  # beyond bigint
        ("start_date", "2026-01-01 00:00:00+00", "-1"),
        ("start_date", "2026-01-01 00:00:00+00", "0012"),
        ("start_date", "2026-01-01 00:00:00+00", "١٢"),
        ("start_date", "2026-01-01 00:00:00+00", 12),
        ("start_date", "2026-13-01 00:00:00+00", "12"),
        ("start_date", "2026-01-01T00:00:00+00:00", "12"),
        ("title", "jazz\x00", "12"),
        ("title", 5, "12"),
        ("price", "1e999999", "12"),
        ("price", "NaN", "12"),
        ("relevance", "2.5e308", "12"),
    ],
)
async def test_forged_cursors_are_400(
    api: httpx.AsyncClient, store: Any, sort: str, value: Any, last_id: Any
) -> None:
    params = {"cursor": _cursor(sort, value, last_id), "sort": sort}
    if sort == "relevance":
        params["search"] = "night"
    response = await api.get("/events", params=params)
    assert response.status_code == 400, response.text
    assert ErrorOut.model_validate_json(response.content).error.code == "invalid_cursor"


async def test_one_url_per_event(api: httpx.AsyncClient, store: Any) -> None:
    jazz_id = str(store["jazz"]["id"])
    arabic_indic = jazz_id.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert (await api.get(f"/events/{jazz_id}")).status_code == 200
    assert (await api.get("/events/jazz-night")).status_code == 200
    for key in (f"0{jazz_id}", arabic_indic, "²", "①", "%00", f"{jazz_id}%00", "+" + jazz_id):
        for suffix in ("", "/tickets"):
            response = await api.get(f"/events/{key}{suffix}")
            assert response.status_code == 404, (key, response.text)
            ErrorOut.model_validate_json(response.content)


async def test_an_old_handle_moves_permanently(
    api: httpx.AsyncClient, db: AsyncEngine, store: Any
) -> None:
    jazz = store["jazz"]
    await _rename(db, jazz, "jazz-night-2027", days=1)
    await _rename(db, jazz, "jazz-nights", days=2)
    for old in ("jazz-night", "jazz-night-2027"):
        for suffix in ("", "/tickets"):
            response = await api.get(f"/events/{old}{suffix}", follow_redirects=False)
            assert response.status_code == 301, response.text
            assert response.headers["location"] == f"/events/jazz-nights{suffix}"
            assert response.headers["x-request-id"]
    landed = await api.get("/events/jazz-night", follow_redirects=True)
    assert EventDetail.model_validate_json(landed.content).id == str(jazz["id"])


async def test_a_handle_in_use_never_redirects(
    api: httpx.AsyncClient, db: AsyncEngine, store: Any
) -> None:
    await _rename(db, store["jazz"], "jazz-nights", days=1)
    # Another event takes the old handle: it is that event's now.
    await _rename(db, store["rock"], "jazz-night", days=1)
    taken = await api.get("/events/jazz-night", follow_redirects=False)
    assert taken.status_code == 200 and taken.json()["id"] == str(store["rock"]["id"])
    # A draft holding it: 404, not a redirect to the event that gave it up.
    await _rename(db, store["rock"], "rock-show", days=2)
    await _rename(db, store["draft"], "jazz-night", days=2)
    assert (await api.get("/events/jazz-night", follow_redirects=False)).status_code == 404


async def test_a_deleted_events_handles_are_404(
    api: httpx.AsyncClient, db: AsyncEngine, store: Any
) -> None:
    hamlet = store["hamlet"]
    await _rename(db, hamlet, "hamlet-2027", days=1)
    async with db.begin() as conn:
        await delete_products(conn, [hamlet["id"]], BASE_TIME + timedelta(days=2), currency="USD")
    for key in ("hamlet", "hamlet-2027", str(hamlet["id"])):
        assert (await api.get(f"/events/{key}", follow_redirects=False)).status_code == 404


async def test_category_filters_ignore_case_and_accents(api: httpx.AsyncClient, store: Any) -> None:
    music = {str(store[name]["id"]) for name in ("jazz", "rock", "loud")}
    for spelling in ("Music", "music", "MUSIC", " music ", "Músic"):
        for extra in ({}, {"sort": "title"}, {"search": "night"}, {"starts_after": "2020-01-01"}):
            body = (await api.get("/events", params={"category": spelling, **extra})).json()
            found = {item["id"] for item in body["items"]}
            expected = music if "search" not in extra else music - {str(store["rock"]["id"])}
            assert found == expected and body["total"] == len(expected), (spelling, extra)
    for spelling in ("theatre", "THÉÂTRE", "أمسيات", "امسيات", "أمسِيات"):
        body = (await api.get("/events", params={"category": spelling})).json()
        assert body["total"] == 1, spelling


async def test_categories_keep_the_stores_spelling(api: httpx.AsyncClient, store: Any) -> None:
    body = CategoriesOut.model_validate_json((await api.get("/categories")).content)
    counts = {item.name: item.count for item in body.items}
    assert counts == {"MUSIC": 3, "Théâtre": 1, "أمسيات": 1}  # ties: the first spelling


async def test_empty_parameters_are_absent_ones(api: httpx.AsyncClient, store: Any) -> None:
    plain = (await api.get("/events")).json()
    for name in ("page", "limit", "cursor", "category", "search", "starts_after", "sort"):
        for empty in ("", " "):
            response = await api.get("/events", params={name: empty})
            assert response.status_code == 200, (name, response.text)
            assert response.json() == plain, name
    both = await api.get("/events", params={"page": "", "cursor": "", "sort": "", "limit": ""})
    assert both.json() == plain


async def test_head_answers_like_get_without_a_body(api: httpx.AsyncClient, store: Any) -> None:
    jazz_id = store["jazz"]["id"]
    for path in ("/health", "/ready", "/events", f"/events/{jazz_id}", "/categories", "/metrics"):
        got, head = await api.get(path), await api.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]
        if path != "/metrics":  # which changes from one request to the next
            assert head.headers["content-length"] == str(len(got.content)), path
    etag = (await api.get("/events")).headers["etag"]
    not_modified = await api.head("/events", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.headers["etag"] == etag
    missing = await api.head("/events/nothing-here")
    assert missing.status_code == 404 and missing.content == b""
    assert missing.headers["x-request-id"]


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/events", EventsPage),
        ("/events?search=night&sort=-price&limit=2", EventsPage),
        ("/events?category=music&limit=1&page=2", EventsPage),
        ("/events/{jazz}", EventDetail),
        ("/events/{jazz}/tickets", TicketsOut),
        ("/categories", CategoriesOut),
        ("/health", HealthOut),
        ("/ready", ReadyOut),
        ("/events/nothing-here", ErrorOut),
        ("/events?limit=0", ErrorOut),
        ("/events?page=1&cursor=x", ErrorOut),
        ("/nowhere", ErrorOut),
    ],
)
async def test_served_bodies_match_the_documented_models(
    api: httpx.AsyncClient, store: Any, path: str, model: type[BaseModel]
) -> None:
    response = await api.get(path.format(jazz=store["jazz"]["id"]))
    model.model_validate_json(response.content)  # extra keys forbidden: every key is documented
    assert response.headers["x-request-id"]


async def test_tickets_and_prices_match_the_documented_models(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    priced = make_product(
        variants=[make_variant(price="25"), make_variant(price="1234.5", compare_at_price="2000")]
    )
    await load_products(db, priced)
    detail = EventDetail.model_validate_json((await api.get(f"/events/{priced['id']}")).content)
    assert [ticket.price for ticket in detail.tickets] == ["25.00", "1234.50"]
    assert detail.tickets[1].compare_at_price == "2000.00"


async def test_head_is_answered_from_the_cache_too(
    cached_api: LiveServer, db: AsyncEngine, store: Any
) -> None:
    async with httpx.AsyncClient(base_url=cached_api.url, timeout=10) as client:

        async def cached() -> bool:
            return (await client.get("/categories")).headers["x-cache"] == "l1"

        await eventually(cached)
        got, head = await client.get("/categories"), await client.head("/categories")
        assert head.headers["x-cache"] == "l1" and head.content == b""
        assert head.headers["content-length"] == str(len(got.content))
        assert head.headers["x-request-id"] != got.headers["x-request-id"]
        etag = got.headers["etag"]
        not_modified = await client.head("/categories", headers={"If-None-Match": etag})
        assert (not_modified.status_code, not_modified.headers["x-cache"]) == (304, "l1")
