"""Catalog mutations with Shopify's real input types; each fires the webhooks Shopify fires."""

from __future__ import annotations

from typing import Any

from shababco.simulator.context import ExecContext, Resolver
from shababco.simulator.generate import ensure_locations, slugify
from shababco.simulator.metafield_values import MAX_METAFIELDS_PER_CALL, upsert_metafield
from shababco.simulator.models import (
    Image,
    InventoryLevel,
    Product,
    ProductOption,
    Variant,
    parse_gid,
)
from shababco.simulator.product_set import apply_variants
from shababco.simulator.refs import InventoryItemRef
from shababco.simulator.userrors import user_error

PRODUCT_FIELDS = {
    "title": "title",
    "descriptionHtml": "description_html",
    "productType": "product_type",
    "vendor": "vendor",
}


def apply_product_fields(
    ctx: ExecContext, product: Product, data: dict[str, Any]
) -> list[dict[str, Any]]:
    """Copy the scalar product fields of an input; return userErrors for metafields."""
    for input_name, attribute in PRODUCT_FIELDS.items():
        if data.get(input_name) is not None:
            setattr(product, attribute, data[input_name])
    if data.get("status"):
        product.status = data["status"].lower()
    if data.get("tags") is not None:
        product.tags = [tag.strip() for tag in data["tags"] if tag.strip()]
    if data.get("handle"):
        product.handle = ctx.store.unique_handle(slugify(data["handle"]), product.handle)
    errors = []
    for index, metafield in enumerate(data.get("metafields") or []):
        result = upsert_metafield(
            ctx.store,
            product,
            metafield.get("namespace") or "custom",
            metafield.get("key") or "",
            metafield.get("type"),
            metafield.get("value") or "",
        )
        if isinstance(result, str):
            errors.append(
                user_error(["metafields", str(index), "value"], result, "INVALID_VARIANT")
            )
    return errors


def _new_product(ctx: ExecContext, title: str) -> Product:
    store, moment = ctx.store, ctx.store.now()
    product = Product(
        id=store.ids.next("product"),
        title=title,
        handle=store.unique_handle(slugify(title)),
        status="active",
        product_type="",
        vendor=store.shop_name,
        tags=[],
        description_html="",
        created_at=moment,
        updated_at=moment,
        published_at=moment,
    )
    return product


def _apply_files(ctx: ExecContext, product: Product, files: list[dict[str, Any]]) -> None:
    moment, store = ctx.store.now(), ctx.store
    product.images = [
        Image(
            store.ids.next("image"),
            store.ids.next("media"),
            product.id,
            f["originalSource"],
            f.get("alt"),
            1200,
            1200,
            position,
            moment,
            moment,
        )
        for position, f in enumerate(files, start=1)
        if f.get("originalSource")
    ]


