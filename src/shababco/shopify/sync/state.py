"""Named markers in `sync_state`: a sync's cursor, reconciliation's watermark, the shop's facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.shopify.models import SyncState

SYNC = "sync"
RECONCILE = "reconcile"
SHOP = "shop"


async def read_state(conn: AsyncConnection, *, name: str) -> dict[str, Any] | None:
    """The stored value of a marker, or None."""
    value = await conn.scalar(select(SyncState.value).where(SyncState.name == name))
    return dict(value) if isinstance(value, dict) else None


async def write_state(conn: AsyncConnection, *, name: str, value: dict[str, Any]) -> None:
    """Store a marker (in the caller's transaction, beside the work it records)."""
    statement = insert(SyncState).values(name=name, value=value)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[SyncState.name],
            set_={"value": statement.excluded.value, "updated_at": func.now()},
        )
    )


async def clear_state(conn: AsyncConnection, *, name: str) -> None:
    await conn.execute(delete(SyncState).where(SyncState.name == name))


async def shop_currency(conn: AsyncConnection, *, fallback: str) -> str:
    """The shop's currency as the store last said (sync, reconcile), else `fallback`."""
    known = (await read_state(conn, name=SHOP) or {}).get("currency_code")
    return known if isinstance(known, str) else fallback
