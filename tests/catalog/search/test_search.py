"""Searches match through the lexicon exactly as their prefixes would: catalog.search,
its tsquery CTE (search.tsquery) and its GIN path (search.gin)."""

from __future__ import annotations

import random
from datetime import timedelta

from bench.catalog_explain import count_statement
from sqlalchemy import select, text, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shababco.catalog.listing import list_events
from shababco.catalog.models import EventSearch
from shababco.catalog.params import EventFilters, EventListParams, Sort
from shababco.catalog.search import gin, search_events
from shababco.catalog.search.tsquery import EXPANSION_LIMIT, search_cte, search_values
from shababco.config import Settings
from shababco.database.engines import open_database
from tests.support.data import load_products
from tests.support.factories import BASE_TIME, make_product, make_variant

# More words behind "zo" than a prefix expands to, a few Arabic ones, and accented ones.
NAMES = [f"zo{a}{b}" for a in "abcdefg" for b in "klmnpr"][: EXPANSION_LIMIT + 10]
WORDS = [*NAMES, "الحفلة", "حفلات", "مهرجان", "café", "cafeteria", "parking", "park"]


def sentence(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


async def matching_ids(conn: AsyncConnection, search: str) -> set[int]:
    """The events the search's prefix query matches, read without the lexicon or the index."""
    found = search_values(search)
    assert found is not None
    shape, values = found
    q = search_cte(shape)
    rows = await conn.execute(
        select(EventSearch.event_id)
        .select_from(EventSearch.__table__.join(q, true()))
        .where(EventSearch.listed, EventSearch.document_vector.op("@@")(q.c.query)),
        values,
    )
    return set(rows.scalars())


async def listed_ids(conn: AsyncConnection, search: str) -> tuple[set[int], int]:
    params = EventListParams(filters=EventFilters(search=search), sort=Sort.RELEVANCE, limit=100)
    page = await search_events(conn, params)
    return {row.shopify_product_id for row in page.rows}, page.total


async def test_matches_equal_the_prefix_query_after_any_changes(db: AsyncEngine) -> None:
    rng = random.Random(5)
    products = [
        make_product(
            title=sentence(rng, 2),
            subtitle=sentence(rng, 1),
            body_html=f"<p>{sentence(rng, 4)}</p>",
            status=rng.choice(["active", "active", "active", "draft"]),
        )
        for _ in range(90)
    ]
    await load_products(db, *products)
    later = (BASE_TIME + timedelta(hours=1)).isoformat()
    # Words only in descriptions, beginning like known ones: the lexicon must learn them.
    changed = [
        {**p, "updated_at": later, "body_html": f"<p>{sentence(rng, 2)} {NAMES[n % 3]}x{n}</p>"}
        for n, p in enumerate(products[:30])
    ]
    await load_products(db, *changed)
    searches = ["zo", "zob", "zocl", "حفل", "بالحفلة", "cafe", "café park", *NAMES[:3], "zoakx1"]
    searches += [" ".join(rng.sample(["zo", "zoa", "park", "حفل", "caf"], 2)) for _ in range(12)]
    async with db.connect() as conn:
        for search in searches:
            expected = await matching_ids(conn, search)
            assert await listed_ids(conn, search) == (expected, len(expected)), search
            assert await conn.scalar(count_statement(EventFilters(search=search))) == len(expected)


async def test_a_word_with_a_known_form_is_not_corrected(db: AsyncEngine) -> None:
    oud = make_product(title="أمسية العود", category=None, tags="")
    swim = make_product(title="ليلة بالعوم", category=None, tags="")  # trigram-near "بالعود"
    await load_products(db, oud, swim)
    async with db.connect() as conn:
        # "بالعود" is not a term, but its stem "عود" is: a prefixed word, not a misspelt one.
        assert (await listed_ids(conn, "بالعود"))[0] == {oud["id"]}
        assert oud["id"] in (await listed_ids(conn, "العوذ"))[0]  # misspelt: corrected


async def test_the_search_index_has_no_pending_list(db: AsyncEngine) -> None:
    """Entries a search would scan one by one until vacuum merges them (migration 0005)."""
    async with db.connect() as conn:
        index = "ix_event_search_document_vector"
        options = await conn.scalar(
            text("SELECT reloptions FROM pg_class WHERE relname = :index"), {"index": index}
        )
    assert options == ["fastupdate=off"]


def test_searches_of_one_shape_share_one_statement() -> None:
    """Built once per shape (words and forms), values bound per request: no per-request build."""

    def query(search: str, page: int = 1) -> tuple[object, dict[str, object]]:
        filters = EventFilters(search=search, categories=("concerts",))  # a folded key
        params = EventListParams(filters=filters, sort=Sort.RELEVANCE, page=page)
        return gin.page_query(params)

    night, night_values = query("night owl")
    day, day_values = query("day fest", page=3)
    assert night is day
    assert night_values["w0_0"] == "night" and day_values["w1_0"] == "fest"
    assert day_values["offset"] == 40 and day_values["categories"] == ["concerts"]
    arabic, _ = query("بالحفلة owl")  # more forms: another shape
    single, _ = query("a owl")  # a single letter matches exactly: another shape
    assert len({id(night), id(arabic), id(single)}) == 3


async def test_searches_reuse_their_plans_and_lists_plan_with_their_values(
    settings: Settings, db: AsyncEngine
) -> None:
    """Searches run on a pool whose sessions keep one plan per prepared statement (db.py says
    why); lists, planned for their values, keep the server's default. Behind a transaction
    pooler nothing is prepared, and searches share the read pool."""
    database = open_database(settings, pool=False)
    try:
        modes = []
        for search in (True, False):
            async with database.reads(search=search).connect() as conn:
                modes.append(await conn.scalar(text("SHOW plan_cache_mode")))
        assert modes == ["force_generic_plan", "auto"]
    finally:
        await database.dispose()
    pooled = open_database(settings.model_copy(update={"db_statement_cache_size": 0}), pool=False)
    try:
        assert pooled.reads(search=True) is pooled.read
        # Precompiled statements (catalog.run) run unprepared too, again and again on one session.
        await load_products(db, make_product(title="Night Owl"), make_product(title="Jazz"))
        searched = EventListParams(filters=EventFilters(search="night owl"), sort=Sort.RELEVANCE)
        async with pooled.read.connect() as conn:
            totals = [(await search_events(conn, searched)).total for _ in range(3)]
            totals += [(await list_events(conn, EventListParams())).total for _ in range(3)]
        assert totals == [1, 1, 1, 2, 2, 2]
    finally:
        await pooled.dispose()


async def ordered_ids(conn: AsyncConnection, sort: Sort, search: str | None) -> list[int]:
    """Every listed event (matching `search`) in `sort` order, walked by cursor 7 at a time."""
    seen: list[int] = []
    cursor = None
    while True:
        filters = EventFilters(search=search)
        params = EventListParams(filters=filters, sort=sort, limit=7, cursor=cursor)
        page = await (list_events if search is None else search_events)(conn, params)
        seen += [row.shopify_product_id for row in page.rows]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


async def test_searches_sort_by_title_and_price_as_lists_do_after_any_changes(
    db: AsyncEngine,
) -> None:
    """A search sorts by the copies of the keys in event_search (migration 0008): the same order
    as the list's, ties and missing prices included, after renames and price changes."""
    rng = random.Random(8)

    def product(**overrides: object) -> dict[str, object]:
        prices = [str(rng.choice([10, 25, 25, 40])) for _ in range(rng.randrange(3))]
        fields: dict[str, object] = {
            "title": rng.choice(["Gala", "gala", "Zoab gala", "Park"]) + rng.choice(["", " Ä"]),
            "variants": [make_variant(price=price) for price in prices],
        }
        return make_product(**(fields | overrides))  # type: ignore[arg-type]

    products = [product() for _ in range(30)]
    await load_products(db, *products)
    later = BASE_TIME + timedelta(hours=1)
    changed = [
        product(product_id=p["id"], handle=p["handle"], updated_at=later)
        for p in rng.sample(products, 12)
    ]
    await load_products(db, *changed)
    async with db.connect() as conn:
        copies = await conn.scalar(
            text(
                "SELECT count(*) FROM events AS e JOIN event_search AS s"
                " ON s.event_id = e.shopify_product_id"
                " WHERE s.title_key IS DISTINCT FROM lower(e.title)"
                " OR s.min_price IS DISTINCT FROM e.min_price"
            )
        )
        assert copies == 0
        for sort in (Sort.TITLE, Sort.PRICE, Sort.PRICE_DESC):
            matching = set(await ordered_ids(conn, Sort.RELEVANCE, "gala"))
            listed = [i for i in await ordered_ids(conn, sort, None) if i in matching]
            assert len(matching) > 10
            assert await ordered_ids(conn, sort, "gala") == listed, sort
