"""Resolvers for the root query and the shop, webhook, bulk-operation and order types."""

from __future__ import annotations

from typing import Any

from shababco.simulator.connections import Connection, paginate
from shababco.simulator.context import ExecContext, Resolver
from shababco.simulator.models import (
    BulkOperation,
    LineItem,
    Order,
    Refund,
    gid,
    graphql_time,
    money,
    parse_gid,
)
from shababco.simulator.resolvers_catalog import find_node, products, products_count, unbounded

PLAN_NAMES = {"standard": "Shopify", "advanced": "Advanced", "plus": "Shopify Plus"}
SHOP_ID = 60_123_456_789


def _by_id(kind: str, table: str) -> Resolver:
    def resolve(_: Any, args: dict[str, Any], ctx: ExecContext) -> Any:
        number = parse_gid(str(args.get("id") or ""), kind)
        return None if number is None else getattr(ctx.store, table).get(number)

    return resolve


def _locations(_: Any, args: dict[str, Any], ctx: ExecContext) -> Connection:
    ordered = sorted(ctx.store.locations.values(), key=lambda loc: loc.id)
    return paginate(ordered, lambda loc: (loc.id,), args, unbounded=unbounded(ctx))


def _subscriptions(_: Any, args: dict[str, Any], ctx: ExecContext) -> Connection:
    subs = sorted(ctx.store.subscriptions.values(), key=lambda sub: sub.id)
    if args.get("topics"):
        subs = [sub for sub in subs if sub.topic in args["topics"]]
    wanted_uri = args.get("uri") or args.get("callbackUrl")
    if wanted_uri:
        subs = [sub for sub in subs if sub.uri == wanted_uri]
    return paginate(subs, lambda sub: (sub.id,), args)


def _orders(_: Any, args: dict[str, Any], ctx: ExecContext) -> Connection:
    ordered = sorted(ctx.store.orders.values(), key=lambda order: order.id)
    return paginate(ordered, lambda order: (order.id,), args, unbounded=unbounded(ctx))


def _count(count: int, limit: int | None) -> dict[str, Any]:
    """A Count capped at `limit`, as Shopify caps it."""
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


def _current_bulk(_: Any, args: dict[str, Any], ctx: ExecContext) -> BulkOperation | None:
    operations = ctx.store.bulk_operations
    return operations[max(operations)] if operations else None


def _bulk_operations(_: Any, args: dict[str, Any], ctx: ExecContext) -> Connection:
    ordered = sorted(ctx.store.bulk_operations.values(), key=lambda op: op.id, reverse=True)
    query = (args.get("query") or "").lower()
    if query.startswith("status:"):
        ordered = [op for op in ordered if op.status.lower() == query.split(":", 1)[1].strip()]
    return paginate(ordered, lambda op: (-op.id,), args)


QUERY_ROOT: dict[str, Resolver] = {
    "products": products,
    "productsCount": products_count,
    "product": _by_id("Product", "products"),
    "productVariant": _by_id("ProductVariant", "variants"),
    "inventoryItem": lambda _, a, c: find_node(c, a["id"]),
    "location": _by_id("Location", "locations"),
    "locations": _locations,
    "node": lambda _, a, c: find_node(c, a["id"]),
    "nodes": lambda _, a, c: [find_node(c, node_id) for node_id in a["ids"]],
    "shop": lambda _, a, c: c.shop,
    "order": _by_id("Order", "orders"),
    "orders": _orders,
    "ordersCount": lambda _, a, c: _count(len(c.store.orders), a.get("limit", 10000)),
    "webhookSubscription": _by_id("WebhookSubscription", "subscriptions"),
    "webhookSubscriptions": _subscriptions,
    "bulkOperation": _by_id("BulkOperation", "bulk_operations"),
    "currentBulkOperation": _current_bulk,
    "bulkOperations": _bulk_operations,
}

