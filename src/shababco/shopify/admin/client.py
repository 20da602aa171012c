"""The GraphQL Admin API client: cost-paced, throttle-aware, retrying, token-safe."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from shababco.config import Settings

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
MAX_ATTEMPTS = 6
MAX_THROTTLED = 50
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0


class ShopifyError(RuntimeError):
    """A request to Shopify failed; the message never contains the access token."""


class ShopifyAuthError(ShopifyError):
    """Shopify refused the access token (HTTP 401/403)."""


class QueryCostError(ShopifyError):
    """A query asks for more than Shopify's single-query maximum (MAX_COST_EXCEEDED)."""


class GraphQLErrors(ShopifyError):
    """Shopify answered with GraphQL errors that retrying cannot fix."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(error.get("message", error)) for error in errors))


def admin_endpoint(shop: str, api_version: str) -> str:
    """The GraphQL URL of a shop domain (https implied) or of a full base URL."""
    base = shop.strip().rstrip("/")
    if "://" not in base:
        base = f"https://{base}"
    return f"{base}/admin/api/{api_version}/graphql.json"


@dataclass
class CostBudget:
    """Our estimate of the shop's leaky bucket, from the last `throttleStatus` we saw."""

    maximum: float = 0.0
    available: float = 0.0
    restore_rate: float = 0.0
    seen_at: float = field(default_factory=time.monotonic)

    def update(self, status: Mapping[str, Any]) -> None:
        self.maximum = float(status.get("maximumAvailable") or 0)
        self.available = float(status.get("currentlyAvailable") or 0)
        self.restore_rate = float(status.get("restoreRate") or 0)
        self.seen_at = time.monotonic()

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` points are available (0 when unknown or already there)."""
        if self.restore_rate <= 0 or cost <= 0:
            return 0.0
        now_available = min(
            self.maximum, self.available + (time.monotonic() - self.seen_at) * self.restore_rate
        )
        return max(0.0, (min(cost, self.maximum) - now_available) / self.restore_rate)

    def spend(self, cost: float) -> None:
        """Reserve points for a request about to be sent (corrected by its answer)."""
        elapsed = time.monotonic() - self.seen_at
        self.available = min(self.maximum, self.available + elapsed * self.restore_rate) - cost
        self.seen_at = time.monotonic()


class ShopifyClient:
    """Async GraphQL Admin client. Use as `async with ShopifyClient(...) as client`."""

    def __init__(
        self,
        *,
        shop: str,
        access_token: SecretStr,
        api_version: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.endpoint = admin_endpoint(shop, api_version)
        self._token = access_token
        self._transport = transport
        self._http = httpx.AsyncClient(
            transport=transport, timeout=timeout, headers={"Content-Type": "application/json"}
        )
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self.budget = CostBudget()
        self._expected: dict[str, int] = {}
        self.requests = 0
        self.throttled = 0
        self.points_spent = 0

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> ShopifyClient:
        """A client for the configured store; a missing variable is a ConfigError naming it."""
        settings.require("shopify_shop", "shopify_access_token")
        assert settings.shopify_shop is not None and settings.shopify_access_token is not None
        return cls(
            shop=settings.shopify_shop,
            access_token=settings.shopify_access_token,
            api_version=settings.shopify_api_version,
            **options,
        )

    def __repr__(self) -> str:
        return f"ShopifyClient({self.endpoint!r})"

    async def __aenter__(self) -> ShopifyClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def download_client(self) -> httpx.AsyncClient:
        """A client for signed result URLs: it never carries the access token."""
        return httpx.AsyncClient(transport=self._transport, timeout=httpx.Timeout(60.0))

    async def query(
        self, document: str, variables: Mapping[str, Any] | None = None, *, cost: int | None = None
    ) -> dict[str, Any]:
        """Run a query or mutation and return its `data`; waits, retries and raises as needed."""
        key = _cost_key(document, variables)
        expected = cost if cost is not None else self._expected.get(key, 0)
        failures = throttled = 0
        while True:
            await self._pace(expected)
            try:
                body = await self._post(document, variables)
            except (httpx.TransportError, _Transient) as exc:
                failures += 1
                await self._backoff(failures, exc)
                continue
            cost_info = (body.get("extensions") or {}).get("cost") or {}
            self._note_cost(key, cost_info)
            errors = body.get("errors") or []
            codes = {str((e.get("extensions") or {}).get("code")) for e in errors}
            if "THROTTLED" in codes:
                throttled += 1
                self.throttled += 1
                if throttled > MAX_THROTTLED:
                    raise ShopifyError("Shopify kept throttling the request; giving up")
                await self._sleep(self._throttle_wait(cost_info))
                continue
            if "MAX_COST_EXCEEDED" in codes:
                raise QueryCostError(
                    f"query cost {cost_info.get('requestedQueryCost')} exceeds Shopify's "
                    "single-query maximum (1000): make its page sizes smaller"
                )
            if "INTERNAL_SERVER_ERROR" in codes:
                failures += 1
                await self._backoff(failures, GraphQLErrors(errors))
                continue
            if errors or body.get("data") is None:
                raise GraphQLErrors(errors or [{"message": "response without data"}])
            data: dict[str, Any] = body["data"]
            return data

    async def _pace(self, expected: int) -> None:
        async with self._lock:
            wait = self.budget.wait_for(expected)
            if wait > 0:
                log.debug("pacing %.2fs for %d points", wait, expected)
                await self._sleep(wait)
            self.budget.spend(expected)

    async def _post(self, document: str, variables: Mapping[str, Any] | None) -> dict[str, Any]:
        self.requests += 1
        response = await self._http.post(
            self.endpoint,
            json={"query": document, "variables": dict(variables or {})},
            headers={"X-Shopify-Access-Token": self._token.get_secret_value()},
        )
        if response.status_code in (401, 403):
            raise ShopifyAuthError(
                f"Shopify refused the access token (HTTP {response.status_code}) at "
                f"{self.endpoint}: check SHOPIFY_ACCESS_TOKEN and the app's scopes"
            )
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}", _retry_after(response))
        if response.status_code != 200:
            raise ShopifyError(f"unexpected HTTP {response.status_code} from {self.endpoint}")
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise _Transient("response is not JSON", None) from exc
        return body

    def _note_cost(self, key: str, cost_info: Mapping[str, Any]) -> None:
        status = cost_info.get("throttleStatus")
        if isinstance(status, Mapping):
            self.budget.update(status)
        requested = cost_info.get("requestedQueryCost")
        if isinstance(requested, int | float):
            self._expected[key] = int(requested)
        actual = cost_info.get("actualQueryCost")
        if isinstance(actual, int | float):
            self.points_spent += int(actual)

    def _throttle_wait(self, cost_info: Mapping[str, Any]) -> float:
        """Shopify's rule: (requested − currentlyAvailable) / restoreRate seconds."""
        status = cost_info.get("throttleStatus") or {}
        requested = float(cost_info.get("requestedQueryCost") or 0)
        available = float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
        if rate <= 0:
            return 1.0
        return max(0.05, (requested - available) / rate)

    async def _backoff(self, failures: int, exc: Exception) -> None:
        if failures >= MAX_ATTEMPTS:
            raise ShopifyError(
                f"Shopify request failed {failures} times at {self.endpoint}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (failures - 1))
        delay = delay * (0.5 + random.random())  # jitter: many processes must not retry in step
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        log.warning(
            "Shopify request failed (%s), retry %d in %.1fs", type(exc).__name__, failures, delay
        )
        await self._sleep(delay)


class _Transient(Exception):
    """A failure worth retrying (5xx, 429, a body that is not JSON)."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _cost_key(document: str, variables: Mapping[str, Any] | None) -> str:
    """Requests that cost the same: one document with the same sizes (cursors do not count)."""
    sizes = sorted(
        (name, len(value) if isinstance(value, list) else value)
        for name, value in (variables or {}).items()
        if isinstance(value, int | list)
    )
    return f"{document}\x00{sizes!r}"


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