def product_set(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """productSet: create or replace a product with its options, variants and metafields."""
    data, identifier = args["input"], args.get("identifier") or {}
    product = _identified_product(
        ctx, identifier.get("id") or data.get("id"), identifier.get("handle")
    )
    created = product is None
    if _blank_title(data, required=created):
        return {
            "product": None,
            "userErrors": [user_error(["input", "title"], "Title can't be blank", "BLANK")],
        }
    if product is None:
        product = _new_product(ctx, data["title"])
    errors = apply_product_fields(ctx, product, data)
    if data.get("productOptions") is not None:
        product.options = [
            ProductOption(
                ctx.store.ids.next("option"),
                option["name"],
                [v["name"] for v in option.get("values") or []],
            )
            for option in data["productOptions"]
        ]
    if data.get("files") is not None:
        _apply_files(ctx, product, data["files"])
    ensure_locations(ctx.store)
    touched: list[InventoryLevel] = []
    if data.get("variants") is not None:
        errors += apply_variants(ctx.store, product, data["variants"], touched)
    if errors:
        return {"product": None, "productSetOperation": None, "userErrors": errors}
    product.updated_at = ctx.store.now()
    if created:
        ctx.store.register_product(product)
    else:
        for variant in product.variants:
            ctx.store.index_variant(variant)
    ctx.store.emit("products/create" if created else "products/update", product)
    for level in touched:
        ctx.store.emit("inventory_levels/update", level)
    return {"product": product, "productSetOperation": None, "userErrors": []}


def _blank_title(data: dict[str, Any], *, required: bool) -> bool:
    """Shopify refuses a blank or whitespace-only title, and a new product without one."""
    title = data.get("title")
    if title is None:
        return required
    return not str(title).strip()


def _identified_product(
    ctx: ExecContext, product_gid: str | None, handle: str | None
) -> Product | None:
    if product_gid:
        return ctx.store.products.get(parse_gid(product_gid, "Product") or 0)
    if handle:
        return next((p for p in ctx.store.products.values() if p.handle == handle), None)
    return None


def product_update(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """productUpdate: change product fields and metafields; fires products/update."""
    data = args.get("product") or args.get("input") or {}
    product = _identified_product(ctx, data.get("id"), None)
    if product is None:
        return {"product": None, "userErrors": [user_error(["id"], "Product does not exist")]}
    if _blank_title(data, required=False):
        return {"product": None, "userErrors": [user_error(["title"], "Title can't be blank")]}
    errors = apply_product_fields(ctx, product, data)
    if errors:
        return {"product": None, "userErrors": errors}
    product.updated_at = ctx.store.now()
    ctx.store.emit("products/update", product)
    return {"product": product, "userErrors": []}


def product_delete(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """productDelete: remove a product; fires products/delete with just its id."""
    product_gid = args["input"]["id"]
    product = _identified_product(ctx, product_gid, None)
    if product is None:
        return {
            "deletedProductId": None,
            "userErrors": [user_error(["id"], "Product does not exist")],
        }
    ctx.store.remove_product(product)
    ctx.store.emit("products/delete", product)
    return {"deletedProductId": product_gid, "userErrors": []}


def metafields_set(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """metafieldsSet: upsert up to 25 metafields atomically; fires products/update per product."""
    inputs = args["metafields"]
    if len(inputs) > MAX_METAFIELDS_PER_CALL:
        message = f"Exceeded the maximum metafields input limit of {MAX_METAFIELDS_PER_CALL}."
        return {
            "metafields": None,
            "userErrors": [user_error(["metafields"], message, "LESS_THAN_OR_EQUAL_TO")],
        }
    owners = [ctx.store.find_metafield_owner(item["ownerId"]) for item in inputs]
    errors = [
        {
            **user_error(["metafields", str(i), "ownerId"], "Owner does not exist.", "INVALID"),
            "elementIndex": i,
        }
        for i, owner in enumerate(owners)
        if owner is None
    ]
    if errors:
        return {"metafields": None, "userErrors": errors}
    written, changed = [], {}
    for index, (item, owner) in enumerate(zip(inputs, owners, strict=True)):
        assert owner is not None
        result = upsert_metafield(
            ctx.store,
            owner,
            item.get("namespace") or "custom",
            item["key"],
            item.get("type"),
            item["value"],
        )
        if isinstance(result, str):
            errors.append(
                {
                    **user_error(["metafields", str(index), "value"], result, "INVALID_VALUE"),
                    "elementIndex": index,
                }
            )
            continue
        written.append(result)
        product = owner if isinstance(owner, Product) else ctx.store.products[owner.product_id]
        changed[product.id] = product
    if errors:
        return {"metafields": None, "userErrors": errors}
    for product in changed.values():
        product.updated_at = ctx.store.now()
        ctx.store.emit("products/update", product)
    return {"metafields": written, "userErrors": []}


def inventory_set_quantities(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """inventorySetQuantities: set quantities (compare-and-set); fires inventory_levels/update."""
    data = args["input"]
    if data["name"] not in {"available", "on_hand"}:
        return _inventory_error(
            ["input", "name"],
            "The quantity name must be either 'available' or 'on_hand'.",
            "INVALID_NAME",
        )
    planned: list[tuple[Variant, int, int, int]] = []
    for index, row in enumerate(data["quantities"]):
        variant = ctx.store.items.get(parse_gid(row["inventoryItemId"], "InventoryItem") or 0)
        location_id = parse_gid(row["locationId"], "Location") or 0
        if variant is None or location_id not in ctx.store.locations:
            return _inventory_error(
                ["input", "quantities", str(index)],
                "The specified inventory item or location could not be found.",
                "INVALID_INVENTORY_ITEM",
            )
        current = variant.levels[location_id].available if location_id in variant.levels else 0
        expected = row.get("changeFromQuantity")
        if expected is not None and expected != current:
            return _inventory_error(
                ["input", "quantities", str(index), "changeFromQuantity"],
                "The specified compare quantity does not match the current quantity.",
                "CHANGE_FROM_QUANTITY_STALE",
            )
        planned.append((variant, location_id, row["quantity"], current))
    changes = []
    for variant, location_id, quantity, before in planned:
        level = ctx.store.set_available(variant, location_id, quantity)
        ctx.store.emit("inventory_levels/update", level)
        changes.append(
            {
                "name": data["name"],
                "delta": quantity - before,
                "quantityAfterChange": quantity,
                "item": InventoryItemRef(variant),
                "location": ctx.store.locations[location_id],
            }
        )
    group = {
        "id": f"gid://shopify/InventoryAdjustmentGroup/{ctx.store.ids.next('bulk')}",
        "reason": data["reason"],
        "createdAt": None,
        "referenceDocumentUri": data.get("referenceDocumentUri"),
        "changes": changes,
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _inventory_error(field: list[str], message: str, code: str) -> dict[str, Any]:
    return {"inventoryAdjustmentGroup": None, "userErrors": [user_error(field, message, code)]}


CATALOG_MUTATIONS: dict[str, Resolver] = {
    "productSet": product_set,
    "productUpdate": product_update,
    "productDelete": product_delete,
    "metafieldsSet": metafields_set,
    "inventorySetQuantities": inventory_set_quantities,
}
