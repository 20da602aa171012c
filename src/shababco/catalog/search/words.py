"""Text normalization shared by the search document (writes) and the search query (reads).

Both sides fold case, strip Latin accents and Arabic diacritics (harakat, tatweel, hamza seats on
alef), and index Arabic words also without their common attached prefixes (ال, لل, و, ب, ...),
so `الحفلة`, `حفلة` and `بالحفلة` find each other.

Imported by search.tsquery (reads) and, through catalog.search, by shopify.apply (writes);
imports nothing of the project.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ب")
ARABIC_LETTERS = re.compile(r"[\u0621-\u064a]")
# Letters and digits, but the spacing modifier letters (U+02B0-U+02FF: ʼ ʻ ː ...), which unaccent
# turns into quotes and colons: inside a tsquery those are syntax, and a search failed on them.
TOKEN = re.compile(r"[^\W_\u02b0-\u02ff]+")
EXTRA_FOLDS = str.maketrans({"\u0671": "\u0627", "\u0640": None})  # alef wasla, tatweel
MAX_QUERY_TERMS = 8
MIN_STEM = 2


def normalize(text: str) -> str:
    """Case-folded text without accents or Arabic diacritics."""
    decomposed = unicodedata.normalize("NFKD", text.translate(EXTRA_FOLDS))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped).casefold()


def category_key(category: str) -> str:
    """A category as filters match it: folded like search words, spaces collapsed."""
    return " ".join(normalize(category).split())


def _variants(token: str) -> list[str]:
    """The token and, for an Arabic word, its stems behind each attached prefix."""
    variants = [token]
    if ARABIC_LETTERS.match(token):
        for prefix in ARABIC_PREFIXES:
            stem = token[len(prefix) :]
            if token.startswith(prefix) and len(stem) >= MIN_STEM and stem not in variants:
                variants.append(stem)
    return variants


def tokens(text: str) -> list[str]:
    return TOKEN.findall(normalize(text))


def search_document(parts: Iterable[str | None]) -> str:
    """The text indexed for full-text and trigram search."""
    words: list[str] = []
    for part in parts:
        for token in tokens(part or ""):
            words.extend(_variants(token))
    return " ".join(words)


def query_words(query: str) -> list[list[str]]:
    """Each word of the query (at most MAX_QUERY_TERMS), with its forms: itself and its stems.

    Words are runs of letters and digits only, so nothing in a query can inject tsquery syntax.
    """
    return [_variants(token) for token in tokens(query)[:MAX_QUERY_TERMS]]
