"""Webhook delivery as Shopify does it: signed POSTs, retries with backoff, chaos knobs."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import random
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx

from shababco.simulator.chaos import ChaosGate, ChaosSettings
from shababco.simulator.http1 import Endpoint, Http1Client, encode_post
from shababco.simulator.store import Store
from shababco.simulator.topics import encode, render, resource_header, topic_enum

# Shopify retries 8 times over about 4 hours with exponential backoff.
MAX_RETRIES = 8
RETRY_DELAYS = [56.5 * 2**attempt for attempt in range(MAX_RETRIES)]
CONNECT_TIMEOUT, TOTAL_TIMEOUT = 1.0, 5.0
REORDER_IDLE_FLUSH = 0.1


def sign(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256 over the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Delivery:
    subscription_id: int
    uri: str
    topic: str
    body: bytes
    headers: dict[str, str]
    webhook_id: str
    event_id: str
    endpoint: Endpoint | None  # None: not plain http://, so httpx sends it
    request: bytes  # for an endpoint, the whole HTTP/1.1 request, built once for every attempt
    attempts: int = 0
    duplicate: bool = False


@dataclass
class DeliverySettings:
    secret: str
    shop_domain: str
    retry_time_scale: float = 1.0
    workers: int = 32
    chaos: ChaosSettings = field(default_factory=ChaosSettings)


class WebhookDispatcher:
    """Turns store events into deliveries and drives them to every matching subscription."""

    def __init__(self, store: Store, settings: DeliverySettings, seed: int) -> None:
        self.store, self.settings = store, settings
        self.queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self.gate: ChaosGate[Delivery] = ChaosGate(
            settings.chaos, random.Random(seed ^ 0xC4A05), self._schedule, _duplicate
        )
        self.counters: Counter[str] = Counter()
        self.events_by_topic: Counter[str] = Counter()
        self.log: deque[dict[str, Any]] = deque(maxlen=50_000)
        self.outstanding = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._clients: list[Http1Client] = []
        self._https = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=settings.workers),
            timeout=httpx.Timeout(TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT),
        )
        store.listeners.append(self.on_event)

    async def start(self) -> None:
        """Start the delivery workers, each with its own keep-alive connections."""
        self._clients = [
            Http1Client(CONNECT_TIMEOUT, TOTAL_TIMEOUT) for _ in range(self.settings.workers)
        ]
        self._tasks = [asyncio.create_task(self._worker(client)) for client in self._clients]
        self._tasks.append(asyncio.create_task(self._flusher()))

    async def stop(self) -> None:
        """Stop the workers and close their connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in self._clients:
            client.close()
        await self._https.aclose()

    def on_event(self, topic: str, subject: object) -> None:
        """Fan one store event out to the subscriptions of its topic."""
        self.events_by_topic[topic] += 1
        subscriptions = [
            s for s in self.store.subscriptions.values() if s.topic == topic_enum(topic)
        ]
        if not subscriptions:
            return
        event_id, triggered_at = str(uuid.uuid4()), _nanosecond_timestamp()
        bodies: dict[tuple[str, ...], bytes] = {}
        for subscription in subscriptions:
            namespaces = tuple(subscription.metafield_namespaces)
            if namespaces not in bodies:
                bodies[namespaces] = encode(render(self.store, topic, subject, namespaces))
            body = bodies[namespaces]
            webhook_id = str(uuid.uuid4())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Shopify-Captain-Hook",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": sign(self.settings.secret, body),
                "X-Shopify-Shop-Domain": self.settings.shop_domain,
                "X-Shopify-API-Version": subscription.api_version,
                "X-Shopify-Webhook-Id": webhook_id,
                "X-Shopify-Triggered-At": triggered_at,
                "X-Shopify-Event-Id": event_id,
                **resource_header(topic, subject),
            }
            endpoint = Endpoint.parse(subscription.uri)
            request = encode_post(endpoint, headers, body) if endpoint else b""
            delivery = Delivery(
                subscription.id,
                subscription.uri,
                topic,
                body,
                headers,
                webhook_id,
                event_id,
                endpoint,
                request,
            )
            self.counters["deliveries"] += 1
            self.outstanding += self.gate.admit(delivery)

    def stats(self) -> dict[str, Any]:
        """Counters for the control API."""
        return {
            **{
                key: self.counters[key]
                for key in (
                    "deliveries",
                    "attempts",
                    "succeeded",
                    "failed_attempts",
                    "retries_scheduled",
                    "exhausted",
                    "subscriptions_removed",
                )
            },
            "dropped": self.gate.dropped,
            "duplicated": self.gate.duplicated,
            "outstanding": self.outstanding,
            "queued": self.queue.qsize(),
            "events_by_topic": dict(self.events_by_topic),
        }

    def _schedule(self, delivery: Delivery, delay: float) -> None:
        if delay <= 0:
            self.queue.put_nowait(delivery)
        else:
            asyncio.get_running_loop().call_later(delay, self.queue.put_nowait, delivery)

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(REORDER_IDLE_FLUSH / 2)
            self.gate.flush_if_idle(REORDER_IDLE_FLUSH)

    async def _worker(self, client: Http1Client) -> None:
        while True:
            delivery = await self.queue.get()
            try:
                await self._attempt(delivery, client)
            except Exception:  # A worker must survive anything one delivery does.
                self.counters["worker_errors"] += 1
                self.outstanding -= 1

    async def _attempt(self, delivery: Delivery, client: Http1Client) -> None:
        subscription = self.store.subscriptions.get(delivery.subscription_id)
        if subscription is None:  # Removed meanwhile: Shopify stops delivering.
            self.outstanding -= 1
            return
        delivery.attempts += 1
        self.counters["attempts"] += 1
        status, error = await self._post(delivery, client)
        self.log.append(
            {
                "webhook_id": delivery.webhook_id,
                "event_id": delivery.event_id,
                "topic": delivery.topic,
                "subscription_id": str(delivery.subscription_id),
                "attempt": delivery.attempts,
                "status": status,
                "error": error,
                "at": time.time(),
                "duplicate": delivery.duplicate,
            }
        )
        if status is not None and 200 <= status < 300:
            self.counters["succeeded"] += 1
            self.outstanding -= 1
            return
        self.counters["failed_attempts"] += 1
        if delivery.attempts <= MAX_RETRIES:
            self.counters["retries_scheduled"] += 1
            delay = RETRY_DELAYS[delivery.attempts - 1] * self.settings.retry_time_scale
            self._schedule(delivery, delay)
            return
        self.counters["exhausted"] += 1
        self.outstanding -= 1
        if self.store.subscriptions.pop(delivery.subscription_id, None) is not None:
            self.counters["subscriptions_removed"] += 1

    async def _post(self, delivery: Delivery, client: Http1Client) -> tuple[int | None, str | None]:
        """One attempt: the status code, or the name of the network error."""
        try:
            if delivery.endpoint is not None:
                return await client.post(delivery.endpoint, delivery.request), None
            async with asyncio.timeout(TOTAL_TIMEOUT):
                response = await self._https.post(
                    delivery.uri, content=delivery.body, headers=delivery.headers
                )
            return response.status_code, None
        except (httpx.HTTPError, TimeoutError, OSError) as error:
            return None, type(error).__name__


def _duplicate(delivery: Delivery) -> Delivery:
    """A second copy of the same webhook (same Webhook-Id), as Shopify may send."""
    return replace(delivery, headers=dict(delivery.headers), attempts=0, duplicate=True)


def _nanosecond_timestamp() -> str:
    """X-Shopify-Triggered-At, with the nanoseconds Shopify writes."""
    ns = time.time_ns()
    seconds = datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{seconds}.{ns % 1_000_000_000:09d}Z"
