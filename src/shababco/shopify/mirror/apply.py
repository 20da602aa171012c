"""Apply normalized records to the mirror, with the ordering guard.

Callers own the transaction: each function runs statements on the connection it is given and
returns the ids of the events it changed, for cache invalidation.

The guard orders states by `updated_at`, then by the trigger time (`shopify_triggered_at`):
Shopify's `updated_at` has one-second resolution, and of two states of the same second the one
triggered later wins, whatever order they arrive in. When either has no trigger time (an import),
the later arrival wins, as it did before trigger times were kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Text,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog.models import Event, EventSearch, SearchTerm, Ticket
from shababco.catalog.search import category_key, search_document
from shababco.shopify.mirror.ledger import refresh_sold
from shababco.shopify.mirror.products import InventoryLevelRecord, ProductRecords, Record
from shababco.shopify.mirror.sql import in_ids, saturated
from shababco.shopify.models import InventoryLevel

SEARCH_SOURCES = (
    Event.title,
    Event.subtitle,
    Event.category,
    Event.tags,
    Event.venue,
    Event.description_text,
)


def _rounds(products: Iterable[ProductRecords]) -> list[list[ProductRecords]]:
    """The records in rounds of at most one per product, oldest first.

    One statement must not touch a row twice, and keeping only the newest record would lose
    what an older one carried and the newer does not (a create's metafields, say); applying
    them in order keeps exactly what one-by-one application would.
    """
    per_product: dict[int, list[ProductRecords]] = {}
    for product in products:
        per_product.setdefault(product.product_id, []).append(product)
    history = [sorted(records, key=lambda r: r.version) for records in per_product.values()]
    depth = max((len(records) for records in history), default=0)
    return [[records[n] for records in history if len(records) > n] for n in range(depth)]


def _group_by_shape(records: Iterable[Record]) -> dict[tuple[str, ...], list[Record]]:
    """Records carrying the same columns, so each group is one multi-row INSERT."""
    groups: dict[tuple[str, ...], list[Record]] = {}
    for record in records:
        shape = (*sorted(record.fields), "|", *sorted(record.defaults))
        groups.setdefault(shape, []).append(record)
    return groups


async def upsert_products(conn: AsyncConnection, products: Iterable[ProductRecords]) -> set[int]:
    """Insert or update events and their tickets; an older payload never overwrites a newer one."""
    applied: set[int] = set()
    for batch in _rounds(products):
        applied |= await _upsert_round(conn, batch)
    return applied


async def _upsert_round(conn: AsyncConnection, batch: list[ProductRecords]) -> set[int]:
    applied: set[int] = set()
    for records in _group_by_shape(p.event for p in batch).values():
        applied |= await _upsert_events(conn, records)
    if not applied:
        return applied
    carried = [p for p in batch if p.product_id in applied]
    await _replace_tickets(conn, [p for p in carried if p.tickets is not None])
    levels = [level for p in carried for level in p.levels or ()]
    await upsert_inventory_levels(conn, levels)
    await refresh_ticket_stock(conn, event_ids=applied)
    # Orders may have arrived before their tickets: count them now.
    await refresh_sold(conn, event_ids=applied)
    await refresh_event_summaries(conn, applied, search_rows=False)
    # Last, so the search rows are written once, with the price just computed: rewriting them
    # for the price made a 5,000-product load 35-50% slower (each rewrite re-indexes the row).
    await refresh_search(conn, applied)
    return applied


async def delete_products(
    conn: AsyncConnection, product_ids: Sequence[int], deleted_at: datetime, *, currency: str
) -> set[int]:
    """Tombstone products: hidden at once, and no late update can bring them back."""
    if not product_ids:
        return set()
    rows = [
        {
            "shopify_product_id": product_id,
            "handle": "",
            "title": "",
            "status": "archived",
            "currency": currency,
            "shopify_updated_at": deleted_at,
            "deleted_at": deleted_at,
        }
        for product_id in dict.fromkeys(product_ids)
    ]
    statement = insert(Event).values(rows)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[Event.shopify_product_id],
            set_={"deleted_at": func.coalesce(Event.deleted_at, statement.excluded.deleted_at)},
        )
    )
    ids = set(product_ids)
    await refresh_search(conn, ids)
    return ids


async def apply_inventory_levels(
    conn: AsyncConnection, levels: Sequence[InventoryLevelRecord]
) -> set[int]:
    """Record per-location levels and recompute the stock of their tickets; returns events."""
    await upsert_inventory_levels(conn, levels)
    items = {level.inventory_item_id for level in levels}
    events = set(
        (
            await conn.execute(
                select(Ticket.event_id).where(in_ids(Ticket.inventory_item_id, items)).distinct()
            )
        ).scalars()
    )
    if events:
        await refresh_ticket_stock(conn, event_ids=events)
        await refresh_event_summaries(conn, events)
    return events


def _with_category_keys(records: Sequence[Record]) -> None:
    """Carry each carried category's folded key with it: what category filters match."""
    for record in records:
        if "category" in record.fields:
            category = record.fields["category"]
            record.fields["category_key"] = None if category is None else category_key(category)


async def _upsert_events(conn: AsyncConnection, records: Sequence[Record]) -> set[int]:
    _with_category_keys(records)
    # Executed with a list of rows, so the compiled statement is cached per shape of record and
    # SQLAlchemy pages the rows under asyncpg's parameter limit.
    insertion = insert(Event)
    excluded = insertion.excluded
    statement = insertion.on_conflict_do_update(
        index_elements=[Event.shopify_product_id],
        set_=_updates(records[0], excluded, key="shopify_product_id"),
        where=and_(
            _not_newer(Event, excluded),
            Event.deleted_at.is_(None),
        ),
    ).returning(Event.shopify_product_id)
    rows = [{**r.defaults, **r.fields} for r in records]
    return set((await conn.execute(statement, rows)).scalars())


def _not_newer(stored: Any, incoming: Any) -> ColumnElement[bool]:
    """The stored state is not newer than the incoming one (see the module docstring)."""
    return tuple_(
        stored.shopify_updated_at,
        func.coalesce(stored.shopify_triggered_at, literal_column("'-infinity'::timestamptz")),
    ) <= tuple_(
        incoming.shopify_updated_at,
        func.coalesce(incoming.shopify_triggered_at, literal_column("'infinity'::timestamptz")),
    )


def _updates(record: Record, excluded: Any, *, key: str) -> dict[str, Any]:
    """SET clause: every carried column but the key, and the mirror's write time."""
    updates: dict[str, Any] = {name: excluded[name] for name in record.fields if name != key}
    updates["synced_at"] = func.now()
    return updates


async def _replace_tickets(conn: AsyncConnection, products: Sequence[ProductRecords]) -> None:
    """Upsert the carried variants and drop the ones the product no longer has."""
    if not products:
        return
    records: list[Record] = []
    for product in products:
        for ticket in product.tickets or ():
            ticket.fields["event_id"] = product.product_id
            records.append(ticket)
    for group in _group_by_shape(records).values():
        insertion = insert(Ticket)
        statement = insertion.on_conflict_do_update(
            index_elements=[Ticket.shopify_variant_id],
            set_=_updates(group[0], insertion.excluded, key="shopify_variant_id"),
        )
        await conn.execute(statement, [{**r.defaults, **r.fields} for r in group])
    kept = [record.fields["shopify_variant_id"] for record in records]
    await conn.execute(
        delete(Ticket).where(
            in_ids(Ticket.event_id, (p.product_id for p in products)),
            ~in_ids(Ticket.shopify_variant_id, kept),
        )
    )


async def upsert_inventory_levels(
    conn: AsyncConnection, levels: Sequence[InventoryLevelRecord]
) -> None:
    """Keep the newest `available` per (inventory item, location)."""
    newest: dict[tuple[int, int], InventoryLevelRecord] = {}
    for level in levels:
        key = (level.inventory_item_id, level.location_id)
        if key not in newest or level.version >= newest[key].version:
            newest[key] = level
    if not newest:
        return
    rows = [
        {
            "inventory_item_id": level.inventory_item_id,
            "location_id": level.location_id,
            "available": level.available,
            "shopify_updated_at": level.updated_at,
            "shopify_triggered_at": level.triggered_at,
        }
        for level in newest.values()
    ]
    insertion = insert(InventoryLevel)
    excluded = insertion.excluded
    statement = insertion.on_conflict_do_update(
        index_elements=[InventoryLevel.inventory_item_id, InventoryLevel.location_id],
        set_={
            name: excluded[name]
            for name in ("available", "shopify_updated_at", "shopify_triggered_at")
        },
        where=_not_newer(InventoryLevel, excluded),
    )
    await conn.execute(statement, rows)


async def refresh_search(conn: AsyncConnection, event_ids: Iterable[int]) -> None:
    """Recompute the search vectors of events from their merged, stored fields."""
    rows = (
        await conn.execute(
            select(
                Event.shopify_product_id,
                Event.status,
                Event.deleted_at,
                Event.start_date,
                Event.category_key,
                func.lower(Event.title).label("title_key"),
                Event.min_price,
                *SEARCH_SOURCES,
            ).where(in_ids(Event.shopify_product_id, event_ids))
        )
    ).all()
    if not rows:
        return
    values = []
    for row in rows:
        name, labels = title_texts(row)
        document = f"{name} {labels} {search_document([row.description_text])}"
        values.append(
            {
                "event_id": row.shopify_product_id,
                "listed": row.status == "active" and row.deleted_at is None,
                "category_key": row.category_key,
                "start_date": row.start_date,
                "title_key": row.title_key,
                "min_price": row.min_price,
                "name_text": name,
                "label_text": labels,
                "document_text": document,
            }
        )
    insertion = insert(EventSearch).values(
        title_vector=title_vector(_vector("name_text"), _vector("label_text")),
        document_vector=_vector("document_text"),
    )
    copied = ("listed", "category_key", "start_date", "title_key", "min_price")
    vectors = ("title_vector", "document_vector")
    statement = insertion.on_conflict_do_update(
        index_elements=[EventSearch.event_id],
        set_={name: insertion.excluded[name] for name in (*copied, *vectors)},
    )
    await conn.execute(statement, values)
    # The lexicon must hold every indexed lexeme: searches expand prefixes to its terms.
    lexemes = (
        select(func.unnest(func.tsvector_to_array(EventSearch.document_vector)))
        .where(in_ids(EventSearch.event_id, (row.shopify_product_id for row in rows)))
        .distinct()
        .order_by(literal_column("1"))  # in key order, so concurrent writers cannot deadlock
    )
    await conn.execute(
        insert(SearchTerm).from_select([SearchTerm.term], lexemes).on_conflict_do_nothing()
    )


def _vector(parameter: str) -> ColumnElement[Any]:
    """The search vector of a text bound per row as `parameter`."""
    return func.to_tsvector("simple", func.shababco_unaccent(bindparam(parameter, type_=Text)))


def title_vector(name: ColumnElement[Any], labels: ColumnElement[Any]) -> ColumnElement[Any]:
    """The title part's vector: the event's name weighted A (it ranks above its labels)."""
    return func.setweight(name, literal_column("'A'"), type_=TSVECTOR).op("||")(labels)


def title_texts(row: Any) -> tuple[str, str]:
    """The searchable name (title, subtitle) and labels (category, tags, venue) of an event row."""
    venue = row.venue if isinstance(row.venue, dict) else {}
    venue_parts = [str(venue[key]) for key in ("name", "city") if venue.get(key)]
    labels = search_document([row.category, *(row.tags or []), *venue_parts])
    return search_document([row.title, row.subtitle]), labels


async def refresh_ticket_stock(
    conn: AsyncConnection, *, event_ids: Iterable[int] | None = None
) -> None:
    """available = Σ newest level per location, or the variant's own total while none is known."""
    levels = (
        select(func.sum(InventoryLevel.available))
        .where(InventoryLevel.inventory_item_id == Ticket.inventory_item_id)
        .scalar_subquery()
    )
    stock = saturated(func.coalesce(levels, Ticket.inventory_quantity, 0))
    # Rows already right are left alone: an unchanged row rewritten still costs a new version.
    statement = (
        update(Ticket).values(available=stock).where(Ticket.available.is_distinct_from(stock))
    )
    if event_ids is not None:
        statement = statement.where(in_ids(Ticket.event_id, event_ids))
    await conn.execute(statement)


async def refresh_event_summaries(
    conn: AsyncConnection, event_ids: Iterable[int], *, search_rows: bool = True
) -> None:
    """Recompute min price and total availability over each event's visible tickets, and the
    price copied into their search rows unless the caller rewrites those (`search_rows`)."""
    ids = list(event_ids)
    if not ids:
        return
    visible = and_(Ticket.event_id == Event.shopify_product_id, Ticket.is_visible)
    min_price = select(func.min(Ticket.price)).where(visible).scalar_subquery()
    available = (
        select(saturated(func.coalesce(func.sum(Ticket.available), 0)))
        .where(visible)
        .scalar_subquery()
    )
    await conn.execute(
        update(Event)
        .where(
            in_ids(Event.shopify_product_id, ids),
            # Each rewrite of an event row updates every listing index: skip the unchanged.
            or_(
                Event.min_price.is_distinct_from(min_price),
                Event.available.is_distinct_from(available),
            ),
        )
        .values(min_price=min_price, available=available)
    )
    if not search_rows:
        return
    await conn.execute(
        update(EventSearch)
        .where(
            EventSearch.event_id == Event.shopify_product_id,
            in_ids(EventSearch.event_id, ids),
            EventSearch.min_price.is_distinct_from(Event.min_price),
        )
        .values(min_price=Event.min_price)
    )
