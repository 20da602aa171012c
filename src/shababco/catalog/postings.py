"""One-word searches by relevance, answered from the search postings' index alone.

The events matching a word are those with a posting for one of its terms: the lexicon terms each
of its forms begins (a one-letter form: itself), or its typo corrections. An event's relevance
is the best rank of those postings (2: in its name, 1: in its labels, 0: in its description
only); ties go to the newest event. The GIN path ranks alike (catalog.queries._relevance).

The index orders each term's postings by rank, newest first, so each term yields the first `k`
events of a rank from the top of its range, and the page is the best `k` of their union: an
event of the page is among the first `k` of the term that ranks it best. A rank skips the
events that hold a term better placed before counting them. The total counts the distinct
events of every term's postings, read from the index too: about 2 ms for 18,000 matches, where
visiting the rows took 20.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    Float,
    Integer,
    Select,
    Text,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog.models import Event, EventSearch, SearchPosting, SearchTerm
from shababco.catalog.params import MAX_BIGINT, Cursor, EventListParams, Sort
from shababco.catalog.search_sql import (
    CORRECTIONS_PER_WORD,
    SearchShape,
    begins_with,
    form_param,
    search_values,
    term_of,
)

RANKS = (2, 1, 0)  # in the name, in the labels only, in the description only
Values = dict[str, Any]


def page_query(
    params: EventListParams, summary_columns: tuple[Any, ...]
) -> tuple[Select[Any], Values] | None:
    """The page statement of a one-word relevance search without filters, else None."""
    filters = params.filters
    if params.sort is not Sort.RELEVANCE or not filters.search:
        return None
    if filters.categories or filters.starts_after or filters.starts_before:
        return None
    searched = search_values(filters.search)
    if searched is None or len(searched[0].words) != 1:
        return None
    shape, forms = searched
    values: Values = {
        **forms,
        **_bounds(params.cursor),
        "offset": params.offset,
        "limit": params.limit + 1,
        "k": params.offset + params.limit + 1,
    }
    return _page_statement(shape, summary_columns), values


def count_query(params: EventListParams) -> tuple[Select[Any], Values]:
    """The total of a search `page_query` accepted (for a page past the last)."""
    searched = search_values(params.filters.search or "")
    assert searched is not None
    shape, forms = searched
    return _count_statement(shape), dict(forms)


def _bounds(cursor: Cursor | None) -> Values:
    """`last_{rank}`: the highest event id each rank may still yield after the cursor."""
    value = float(cursor.value) if cursor else None  # a number: Cursor.decode refuses others

    def last(rank: int) -> int:
        if cursor is None or value is None or rank < value:
            return MAX_BIGINT
        return cursor.last_id - 1 if rank == value else -1

    return {f"last_{rank}": last(rank) for rank in RANKS}


def _terms(shape: SearchShape) -> CTE:
    """The terms of the word: its forms' lexicon terms, or its nearest terms if none is known."""
    singles = shape.words[0]
    forms = [form_param(0, index) for index in range(len(singles))]
    parts: list[Select[Any]] = []
    for form, single in zip(forms, singles, strict=True):
        if single:
            parts.append(select(term_of(form).label("term")))
        else:
            parts.append(select(SearchTerm.term.label("term")).where(begins_with(form)))
    known = or_(*(exists().where(SearchTerm.term == term_of(form)) for form in forms))
    nearest = (
        select(SearchTerm.term)
        .where(SearchTerm.term.op("%")(forms[0]), ~known)
        .order_by(SearchTerm.term.op("<->")(forms[0]), SearchTerm.term)
        .limit(CORRECTIONS_PER_WORD)
        .subquery()
    )
    parts.append(select(nearest.c.term))
    return union(*parts).cte("terms").prefix_with("MATERIALIZED")


def _tier(terms: CTE, rank: int) -> Select[Any]:
    """The first `k` distinct events of a rank over every term, newest first."""
    posting = aliased(SearchPosting)
    firsts = (
        select(posting.event_id)
        .where(
            posting.term == terms.c.term,
            posting.rank == rank,
            posting.event_id <= bindparam(f"last_{rank}", type_=BigInteger()),
        )
        .order_by(posting.event_id.desc())
        .limit(bindparam("k", type_=Integer()))
    )
    if rank < RANKS[0]:
        # Probed per candidate while the ordered scan runs: whether the event's title part holds
        # a term better placed. Its one event_search row answers whatever the number of terms
        # (an index probe per term took 0.1 ms for a 50-term prefix). A scalar subquery, because
        # the planner would turn NOT EXISTS into a hash anti join, which reads every candidate of
        # the rank before the first comes.
        title = EventSearch.title_vector
        better = func.ts_filter(title, literal_column("'{a}'")) if rank == 1 else title
        every_term = cast(select(func.array_agg(terms.c.term)).scalar_subquery(), ARRAY(Text()))
        better_placed = (
            select(literal(1))
            .where(
                EventSearch.event_id == posting.event_id,
                func.tsvector_to_array(better).op("&&")(every_term),
            )
            .scalar_subquery()
        )
        # One term gives each event one posting: its rank, nothing to probe.
        firsts = firsts.where(or_(_one_term(terms), better_placed.is_(None)))
    each = firsts.lateral(f"rank_{rank}_firsts")
    return (
        select(each.c.event_id, literal(float(rank), Float()).label("sort_key"))
        .select_from(terms.join(each, true()))
        .distinct()
    )


def _total(terms: CTE) -> Any:
    """The events holding any of the terms. One term holds each event once: counted without the
    sort that dedupes several (1.8 ms instead of 4.7 for 18,000 events)."""
    posting = aliased(SearchPosting)
    held = terms.join(posting, posting.term == terms.c.term)
    each_once = select(func.count()).select_from(held).scalar_subquery()
    distinct = select(func.count(posting.event_id.distinct())).select_from(held)
    return case((_one_term(terms), each_once), else_=distinct.scalar_subquery())


def _one_term(terms: CTE) -> ColumnElement[bool]:
    """Whether the word has a single term: each event then has one posting of it."""
    return select(func.count()).select_from(terms).scalar_subquery() == 1


@lru_cache(maxsize=256)
def _page_statement(shape: SearchShape, summary_columns: tuple[Any, ...]) -> Select[Any]:
    """limit + 1 events from `offset`, with the total (bound: forms, k, offset, limit, last_*)."""
    terms = _terms(shape)
    ranked = union_all(*(_tier(terms, rank) for rank in RANKS))
    candidates = ranked.subquery("candidates")
    order = (candidates.c.sort_key.desc(), candidates.c.event_id.desc())
    page = (
        select(candidates)
        .order_by(*order)
        .offset(bindparam("offset", type_=Integer()))
        .limit(bindparam("limit", type_=Integer()))
        .subquery("page")
    )
    return (
        select(
            *summary_columns,
            cast(page.c.sort_key, Text).label("sort_value"),
            _total(terms).label("total"),
        )
        .select_from(page.join(Event, Event.shopify_product_id == page.c.event_id))
        .order_by(page.c.sort_key.desc(), page.c.event_id.desc())
    )


@lru_cache(maxsize=256)
def _count_statement(shape: SearchShape) -> Select[Any]:
    return select(_total(_terms(shape)))
