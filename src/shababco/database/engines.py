"""Engines for the primary and the optional read replica, and the embedded default."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shababco import metrics
from shababco.config import Settings
from shababco.database.embedded import EmbeddedPostgres

SQL_TOKEN = re.compile(r"\(|\)|'(?:[^']|'')*'|\"[^\"]*\"|[A-Za-z_][A-Za-z0-9_.]*")
TABLE_KEYWORDS = frozenset({"from", "join", "into", "update"})
CTE_NAME = re.compile(
    r'(?:\bWITH(?:\s+RECURSIVE)?|,)\s+"?(\w+)"?\s+AS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(',
    re.IGNORECASE,
)


def async_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` URLs and use the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _unnamed() -> str:
    return ""


def _connect_args(statement_cache_size: int) -> dict[str, Any]:
    if statement_cache_size > 0:
        return {"prepared_statement_cache_size": statement_cache_size}
    # Behind a transaction pooler (PgBouncer before 1.21 knows nothing of prepared statements)
    # consecutive messages may reach different server connections, and a named statement
    # prepared on one is missing on the other: asyncpg closes statements it no longer needs
    # (Close, Sync) between another statement's Parse and its Bind, and the pooler may hand the
    # Bind to another server there. The unnamed statement never outlives its use: with no
    # statement cache asyncpg sends its Parse again with the Bind, Execute and Sync, so each
    # execution is complete on whichever server connection it reaches, and nothing is left
    # prepared behind it.
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unnamed,
    }


def json_loads(text: str) -> Any:
    """A JSON column's value: orjson's parse, several times quicker than the standard library's
    for the catalog's JSONB columns, which that one takes over where orjson refuses (numbers
    beyond 64 bits or a double's range)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def create_engine(url: str, settings: Settings, *, pool: bool = True) -> AsyncEngine:
    """An asyncpg engine with the configured pool settings.

    Statement parameters never appear in its errors (`hide_parameters`): they carry whatever a
    payload held, and an error's text reaches the logs.

    The pool opens up to DB_POOL_SIZE + DB_MAX_OVERFLOW connections as requests need them, and
    keeps the overflow ones once opened. SQLAlchemy's own overflow closes a connection handed
    back while DB_POOL_SIZE others wait idle, which under steady load is all the time: at 100
    concurrent uncached reads the pool opened 111 new sessions in 5 s (each a server process,
    its type codecs set up again, its statements prepared again), stalling the requests that
    waited for them.
    """
    options: dict[str, Any] = {
        "connect_args": _connect_args(settings.db_statement_cache_size),
        "hide_parameters": True,
        "json_deserializer": json_loads,
    }
    if pool:
        options |= {
            "pool_size": settings.db_pool_size + settings.db_max_overflow,
            "max_overflow": 0,
            "pool_recycle": 1800,
        }
    else:
        from sqlalchemy.pool import NullPool

        options["poolclass"] = NullPool
    engine = create_async_engine(async_url(url), **options)
    _time_statements(engine)
    return engine


@lru_cache(maxsize=4096)
def main_table(statement: str) -> str:
    """The first table a statement names outside any parenthesis (subqueries, CTE bodies).

    `SELECT … FROM (SELECT … FROM event_search …) AS page JOIN events …` is `events`, and so
    is `WITH event AS (…) SELECT … FROM event JOIN events …`; a statement with no such table
    (`SELECT 1`, a function call) is `other`.
    """
    ctes = {name.lower() for name in CTE_NAME.findall(statement)}
    depth, expecting = 0, False
    for part in SQL_TOKEN.findall(statement):
        if part == "(":
            depth += 1
            expecting = False
        elif part == ")":
            depth -= 1
        elif depth == 0:
            word: str = part.strip('"').lower()
            if expecting and word in ctes:
                expecting = False
            elif expecting and not part.startswith("'"):
                return word.rsplit(".", 1)[-1]
            else:
                expecting = word in TABLE_KEYWORDS
    return "other"


