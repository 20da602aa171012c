"""What a failed attempt at applying a stored delivery means, and when to try it again.

Three kinds: an *outage* (the database is unreachable: nothing is counted, the whole batch waits
for it), a *transient* failure (a deadlock, a lock or statement timeout, an unexpected error:
tried again after an exponential backoff with jitter, then quarantined after MAX_ATTEMPTS), and
a *permanent* one (the content: a payload the normalizer refuses, a value PostgreSQL refuses:
quarantined at once, since trying again cannot help).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import DBAPIError

from shababco.errors import is_database_outage
from shababco.shopify.mirror.sql import refusal
from shababco.shopify.payloads import PayloadError

MAX_ATTEMPTS = 10
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 300.0
MAX_REASON_CHARS = 500
# SQLSTATE classes of failures that pass: transaction rollback (deadlock, serialization),
# insufficient resources, object in use (lock timeout), operator intervention (statement
# timeout, cancel), system error.
TRANSIENT_CLASSES = frozenset({"40", "53", "55", "57", "58"})
# The connection or the server itself: wait for the database like any outage.
OUTAGE_CLASSES = frozenset({"08"})
OUTAGE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})


class Kind(StrEnum):
    OUTAGE = "outage"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Failure:
    kind: Kind
    reason: str


def classify(exc: BaseException) -> Failure:
    """The kind of a failed attempt, and its reason as an operator reads it."""
    if isinstance(exc, PayloadError):
        return Failure(Kind.PERMANENT, _reason(str(exc)))
    if isinstance(exc, DBAPIError):
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        reason = _reason(refusal(exc))
        if isinstance(state, str) and len(state) == 5:
            if state[:2] in OUTAGE_CLASSES or state in OUTAGE_STATES:
                return Failure(Kind.OUTAGE, reason)
            if state[:2] in TRANSIENT_CLASSES:
                return Failure(Kind.TRANSIENT, f"{reason} [{state}]")
            return Failure(Kind.PERMANENT, f"{reason} [{state}]")
        if is_database_outage(exc):
            return Failure(Kind.OUTAGE, reason)
        return Failure(Kind.TRANSIENT, reason)
    if is_database_outage(exc):
        return Failure(Kind.OUTAGE, type(exc).__name__)
    return Failure(Kind.TRANSIENT, _reason(f"{type(exc).__name__}: {exc}"))


def _reason(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def backoff_seconds(attempts: int) -> float:
    """The wait after the `attempts`-th failed attempt: doubling from 1 s up to 5 min, of which
    a random half is waived, so deliveries that failed together do not retry together."""
    delay = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** max(attempts - 1, 0))
    return float(delay / 2 + random.uniform(0, delay / 2))


def gives_up(failure: Failure, attempts: int) -> bool:
    """Whether a delivery that failed its `attempts`-th attempt this way is quarantined."""
    return failure.kind is Kind.PERMANENT or attempts >= MAX_ATTEMPTS
