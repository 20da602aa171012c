"""REST-shaped webhook bodies (and REST responses) in the shape of Shopify's own examples."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shababco.simulator.models import (
    Image,
    InventoryLevel,
    Metafield,
    Product,
    Variant,
    gid,
    money,
    rest_time,
)
from shababco.simulator.store import Store


def product_body(product: Product, namespaces: Iterable[str] = ()) -> dict[str, Any]:
    """The REST Product resource; `metafields` only for subscribed namespaces, as Shopify does."""
    images = [image_body(image, product) for image in product.images]
    body: dict[str, Any] = {
        "admin_graphql_api_id": gid("Product", product.id),
        "body_html": product.description_html,
        "created_at": rest_time(product.created_at),
        "handle": product.handle,
        "id": product.id,
        "product_type": product.product_type,
        "published_at": rest_time(product.published_at),
        "template_suffix": None,
        "title": product.title,
        "updated_at": rest_time(product.updated_at),
        "vendor": product.vendor,
        "status": product.status,
        "published_scope": "global",
        "tags": ", ".join(product.tags),
        "variants": [variant_body(variant) for variant in product.variants],
        "options": [
            {
                "name": o.name,
                "id": o.id,
                "product_id": product.id,
                "position": i,
                "values": list(o.values),
            }
            for i, o in enumerate(product.options, start=1)
        ],
        "images": images,
        "image": images[0] if images else None,
        "media": [media_body(image, product) for image in product.images],
        "variant_gids": [
            {"admin_graphql_api_id": gid("ProductVariant", v.id), "updated_at": _utc_millis(v)}
            for v in sorted(product.variants, key=lambda v: v.updated_at, reverse=True)
        ],
        "has_variants_that_requires_components": False,
        "category": None,
    }
    wanted = set(namespaces)
    if wanted:
        fields = [m for m in product.metafields.values() if m.namespace in wanted]
        body["metafields"] = [
            metafield_body(m, "product") for m in sorted(fields, key=lambda m: m.id)
        ]
    return body


def _utc_millis(variant: Variant) -> str:
    return variant.updated_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def variant_body(variant: Variant) -> dict[str, Any]:
    """A REST variant as embedded in a product."""
    options = [*variant.option_values, None, None, None][:3]
    return {
        "admin_graphql_api_id": gid("ProductVariant", variant.id),
        "barcode": variant.barcode,
        "compare_at_price": money(variant.compare_at_price),
        "created_at": rest_time(variant.created_at),
        "id": variant.id,
        "inventory_policy": variant.inventory_policy,
        "position": variant.position,
        "price": money(variant.price),
        "product_id": variant.product_id,
        "sku": variant.sku,
        "taxable": variant.taxable,
        "title": variant.title,
        "updated_at": rest_time(variant.updated_at),
        "option1": options[0],
        "option2": options[1],
        "option3": options[2],
        "image_id": None,
        "inventory_item_id": variant.inventory_item_id,
        "inventory_quantity": variant.available,
        "old_inventory_quantity": variant.old_inventory_quantity,
    }


def image_body(image: Image, product: Product) -> dict[str, Any]:
    """A REST product image."""
    return {
        "id": image.id,
        "alt": image.alt,
        "position": image.position,
        "product_id": product.id,
        "created_at": rest_time(image.created_at),
        "updated_at": rest_time(image.updated_at),
        "admin_graphql_api_id": gid("MediaImage", image.media_id),
        "width": image.width,
        "height": image.height,
        "src": image.url,
        "variant_ids": [],
    }


def media_body(image: Image, product: Product) -> dict[str, Any]:
    """A `media[]` entry of a current-generation product payload."""
    return {
        "id": image.media_id,
        "product_id": product.id,
        "position": image.position,
        "created_at": rest_time(image.created_at),
        "updated_at": rest_time(image.updated_at),
        "alt": image.alt,
        "status": "READY",
        "media_content_type": "IMAGE",
        "preview_image": {
            "width": image.width,
            "height": image.height,
            "src": image.url,
            "status": "READY",
        },
        "variant_ids": [],
        "admin_graphql_api_id": gid("MediaImage", image.media_id),
    }


def metafield_body(metafield: Metafield, owner_resource: str) -> dict[str, Any]:
    """A REST metafield as carried by webhooks with `metafieldNamespaces`."""
    return {
        "id": metafield.id,
        "namespace": metafield.namespace,
        "key": metafield.key,
        "value": metafield.value,
        "description": None,
        "owner_id": metafield.owner_id,
        "created_at": rest_time(metafield.created_at),
        "updated_at": rest_time(metafield.updated_at),
        "owner_resource": owner_resource,
        "type": metafield.type,
        "admin_graphql_api_id": gid("Metafield", metafield.id),
    }


def inventory_level_body(level: InventoryLevel) -> dict[str, Any]:
    """The inventory_levels/update body: exactly Shopify's five fields."""
    return {
        "inventory_item_id": level.inventory_item_id,
        "location_id": level.location_id,
        "available": level.available,
        "updated_at": rest_time(level.updated_at),
        "admin_graphql_api_id": (
            f"gid://shopify/InventoryLevel/{level.location_id}?inventory_item_id={level.inventory_item_id}"
        ),
    }


def rest_products_page(store: Store, products: list[Product]) -> dict[str, Any]:
    """The body of REST `GET products.json`."""
    return {"products": [product_body(product) for product in products]}
