"""Engines for the primary and the optional read replica, and the embedded default."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shababco.config import Settings
from shababco.embedded import EmbeddedPostgres


def async_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` URLs and use the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _connect_args(statement_cache_size: int) -> dict[str, Any]:
    if statement_cache_size > 0:
        return {"prepared_statement_cache_size": statement_cache_size}
    # Behind a transaction pooler a prepared statement may land on another server connection:
    # no caching, and unique names so two clients never collide on one.
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__shababco_{uuid.uuid4().hex}__",
    }


def create_engine(url: str, settings: Settings, *, pool: bool = True) -> AsyncEngine:
    """An asyncpg engine with SPEC §10's pool settings."""
    options: dict[str, Any] = {"connect_args": _connect_args(settings.db_statement_cache_size)}
    if pool:
        options |= {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            "pool_recycle": 1800,
        }
    else:
        from sqlalchemy.pool import NullPool

        options["poolclass"] = NullPool
    return create_async_engine(async_url(url), **options)


@dataclass
class Database:
    """The engines a process uses; owns the embedded server when there is no DATABASE_URL."""

    url: str
    write: AsyncEngine
    read: AsyncEngine
    embedded: EmbeddedPostgres | None = field(default=None, repr=False)

    @property
    def write_autocommit(self) -> AsyncEngine:
        """The primary, one statement per transaction (shares the write pool)."""
        return self._write_autocommit

    def __post_init__(self) -> None:
        self._write_autocommit = self.write.execution_options(isolation_level="AUTOCOMMIT")

    async def dispose(self) -> None:
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
    return Database(url=url, write=write, read=read, embedded=embedded)
