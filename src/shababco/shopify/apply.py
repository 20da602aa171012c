"""Apply normalized records to the mirror, with the ordering guard (SPEC §3 invariants 4, 5).

Callers own the transaction: each function runs statements on the connection it is given and
returns the ids of the events it changed, for cache invalidation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.catalog.models import Event, Ticket
from shababco.catalog.search import search_document
from shababco.shopify.models import InventoryLevel
from shababco.shopify.normalize import InventoryLevelRecord, ProductRecords, Record

SEARCH_SOURCES = (
    Event.title,
    Event.subtitle,
    Event.category,
    Event.tags,
    Event.venue,
    Event.description_text,
)


def _newest_per_product(products: Iterable[ProductRecords]) -> list[ProductRecords]:
    """One record per product (the newest), so one statement never touches a row twice."""
    newest: dict[int, ProductRecords] = {}
    for product in products:
        current = newest.get(product.product_id)
        if current is None or product.updated_at >= current.updated_at:
            newest[product.product_id] = product
    return list(newest.values())


def _group_by_shape(records: Iterable[Record]) -> dict[tuple[str, ...], list[Record]]:
    """Records carrying the same columns, so each group is one multi-row INSERT."""
    groups: dict[tuple[str, ...], list[Record]] = {}
    for record in records:
        shape = (*sorted(record.fields), "|", *sorted(record.defaults))
        groups.setdefault(shape, []).append(record)
    return groups


async def upsert_products(conn: AsyncConnection, products: Iterable[ProductRecords]) -> set[int]:
    """Insert or update events and their tickets; an older payload never overwrites a newer one."""
    batch = _newest_per_product(products)
    applied: set[int] = set()
    for records in _group_by_shape(p.event for p in batch).values():
        applied |= await _upsert_events(conn, records)
    if not applied:
        return applied
    carried = [p for p in batch if p.product_id in applied]
    await _replace_tickets(conn, [p for p in carried if p.tickets is not None])
    levels = [level for p in carried for level in p.levels or ()]
    await upsert_inventory_levels(conn, levels)
    await refresh_search_documents(conn, applied)
    await refresh_ticket_stock(conn, event_ids=applied)
    await refresh_event_summaries(conn, applied)
    return applied


async def _upsert_events(conn: AsyncConnection, records: Sequence[Record]) -> set[int]:
    rows = [{**r.defaults, **r.fields} for r in records]
    insertion = insert(Event).values(rows)
    excluded = insertion.excluded
    updates: dict[str, Any] = {name: excluded[name] for name in records[0].fields}
    updates["synced_at"] = func.now()
    statement = insertion.on_conflict_do_update(
        index_elements=[Event.shopify_product_id],
        set_=updates,
        where=and_(
            Event.shopify_updated_at <= excluded.shopify_updated_at,
            Event.deleted_at.is_(None),
        ),
    ).returning(Event.shopify_product_id)
    result = await conn.execute(statement)
    return set(result.scalars())


async def _replace_tickets(conn: AsyncConnection, products: Sequence[ProductRecords]) -> None:
    """Upsert the carried variants and drop the ones the product no longer has."""
    if not products:
        return
    kept: list[tuple[int, int]] = []
    records: list[Record] = []
    for product in products:
        for ticket in product.tickets or ():
            ticket.fields["event_id"] = product.product_id
            records.append(ticket)
            kept.append((product.product_id, ticket.fields["shopify_variant_id"]))
    for group in _group_by_shape(records).values():
        statement = insert(Ticket).values([{**r.defaults, **r.fields} for r in group])
        updates: dict[str, Any] = {name: statement.excluded[name] for name in group[0].fields}
        updates["synced_at"] = func.now()
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[Ticket.shopify_variant_id], set_=updates
            )
        )
    product_ids = [p.product_id for p in products]
    stale = delete(Ticket).where(Ticket.event_id.in_(product_ids))
    if kept:
        stale = stale.where(tuple_(Ticket.event_id, Ticket.shopify_variant_id).not_in(kept))
    await conn.execute(stale)


async def upsert_inventory_levels(
    conn: AsyncConnection, levels: Sequence[InventoryLevelRecord]
) -> None:
    """Keep the newest `available` per (inventory item, location)."""
    newest: dict[tuple[int, int], InventoryLevelRecord] = {}
    for level in levels:
        key = (level.inventory_item_id, level.location_id)
        if key not in newest or level.updated_at >= newest[key].updated_at:
            newest[key] = level
    if not newest:
        return
    statement = insert(InventoryLevel).values(
        [
            {
                "inventory_item_id": level.inventory_item_id,
                "location_id": level.location_id,
                "available": level.available,
                "shopify_updated_at": level.updated_at,
            }
            for level in newest.values()
        ]
    )
    excluded = statement.excluded
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[InventoryLevel.inventory_item_id, InventoryLevel.location_id],
            set_={
                "available": excluded.available,
                "shopify_updated_at": excluded.shopify_updated_at,
            },
            where=InventoryLevel.shopify_updated_at <= excluded.shopify_updated_at,
        )
    )


async def refresh_search_documents(conn: AsyncConnection, event_ids: Iterable[int]) -> None:
    """Recompute the search text of events from their merged, stored fields."""
    rows = (
        await conn.execute(
            select(Event.shopify_product_id, *SEARCH_SOURCES).where(
                Event.shopify_product_id.in_(list(event_ids))
            )
        )
    ).all()
    if not rows:
        return
    documents = [{"event_id": row.shopify_product_id, "document": _document(row)} for row in rows]
    await conn.execute(
        update(Event)
        .where(Event.shopify_product_id == bindparam("event_id"))
        .values(search_document=bindparam("document")),
        documents,
    )


def _document(row: Any) -> str:
    venue = row.venue if isinstance(row.venue, dict) else {}
    venue_parts = [str(venue[key]) for key in ("name", "city") if venue.get(key)]
    return search_document(
        [row.title, row.subtitle, row.category, *row.tags, *venue_parts, row.description_text]
    )


async def refresh_ticket_stock(
    conn: AsyncConnection, *, event_ids: Iterable[int] | None = None
) -> None:
    """available = Σ newest level per location, or the variant's own total while none is known."""
    levels = (
        select(func.sum(InventoryLevel.available))
        .where(InventoryLevel.inventory_item_id == Ticket.inventory_item_id)
        .scalar_subquery()
    )
    statement = update(Ticket).values(available=func.coalesce(levels, Ticket.inventory_quantity, 0))
    if event_ids is not None:
        statement = statement.where(Ticket.event_id.in_(list(event_ids)))
    await conn.execute(statement)


async def refresh_event_summaries(conn: AsyncConnection, event_ids: Iterable[int]) -> None:
    """Recompute min price and total availability over each event's visible tickets."""
    ids = list(event_ids)
    if not ids:
        return
    visible = and_(Ticket.event_id == Event.shopify_product_id, Ticket.is_visible)
    await conn.execute(
        update(Event)
        .where(Event.shopify_product_id.in_(ids))
        .values(
            min_price=select(func.min(Ticket.price)).where(visible).scalar_subquery(),
            available=select(func.coalesce(func.sum(Ticket.available), 0))
            .where(visible)
            .scalar_subquery(),
        )
    )
