"""productSet's variant list: match, create, update and remove variants as one replacement."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shababco.simulator.metafield_values import upsert_metafield
from shababco.simulator.models import InventoryLevel, Product, ProductOption, Variant, parse_gid
from shababco.simulator.store import Store
from shababco.simulator.userrors import parse_money, user_error


def apply_variants(
    store: Store, product: Product, inputs: list[dict[str, Any]], touched: list[InventoryLevel]
) -> list[dict[str, Any]]:
    """Make the product's variants exactly `inputs`; return userErrors (nothing changes then)."""
    errors: list[dict[str, Any]] = []
    prepared = []
    for index, data in enumerate(inputs):
        values = _option_values(product, data.get("optionValues") or [], store)
        price = parse_money(data["price"]) if data.get("price") is not None else None
        if data.get("price") is not None and price is None:
            errors.append(
                user_error(
                    ["input", "variants", str(index), "price"],
                    "Price is invalid",
                    "INVALID_VARIANT",
                )
            )
        prepared.append((data, values, price))
    if errors:
        return errors
    by_id = {variant.id: variant for variant in product.variants}
    by_values = {tuple(variant.option_values): variant for variant in product.variants}
    kept: list[Variant] = []
    for position, (data, values, price) in enumerate(prepared, start=1):
        existing = by_id.get(
            parse_gid(data.get("id") or "", "ProductVariant") or 0
        ) or by_values.get(tuple(values))
        variant = existing or _new_variant(store, product, values)
        _update_variant(store, variant, data, values, price, data.get("position") or position)
        errors += _variant_metafields(store, variant, data.get("metafields") or [], position - 1)
        for row in data.get("inventoryQuantities") or []:
            location_id = parse_gid(row["locationId"], "Location") or 0
            if location_id in store.locations:
                touched.append(store.set_available(variant, location_id, row["quantity"]))
        kept.append(variant)
    for variant in product.variants:
        if variant not in kept:
            store.forget_variant(variant)
    product.variants = sorted(kept, key=lambda v: v.position)
    return errors


def _option_values(product: Product, inputs: list[dict[str, Any]], store: Store) -> list[str]:
    """Order a variant's option values by the product's options, adding unknown options."""
    values: dict[str, str] = {}
    for item in inputs:
        name = item.get("optionName") or "Title"
        values[name] = item.get("name") or "Default Title"
        option = next((o for o in product.options if o.name == name), None)
        if option is None:
            option = ProductOption(store.ids.next("option"), name, [])
            product.options.append(option)
        if values[name] not in option.values:
            option.values.append(values[name])
    if not values:
        return ["Default Title"]
    return [values[o.name] for o in product.options if o.name in values]


def _new_variant(store: Store, product: Product, values: list[str]) -> Variant:
    moment = store.now()
    return Variant(
        id=store.ids.next("variant"),
        product_id=product.id,
        inventory_item_id=store.ids.next("inventory_item"),
        title=" / ".join(values),
        price=Decimal("0.00"),
        compare_at_price=None,
        position=len(product.variants) + 1,
        sku=None,
        option_values=values,
        created_at=moment,
        updated_at=moment,
    )


def _update_variant(
    store: Store,
    variant: Variant,
    data: dict[str, Any],
    values: list[str],
    price: Any,
    position: int,
) -> None:
    variant.option_values, variant.title, variant.position = values, " / ".join(values), position
    if price is not None:
        variant.price = price
    if "compareAtPrice" in data:
        variant.compare_at_price = (
            None if data["compareAtPrice"] is None else parse_money(data["compareAtPrice"])
        )
    for input_name, attribute in (("sku", "sku"), ("barcode", "barcode"), ("taxable", "taxable")):
        if input_name in data:
            setattr(variant, attribute, data[input_name])
    if data.get("inventoryPolicy"):
        variant.inventory_policy = data["inventoryPolicy"].lower()
    variant.updated_at = store.now()


def _variant_metafields(
    store: Store, variant: Variant, inputs: list[dict[str, Any]], index: int
) -> list[dict[str, Any]]:
    errors = []
    for item in inputs:
        result = upsert_metafield(
            store,
            variant,
            item.get("namespace") or "custom",
            item.get("key") or "",
            item.get("type"),
            item.get("value") or "",
        )
        if isinstance(result, str):
            errors.append(
                user_error(
                    ["input", "variants", str(index), "metafields"], result, "INVALID_VARIANT"
                )
            )
    return errors
