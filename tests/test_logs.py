"""Structured logs: JSON lines with the request id; secrets never logged (SPEC §9, §12)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.config import Settings
from shababco.logs import JsonFormatter, TextFormatter, register_secrets
from tests.support.server import LiveServer
from tests.support.webhook_client import deliver

# Built at run time, so that no token- or URL-password-shaped literal sits in the repository.
TOKEN_PREFIX = "shp" + "at_"
ACCESS_TOKEN = TOKEN_PREFIX + "0" * 32


def url_with_password(scheme: str, user: str, password: str, rest: str) -> str:
    return f"{scheme}://{user}:{password}" + "@" + rest


METRICS_TOKEN = "metrics-token-for-the-log-test"
DB_PASSWORD = "db-pass-for-the-log-test"


class Captured:
    """Every record of the process, formatted as production formats it."""

    def __init__(self, formatter: logging.Formatter) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(formatter)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def captured() -> Iterator[Captured]:
    capture = Captured(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture.handler)
    root.setLevel(logging.DEBUG)
    yield capture
    root.removeHandler(capture.handler)
    root.setLevel(level)


def test_a_line_is_one_json_object(captured: Captured) -> None:
    logging.getLogger("shababco.test").info("hello %s", "world", extra={"answer": 42})
    (line,) = captured.lines()
    assert line["message"] == "hello world"
    assert line["level"] == "info"
    assert line["logger"] == "shababco.test"
    assert line["answer"] == 42
    assert line["ts"].endswith("+00:00")
    assert isinstance(line["pid"], int)
    assert "request_id" not in line  # outside a request


def test_secrets_are_redacted_wherever_they_appear(captured: Captured) -> None:
    register_secrets([ACCESS_TOKEN, METRICS_TOKEN])
    log = logging.getLogger("shababco.test")
    log.warning("token %s in the message", ACCESS_TOKEN)
    log.warning("in a field", extra={"header": f"X-Shopify-Access-Token: {ACCESS_TOKEN}"})
    dsn = url_with_password("postgresql", "app", "unregistered-password", "db.internal:5432/x")
    log.warning("dsn %s", dsn)
    log.warning("bulk result https://storage.example/x.jsonl?X-Goog-Signature=abc123&size=9")
    log.warning("another store's token %s", TOKEN_PREFIX + "ffffeeeeddddcccc")
    try:
        raise RuntimeError(f"Bearer {METRICS_TOKEN} refused")
    except RuntimeError:
        log.exception("in a traceback")
    text = captured.text
    for secret in (ACCESS_TOKEN, METRICS_TOKEN, "unregistered-password", "abc123", "ffffeeee"):
        assert secret not in text
    assert text.count("[REDACTED]") >= 6
    assert "db.internal:5432" in text  # the rest of the line stays useful


def test_text_format_redacts_too() -> None:
    register_secrets([ACCESS_TOKEN])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "t=%s", (ACCESS_TOKEN,), None)
    assert TextFormatter().format(record) == "INFO x: t=[REDACTED]"


def test_settings_list_every_credential() -> None:
    settings = Settings(
        _env_file=None,
        database_url=url_with_password("postgresql", "app", DB_PASSWORD, "db/shababco"),
        redis_url=url_with_password("redis", "", "redis-pass-1", "cache:6379/0"),
        shopify_access_token=ACCESS_TOKEN,
        shopify_webhook_secret="webhook-secret-1",
        shopify_webhook_secret_previous="webhook-secret-0",
        metrics_token=METRICS_TOKEN,
    )
    assert set(settings.secret_values()) >= {
        DB_PASSWORD,
        "redis-pass-1",
        ACCESS_TOKEN,
        "webhook-secret-1",
        "webhook-secret-0",
        METRICS_TOKEN,
    }


async def test_requests_carry_an_id_into_every_line(
    captured: Captured, live_api: LiveServer, db: AsyncEngine
) -> None:
    async with httpx.AsyncClient(base_url=live_api.url) as client:
        given = await client.get("/events/nope", headers={"X-Request-ID": "req-from-the-lb.1"})
        assert given.headers["x-request-id"] == "req-from-the-lb.1"
        fresh = await client.get("/health", headers={"X-Request-ID": "<script>"})
        assert fresh.headers["x-request-id"] != "<script>"
        assert len(fresh.headers["x-request-id"]) == 16
    access = [line for line in captured.lines() if line["logger"] == "shababco.access"]
    by_id = {line["request_id"]: line for line in access}
    assert by_id["req-from-the-lb.1"]["endpoint"] == "/events/{event_id}"
    assert by_id["req-from-the-lb.1"]["status"] == 404
    assert by_id[fresh.headers["x-request-id"]]["endpoint"] == "/health"
    assert all(line["ms"] >= 0 for line in access)


async def test_no_secret_reaches_the_logs_of_a_serving_app(
    captured: Captured, settings: Settings, db: AsyncEngine
) -> None:
    """Secrets configured, every logger at DEBUG, traffic that touches them: none is logged."""
    configured = settings.model_copy(
        update={
            "shopify_access_token": SecretStr(ACCESS_TOKEN),
            "metrics_token": SecretStr(METRICS_TOKEN),
        }
    )
    for name in ("sqlalchemy.engine", "httpx", "uvicorn", "shababco"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        with LiveServer(configured) as server:
            async with httpx.AsyncClient(base_url=server.url) as client:
                await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
                await client.get(f"/events?search={ACCESS_TOKEN}")
                await client.get(f"/metrics?token={METRICS_TOKEN}")
                await deliver(
                    client, "products/update", {"id": 1}, headers={"X-Shopify-Hmac-Sha256": "x"}
                )
    finally:
        for name in ("sqlalchemy.engine", "httpx", "uvicorn", "shababco"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    text = captured.text
    assert "GET /metrics 200" in text  # the capture saw the traffic
    for secret in (ACCESS_TOKEN, METRICS_TOKEN, "hush"):
        assert secret not in text
