"""The running simulator: its configuration and the state every route shares."""

from __future__ import annotations

import hmac
import random
from dataclasses import dataclass, field

import orjson
from fastapi import Request, Response

from shababco.simulator.bulk import BulkRunner
from shababco.simulator.chaos import ChaosSettings
from shababco.simulator.context import ExecContext, ShopSettings
from shababco.simulator.delivery import DeliverySettings, WebhookDispatcher
from shababco.simulator.generate import ensure_locations, generate_events
from shababco.simulator.schema import SCHEMA_VERSION
from shababco.simulator.store import Store
from shababco.simulator.throttle import PLANS, CostBucket, RequestBucket

INVALID_TOKEN = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}


@dataclass
class SimulatorConfig:
    access_token: str
    webhook_secret: str
    host: str = "127.0.0.1"
    port: int = 8081
    seed_events: int = 50
    seed: int = 1
    latency: tuple[float, float] = (0.0, 0.0)
    plan: str = "standard"
    shop_domain: str = "shababco-dev.myshopify.com"
    api_version: str = SCHEMA_VERSION
    retry_time_scale: float = 1.0
    chaos: ChaosSettings = field(default_factory=ChaosSettings)
    bucket_size: float | None = None
    restore_rate: float | None = None
    workers: int = 32

    @property
    def base_url(self) -> str:
        """Where clients reach this process."""
        return f"http://{self.host}:{self.port}"


class Simulator:
    """Store, throttles, webhook dispatcher and bulk runner of one simulator process."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.store = Store(seed=config.seed, shop_domain=config.shop_domain)
        self.rng = random.Random(config.seed)
        ensure_locations(self.store)
        generate_events(self.store, config.seed_events, self.rng)
        maximum, rate = PLANS[config.plan]
        self.bucket = CostBucket(config.bucket_size or maximum, config.restore_rate or rate)
        self.rest_bucket = RequestBucket()
        self.shop = ShopSettings(
            config.shop_domain, config.plan, config.api_version, config.base_url
        )
        settings = DeliverySettings(
            config.webhook_secret,
            config.shop_domain,
            config.retry_time_scale,
            config.workers,
            config.chaos,
        )
        self.dispatcher = WebhookDispatcher(self.store, settings, config.seed)
        self.bulk = BulkRunner(self.store, self.shop, config.seed)

    def context(self, api_version: str) -> ExecContext:
        """A fresh execution context for one GraphQL request."""
        return ExecContext(self.store, self.shop, api_version, extras={"bulk_runner": self.bulk})

    def check_token(self, request: Request) -> Response | None:
        """Return Shopify's 401 unless the request carries the right access token."""
        given = request.headers.get("x-shopify-access-token", "")
        if hmac.compare_digest(given.encode(), self.config.access_token.encode()):
            return None
        return Response(orjson.dumps(INVALID_TOKEN), status_code=401, media_type="application/json")
