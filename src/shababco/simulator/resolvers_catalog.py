"""Resolvers for the catalog: products, variants, inventory, locations, metafields, media."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from shababco.simulator.connections import Connection, SortKey, paginate
from shababco.simulator.context import ExecContext, Resolver
from shababco.simulator.models import (
    Location,
    Metafield,
    Product,
    Variant,
    gid,
    graphql_time,
    money,
    parse_gid,
)
from shababco.simulator.refs import ImageRef, InventoryItemRef, LevelRef, MediaImageRef
from shababco.simulator.search_query import product_filter

_PRODUCT_SORTS: dict[str, Callable[[Product], SortKey]] = {
    "ID": lambda p: (p.id,),
    "RELEVANCE": lambda p: (p.id,),
    "UPDATED_AT": lambda p: (p.updated_at.timestamp(), p.id),
    "CREATED_AT": lambda p: (p.created_at.timestamp(), p.id),
    "PUBLISHED_AT": lambda p: (p.published_at.timestamp() if p.published_at else 0, p.id),
    "TITLE": lambda p: (p.title.lower(), p.id),
    "PRODUCT_TYPE": lambda p: (p.product_type.lower(), p.id),
    "VENDOR": lambda p: (p.vendor.lower(), p.id),
    "INVENTORY_TOTAL": lambda p: (sum(v.available for v in p.variants), p.id),
}


def unbounded(ctx: ExecContext) -> bool:
    """Bulk operations read whole connections, ignoring first/last."""
    return ctx.bulk is not None


def products(_: Any, args: dict[str, Any], ctx: ExecContext) -> Connection:
    """Resolve QueryRoot.products with search, sort and pagination."""
    key_of = _PRODUCT_SORTS[args.get("sortKey") or "ID"]
    matches = filter(product_filter(args.get("query")), ctx.store.products.values())
    ordered = sorted(matches, key=key_of, reverse=bool(args.get("reverse")))
    if ctx.bulk is not None:
        ordered = ctx.window(ordered)
    return paginate(ordered, key_of, args, unbounded=unbounded(ctx))


def products_count(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """Resolve QueryRoot.productsCount (capped by `limit` like Shopify)."""
    count = sum(1 for p in ctx.store.products.values() if product_filter(args.get("query"))(p))
    limit = args.get("limit", 10000)
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


def find_node(ctx: ExecContext, node_id: str) -> object | None:
    """Return the record behind a global id, wrapped as its GraphQL type."""
    store = ctx.store
    kind = node_id.removeprefix("gid://shopify/").split("/", 1)[0]
    number = parse_gid(node_id, kind)
    if number is None:
        return None
    if kind == "Product":
        return store.products.get(number)
    if kind == "ProductVariant":
        return store.variants.get(number)
    if kind == "InventoryItem":
        variant = store.items.get(number)
        return None if variant is None else InventoryItemRef(variant)
    if kind == "Location":
        return store.locations.get(number)
    if kind == "Order":
        return store.orders.get(number)
    if kind == "WebhookSubscription":
        return store.subscriptions.get(number)
    if kind == "BulkOperation":
        return store.bulk_operations.get(number)
    return None


def metafield_connection(
    owner: Product | Variant, args: dict[str, Any], ctx: ExecContext
) -> Connection:
    """Resolve `metafields(namespace:, keys:, first:)` of a product or variant."""
    fields = [
        m
        for m in owner.metafields.values()
        if (args.get("namespace") is None or m.namespace == args["namespace"])
        and (not args.get("keys") or f"{m.namespace}.{m.key}" in args["keys"])
    ]
    fields.sort(key=lambda m: m.id, reverse=bool(args.get("reverse")))
    return paginate(fields, lambda m: (m.id,), args, unbounded=unbounded(ctx))


def one_metafield(owner: Product | Variant, args: dict[str, Any]) -> Metafield | None:
    """Resolve `metafield(namespace:, key:)`; a dotted key carries its namespace."""
    namespace, key = args.get("namespace"), args["key"]
    if namespace is None and "." in key:
        namespace, key = key.split(".", 1)
    return owner.metafields.get((namespace or "", key))


def _levels(item: InventoryItemRef, args: dict[str, Any], ctx: ExecContext) -> Connection:
    levels = sorted(item.variant.levels.values(), key=lambda level: level.location_id)
    refs = [LevelRef(level, item.variant) for level in levels]
    return paginate(refs, lambda ref: (ref.level.location_id,), args, unbounded=unbounded(ctx))


def _quantities(ref: LevelRef, args: dict[str, Any], _: ExecContext) -> list[dict[str, Any]]:
    counted = {"available": ref.level.available, "on_hand": ref.level.available}
    return [
        {
            "name": name,
            "quantity": counted.get(name, 0),
            "updatedAt": graphql_time(ref.level.updated_at),
        }
        for name in args["names"]
    ]


def _media(product: Product, args: dict[str, Any], ctx: ExecContext) -> Connection:
    refs = [MediaImageRef(image) for image in product.images]
    return paginate(refs, lambda r: (r.image.position,), args, unbounded=unbounded(ctx))


def _images(product: Product, args: dict[str, Any], ctx: ExecContext) -> Connection:
    refs = [ImageRef(image) for image in product.images]
    return paginate(refs, lambda r: (r.image.position,), args, unbounded=unbounded(ctx))


def _variants(product: Product, args: dict[str, Any], ctx: ExecContext) -> Connection:
    ordered = sorted(product.variants, key=lambda v: v.position, reverse=bool(args.get("reverse")))
    return paginate(ordered, lambda v: (v.position, v.id), args, unbounded=unbounded(ctx))


def _image_fields(get: Callable[[Any], Any]) -> dict[str, Resolver]:
    return {
        "id": lambda r, a, c: gid("ProductImage", get(r).id),
        "url": lambda r, a, c: get(r).url,
        "src": lambda r, a, c: get(r).url,
        "originalSrc": lambda r, a, c: get(r).url,
        "altText": lambda r, a, c: get(r).alt,
        "width": lambda r, a, c: get(r).width,
        "height": lambda r, a, c: get(r).height,
    }


PRODUCT: dict[str, Resolver] = {
    "id": lambda p, a, c: gid("Product", p.id),
    "legacyResourceId": lambda p, a, c: str(p.id),
    "title": lambda p, a, c: p.title,
    "handle": lambda p, a, c: p.handle,
    "status": lambda p, a, c: p.status.upper(),
    "productType": lambda p, a, c: p.product_type,
    "vendor": lambda p, a, c: p.vendor,
    "tags": lambda p, a, c: list(p.tags),
    "descriptionHtml": lambda p, a, c: p.description_html,
    "createdAt": lambda p, a, c: graphql_time(p.created_at),
    "updatedAt": lambda p, a, c: graphql_time(p.updated_at),
    "publishedAt": lambda p, a, c: graphql_time(p.published_at),
    "totalInventory": lambda p, a, c: sum(v.available for v in p.variants),
    "hasOnlyDefaultVariant": lambda p, a, c: False,
    "options": lambda p, a, c: p.options[: a.get("first") or None],
    "category": lambda p, a, c: None,
    "metafields": metafield_connection,
    "metafield": lambda p, a, c: one_metafield(p, a),
    "variants": _variants,
    "variantsCount": lambda p, a, c: {"count": len(p.variants), "precision": "EXACT"},
    "media": _media,
    "images": _images,
    "featuredMedia": lambda p, a, c: MediaImageRef(p.images[0]) if p.images else None,
    "featuredImage": lambda p, a, c: ImageRef(p.images[0]) if p.images else None,
}

PRODUCT_OPTION: dict[str, Resolver] = {
    "id": lambda o, a, c: gid("ProductOption", o.id),
    "name": lambda o, a, c: o.name,
    "position": lambda o, a, c: 1,
    "values": lambda o, a, c: list(o.values),
    "optionValues": lambda o, a, c: [{"name": value} for value in o.values],
}

VARIANT: dict[str, Resolver] = {
    "id": lambda v, a, c: gid("ProductVariant", v.id),
    "legacyResourceId": lambda v, a, c: str(v.id),
    "title": lambda v, a, c: v.title,
    "displayName": lambda v, a, c: f"{c.store.products[v.product_id].title} - {v.title}",
    "price": lambda v, a, c: money(v.price),
    "compareAtPrice": lambda v, a, c: money(v.compare_at_price),
    "position": lambda v, a, c: v.position,
    "sku": lambda v, a, c: v.sku,
    "barcode": lambda v, a, c: v.barcode,
    "taxable": lambda v, a, c: v.taxable,
    "inventoryPolicy": lambda v, a, c: v.inventory_policy.upper(),
    "inventoryQuantity": lambda v, a, c: v.available,
    "availableForSale": lambda v, a, c: v.available > 0 or v.inventory_policy == "continue",
    "selectedOptions": lambda v, a, c: [
        {"name": option.name, "value": value}
        for option, value in zip(
            c.store.products[v.product_id].options, v.option_values, strict=False
        )
    ],
    "inventoryItem": lambda v, a, c: InventoryItemRef(v),
    "metafields": metafield_connection,
    "metafield": lambda v, a, c: one_metafield(v, a),
    "product": lambda v, a, c: c.store.products.get(v.product_id),
    "createdAt": lambda v, a, c: graphql_time(v.created_at),
    "updatedAt": lambda v, a, c: graphql_time(v.updated_at),
}

INVENTORY_ITEM: dict[str, Resolver] = {
    "id": lambda i, a, c: gid("InventoryItem", i.variant.inventory_item_id),
    "legacyResourceId": lambda i, a, c: str(i.variant.inventory_item_id),
    "sku": lambda i, a, c: i.variant.sku,
    "tracked": lambda i, a, c: True,
    "requiresShipping": lambda i, a, c: False,
    "createdAt": lambda i, a, c: graphql_time(i.variant.created_at),
    "updatedAt": lambda i, a, c: graphql_time(i.variant.updated_at),
    "variant": lambda i, a, c: i.variant,
    "inventoryLevels": _levels,
    "inventoryLevel": lambda i, a, c: next(
        (
            LevelRef(lv, i.variant)
            for lv in i.variant.levels.values()
            if gid("Location", lv.location_id) == a["locationId"]
        ),
        None,
    ),
}

INVENTORY_LEVEL: dict[str, Resolver] = {
    "id": lambda r, a, c: (
        f"gid://shopify/InventoryLevel/{r.level.location_id}"
        f"?inventory_item_id={r.level.inventory_item_id}"
    ),
    "location": lambda r, a, c: c.store.locations[r.level.location_id],
    "item": lambda r, a, c: InventoryItemRef(r.variant),
    "quantities": _quantities,
    "isActive": lambda r, a, c: True,
    "createdAt": lambda r, a, c: graphql_time(r.level.created_at),
    "updatedAt": lambda r, a, c: graphql_time(r.level.updated_at),
}

INVENTORY_QUANTITY: dict[str, Resolver] = {
    "name": lambda q, a, c: q["name"],
    "quantity": lambda q, a, c: q["quantity"],
    "updatedAt": lambda q, a, c: q["updatedAt"],
}


def _location_address(location: Location) -> dict[str, Any]:
    return {
        "address1": location.address1,
        "city": location.city,
        "countryCode": location.country_code,
        "country": "Saudi Arabia",
        "formatted": [location.address1, location.city, "Saudi Arabia"],
    }


LOCATION: dict[str, Resolver] = {
    "id": lambda loc, a, c: gid("Location", loc.id),
    "legacyResourceId": lambda loc, a, c: str(loc.id),
    "name": lambda loc, a, c: loc.name,
    "isActive": lambda loc, a, c: True,
    "address": lambda loc, a, c: _location_address(loc),
    "createdAt": lambda loc, a, c: graphql_time(loc.created_at),
}

METAFIELD: dict[str, Resolver] = {
    "id": lambda m, a, c: gid("Metafield", m.id),
    "legacyResourceId": lambda m, a, c: str(m.id),
    "namespace": lambda m, a, c: m.namespace,
    "key": lambda m, a, c: m.key,
    "value": lambda m, a, c: m.value,
    "type": lambda m, a, c: m.type,
    "jsonValue": lambda m, a, c: _json_value(m),
    "ownerType": lambda m, a, c: m.owner_kind.upper(),
    "createdAt": lambda m, a, c: graphql_time(m.created_at),
    "updatedAt": lambda m, a, c: graphql_time(m.updated_at),
}


def _json_value(metafield: Metafield) -> Any:
    if (
        metafield.type == "json"
        or metafield.type.startswith("list.")
        or metafield.type == "boolean"
    ):
        return orjson.loads(metafield.value)
    return metafield.value


MEDIA_IMAGE: dict[str, Resolver] = {
    "id": lambda r, a, c: gid("MediaImage", r.image.media_id),
    "alt": lambda r, a, c: r.image.alt,
    "mediaContentType": lambda r, a, c: "IMAGE",
    "status": lambda r, a, c: "READY",
    "image": lambda r, a, c: ImageRef(r.image),
    "createdAt": lambda r, a, c: graphql_time(r.image.created_at),
    "updatedAt": lambda r, a, c: graphql_time(r.image.updated_at),
}

IMAGE: dict[str, Resolver] = _image_fields(lambda r: r.image)

CATALOG_TYPES: dict[str, dict[str, Resolver]] = {
    "Product": PRODUCT,
    "ProductOption": PRODUCT_OPTION,
    "ProductVariant": VARIANT,
    "InventoryItem": INVENTORY_ITEM,
    "InventoryLevel": INVENTORY_LEVEL,
    "InventoryQuantity": INVENTORY_QUANTITY,
    "Location": LOCATION,
    "Metafield": METAFIELD,
    "MediaImage": MEDIA_IMAGE,
    "Image": IMAGE,
}
