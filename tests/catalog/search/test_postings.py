"""One-word searches answered from the search postings (catalog.search.postings, migration 0007)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any
from unittest import mock

import httpx
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shababco.catalog import search
from shababco.catalog.listing import EventPage
from shababco.catalog.models import Event
from shababco.catalog.params import Cursor, EventFilters, EventListParams, Sort
from shababco.catalog.search import Method, choose_method, search_events
from tests.support.data import load_products
from tests.support.factories import BASE_TIME, make_product

# Words sharing prefixes, so one searched word covers several terms; Arabic forms behind prefixes.
WORDS = ["gala", "galaxy", "galas", "gallery", "gold", "golden", "مهرجان", "المهرجان", "حفلة"]
WORDS += ["جاز", "opera", "operas", "jazz", "night"]

EXPECTED_POSTINGS = """
SELECT d.term, CASE
    WHEN d.term = ANY (tsvector_to_array(ts_filter(s.title_vector, '{a}'))) THEN 2
    WHEN d.term = ANY (tsvector_to_array(s.title_vector)) THEN 1
    ELSE 0 END, s.event_id
FROM event_search AS s, unnest(tsvector_to_array(s.document_vector)) AS d(term)
WHERE s.listed
"""


def sentence(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def catalog(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [
        make_product(
            title=sentence(rng, 2),
            subtitle=None,
            category=None,
            tags=", ".join(rng.sample(WORDS, rng.randrange(3))),
            body_html=f"<p>{sentence(rng, 3)}</p>",
            status=rng.choice(["active", "active", "active", "active", "draft"]),
        )
        for _ in range(count)
    ]


def event(title: str, tags: str = "", body: str = "") -> dict[str, Any]:
    """A product searched by its name, tags and description only."""
    return make_product(
        title=title, subtitle=None, category=None, tags=tags, body_html=f"<p>{body}</p>"
    )


async def postings_rows(conn: AsyncConnection, sql: str) -> set[tuple[str, int, int]]:
    return {(row[0], row[1], row[2]) for row in await conn.execute(text(sql))}


async def test_postings_mirror_the_listed_search_documents_after_any_changes(
    db: AsyncEngine,
) -> None:
    rng = random.Random(11)
    products = catalog(rng, 60)
    await load_products(db, *products)
    later = (BASE_TIME + timedelta(hours=1)).isoformat()
    changed = [
        {
            **product,
            "updated_at": later,
            "title": sentence(rng, 1),  # words leave the title for the description or vanish
            "status": rng.choice(["active", "draft", "archived"]),
        }
        for product in products[:40]
    ]
    await load_products(db, *changed)
    async with db.begin() as conn:
        await conn.execute(delete(Event).where(Event.shopify_product_id == products[45]["id"]))
    async with db.connect() as conn:
        actual = await postings_rows(conn, "SELECT term, rank, event_id FROM search_postings")
        assert actual == await postings_rows(conn, EXPECTED_POSTINGS)
        assert not any(event_id == products[45]["id"] for _, _, event_id in actual)


async def gin_page(conn: AsyncConnection, params: EventListParams) -> EventPage:
    """The page as the GIN path answers it (the path of searches with filters or many words)."""
    with mock.patch.object(search, "choose_method", return_value=Method.GIN):
        return await search_events(conn, params)


def summary(page: EventPage) -> tuple[list[int], int, Cursor | None]:
    return [row.shopify_product_id for row in page.rows], page.total, page.next_cursor


async def test_one_word_searches_rank_count_and_page_like_the_gin_path(db: AsyncEngine) -> None:
    rng = random.Random(3)
    await load_products(db, *catalog(rng, 120))
    searches = ["gala", "gal", "g", "gold", "golde", "galaxyy", "مهرجان", "بالمهرجان", "والمهرجان"]
    searches += ["حفل", "جاز", "opera", "operas", "jaz", "nigth", "zzzz", "o"]
    async with db.connect() as conn:
        for search in searches:
            filters = EventFilters(search=search)
            for page in (1, 2, 9):
                params = EventListParams(filters=filters, sort=Sort.RELEVANCE, limit=7, page=page)
                assert choose_method(params) is Method.POSTINGS
                by_postings = summary(await search_events(conn, params))
                assert by_postings == summary(await gin_page(conn, params)), (search, page)
            cursor, walked, seen = None, 0, []
            while walked < 30:
                params = EventListParams(
                    filters=filters, sort=Sort.RELEVANCE, limit=4, cursor=cursor
                )
                ids, total, cursor = summary(await search_events(conn, params))
                assert (ids, total) == summary(await gin_page(conn, params))[:2], search
                seen += ids
                walked += 1
                if cursor is None:
                    break
            assert len(seen) == len(set(seen)) == total, search


async def test_name_then_labels_then_description_then_the_newest(db: AsyncEngine) -> None:
    older_name = event("Gala dinner")
    in_text = event("Dinner", body="a gala")
    in_tags = event("Supper", tags="gala")
    newer_name = event("Galaxy night")
    # The name holds one term of the word, the description another: ranked by the name.
    both = event("Galas", body="gala")
    await load_products(db, older_name, in_text, in_tags, newer_name, both)
    params = EventListParams(filters=EventFilters(search="gala"), sort=Sort.RELEVANCE)
    async with db.connect() as conn:
        ids, total, _ = summary(await search_events(conn, params))
        assert (ids, total) == summary(await gin_page(conn, params))[:2]
    names = sorted([older_name["id"], newer_name["id"], both["id"]], reverse=True)
    assert ids == [*names, in_tags["id"], in_text["id"]]
    assert total == 5


async def test_a_forged_cursor_value_is_refused(api: httpx.AsyncClient, db: AsyncEngine) -> None:
    await load_products(db, make_product(title="Gala"), make_product(title="Gala two"))
    forged = {
        "relevance": Cursor(Sort.RELEVANCE, "high", 1),
        "price": Cursor(Sort.PRICE, "1_0", 1),
        "-start_date": Cursor(Sort.START_DATE_DESC, "tomorrow", 1),
    }
    for sort, cursor in forged.items():
        params = {"search": "gala", "sort": sort, "cursor": cursor.encode()}
        response = await api.get("/events", params=params)
        assert response.status_code == 400, sort
        assert response.json()["error"]["code"] == "invalid_cursor"


async def test_many_words_rank_by_where_all_of_them_are(db: AsyncEngine) -> None:
    """The GIN path (several words): all in the name, all in the title part, else."""

    older_in_name = event("Dinner galas")
    in_name = event("Gala dinner")
    with_tags = event("Gala", tags="dinner")
    in_text = event("Gala", body="a dinner")
    await load_products(db, older_in_name, in_name, with_tags, in_text)
    params = EventListParams(filters=EventFilters(search="gala dinner"), sort=Sort.RELEVANCE)
    assert choose_method(params) is Method.GIN
    async with db.connect() as conn:
        ids, total, _ = summary(await search_events(conn, params))
    assert ids == [in_name["id"], older_in_name["id"], with_tags["id"], in_text["id"]]
    assert total == 4
