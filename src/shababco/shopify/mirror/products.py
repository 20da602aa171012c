"""The one normalizer: a Shopify product, REST-shaped (webhooks) or a GraphQL node, to records.

A record holds only what the payload carries: `fields` overwrite stored
values, `defaults` are used only when the row is new. Everything a record holds is storable (see
`shopify.payloads`): a product PostgreSQL could not take is refused here with PayloadError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from shababco.shopify.payloads import (
    MAX_INT,
    PayloadError,
    first_present,
    html_to_text,
    nodes,
    optional_id,
    optional_int,
    optional_money,
    optional_text,
    optional_timestamp,
    parse_id,
    parse_money,
    parse_timestamp,
    shown,
    split_tags,
    storable,
)

MIRRORED_NAMESPACES = ("event", "ticket")
MAX_NAME = 255
STATUSES = frozenset({"active", "draft", "archived", "unlisted"})


@dataclass
class Record:
    fields: dict[str, Any]
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass
class InventoryLevelRecord:
    inventory_item_id: int
    location_id: int
    available: int
    updated_at: datetime
    triggered_at: datetime | None = None  # breaks ties of equal updated_at (see Record)

    @property
    def version(self) -> tuple[datetime, datetime]:
        """What orders two levels of one item and location: newest wins."""
        return self.updated_at, self.triggered_at or NEVER


@dataclass
class ProductRecords:
    event: Record
    tickets: list[Record] | None  # None: the payload does not carry the variants
    levels: list[InventoryLevelRecord] | None = None  # only GraphQL nodes carry levels

    @property
    def product_id(self) -> int:
        return int(self.event.fields["shopify_product_id"])

    @property
    def updated_at(self) -> datetime:
        value: datetime = self.event.fields["shopify_updated_at"]
        return value

    @property
    def version(self) -> tuple[datetime, datetime]:
        """What orders two records of one product: `updated_at`, then the trigger time."""
        return self.updated_at, self.event.fields.get("shopify_triggered_at") or NEVER


NEVER = datetime.min.replace(tzinfo=UTC)


def normalize_product(
    product: Mapping[str, Any],
    *,
    currency: str,
    priced_in: str | None = None,
    triggered_at: datetime | None = None,
) -> ProductRecords:
    """Records for one product; raises PayloadError when a required field is missing or bad.

    The event's currency is the one the payload names; else `priced_in`, the currency its
    source is known to price in (the Admin GraphQL API prices in the shop's currency); else
    `currency`, which only a new row takes.

    `triggered_at` is when the payload's state was taken: a webhook's X-Shopify-Triggered-At,
    or when a sync asked the store. Shopify's `updated_at` has one-second resolution, so it
    breaks ties between two states of the same second; without `updated_at` in the payload, it
    is the update time too.
    """
    if not isinstance(product, Mapping):
        raise PayloadError("a product must be a JSON object")
    if triggered_at is not None and product.get("updated_at", product.get("updatedAt")) is None:
        product = {**product, "updated_at": triggered_at.isoformat()}
    event = _event_record(product, currency)
    event.fields["shopify_triggered_at"] = triggered_at
    if "currency" not in event.fields and priced_in is not None:
        event.fields["currency"] = priced_in
    carried, variants = first_present(product, "variants")
    tickets = None
    levels = None
    if carried:
        items = [v for v in nodes(variants) if v.get("id") is not None]
        tickets = [_ticket_record(v, index) for index, v in enumerate(items, start=1)]
        levels = _inventory_levels(items, triggered_at)
    return ProductRecords(event=event, tickets=tickets, levels=levels)


def _require(product: Mapping[str, Any], *keys: str) -> Any:
    found, value = first_present(product, *keys)
    if not found or value is None:
        raise PayloadError(f"product is missing {keys[0]}")
    return value


def _event_record(product: Mapping[str, Any], currency: str) -> Record:
    record = Record(
        fields={
            "shopify_product_id": parse_id(_require(product, "id")),
            "shopify_updated_at": parse_timestamp(
                _require(product, "updated_at", "updatedAt"), field="updated_at"
            ),
        },
        defaults={"title": "", "handle": "", "status": "draft", "currency": currency},
    )
    fields = record.fields
    for key in ("title", "handle"):
        if (value := product.get(key)) is not None:
            fields[key] = _name(value, key)
    if (status := product.get("status")) is not None:
        fields["status"] = _status(status)
    found, created = first_present(product, "created_at", "createdAt")
    if found:
        fields["shopify_created_at"] = optional_timestamp(created, field="created_at")
    found, category = first_present(product, "product_type", "productType")
    if found:
        fields["category"] = _name(category or "", "product_type").strip() or None
    if "tags" in product:
        fields["tags"] = split_tags(product["tags"])
    found, body = first_present(product, "body_html", "descriptionHtml")
    if found:
        fields["description_html"] = optional_text(body, field="body_html")
        fields["description_text"] = html_to_text(fields["description_html"])
    if (images := _images(product)) is not None:
        fields["images"] = images
    if (found_currency := _currency(product)) is not None:
        fields["currency"] = found_currency
    if "metafields" in product:
        fields.update(_event_metafield_columns(_metafields(product["metafields"])))
    return record


def _text(value: Any, key: str) -> str:
    return optional_text(value, field=key) or ""


def _name(value: Any, key: str) -> str:
    """Text of at most MAX_NAME characters, Shopify's own limit: these are index keys, and an
    index refuses a key over 2,704 bytes."""
    text = _text(value, key)
    if len(text) > MAX_NAME:
        raise PayloadError(f"{key} is longer than {MAX_NAME} characters")
    return text


def _status(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in STATUSES:
        raise PayloadError(f"unknown product status {shown(value)}")
    return value.lower()


def _images(product: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    found, images = first_present(product, "images")
    if found:
        return [_image(item, position) for position, item in enumerate(nodes(images), start=1)]
    found, media = first_present(product, "media")
    if found:
        result: list[dict[str, Any]] = []
        for item in nodes(media):
            preview = item.get("preview")
            image = item.get("image") or (
                preview.get("image") if isinstance(preview, Mapping) else None
            )
            image = image or (item.get("preview_image") or None)
            if isinstance(image, Mapping):
                result.append(_image({**image, "alt": item.get("alt")}, len(result) + 1))
        return result
    return None


def _image(item: Mapping[str, Any], position: int) -> dict[str, Any]:
    return {
        "url": optional_text(
            item.get("src") or item.get("url") or item.get("originalSrc"), field="image src"
        ),
        "alt": optional_text(item.get("alt") or item.get("altText"), field="image alt"),
        "width": optional_int(item.get("width"), field="image width", low=0, high=MAX_INT),
        "height": optional_int(item.get("height"), field="image height", low=0, high=MAX_INT),
        "position": optional_int(item.get("position"), field="image position", high=MAX_INT)
        or position,
    }


def _currency(product: Mapping[str, Any]) -> str | None:
    """The currency the payload says its prices are in, if it says.

    GraphQL: `priceRangeV2 { minVariantPrice { currencyCode } }`. REST: a variant's
    `presentment_prices` list every currency the shop presents; the shop's own is the one whose
    amount is the variant's `price` (taken only when that picks one currency).
    """
    price_range = product.get("priceRangeV2")
    if isinstance(price_range, Mapping):
        minimum = price_range.get("minVariantPrice")
        if isinstance(minimum, Mapping) and isinstance(minimum.get("currencyCode"), str):
            return str(minimum["currencyCode"])
    for variant in nodes(product.get("variants")):
        presented = _presentment_prices(variant)
        price = _decimal(variant.get("price"))
        matching = {code for code, amount in presented if price is not None and amount == price}
        candidates = matching or {code for code, _ in presented}
        if len(candidates) == 1:
            return candidates.pop()
    return None


def _presentment_prices(variant: Mapping[str, Any]) -> list[tuple[str, Decimal | None]]:
    """(currency code, amount) of a REST variant's presentment prices."""
    found = []
    for presentment in variant.get("presentment_prices") or []:
        price = presentment.get("price") if isinstance(presentment, Mapping) else None
        if isinstance(price, Mapping) and isinstance(price.get("currency_code"), str):
            found.append((str(price["currency_code"]), _decimal(price.get("amount"))))
    return found


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _metafields(value: Any) -> dict[str, dict[str, Any]]:
    """Mirrored metafields as {namespace: {key: parsed value}}."""
    result: dict[str, dict[str, Any]] = {}
    for item in nodes(value):
        namespace, key = item.get("namespace"), item.get("key")
        if namespace in MIRRORED_NAMESPACES and isinstance(key, str):
            result.setdefault(namespace, {})[key] = _metafield_value(item)
    mirrored: dict[str, dict[str, Any]] = storable(result, field="metafields")
    return mirrored


def _metafield_value(item: Mapping[str, Any]) -> Any:
    value, kind = item.get("value"), item.get("type")
    kind = kind if isinstance(kind, str) else ""
    if not isinstance(value, str):
        return value
    if kind == "json" or kind.startswith("list.") or kind in {"rating", "dimension", "money"}:
        # orjson: no NaN, and a bounded depth where json.loads would exhaust the stack.
        try:
            return storable(orjson.loads(value))
        except (orjson.JSONDecodeError, PayloadError):
            return value
    if kind == "boolean":
        return value.strip().lower() == "true"
    if kind == "number_integer":
        try:
            return optional_int(value, field="metafield")
        except PayloadError:
            return value
    return value


def _event_metafield_columns(metafields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    event = metafields.get("event", {})
    subtitle = event.get("subtitle")
    return {
        "metafields": metafields,
        "subtitle": str(subtitle) if subtitle is not None else None,
        "start_date": _lenient_timestamp(event.get("start_date")),
        "end_date": _lenient_timestamp(event.get("end_date")),
        "venue": _venue(event.get("venue")),
    }


def _lenient_timestamp(value: Any) -> datetime | None:
    """A merchant's malformed date metafield leaves the date empty rather than losing the event."""
    try:
        return optional_timestamp(value, field="start_date")
    except PayloadError:
        return None


def _venue(value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return dict(value)
    return {"name": str(value)}


def _ticket_record(variant: Mapping[str, Any], index: int) -> Record:
    variant_id = parse_id(variant["id"], field="variant id")
    inventory_item = variant.get("inventoryItem")
    item_id = variant.get("inventory_item_id")
    if isinstance(inventory_item, Mapping):
        item_id = inventory_item.get("id")
    first_option = _first_option(variant)
    position = optional_int(variant.get("position"), field="variant position", high=MAX_INT)
    fields: dict[str, Any] = {
        "shopify_variant_id": variant_id,
        "name": _text(variant.get("title") or "", "variant title"),
        "position": position or index,
        "price": parse_money(variant.get("price"), field="price"),
        "compare_at_price": optional_money(
            first_present(variant, "compare_at_price", "compareAtPrice")[1],
            field="compare_at_price",
        ),
        "sku": optional_text(variant.get("sku"), field="sku") or None,
        "inventory_item_id": optional_id(item_id, field="inventory_item_id"),
        "shopify_updated_at": optional_timestamp(
            first_present(variant, "updated_at", "updatedAt")[1], field="variant updated_at"
        ),
    }
    found, quantity = first_present(variant, "inventory_quantity", "inventoryQuantity")
    if found:
        fields["inventory_quantity"] = optional_int(quantity, field="inventory_quantity")
    defaults: dict[str, Any] = {"ticket_type": first_option}
    if "metafields" in variant:
        fields.update(_ticket_metafield_columns(_metafields(variant["metafields"]), first_option))
    return Record(fields=fields, defaults=defaults)


def _first_option(variant: Mapping[str, Any]) -> str | None:
    options = variant.get("selectedOptions")
    if isinstance(options, list) and options and isinstance(options[0], Mapping):
        return _label(options[0].get("value"), "selectedOptions value")
    return _label(variant.get("option1"), "option1")


def _label(value: Any, field: str) -> str | None:
    """An option value as text: Shopify sends strings, numbers are taken as written."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return optional_text(value, field=field)


def _ticket_metafield_columns(
    metafields: dict[str, dict[str, Any]], first_option: str | None
) -> dict[str, Any]:
    ticket = metafields.get("ticket", {})
    features = ticket.get("features")
    if features is not None and not isinstance(features, list):
        features = [features]
    hidden = ticket.get("hidden")
    return {
        "metafields": metafields,
        "ticket_type": str(ticket["type"]) if ticket.get("type") is not None else first_option,
        "features": features,
        "restrictions": ticket.get("restrictions"),
        "is_visible": not (hidden is True or str(hidden).lower() == "true"),
    }


def _inventory_levels(
    variants: list[Mapping[str, Any]], triggered_at: datetime | None
) -> list[InventoryLevelRecord] | None:
    """Per-location levels carried by GraphQL variant nodes; None when none carry them."""
    levels: list[InventoryLevelRecord] = []
    carried = False
    for variant in variants:
        item = variant.get("inventoryItem")
        if not isinstance(item, Mapping) or "inventoryLevels" not in item:
            continue
        carried = True
        item_id = parse_id(item.get("id"), field="inventoryItem.id")
        for level in nodes(item["inventoryLevels"]):
            levels.append(_inventory_level(item_id, level, triggered_at))
    return levels if carried else None


def _inventory_level(
    item_id: int, level: Mapping[str, Any], triggered_at: datetime | None
) -> InventoryLevelRecord:
    location = level.get("location")
    location_id = location.get("id") if isinstance(location, Mapping) else level.get("location_id")
    available = level.get("available")
    for quantity in level.get("quantities") or []:
        if isinstance(quantity, Mapping) and quantity.get("name") == "available":
            available = quantity.get("quantity")
    return InventoryLevelRecord(
        inventory_item_id=item_id,
        location_id=parse_id(location_id, field="location id"),
        available=optional_int(available, field="available") or 0,
        updated_at=parse_timestamp(
            first_present(level, "updatedAt", "updated_at")[1], field="inventory level updated_at"
        ),
        triggered_at=triggered_at,
    )
