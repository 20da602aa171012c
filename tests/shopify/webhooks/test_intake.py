"""Webhook intake: every bad delivery is a 4xx that stores nothing; good ones are applied."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog.models import Event
from shababco.shopify.models import WebhookDelivery
from tests.support.data import PAYLOADS, PREVIOUS_WEBHOOK_SECRET, TEST_SHOP
from tests.support.factories import make_product
from tests.support.webhook_client import deliver, eventually, sign


async def stored(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        inbox = await conn.scalar(select(func.count()).select_from(WebhookDelivery))
        events = await conn.scalar(select(func.count()).select_from(Event))
    return int(inbox or 0) + int(events or 0)


def test_hmac_matches_the_shared_vector() -> None:
    assert sign(b"{}") == "UFwgrGBPZilFtmKh8TqcovA78LGYb1BdWu9I4Q2oyRg="


async def test_real_delivery_raw_bytes_are_accepted(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    capture = json.loads((PAYLOADS / "products_update.real-delivery-2024.json").read_text())
    raw = capture["raw_body"].encode()
    assert sign(raw) == "2S92oywTw15CI1XK5it5kamJ/XLkvwyiFPuTJw61kLk="
    response = await deliver(api, "products/update", body=raw)
    assert response.status_code == 200

    async def visible() -> bool:
        return (await api.get(f"/events/{capture['body']['id']}")).status_code == 200

    await eventually(visible)


BAD_DELIVERIES: list[tuple[str, dict[str, Any], int, str]] = [
    ("no signature", {"headers": {"X-Shopify-Hmac-Sha256": ""}}, 401, "invalid_signature"),
    (
        "wrong signature",
        {"headers": {"X-Shopify-Hmac-Sha256": sign(b"other")}},
        401,
        "invalid_signature",
    ),
    (
        "signed with another secret",
        {"headers": {"X-Shopify-Hmac-Sha256": "secret"}},
        401,
        "invalid_signature",
    ),
    (
        "topic header differs",
        {"headers": {"X-Shopify-Topic": "products/delete"}},
        400,
        "topic_mismatch",
    ),
    (
        "unknown shop",
        {"headers": {"X-Shopify-Shop-Domain": "evil.myshopify.com"}},
        401,
        "unknown_shop",
    ),
    ("no webhook id", {"headers": {"X-Shopify-Webhook-Id": ""}}, 400, "bad_request"),
    ("unknown topic", {"path": "/webhooks/customers/create"}, 404, "unknown_topic"),
    ("not json", {"body": b"{not json"}, 400, "invalid_json"),
    ("wrong types", {"payload": {"id": "abc", "updated_at": 5}}, 422, "invalid_payload"),
    ("a list", {"payload": [1, 2]}, 422, "invalid_payload"),
    (
        "price not money",
        {"payload": {**make_product(), "variants": [{"id": 1, "price": "free"}]}},
        422,
        "invalid_payload",
    ),
    ("oversized", {"body": b'{"pad": "' + b"x" * (1 << 20) + b'"}'}, 413, "payload_too_large"),
]


@pytest.mark.parametrize(
    ("case", "delivery", "status", "code"), BAD_DELIVERIES, ids=[c[0] for c in BAD_DELIVERIES]
)
async def test_bad_delivery_is_refused_and_stores_nothing(
    api: httpx.AsyncClient,
    db: AsyncEngine,
    case: str,
    delivery: dict[str, Any],
    status: int,
    code: str,
) -> None:
    body = delivery.get("body")
    if body is None and "payload" not in delivery:
        body = json.dumps(make_product()).encode()
    headers = dict(delivery.get("headers", {}))
    if headers.get("X-Shopify-Hmac-Sha256") == "secret":
        raw = body if body is not None else json.dumps(delivery["payload"]).encode()
        headers["X-Shopify-Hmac-Sha256"] = sign(raw, "not-the-secret")
    response = await deliver(
        api,
        "products/update",
        delivery.get("payload"),
        body=body,
        path=delivery.get("path"),
        headers=headers,
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert await stored(db) == 0


async def test_previous_secret_is_accepted_during_rotation(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    raw = json.dumps(make_product()).encode()
    response = await deliver(
        api,
        "products/create",
        body=raw,
        headers={"X-Shopify-Hmac-Sha256": sign(raw, PREVIOUS_WEBHOOK_SECRET)},
    )
    assert response.status_code == 200


async def test_unprefixed_headers_are_accepted(api: httpx.AsyncClient, db: AsyncEngine) -> None:
    raw = json.dumps(make_product()).encode()
    headers = {
        "Content-Type": "application/json",
        "shopify-topic": "products/create",
        "shopify-hmac-sha256": sign(raw),
        "shopify-shop-domain": TEST_SHOP,
        "shopify-webhook-id": "unprefixed-1",
    }
    response = await api.post("/webhooks/products/create", content=raw, headers=headers)
    assert response.status_code == 200, response.text


async def test_duplicate_delivery_is_acknowledged_once_applied(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    product = make_product(title="Once")
    headers = {"X-Shopify-Webhook-Id": "same-id"}
    first = await deliver(api, "products/create", product, headers=headers)
    again = await deliver(api, "products/create", {**product, "title": "Twice"}, headers=headers)
    assert (first.json(), again.json()) == ({"status": "accepted"}, {"status": "duplicate"})

    async def applied() -> bool:
        response = await api.get(f"/events/{product['id']}")
        return response.status_code == 200 and response.json()["title"] == "Once"

    await eventually(applied)