def _time_statements(engine: AsyncEngine) -> None:
    """Observe `db_query_time_seconds{table}` for every statement the engine runs."""

    def started(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["shababco_query_started"] = time.perf_counter()

    def finished(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        began = conn.info.pop("shababco_query_started", None)
        if began is not None:
            metrics.query_timed(main_table(statement), time.perf_counter() - began)

    event.listen(engine.sync_engine, "before_cursor_execute", started)
    event.listen(engine.sync_engine, "after_cursor_execute", finished)


@dataclass
class Database:
    """The engines a process uses; owns the embedded server when there is no DATABASE_URL."""

    url: str
    write: AsyncEngine
    read: AsyncEngine
    # Searches' own pool on the read server, if any (open_database), else they use `read`.
    search: AsyncEngine | None = None
    embedded: EmbeddedPostgres | None = field(default=None, repr=False)

    @property
    def write_autocommit(self) -> AsyncEngine:
        """The primary, one statement per transaction (shares the write pool)."""
        return self._write_autocommit

    def __post_init__(self) -> None:
        self._write_autocommit = self.write.execution_options(isolation_level="AUTOCOMMIT")

    def reads(self, *, search: bool) -> AsyncEngine:
        """The engine of a read: a search's own, else the read engine."""
        return self.search if search and self.search is not None else self.read

    async def dispose(self) -> None:
        if self.search is not None:
            await self.search.dispose()
        if self.read.url != self.write.url:
            await self.read.dispose()
        await self.write.dispose()
        if self.embedded is not None:
            self.embedded.close()


def resolve_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """DATABASE_URL if set, else the embedded server (started on first use)."""
    if settings.database_url:
        return async_url(settings.database_url), None
    embedded = EmbeddedPostgres(settings.data_dir)
    return embedded.url(), embedded


def open_database(settings: Settings, *, pool: bool = True) -> Database:
    url, embedded = resolve_url(settings)
    write = create_engine(url, settings, pool=pool)
    read = write
    if settings.database_read_url:
        read = create_engine(settings.database_read_url, settings, pool=pool)
    # Reads are single statements or a page and its count: autocommit spares each request the
    # BEGIN and ROLLBACK round trips (the engines still share one pool).
    read = read.execution_options(isolation_level="AUTOCOMMIT")
    search = None
    if settings.db_statement_cache_size > 0:
        search = _search_engine(settings.database_read_url or url, settings, pool)
    return Database(url=url, write=write, read=read, search=search, embedded=embedded)


def _search_engine(url: str, settings: Settings, pool: bool) -> AsyncEngine:
    """Reads with a search, on a pool of their own whose sessions plan each prepared statement
    once (`plan_cache_mode = force_generic_plan`).

    A search statement's plan hardly depends on its values: the words become a tsquery inside
    the statement, unknown to the planner either way. Planning it for each execution cost 0.7-1.2
    ms of a 2-6 ms search (bench/results/catalog_reads.md). PostgreSQL keeps planning it because
    the generic plan's estimates (a LIMIT, trigram lookups of unknown words) cost more than the
    custom ones, although they choose the same scans. List statements do need their values (a
    generic plan made list p50 19.7 ms instead of 2.3), hence the separate pool. Behind a
    transaction pooler (DB_STATEMENT_CACHE_SIZE=0) nothing is prepared twice: searches use the
    read pool.
    """
    engine = create_engine(url, settings, pool=pool)

    # A SET rather than a startup parameter, which a session-mode pooler may refuse; outside a
    # transaction, which the pool's first rollback would undo it with.
    @event.listens_for(engine.sync_engine, "connect")
    def plan_once(dbapi_connection: Any, record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.close()
        dbapi_connection.autocommit = autocommit

    return engine.execution_options(isolation_level="AUTOCOMMIT")
