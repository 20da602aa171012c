"""`POST /webhooks/{resource}/{event}`: verify, check, store durably, acknowledge.

Nothing is parsed before the HMAC over the raw bytes is verified; nothing is stored unless every
check passes; the answer is 200 only once the delivery is committed to the inbox (a redelivery of
a stored webhook id is acknowledged again and changes nothing). The inbox worker applies it.

A payload is read at intake exactly as the worker will read it, and what is stored is only the
part its topic needs, made storable: a delivery whose content the mirror cannot take is refused
with a 422 naming the field, never stored to fail later, and never answered with a 5xx.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.dialects.postgresql import insert
from starlette.requests import ClientDisconnect

from shababco import metrics
from shababco.config import Settings
from shababco.errors import ApiError, ErrorOut, is_database_outage
from shababco.http import dumps
from shababco.shopify.models import WebhookDelivery
from shababco.shopify.payloads import PayloadError, optional_timestamp, storable
from shababco.shopify.webhooks.topics import TOPICS, Batch

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1 << 20
CLOSE = {"Connection": "close"}
router = APIRouter(tags=["webhooks"])


@dataclass(frozen=True)
class Delivery:
    """The Shopify headers of one delivery (prefixed `X-Shopify-` or, newer, `Shopify-`)."""

    topic: str
    hmac: str
    shop_domain: str
    api_version: str | None
    webhook_id: str
    triggered_at: datetime | None
    event_id: str | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Delivery:
        def header(name: str) -> str:
            return (
                headers.get(f"x-shopify-{name}") or headers.get(f"shopify-{name}") or ""
            ).strip()

        try:
            triggered_at = optional_timestamp(header("triggered-at") or None, field="triggered-at")
        except PayloadError:
            raise ApiError(400, "bad_request", "X-Shopify-Triggered-At is malformed") from None
        return cls(
            topic=header("topic").lower(),
            hmac=header("hmac-sha256"),
            shop_domain=header("shop-domain").lower(),
            api_version=header("api-version") or None,
            webhook_id=header("webhook-id"),
            triggered_at=triggered_at,
            event_id=header("event-id") or None,
        )


def signature_matches(body: bytes, signature: str, secrets: list[bytes]) -> bool:
    """base64(HMAC-SHA256(secret, raw body)), compared in constant time, for any current secret."""
    expected = signature.encode()
    return any(
        hmac.compare_digest(
            base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()), expected
        )
        for secret in secrets
    )


async def _read_body(request: Request) -> bytes:
    """The raw body, at most 1 MiB, arriving within HTTP_REQUEST_TIMEOUT_SECONDS; either refusal
    closes the connection, so that nothing more of that body is read."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    settings: Settings = request.app.state.settings
    body = bytearray()
    try:
        async with asyncio.timeout(settings.http_request_timeout_seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise _too_large()
    except TimeoutError:
        message = f"the body did not arrive within {settings.http_request_timeout_seconds} s"
        raise ApiError(408, "request_timeout", message, CLOSE) from None
    return bytes(body)


def prepare_payload(topic: str, payload: Any, delivery: Delivery, currency: str) -> Any:
    """What the inbox stores of a payload: the part its topic reads, storable, read once as the
    worker will read it; raises ApiError 422 naming the problem when the mirror cannot take it."""
    try:
        kept = storable(TOPICS[topic].facts(payload))
        Batch(currency).read(
            topic, kept, triggered_at=delivery.triggered_at, received_at=datetime.now(UTC)
        )
    except PayloadError as exc:
        raise ApiError(422, "invalid_payload", str(exc)) from None
    except Exception as exc:
        # A reader that fails otherwise on some content has a bug; the sender must not be
        # answered 500 for it (Shopify would retry, then drop the subscription).
        log.error("%s payload unreadable: %s", topic, type(exc).__name__, exc_info=True)
        raise ApiError(422, "invalid_payload", f"{topic} payload cannot be read") from None
    return kept


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", "webhook body exceeds 1 MiB", CLOSE)


def _checked_delivery(request: Request, topic: str, body: bytes, settings: Settings) -> Delivery:
    delivery = Delivery.from_headers(request.headers)
    secrets = settings.webhook_secrets()
    if not delivery.hmac or not secrets or not signature_matches(body, delivery.hmac, secrets):
        raise ApiError(401, "invalid_signature", "missing or invalid X-Shopify-Hmac-Sha256")
    if delivery.topic != topic:
        raise ApiError(400, "topic_mismatch", f"X-Shopify-Topic is not {topic!r}")
    expected_shop = settings.expected_shop_domain
    if expected_shop is not None and delivery.shop_domain != expected_shop:
        raise ApiError(401, "unknown_shop", "X-Shopify-Shop-Domain is not this store")
    if not delivery.webhook_id or len(delivery.webhook_id) > 200:
        raise ApiError(400, "bad_request", "X-Shopify-Webhook-Id is missing or malformed")
    return delivery


@router.post(
    "/webhooks/{resource}/{event}",
    operation_id="receiveWebhook",
    responses={code: {"model": ErrorOut} for code in (400, 401, 404, 408, 413, 422, 503)},
)
async def receive_webhook(request: Request, resource: str, event: str) -> Response:
    """Receive one Shopify webhook delivery (HMAC-verified; stored before it is acknowledged)."""
    topic = f"{resource}/{event}".lower()
    label = topic if topic in TOPICS else "unknown"
    try:
        status = await _receive(request, topic)
    except ApiError as exc:
        metrics.WEBHOOKS_RECEIVED.labels(topic=label, outcome=exc.code).inc()
        raise
    except ClientDisconnect:
        metrics.WEBHOOKS_RECEIVED.labels(topic=label, outcome="disconnected").inc()
        raise
    except Exception as exc:
        outcome = "unavailable" if is_database_outage(exc) else "error"
        metrics.WEBHOOKS_RECEIVED.labels(topic=label, outcome=outcome).inc()
        raise
    metrics.WEBHOOKS_RECEIVED.labels(topic=label, outcome=status).inc()
    return Response(dumps({"status": status}), media_type="application/json")


async def _receive(request: Request, topic: str) -> str:
    """Check and store one delivery; `accepted`, or `duplicate` for a stored webhook id."""
    if topic not in TOPICS:
        raise ApiError(404, "unknown_topic", f"no webhook topic {topic!r}")
    settings: Settings = request.app.state.settings
    body = await _read_body(request)
    delivery = _checked_delivery(request, topic, body, settings)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "webhook body is not valid JSON") from None
    payload = prepare_payload(topic, payload, delivery, settings.shop_currency)
    stored = await store(request, delivery, payload)
    if stored:
        request.app.state.inbox.wake()
    return "accepted" if stored else "duplicate"


async def store(request: Request, delivery: Delivery, payload: Any) -> bool:
    """Insert the delivery into the inbox; False when its webhook id is already there."""
    statement = (
        insert(WebhookDelivery)
        .values(
            webhook_id=delivery.webhook_id,
            topic=delivery.topic,
            shop_domain=delivery.shop_domain or None,
            api_version=delivery.api_version,
            event_id=delivery.event_id,
            triggered_at=delivery.triggered_at,
            payload=payload,
        )
        .on_conflict_do_nothing(index_elements=[WebhookDelivery.webhook_id])
        .returning(WebhookDelivery.webhook_id)
    )
    # One statement in autocommit: durable when it returns, without BEGIN/COMMIT round trips.
    async with request.app.state.database.write_autocommit.connect() as conn:
        return (await conn.execute(statement)).first() is not None
