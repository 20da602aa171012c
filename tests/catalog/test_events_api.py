"""`GET /events` and friends over a live server on real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.data import load_products
from tests.support.factories import BASE_TIME, make_product, make_variant

DAY = timedelta(days=1)


def starting(days: int) -> Any:
    return BASE_TIME + days * DAY


@pytest.fixture
async def catalog(db: AsyncEngine) -> dict[str, dict[str, Any]]:
    """A small store: concerts, theatre, a festival; prices, dates and statuses tell them apart."""
    products = {
        "jazz": make_product(
            title="Jazz Night",
            category="Concerts",
            start=starting(10),
            variants=[make_variant(price="40", quantity=10)],
        ),
        "rock": make_product(
            title="Rock Concert",
            category="Concerts",
            start=starting(20),
            tags="music, loud",
            variants=[make_variant(price="25", quantity=5), make_variant(price="90", quantity=2)],
        ),
        "hamlet": make_product(
            title="Hamlet",
            category="Theatre",
            start=starting(15),
            subtitle="A tragedy",
            variants=[make_variant(price="60")],
        ),
        "oud": make_product(
            title="أمسية العود",
            category="Concerts",
            start=starting(5),
            subtitle="موسيقى عربية",
            body_html="<p>حفلة موسيقية في المسرح الكبير</p>",
            venue={"name": "دار الأوبرا", "city": "القاهرة"},
            variants=[make_variant(price="15")],
        ),
        "festival": make_product(
            title="Desert Festival",
            category="Festivals",
            start=None,
            variants=[make_variant(price="120")],
        ),
        "draft": make_product(title="Draft Show", status="draft", start=starting(3)),
        "archived": make_product(title="Archived Show", status="archived", start=starting(4)),
        "unlisted": make_product(title="Secret Gig", status="unlisted", start=starting(6)),
    }
    await load_products(db, *products.values())
    return products


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


def pid(products: dict[str, dict[str, Any]], *names: str) -> list[str]:
    return [str(products[name]["id"]) for name in names]


async def test_list_shows_active_events_by_start_date(api: httpx.AsyncClient, catalog: Any) -> None:
    response = await api.get("/events")
    assert response.status_code == 200
    body = response.json()
    assert ids(body) == pid(catalog, "oud", "jazz", "hamlet", "rock", "festival")
    assert body["total"] == 5 and body["page"] == 1 and body["limit"] == 20
    assert body["next_cursor"] is None


async def test_summary_representation(api: httpx.AsyncClient, catalog: Any) -> None:
    item = (await api.get("/events", params={"search": "rock"})).json()["items"][0]
    assert item["id"] == str(catalog["rock"]["id"])  # a string: ids exceed 2**53
    assert item["min_price"] == "25.00" and item["currency"] == "USD"
    assert item["available"] == 7
    assert item["tags"] == ["music", "loud"]
    assert item["start_date"] == starting(20).isoformat()
    assert item["updated_at"].endswith("+00:00")
    assert item["image"]["url"].endswith(".jpg")
    expected = {
        "id",
        "handle",
        "title",
        "subtitle",
        "category",
        "tags",
        "status",
        "start_date",
        "end_date",
        "venue",
        "image",
        "min_price",
        "currency",
        "available",
        "updated_at",
    }
    assert expected <= item.keys()


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("start_date", ["oud", "jazz", "hamlet", "rock", "festival"]),
        ("-start_date", ["rock", "hamlet", "jazz", "oud", "festival"]),
        ("title", ["festival", "hamlet", "jazz", "rock", "oud"]),
        ("price", ["oud", "rock", "jazz", "hamlet", "festival"]),
        ("-price", ["festival", "hamlet", "jazz", "rock", "oud"]),
    ],
)
async def test_sorts(api: httpx.AsyncClient, catalog: Any, sort: str, order: list[str]) -> None:
    body = (await api.get("/events", params={"sort": sort})).json()
    assert ids(body) == pid(catalog, *order)


@pytest.mark.parametrize("sort", ["start_date", "-start_date", "title", "price", "-price"])
async def test_cursor_walks_every_event_once(
    api: httpx.AsyncClient, catalog: Any, sort: str
) -> None:
    expected = ids((await api.get("/events", params={"sort": sort})).json())
    seen: list[str] = []
    params: dict[str, Any] = {"sort": sort, "limit": 2}
    while True:
        body = (await api.get("/events", params=params)).json()
        assert body["total"] == 5
        seen += ids(body)
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == expected


async def test_pages_match_the_cursor_walk(api: httpx.AsyncClient, catalog: Any) -> None:
    pages = [
        ids((await api.get("/events", params={"limit": 2, "page": p})).json()) for p in (1, 2, 3)
    ]
    assert pages == [
        pid(catalog, "oud", "jazz"),
        pid(catalog, "hamlet", "rock"),
        pid(catalog, "festival"),
    ]
    assert (await api.get("/events", params={"page": 9})).json()["items"] == []


async def test_category_filter_is_repeatable(api: httpx.AsyncClient, catalog: Any) -> None:
    one = (await api.get("/events", params={"category": "Theatre"})).json()
    assert ids(one) == pid(catalog, "hamlet") and one["total"] == 1
    two = (
        await api.get("/events", params=[("category", "Theatre"), ("category", "Festivals")])
    ).json()
    assert ids(two) == pid(catalog, "hamlet", "festival")


async def test_date_window(api: httpx.AsyncClient, catalog: Any) -> None:
    params = {"starts_after": starting(10).isoformat(), "starts_before": starting(20).isoformat()}
    body = (await api.get("/events", params=params)).json()
    assert ids(body) == pid(catalog, "jazz", "hamlet")  # after is inclusive, before exclusive
    after = (await api.get("/events", params={"starts_after": "2026-01-17"})).json()
    assert ids(after) == pid(catalog, "rock")  # undated events never match a date filter


async def test_filters_combine(api: httpx.AsyncClient, catalog: Any) -> None:
    params = {
        "category": "Concerts",
        "starts_after": starting(6).isoformat(),
        "sort": "-price",
        "search": "concert",
        "limit": 1,
    }
    body = (await api.get("/events", params=params)).json()
    # "concert" finds Rock Concert by title and Jazz Night by its category; -price puts Jazz first
    assert ids(body) == pid(catalog, "jazz")
    assert body["total"] == 2


async def test_search_english_with_a_typo(api: httpx.AsyncClient, catalog: Any) -> None:
    typo = ids((await api.get("/events", params={"search": "Concrt"})).json())
    # Rock Concert by its title first, then the others by their category "Concerts", newest first
    assert typo == pid(catalog, "rock") + sorted(pid(catalog, "jazz", "oud"), key=int, reverse=True)
    assert ids((await api.get("/events", params={"search": "hamlt"})).json()) == pid(
        catalog, "hamlet"
    )
    assert ids((await api.get("/events", params={"search": "trag"})).json()) == pid(
        catalog, "hamlet"
    )


@pytest.mark.parametrize(
    "query",
    [
        "العود",
        "عود",
        "بالعود",
        "والعود",
        "الأوبرا",
        "اوبرا",
        "مُوسِيقَى",
        "الحفلة",
        "بالمسرح",
        "القاهرة",
    ],
)
async def test_search_arabic(api: httpx.AsyncClient, catalog: Any, query: str) -> None:
    body = (await api.get("/events", params={"search": query})).json()
    assert ids(body) == pid(catalog, "oud"), query


async def test_search_ranks_title_matches_first(api: httpx.AsyncClient, db: AsyncEngine) -> None:
    weak = make_product(title="Comedy hour", body_html="<p>Not a concert</p>")
    strong = make_product(title="Concert of concerts", body_html="<p>concert</p>")
    await load_products(db, weak, strong)
    body = (await api.get("/events", params={"search": "concert"})).json()
    assert ids(body) == [str(strong["id"]), str(weak["id"])]


async def test_statuses(api: httpx.AsyncClient, catalog: Any) -> None:
    listed = ids((await api.get("/events", params={"limit": 100})).json())
    for hidden in ("draft", "archived", "unlisted"):
        assert str(catalog[hidden]["id"]) not in listed
    assert (await api.get(f"/events/{catalog['unlisted']['id']}")).status_code == 200
    for gone in ("draft", "archived"):
        response = await api.get(f"/events/{catalog[gone]['id']}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert (await api.get(f"/events/{catalog[gone]['id']}/tickets")).status_code == 404


async def test_detail_by_id_and_by_handle(api: httpx.AsyncClient, catalog: Any) -> None:
    rock = catalog["rock"]
    by_id = (await api.get(f"/events/{rock['id']}")).json()
    by_handle = (await api.get(f"/events/{rock['handle']}")).json()
    assert by_id == by_handle
    assert by_id["description"] == rock["body_html"]
    assert by_id["metafields"]["event"]["venue"]["name"] == "Blue Hall"
    assert [t["price"] for t in by_id["tickets"]] == ["25.00", "90.00"]
    assert len(by_id["images"]) == 1


async def test_tickets(api: httpx.AsyncClient, catalog: Any) -> None:
    rock = catalog["rock"]
    body = (await api.get(f"/events/{rock['handle']}/tickets")).json()
    assert body["event_id"] == str(rock["id"])
    first = body["items"][0]
    assert first["id"] == str(rock["variants"][0]["id"])
    assert (first["price"], first["compare_at_price"]) == ("25.00", None)
    assert first["available"] == 5 and first["sold"] == 0
    assert first["capacity"] == first["available"] + first["sold"]


async def test_unknown_event_is_404(api: httpx.AsyncClient, catalog: Any) -> None:
    for key in ("no-such-event", "123", "99999999999999999999999"):
        response = await api.get(f"/events/{key}")
        assert response.status_code == 404, key
        assert set(response.json()["error"]) == {"code", "message"}


async def test_categories(api: httpx.AsyncClient, catalog: Any) -> None:
    body = (await api.get("/categories")).json()
    assert body["items"] == [
        {"name": "Concerts", "count": 3},
        {"name": "Festivals", "count": 1},
        {"name": "Theatre", "count": 1},
    ]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 0}, 422),
        ({"limit": 101}, 422),
        ({"limit": "ten"}, 422),
        ({"page": 0}, 422),
        ({"sort": "popularity"}, 422),
        ({"sort": "relevance"}, 422),
        ({"starts_after": "soon"}, 422),
        ({"cursor": "not-a-cursor"}, 400),
        ({"cursor": "eyJ9"}, 400),
        ({"page": 2, "cursor": "abc"}, 400),
        ({"search": "x" * 201}, 422),
    ],
)
async def test_bad_parameters_are_4xx(
    api: httpx.AsyncClient, params: dict[str, Any], status: int
) -> None:
    response = await api.get("/events", params=params)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert "Traceback" not in response.text


async def test_cursor_of_another_sort_is_refused(api: httpx.AsyncClient, catalog: Any) -> None:
    cursor = (await api.get("/events", params={"limit": 1})).json()["next_cursor"]
    response = await api.get("/events", params={"limit": 1, "cursor": cursor, "sort": "title"})
    assert response.status_code == 400


async def test_etag_and_304(api: httpx.AsyncClient, catalog: Any) -> None:
    first = await api.get("/events")
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["cache-control"] == "public, max-age=5, stale-while-revalidate=30"
    again = await api.get("/events", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    detail = await api.get(f"/events/{catalog['jazz']['id']}")
    assert detail.headers["cache-control"] == "public, max-age=5"
    assert (
        await api.get(
            f"/events/{catalog['jazz']['id']}",
            headers={"If-None-Match": f'W/{detail.headers["etag"]}, "x"'},
        )
    ).status_code == 304


async def test_errors_are_not_cacheable(api: httpx.AsyncClient) -> None:
    response = await api.get("/events/nothing-here")
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


async def test_probes_and_openapi(api: httpx.AsyncClient) -> None:
    assert (await api.get("/health")).json() == {"status": "ok"}
    ready = (await api.get("/ready")).json()
    assert ready["status"] == "ready" and ready["database"] == "ok"
    spec = (await api.get("/openapi.json")).json()
    assert {"/events", "/events/{event_id}", "/events/{event_id}/tickets", "/categories"} <= set(
        spec["paths"]
    )
    assert (await api.get("/docs")).status_code == 200


async def test_search_pages_by_cursor_and_by_page_agree(
    api: httpx.AsyncClient, catalog: Any
) -> None:
    everything = (await api.get("/events", params={"search": "concert"})).json()
    assert everything["total"] == len(everything["items"]) == 3
    seen: list[str] = []
    params: dict[str, Any] = {"search": "concert", "limit": 1}
    while True:
        body = (await api.get("/events", params=params)).json()
        assert body["total"] == 3
        seen += ids(body)
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == ids(everything)
    beyond = (await api.get("/events", params={"search": "concert", "page": 9})).json()
    assert (beyond["items"], beyond["total"]) == ([], 3)
