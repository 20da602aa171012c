"""Compare the mirror with the simulator's exported truth (`GET /_simulator/export`)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog.models import Event, Ticket
from shababco.shopify.models import InventoryLevel

MIRRORED = ("event", "ticket")


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _value(field: dict[str, str]) -> Any:
    kind, value = field["type"], field["value"]
    if kind == "json" or kind.startswith("list."):
        return json.loads(value)
    if kind == "boolean":
        return value == "true"
    if kind == "number_integer":
        return int(value)
    return value


def _metafields(fields: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for field in fields:
        if field["namespace"] in MIRRORED:
            result.setdefault(field["namespace"], {})[field["key"]] = _value(field)
    return result


def expected_event(event: dict[str, Any]) -> dict[str, Any]:
    """The mirror columns an exported event should produce."""
    fields = _metafields(event["metafields"])
    own = fields.get("event", {})
    venue = own.get("venue")
    return {
        "title": event["title"],
        "handle": event["handle"],
        "status": event["status"],
        "category": event["product_type"] or None,
        "tags": event["tags"],
        "description_html": event["description_html"],
        "shopify_updated_at": _when(event["updated_at"]),
        "metafields": fields,
        "subtitle": own.get("subtitle"),
        "start_date": _when(own.get("start_date")),
        "end_date": _when(own.get("end_date")),
        "venue": venue if isinstance(venue, dict) or venue is None else {"name": venue},
        "images": [
            {k: image[k] for k in ("url", "alt", "width", "height", "position")}
            for image in event["images"]
        ],
    }


def expected_ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    own = _metafields(ticket["metafields"]).get("ticket", {})
    expected = {
        "name": ticket["title"],
        "position": ticket["position"],
        "price": _money(ticket["price"]),
        "compare_at_price": _money(ticket["compare_at_price"]),
        "sku": ticket["sku"],
        "inventory_item_id": int(ticket["inventory_item_id"]),
        "available": ticket["available"],
        "sold": ticket["sold"],
        "features": own.get("features"),
        "restrictions": own.get("restrictions"),
        "is_visible": own.get("hidden") is not True,
    }
    if "type" in own:
        expected["ticket_type"] = own["type"]
    return expected


async def _mirror(engine: AsyncEngine) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
    async with engine.connect() as conn:
        events = {row.shopify_product_id: row for row in await conn.execute(select(Event))}
        tickets = {row.shopify_variant_id: row for row in await conn.execute(select(Ticket))}
        levels: dict[int, Any] = {}
        for row in await conn.execute(select(InventoryLevel)):
            levels.setdefault(row.inventory_item_id, {})[row.location_id] = row.available
    return events, tickets, levels


def _diff(kind: str, key: int, row: Any, expected: dict[str, Any]) -> list[str]:
    return [
        f"{kind} {key}: {name} is {getattr(row, name)!r}, store has {value!r}"
        for name, value in expected.items()
        if getattr(row, name) != value
    ]


def _ticket_differences(row: Any, ticket: dict[str, Any], levels: dict[int, Any]) -> list[str]:
    problems = _diff("ticket", row.shopify_variant_id, row, expected_ticket(ticket))
    stored = levels.get(int(ticket["inventory_item_id"]), {})
    truth = {int(level["location_id"]): level["available"] for level in ticket["levels"]}
    if stored != truth:
        problems.append(f"ticket {ticket['id']}: levels {stored} != {truth}")
    return problems


async def mirror_differences(engine: AsyncEngine, export: dict[str, Any]) -> list[str]:
    """Every way the mirror differs from the store (an empty list when they are equal)."""
    events, tickets, levels = await _mirror(engine)
    problems: list[str] = []
    live = {int(event["id"]): event for event in export["events"]}
    for event_id, event in live.items():
        row = events.get(event_id)
        if row is None or row.deleted_at is not None:
            problems.append(f"event {event_id} missing from the mirror")
            continue
        problems += _diff("event", event_id, row, expected_event(event))
        mirrored = {v for v, t in tickets.items() if t.event_id == event_id}
        wanted = {int(t["id"]) for t in event["tickets"]}
        if mirrored != wanted:
            problems.append(f"event {event_id}: tickets {sorted(mirrored)} != {sorted(wanted)}")
        for ticket in event["tickets"]:
            variant = tickets.get(int(ticket["id"]))
            if variant is not None:
                problems += _diff(
                    "ticket", variant.shopify_variant_id, variant, expected_ticket(ticket)
                )
                stored = levels.get(int(ticket["inventory_item_id"]), {})
                truth = {
                    int(level["location_id"]): level["available"] for level in ticket["levels"]
                }
                if stored != truth:
                    problems.append(f"ticket {ticket['id']}: levels {stored} != {truth}")
    extra = [i for i, row in events.items() if row.deleted_at is None and i not in live]
    problems += [f"event {event_id} is in the mirror but not in the store" for event_id in extra]
    return problems


async def assert_mirror_matches(engine: AsyncEngine, export: dict[str, Any]) -> None:
    """Fail listing the first differences between the mirror and the exported store."""
    problems = await mirror_differences(engine, export)
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:40])
