"""A store scenario driven through Shopify's own mutations (real input types)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.simulator import gql

PRODUCT_SET = """mutation($input: ProductSetInput!) {
  productSet(input: $input, synchronous: true) {
    product { id variants(first: 5) { nodes { id inventoryItem { id } } } }
    userErrors { field message code }
  }
}"""
PRODUCT_UPDATE = """mutation($product: ProductUpdateInput!) {
  productUpdate(product: $product) { product { id updatedAt } userErrors { field message } }
}"""
METAFIELDS_SET = """mutation($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) { metafields { id key } userErrors { field message code } }
}"""
INVENTORY_SET = """mutation($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}"""
ORDER_CREATE = """mutation($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id lineItems(first: 5) { nodes { id quantity } } } userErrors { field message }
  }
}"""
REFUND_CREATE = """mutation($input: RefundInput!) {
  refundCreate(input: $input) { refund { id } userErrors { field message } }
}"""
ORDER_CANCEL = """mutation($id: ID!) {
  orderCancel(orderId: $id, reason: CUSTOMER, restock: true, refund: true) {
    job { id } orderCancelUserErrors { field message }
  }
}"""
PRODUCT_DELETE = """mutation($id: ID!) {
  productDelete(input: {id: $id}) { deletedProductId userErrors { field message } }
}"""


async def first_location(client: httpx.AsyncClient) -> str:
    body = await gql(client, "{ locations(first: 5) { nodes { id name } } }")
    return str(body["data"]["locations"]["nodes"][0]["id"])


def _ok(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][field]
    errors = payload.get("userErrors") or payload.get("orderCancelUserErrors") or []
    assert errors == [], errors
    return payload


async def create_event(
    client: httpx.AsyncClient, location: str, title: str = "Test Concert"
) -> dict[str, Any]:
    """productSet a two-ticket event with 10 of each at `location`."""
    variants = [
        {
            "optionValues": [{"optionName": "Ticket type", "name": name}],
            "price": price,
            "inventoryQuantities": [{"locationId": location, "name": "available", "quantity": 10}],
            "metafields": [
                {
                    "namespace": "ticket",
                    "key": "type",
                    "type": "single_line_text_field",
                    "value": kind,
                }
            ],
        }
        for name, price, kind in (("General", "25", "general"), ("VIP", "120.50", "vip"))
    ]
    product_input = {
        "title": title,
        "status": "ACTIVE",
        "productType": "Music",
        "tags": ["live", "حفلة"],
        "descriptionHtml": "<p>Live / مباشر</p>",
        "productOptions": [
            {"name": "Ticket type", "values": [{"name": "General"}, {"name": "VIP"}]}
        ],
        "variants": variants,
        "metafields": [
            {
                "namespace": "event",
                "key": "subtitle",
                "type": "single_line_text_field",
                "value": "Night",
            },
            {
                "namespace": "custom",
                "key": "internal",
                "type": "single_line_text_field",
                "value": "x",
            },
        ],
        "files": [
            {
                "originalSource": "https://cdn.example.com/a.jpg",
                "alt": "Poster",
                "contentType": "IMAGE",
            }
        ],
    }
    payload = _ok(await gql(client, PRODUCT_SET, input=product_input), "productSet")
    return dict(payload["product"])


async def run_scenario(client: httpx.AsyncClient) -> dict[str, Any]:
    """Create, update, sell, refund, cancel and delete: every topic fires at least once."""
    location = await first_location(client)
    product = await create_event(client, location)
    variant = product["variants"]["nodes"][0]
    _ok(
        await gql(
            client, PRODUCT_UPDATE, product={"id": product["id"], "title": "Test Concert (updated)"}
        ),
        "productUpdate",
    )
    metafield = {
        "ownerId": product["id"],
        "namespace": "event",
        "key": "subtitle",
        "type": "single_line_text_field",
        "value": "Late night",
    }
    _ok(await gql(client, METAFIELDS_SET, metafields=[metafield]), "metafieldsSet")
    quantities = [
        {
            "inventoryItemId": variant["inventoryItem"]["id"],
            "locationId": location,
            "quantity": 12,
            "changeFromQuantity": 10,
        }
    ]
    _ok(
        await gql(
            client,
            INVENTORY_SET,
            input={"name": "available", "reason": "correction", "quantities": quantities},
        ),
        "inventorySetQuantities",
    )
    order_input = {
        "email": "fan@example.com",
        "lineItems": [{"variantId": variant["id"], "quantity": 3}],
    }
    options = {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"}
    order = _ok(await gql(client, ORDER_CREATE, order=order_input, options=options), "orderCreate")[
        "order"
    ]
    line = order["lineItems"]["nodes"][0]
    refund = {
        "orderId": order["id"],
        "note": "sick",
        "refundLineItems": [
            {
                "lineItemId": line["id"],
                "quantity": 1,
                "restockType": "RETURN",
                "locationId": location,
            }
        ],
    }
    _ok(await gql(client, REFUND_CREATE, input=refund), "refundCreate")
    return {"product": product, "variant": variant, "order": order, "location": location}


async def cancel_and_delete(client: httpx.AsyncClient, scenario: dict[str, Any]) -> None:
    """Cancel the order (restocking) and delete the product."""
    _ok(await gql(client, ORDER_CANCEL, id=scenario["order"]["id"]), "orderCancel")
    _ok(await gql(client, PRODUCT_DELETE, id=scenario["product"]["id"]), "productDelete")