SHOP: dict[str, Resolver] = {
    "id": lambda s, a, c: gid("Shop", SHOP_ID),
    "name": lambda s, a, c: c.store.shop_name,
    "myshopifyDomain": lambda s, a, c: s.domain,
    "email": lambda s, a, c: f"owner@{s.domain}",
    "currencyCode": lambda s, a, c: c.store.currency,
    "ianaTimezone": lambda s, a, c: "Asia/Riyadh",
    "timezoneOffset": lambda s, a, c: "+0300",
    "plan": lambda s, a, c: {
        "displayName": PLAN_NAMES[s.plan],
        "publicDisplayName": PLAN_NAMES[s.plan],
        "shopifyPlus": s.plan == "plus",
        "partnerDevelopment": False,
    },
}

WEBHOOK_SUBSCRIPTION: dict[str, Resolver] = {
    "id": lambda w, a, c: gid("WebhookSubscription", w.id),
    "legacyResourceId": lambda w, a, c: str(w.id),
    "topic": lambda w, a, c: w.topic,
    "uri": lambda w, a, c: w.uri,
    "callbackUrl": lambda w, a, c: w.uri,
    "format": lambda w, a, c: w.format,
    "name": lambda w, a, c: w.name,
    "filter": lambda w, a, c: w.filter,
    "includeFields": lambda w, a, c: list(w.include_fields),
    "metafieldNamespaces": lambda w, a, c: list(w.metafield_namespaces),
    "createdAt": lambda w, a, c: graphql_time(w.created_at),
    "updatedAt": lambda w, a, c: graphql_time(w.updated_at),
    "apiVersion": lambda w, a, c: {
        "handle": w.api_version,
        "displayName": w.api_version,
        "supported": True,
    },
}

BULK_OPERATION: dict[str, Resolver] = {
    "id": lambda b, a, c: gid("BulkOperation", b.id),
    "status": lambda b, a, c: b.status,
    "errorCode": lambda b, a, c: b.error_code,
    "createdAt": lambda b, a, c: graphql_time(b.created_at),
    "completedAt": lambda b, a, c: graphql_time(b.completed_at),
    "objectCount": lambda b, a, c: str(b.object_count),
    "rootObjectCount": lambda b, a, c: str(b.root_object_count),
    "fileSize": lambda b, a, c: None if b.file_size is None else str(b.file_size),
    "url": lambda b, a, c: b.url,
    "partialDataUrl": lambda b, a, c: None,
    "query": lambda b, a, c: b.query,
    "type": lambda b, a, c: "QUERY",
}


def _line_items(order: Order, args: dict[str, Any], ctx: ExecContext) -> Connection:
    return paginate(order.line_items, lambda line: (line.id,), args, unbounded=unbounded(ctx))


def refunded_quantity(order: Order, line: LineItem) -> int:
    """Quantity of a line already refunded."""
    return sum(
        refund_line.quantity
        for refund in order.refunds
        for refund_line in refund.line_items
        if refund_line.line_item_id == line.id
    )


ORDER: dict[str, Resolver] = {
    "id": lambda o, a, c: gid("Order", o.id),
    "legacyResourceId": lambda o, a, c: str(o.id),
    "name": lambda o, a, c: o.name,
    "email": lambda o, a, c: o.email,
    "createdAt": lambda o, a, c: graphql_time(o.created_at),
    "updatedAt": lambda o, a, c: graphql_time(o.updated_at),
    "cancelledAt": lambda o, a, c: graphql_time(o.cancelled_at),
    "cancelReason": lambda o, a, c: o.cancel_reason.upper() if o.cancel_reason else None,
    "displayFinancialStatus": lambda o, a, c: o.financial_status.upper(),
    "lineItems": _line_items,
    "refunds": lambda o, a, c: o.refunds[: a.get("first") or None],
}

LINE_ITEM: dict[str, Resolver] = {
    "id": lambda li, a, c: gid("LineItem", li.id),
    "title": lambda li, a, c: li.title,
    "name": lambda li, a, c: f"{li.title} - {li.variant_title}" if li.variant_title else li.title,
    "variantTitle": lambda li, a, c: li.variant_title,
    "sku": lambda li, a, c: li.sku,
    "quantity": lambda li, a, c: li.quantity,
    "variant": lambda li, a, c: c.store.variants.get(li.variant_id or 0),
    "product": lambda li, a, c: c.store.products.get(li.product_id or 0),
    "originalUnitPrice": lambda li, a, c: money(li.price),
}

