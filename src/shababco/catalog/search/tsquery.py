"""The tsqueries of a search, built in SQL from the lexicon (`search_terms`) in one CTE.

Each query word is a prefix, in any of its forms (search.words), or a typo correction. The
search needs two equivalent queries: `query`, the prefixes themselves, for ranking exactly as
PostgreSQL ranks prefixes; and `match`, for the GIN index, where each prefix is replaced by the
lexicon terms it begins. The index intersects exact entries by skipping through their postings,
but collects every posting of a prefix first: "summer:* & desert:*" reads two 17k-event lists,
"summer & desert" only what they share. Both match the same events because the writers keep
every indexed lexeme in the lexicon.

Imported by search.gin and search.postings; imports search.words and models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    FromClause,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog.models import SearchTerm
from shababco.catalog.search.words import query_words

CORRECTIONS_PER_WORD = 3
# Beyond this many terms a prefix stays a prefix: one range scan of the index beats as many
# entry lookups, and a prefix that common rarely narrows anything.
EXPANSION_LIMIT = 32


@dataclass(frozen=True)
class SearchShape:
    """What the statement of a search depends on besides its values: for each word, for each of
    its forms, whether the form is a single letter (matched exactly, never as a prefix)."""

    words: tuple[tuple[bool, ...], ...]


def search_values(search: str) -> tuple[SearchShape, dict[str, str]] | None:
    """The shape of a search and the values of its bound forms (`w{word}_{form}`)."""
    words = query_words(search)
    if not words:
        return None
    shape = SearchShape(tuple(tuple(len(form) == 1 for form in forms) for forms in words))
    values = {_name(n, i): form for n, forms in enumerate(words) for i, form in enumerate(forms)}
    return shape, values


def _name(word: int, form: int) -> str:
    return f"w{word}_{form}"


def form_param(word: int, form: int) -> BindParameter[str]:
    return bindparam(_name(word, form), type_=Text())


def term_of(form: BindParameter[str]) -> ColumnElement[str]:
    """A query form as to_tsquery indexes it: unaccented, lower case."""
    return func.lower(func.shababco_unaccent(form))


def begins_with(form: BindParameter[str]) -> ColumnElement[bool]:
    """Terms that begin with the form: a byte-order range, indexed whatever the collation."""
    lexeme = term_of(form)
    following = func.concat(func.left(lexeme, -1), func.chr(func.ascii(func.right(lexeme, 1)) + 1))
    return and_(SearchTerm.term.op("~>=~")(lexeme), SearchTerm.term.op("~<~")(following))


def any_of(terms: Any) -> ColumnElement[str]:
    return func.string_agg(func.quote_literal(terms), " | ")


def _corrections(forms: list[BindParameter[str]]) -> ColumnElement[str]:
    """` | a | b` for the terms nearest a word none of whose forms is a term (typo tolerance)."""
    word = forms[0]
    nearest = (
        select(SearchTerm.term)
        .where(SearchTerm.term.op("%")(word))
        .order_by(SearchTerm.term.op("<->")(word), SearchTerm.term)  # ties: the same on every page
        .limit(CORRECTIONS_PER_WORD)
        .subquery()
    )
    alternatives = select(any_of(nearest.c.term)).scalar_subquery()
    known = or_(*(exists().where(SearchTerm.term == term_of(form)) for form in forms))
    return case((known, ""), else_=func.coalesce(" | " + alternatives, ""))


def _expanded(form: BindParameter[str], single: bool) -> ColumnElement[str] | BindParameter[str]:
    """The terms a prefix form begins, OR-ed; the prefix itself if it begins none or too many."""
    if single:
        return form
    terms = select(SearchTerm.term).where(begins_with(form)).limit(EXPANSION_LIMIT + 1).subquery()
    listed = case((func.count() <= EXPANSION_LIMIT, any_of(terms.c.term)))
    return func.coalesce(select(listed).scalar_subquery(), func.concat(form, ":*"))


def tsquery(parts: list[Any]) -> ColumnElement[Any]:
    return func.to_tsquery("simple", func.shababco_unaccent(func.concat(*parts)))


def word_parts(
    forms: list[BindParameter[str]], singles: tuple[bool, ...], corrections: Any
) -> list[Any]:
    """One word of the ranking query, `(form:* | ... <corrections>)`, a one-letter form exact:
    `corrections` is the ` | 'a' | 'b'` of its typo corrections, or ''."""
    parts: list[Any] = ["("]
    for index, (form, single) in enumerate(zip(forms, singles, strict=True)):
        parts += [" | " if index else "", form, "" if single else ":*"]
    return [*parts, corrections, ")"]


def search_cte(shape: SearchShape) -> FromClause:
    """A one-row CTE `q(query, match, in_name)` for searches of this shape, values bound at
    execution: `query` ranks, `match` finds (the same events), `in_name` ranks names first."""
    words = [[form_param(n, i) for i in range(len(forms))] for n, forms in enumerate(shape.words)]
    # Materialized apart: each word's corrections are looked up once for both queries.
    corrections = (
        select(*(_corrections(forms).label(f"word_{n}") for n, forms in enumerate(words)))
        .cte("corrections")
        .prefix_with("MATERIALIZED")
    )
    ranked: list[Any] = []
    matched: list[Any] = []
    for n, forms in enumerate(words):
        join = " & " if n else ""
        ranked += [join, *word_parts(forms, shape.words[n], corrections.c[f"word_{n}"])]
        matched += [join, "("]
        for index, (form, single) in enumerate(zip(forms, shape.words[n], strict=True)):
            matched += [" | " if index else "", _expanded(form, single)]
        matched += [corrections.c[f"word_{n}"], ")"]
    built = (
        select(tsquery(ranked).label("query"), tsquery(matched).label("match"))
        .select_from(corrections)
        .cte("built")
    )
    named = select(built.c.query, built.c.match, in_name(built.c.query).label("in_name"))
    # Materialized: the lookups run once, and the plan stays small.
    return named.cte("q").prefix_with("MATERIALIZED")


# Each operand of a tsquery's text, 'lexeme' or 'lexeme':*: the quoted lexeme, the prefix mark.
OPERAND = r"('(?:[^']|'')*')(?::(\*))?"


def in_name(query: ColumnElement[Any]) -> ColumnElement[Any]:
    """The query with every operand restricted to weight A, the name's (apply.title_vector):
    computed once per search, where filtering each row's vector took 0.5 ms per 2,000 rows."""
    weighted = func.regexp_replace(cast(query, Text), OPERAND, r"\1:\2A", "g")
    return cast(weighted, TSQUERY)
