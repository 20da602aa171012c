"""Typed settings from the environment and `.env`; fails fast naming what is wrong."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(RuntimeError):
    """The environment is missing or malforms a setting; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str | None = None
    database_read_url: str | None = None
    db_pool_size: int = Field(20, ge=1, le=1000)
    db_max_overflow: int = Field(10, ge=0, le=1000)
    db_statement_cache_size: int = Field(100, ge=0, le=100_000)

    redis_url: str | None = None
    # Put before the deployment's identity in every shared cache key and channel: for two
    # deployments whose databases are copies of one physical backup (cache.identity).
    cache_namespace: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    shopify_shop: str | None = None
    shopify_access_token: SecretStr | None = None
    shopify_api_version: str = Field("2026-07", pattern=r"^\d{4}-\d{2}$|^unstable$")
    shopify_webhook_secret: SecretStr | None = None
    shopify_webhook_secret_previous: SecretStr | None = None
    shop_currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    # The `X-Shopify-Shop-Domain` webhooks must carry when SHOPIFY_SHOP is a URL, not a domain.
    shopify_shop_domain: str | None = None

    public_base_url: str | None = None
    cache_ttl_list: int = Field(300, ge=0)
    cache_ttl_detail: int = Field(600, ge=0)

    data_dir: Path = Field(Path(".data"), validation_alias="SHABABCO_DATA_DIR")
    log_level: str = Field("info", pattern=r"^(debug|info|warning|error)$")
    # `json`: one object per line, with the request id (production); `text` for a terminal.
    log_format: str = Field("json", pattern=r"^(json|text)$")
    # One log line per answered request (endpoint, status, duration, request id).
    access_log: bool = True
    # Access lines held in memory between writes (a batch every 0.1 s, or sooner when a quarter
    # full); when writing cannot keep up, lines beyond it are dropped and counted.
    access_log_buffer_lines: int = Field(16_384, ge=1, le=10_000_000)
    # When set, `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>`.
    metrics_token: SecretStr | None = None

    # The in-process response cache (L1), bounded both ways; least recently used goes first.
    cache_l1_max_entries: int = Field(10_000, ge=0)
    cache_l1_max_bytes: int = Field(32 * 2**20, ge=0)
    # Seconds between reconciliation passes run by `serve` (leader only); 0 turns them off.
    reconcile_interval_seconds: int = Field(300, ge=0)
    # Idle keep-alive connections stay open longer than common load balancers' 60 s, so the
    # balancer, not the API, closes them (no race on a reused connection).
    http_keepalive_seconds: int = Field(75, ge=1, le=3600)
    # Pending connections the kernel queues before accept: a burst of connects is not dropped.
    http_backlog: int = Field(4096, ge=1, le=65535)
    # Days an applied webhook delivery stays in the inbox: its id recognises a redelivery, and
    # Shopify retries for 4 hours. Quarantined ones stay until an operator acts.
    webhook_inbox_retention_days: int = Field(7, ge=1, le=3650)
    # A request's head and body must arrive whole within this many seconds of its first byte:
    # a client dripping bytes cannot hold a connection (and its buffers) for ever.
    http_request_timeout_seconds: int = Field(30, ge=1, le=3600)
    # Requests one process serves at once (L1 cache hits, intake, probes and live streams aside);
    # more wait their turn in arrival order, and while one has waited longer than
    # HTTP_QUEUE_BUDGET_MS a new one is answered 503 `overloaded` at once, with `Retry-After`,
    # and its connection is not read for HTTP_REFUSAL_REST_MS (a client retrying at once cannot
    # turn refusals into the process's whole work).
    http_max_in_flight: int = Field(32, ge=1, le=100_000)
    http_queue_budget_ms: int = Field(250, ge=0, le=60_000)
    http_retry_after_seconds: int = Field(1, ge=0, le=3600)
    http_refusal_rest_ms: int = Field(500, ge=0, le=60_000)

    # Live availability streams (`GET /events/{id}/live`): seconds between keep-alive comments
    # on an idle stream, messages a stream may fall behind before it is dropped, and streams
    # one process holds before it answers 503.
    live_keepalive_seconds: float = Field(15.0, gt=0, le=3600)
    live_queue_messages: int = Field(16, ge=1, le=10_000)
    live_max_streams: int = Field(20_000, ge=1, le=1_000_000)
    # `POST /checkout`: the largest quantity of one ticket per order, unless the ticket's
    # `ticket.max_per_order` metafield says otherwise; where the cart permalink points (default
    # the shop's domain over https).
    checkout_max_per_line: int = Field(10, ge=1, le=10_000)
    shop_storefront_url: str | None = None

    @field_validator(
        "database_url",
        "database_read_url",
        "redis_url",
        "cache_namespace",
        "shopify_shop",
        "shopify_shop_domain",
        "shop_storefront_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("shop_storefront_url")
    @classmethod
    def _storefront_is_a_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query:
            raise ValueError("must be an http(s) URL such as https://shop.example.com")
        return value

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def expected_shop_domain(self) -> str | None:
        """The shop domain webhooks must come from, when one is configured."""
        if self.shopify_shop_domain:
            return self.shopify_shop_domain.lower()
        shop = (self.shopify_shop or "").lower()
        if "://" in shop:
            host = urlsplit(shop).hostname or ""
            return host if host.endswith(".myshopify.com") else None
        return shop.rstrip("/") or None

    @property
    def storefront_url(self) -> str | None:
        """Where cart permalinks point: SHOP_STOREFRONT_URL, else the shop's domain over https."""
        if self.shop_storefront_url:
            return self.shop_storefront_url.rstrip("/")
        domain = self.expected_shop_domain
        return f"https://{domain}" if domain else None

    def webhook_secrets(self) -> list[bytes]:
        """The current and, during a rotation, the previous webhook secret."""
        secrets = (self.shopify_webhook_secret, self.shopify_webhook_secret_previous)
        return [s.get_secret_value().encode() for s in secrets if s and s.get_secret_value()]

    def secret_values(self) -> list[str]:
        """Every credential in the settings, for the log redactor."""
        secrets = [
            self.shopify_access_token,
            self.shopify_webhook_secret,
            self.shopify_webhook_secret_previous,
            self.metrics_token,
        ]
        values = [secret.get_secret_value() for secret in secrets if secret is not None]
        for url in (self.database_url, self.database_read_url, self.redis_url):
            password = urlsplit(url).password if url else None
            if password:
                values += [password, unquote(password)]
        return [value for value in values if value]

    def require(self, *names: str) -> None:
        """Raise ConfigError naming the first of `names` that is not set."""
        for name in names:
            if getattr(self, name) is None:
                raise ConfigError(f"{name.upper()} is required for this command but is not set")


def load_settings() -> Settings:
    """Read settings, turning pydantic's error into one naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