REFUND: dict[str, Resolver] = {
    "id": lambda r, a, c: gid("Refund", r.id),
    "legacyResourceId": lambda r, a, c: str(r.id),
    "note": lambda r, a, c: r.note,
    "createdAt": lambda r, a, c: graphql_time(r.created_at),
    "processedAt": lambda r, a, c: graphql_time(r.created_at),
    "order": lambda r, a, c: c.store.orders[r.order_id],
    "refundLineItems": lambda r, a, c: _refund_lines(r, a, c),
}


def _refund_lines(refund: Refund, args: dict[str, Any], ctx: ExecContext) -> Connection:
    order = ctx.store.orders[refund.order_id]
    lines = {line.id: line for line in order.line_items}
    rows = [
        {
            "lineItem": lines[line.line_item_id],
            "quantity": line.quantity,
            "restockType": line.restock_type.upper(),
            "restocked": line.restock_type != "no_restock",
            "location": ctx.store.locations.get(line.location_id or 0),
        }
        for line in refund.line_items
    ]
    return paginate(rows, lambda row: (row["lineItem"].id,), args, unbounded=unbounded(ctx))


ADMIN_TYPES: dict[str, dict[str, Resolver]] = {
    "QueryRoot": QUERY_ROOT,
    "Shop": SHOP,
    "WebhookSubscription": WEBHOOK_SUBSCRIPTION,
    "BulkOperation": BULK_OPERATION,
    "Order": ORDER,
    "LineItem": LINE_ITEM,
    "Refund": REFUND,
}

# Types the simulator hands out as plain dicts: the supported fields are the dict keys.
DICT_TYPES: dict[str, set[str]] = {
    "PageInfo": {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"},
    "Count": {"count", "precision"},
    "SelectedOption": {"name", "value"},
    "ProductOptionValue": {"name"},
    "LocationAddress": {"address1", "city", "countryCode", "country", "formatted"},
    "ShopPlan": {"displayName", "publicDisplayName", "shopifyPlus", "partnerDevelopment"},
    "ApiVersion": {"handle", "displayName", "supported"},
    "RefundLineItem": {"lineItem", "quantity", "restockType", "restocked", "location"},
    "UserError": {"field", "message"},
    "ProductSetUserError": {"field", "message", "code"},
    "MetafieldsSetUserError": {"field", "message", "code", "elementIndex"},
    "InventorySetQuantitiesUserError": {"field", "message", "code"},
    "OrderCreateUserError": {"field", "message", "code"},
    "OrderCancelUserError": {"field", "message", "code"},
    "BulkOperationUserError": {"field", "message", "code"},
    "ProductSetPayload": {"product", "productSetOperation", "userErrors"},
    "ProductSetOperation": {"id", "status", "product", "userErrors"},
    "ProductUpdatePayload": {"product", "userErrors"},
    "ProductDeletePayload": {"deletedProductId", "userErrors"},
    "MetafieldsSetPayload": {"metafields", "userErrors"},
    "InventorySetQuantitiesPayload": {"inventoryAdjustmentGroup", "userErrors"},
    "InventoryAdjustmentGroup": {"id", "reason", "createdAt", "referenceDocumentUri", "changes"},
    "InventoryChange": {"name", "delta", "quantityAfterChange", "item", "location"},
    "OrderCreatePayload": {"order", "userErrors"},
    "OrderCancelPayload": {"job", "orderCancelUserErrors", "userErrors"},
    "Job": {"id", "done"},
    "RefundCreatePayload": {"refund", "order", "userErrors"},
    "WebhookSubscriptionCreatePayload": {"webhookSubscription", "userErrors"},
    "WebhookSubscriptionDeletePayload": {"deletedWebhookSubscriptionId", "userErrors"},
    "BulkOperationRunQueryPayload": {"bulkOperation", "userErrors"},
}
