"""The change log in PostgreSQL: what every committed write changed, numbered in commit order.

Writers append one row right after their transaction commits (`record_change`), or as its last
statement (`append_change`), holding an advisory lock so that sequence numbers are handed out in
commit order: whoever has seen row N
knows that the data of every row up to N is committed. Readers poll `changes_since(seq)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Boolean, Identity, Index, Row, delete, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from shababco.database.core import Base, Timestamp

# Serialises appends so that `seq` order is commit order (see the module docstring).
APPEND_LOCK_KEY = 0x5348_4142_0002
# Longer than any cache TTL (the cache clamps its TTLs below it): a reader that missed pruned
# rows only ever held entries that have expired since.
RETENTION = timedelta(hours=1)
PRUNE_EVERY = 256  # appends
PAGE = 1000


class CacheChange(Base):
    """One committed write: the events it changed and whether listings may have moved."""

    __tablename__ = "cache_changes"
    __table_args__ = (Index("ix_cache_changes_created_at", "created_at"),)

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    listings: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


async def record_change(engine: AsyncEngine, event_ids: Iterable[int], *, listings: bool) -> int:
    """Append a change after its write committed; returns its sequence number."""
    async with engine.begin() as conn:
        return await append_change(conn, event_ids, listings=listings)


async def append_change(conn: AsyncConnection, event_ids: Iterable[int], *, listings: bool) -> int:
    """Append a change within the write's own transaction, as its last statement: the lock is
    held until that commits, so the order of numbers is still the order of commits."""
    await conn.execute(select(func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))
    appended = await conn.execute(
        insert(CacheChange)
        .values(event_ids=sorted(event_ids), listings=listings)
        .returning(CacheChange.seq)
    )
    seq: int = appended.scalar_one()
    if seq % PRUNE_EVERY == 0:
        await conn.execute(
            delete(CacheChange).where(CacheChange.created_at < func.now() - RETENTION)
        )
    return seq


async def latest_seq(conn: AsyncConnection) -> int:
    """The newest sequence number, 0 when nothing was ever recorded."""
    return int(await conn.scalar(select(func.coalesce(func.max(CacheChange.seq), 0))) or 0)


async def changes_since(conn: AsyncConnection, seq: int) -> Sequence[Row[int, list[int], bool]]:
    """Up to PAGE changes after `seq`, oldest first."""
    result = await conn.execute(
        select(CacheChange.seq, CacheChange.event_ids, CacheChange.listings)
        .where(CacheChange.seq > seq)
        .order_by(CacheChange.seq)
        .limit(PAGE)
    )
    return result.all()
