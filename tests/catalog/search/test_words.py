"""The search normalizer on arbitrary Unicode (hypothesis): query words are letters and digits
only, folding is stable, and any search runs in PostgreSQL, whatever unaccent makes of it."""

from __future__ import annotations

import string
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog.params import NUL, EventFilters, EventListParams, Sort
from shababco.catalog.search import (
    category_key,
    finds_nothing,
    normalize,
    query_words,
    search_events,
)
from shababco.catalog.search.words import MAX_QUERY_TERMS
from tests.support.data import load_products
from tests.support.factories import make_product

FAST = settings(max_examples=1000, derandomize=True, deadline=None)
# Unicode at large, plus what searches are made of: Latin and Arabic letters, their marks,
# digits, punctuation and the modifier letters unaccent turns into quotes.
ARABIC = "".join(map(chr, range(0x0621, 0x0670))) + "ـٱ"
searches = st.text(max_size=80) | st.text(
    alphabet=string.ascii_letters + string.digits + string.punctuation + " éüß" + ARABIC + "ʼʻːˈ",
    max_size=40,
)


@FAST
@given(searches)
def test_query_words_are_letters_and_digits(search: str) -> None:
    words = query_words(search)
    assert len(words) <= MAX_QUERY_TERMS
    for forms in words:
        assert forms and len(set(forms)) == len(forms)
        for form in forms:
            assert form and all(ch.isalnum() and not "\u02b0" <= ch <= "\u02ff" for ch in form)
    assert finds_nothing(EventFilters(search=search)) == (words == [])


@FAST
@given(st.text())
def test_folding_is_stable(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)
    key = category_key(text)
    assert category_key(key) == key and key == key.strip()
    assert not any(unicodedata.category(ch) == "Mn" for ch in key)


@FAST
@given(st.text(alphabet=string.ascii_letters + " éÉàÀçÇñÑ" + ARABIC + "\u064b\u064e\u0650"))
def test_a_category_key_ignores_case_accents_and_arabic_marks(name: str) -> None:
    plain = name.translate({0x064B: None, 0x064E: None, 0x0650: None, 0x0640: None})
    assert category_key(name.upper()) == category_key(name.lower()) == category_key(plain)


@settings(
    max_examples=250,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(searches.filter(lambda search: NUL not in search), st.sampled_from(list(Sort)))
async def test_any_search_runs(db: AsyncEngine, search: str, sort: Sort) -> None:
    if not await _stocked(db):
        await load_products(
            db,
            make_product(title="Jazz Night", body_html="<p>ʼn ˈsummer نهاية ٢٠٢٦</p>"),
            make_product(title="أمسية العود", category="أمسيات"),
        )
    params = EventListParams(filters=EventFilters(search=search), sort=sort, limit=5)
    async with db.connect() as conn:
        page = await search_events(conn, params)
    assert page.total >= len(page.rows)


async def _stocked(db: AsyncEngine) -> bool:
    async with db.connect() as conn:
        found = await conn.exec_driver_sql("SELECT count(*) FROM events")
        return bool(found.scalar_one())
