"""One-word searches by relevance, answered from the search postings' index alone.

The events matching a word are those with a posting for one of its terms: the lexicon terms each
of its forms begins (a one-letter form: itself), or its typo corrections. An event's relevance
is the best rank of those postings (2: in its name, 1: in its labels, 0: in its description
only); ties go to the newest event. The GIN path ranks alike (catalog.columns._relevance).

The index orders each term's postings by rank, newest first, so each term yields the first `k`
events of a rank from the top of its range, and the page is the best `k` of their union, each
event at the best rank found for it (`_page_statement` says why that suffices). The total counts
the distinct events of every term's postings, read from the index too: about 2 ms for 18,000
matches, where visiting the rows took 20.

Imported by catalog.search (whose `choose_method` sends one-word searches here); imports
search.tsquery, search.totals, columns, models and params.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    Float,
    Integer,
    Select,
    SmallInteger,
    Text,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog.columns import SUMMARY_COLUMNS, Values
from shababco.catalog.models import Event, EventSearch, SearchPosting, SearchTerm
from shababco.catalog.params import MAX_BIGINT, Cursor, EventListParams
from shababco.catalog.search.totals import totalled
from shababco.catalog.search.tsquery import (
    CORRECTIONS_PER_WORD,
    SearchShape,
    any_of,
    begins_with,
    form_param,
    in_name,
    search_values,
    term_of,
    tsquery,
    word_parts,
)

RANKS = (2, 1, 0)  # in the name, in the labels only, in the description only


def page_query(params: EventListParams) -> tuple[Select[Any], Values]:
    """The page statement of a one-word relevance search without filters (catalog.search's
    `choose_method` says which searches those are), and its values."""
    searched = search_values(params.filters.search or "")
    assert searched is not None and len(searched[0].words) == 1, "one word only"
    shape, forms = searched
    values: Values = {
        **forms,
        **_bounds(params.cursor),
        "offset": params.offset,
        "limit": params.limit + 1,
        "k": params.offset + params.limit + 1,
    }
    return _page_statement(shape, params.cursor is not None), values


def _bounds(cursor: Cursor | None) -> Values:
    """`last_{rank}`: the highest event id each rank may still yield after the cursor."""
    value = float(cursor.value) if cursor else None  # a number: Cursor.decode refuses others

    def last(rank: int) -> int:
        if cursor is None or value is None or rank < value:
            return MAX_BIGINT
        return cursor.last_id - 1 if rank == value else -1

    return {f"last_{rank}": last(rank) for rank in RANKS}


@dataclass(frozen=True)
class _Word:
    """The searched word in SQL: `terms`, every term it matches (its forms' lexicon terms, or
    its nearest terms if none is known); `ranking`, the tsqueries `query` and `in_name` that
    test an event's title part for any of them, as the GIN path ranks (search.tsquery)."""

    terms: CTE
    ranking: CTE


def _word(shape: SearchShape) -> _Word:
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
        .cte("nearest")
        .prefix_with("MATERIALIZED")
    )
    parts.append(select(nearest.c.term))
    terms = union(*parts).cte("terms").prefix_with("MATERIALIZED")
    corrections = func.coalesce(" | " + select(any_of(nearest.c.term)).scalar_subquery(), "")
    query = select(tsquery(word_parts(forms, singles, corrections)).label("query")).cte("word")
    ranking = select(query.c.query, in_name(query.c.query).label("in_name")).cte("ranking")
    return _Word(terms, ranking.prefix_with("MATERIALIZED"))


def _tier(word: _Word, rank: int, probed: bool) -> Select[Any]:
    """The first `k` events of a rank of every term, newest first; `probed`: only the events
    whose best rank this is."""
    terms = word.terms
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
    if probed and rank < RANKS[0]:
        # Probed per event while the ordered scan runs: whether the event's title part holds
        # a term better placed, tested on its one event_search row by the prefix query (a few
        # binary searches of its lexemes, whatever the number of terms: overlapping the
        # lexemes with a 600-term array took 0.1 ms per event). A scalar subquery, because the
        # planner would turn NOT EXISTS into a hash anti join, which reads every event of the
        # rank before the first comes.
        better = word.ranking.c.in_name if rank == 1 else word.ranking.c.query
        better_placed = (
            select(literal(1))
            .where(
                EventSearch.event_id == posting.event_id,
                EventSearch.title_vector.op("@@")(select(better).scalar_subquery()),
            )
            .scalar_subquery()
        )
        # One term gives each event one posting: its rank, nothing to probe.
        firsts = firsts.where(or_(_one_term(terms), better_placed.is_(None)))
    each = firsts.lateral(f"rank_{rank}_firsts")
    return select(each.c.event_id, literal(rank, SmallInteger()).label("rank")).select_from(
        terms.join(each, true())
    )


def _tiers(word: _Word, probed: bool) -> list[CTE]:
    """Each rank's lists, best first. A rank is read only while the better ones hold fewer than
    `k` events, which are then the page: a cursor page of "ro" (600 terms) took 16 ms instead of
    124 when every rank was read and probed."""
    tiers: list[CTE] = []
    for rank in RANKS:
        tier = _tier(word, rank, probed)
        if tiers:
            found = union_all(*(select(better.c.event_id) for better in tiers)).subquery()
            counted = select(func.count(found.c.event_id.distinct())).scalar_subquery()
            tier = tier.where(counted < bindparam("k", type_=Integer()))
        tiers.append(tier.cte(f"rank_{rank}").prefix_with("MATERIALIZED"))
    return tiers


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
def _page_statement(shape: SearchShape, after_cursor: bool) -> Select[Any]:
    """limit + 1 events from `offset`, each with the total, or the total alone if there are none
    (bound: forms, k, offset, limit, last_*).

    An event among the first `k` of the search is among the first `k` of its best rank's list
    for the term that ranks it best (whatever precedes it there outranks it), so the lists'
    union, each event at its best rank found, holds the page. After a cursor that no longer
    holds, since the events outranking it are cut away: the lists then skip, as they are read,
    the events holding a better-placed term (a probe per event read).
    """
    word = _word(shape)
    tiers = _tiers(word, probed=after_cursor)
    listed = union_all(*(select(tier) for tier in tiers)).subquery("listed")
    candidates = (
        select(listed.c.event_id, cast(func.max(listed.c.rank), Float()).label("sort_key"))
        .group_by(listed.c.event_id)
        .subquery("candidates")
    )
    order = (candidates.c.sort_key.desc(), candidates.c.event_id.desc())
    page = (
        select(candidates)
        .order_by(*order)
        .offset(bindparam("offset", type_=Integer()))
        .limit(bindparam("limit", type_=Integer()))
        .subquery("page")
    )
    return totalled(
        select(_total(word.terms).label("total")),
        page.join(Event, Event.shopify_product_id == page.c.event_id),
        [*SUMMARY_COLUMNS, cast(page.c.sort_key, Text).label("sort_value")],
        (page.c.sort_key.desc(), page.c.event_id.desc()),
    )
