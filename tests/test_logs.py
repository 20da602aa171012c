"""Structured logs: JSON lines with the request id; secrets never logged."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.config import Settings
from shababco.database.engines import open_database
from shababco.logs import JsonFormatter, TextFormatter, redact, register_secrets
from shababco.shopify.models import WebhookDelivery
from shababco.shopify.webhooks.failures import classify
from tests.support.data import payload
from tests.support.factories import next_id
from tests.support.refusal import refusing
from tests.support.server import LiveServer
from tests.support.webhook_client import deliver, eventually

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


PRIVATE = ("layla.h@example.org", "+966500000001", "Layla", "Haddad", "12 Secret St", "for L.")


def customer_order(variant_id: int, quantity: int) -> dict[str, Any]:
    """Shopify's sample order for `variant_id`, carrying a customer's data (PRIVATE)."""
    order: dict[str, Any] = payload("orders_create.shopify-sample.json")
    order.update(
        id=next_id(),
        cancelled_at=None,
        email="layla.h@example.org",
        phone="+966500000001",
        note="gift for L.\x00",
    )
    order["customer"] = {"first_name": "Layla", "last_name": "Haddad", "email": order["email"]}
    order["shipping_address"] = {"address1": "12 Secret St", "name": "Layla Haddad"}
    order["line_items"] = [{"id": next_id(), "variant_id": variant_id, "quantity": quantity}]
    return order


async def test_no_customer_data_reaches_the_logs(
    captured: Captured, live_api: LiveServer, db: AsyncEngine
) -> None:
    """An order refused at intake, and one the database refuses (quarantined), with statements
    logged at DEBUG: no line carries the customer's e-mail, name, address, phone or note."""
    engine_logger = logging.getLogger("sqlalchemy.engine")
    engine_logger.setLevel(logging.DEBUG)
    try:
        async with (
            httpx.AsyncClient(base_url=live_api.url) as client,
            refusing(db, "22003", table="orders", condition="TRUE"),
        ):
            refused = await deliver(client, "orders/create", customer_order(next_id(), 2**63))
            assert refused.status_code == 422
            assert not any(value in refused.text for value in PRIVATE)
            headers = {"X-Shopify-Webhook-Id": "private-order"}
            order = customer_order(next_id(), 1)
            assert (await deliver(client, "orders/create", order, headers=headers)).is_success

            async def quarantined() -> bool:
                async with db.connect() as conn:
                    return bool(
                        await conn.scalar(
                            select(WebhookDelivery.quarantined_at).where(
                                WebhookDelivery.webhook_id == "private-order"
                            )
                        )
                    )

            await eventually(quarantined)
    finally:
        engine_logger.setLevel(logging.NOTSET)
    text = captured.text
    assert "private-order" in text and "quarantined" in text  # the failure was logged
    assert "INSERT INTO orders" in text  # and the statements
    for value in PRIVATE:
        assert value not in text


async def test_statement_parameters_never_reach_a_log_line(settings: Settings) -> None:
    """Every engine hides them; the values errors quote anyway (the driver's of a parameter it
    cannot encode, the server's of text it cannot read) are redacted, and left out of the
    reasons the inbox records."""
    database = open_database(settings.model_copy(update={"database_read_url": None}))
    statements = {"CAST(:v AS integer)": "for L.", "CAST(CAST(:v AS text) AS integer)": "12 Secret"}
    failures = []
    try:
        engines = [database.write, database.read, database.reads(search=True)]
        assert all(engine.sync_engine.hide_parameters for engine in engines)
        for statement, value in statements.items():
            with pytest.raises(DBAPIError) as caught:
                async with database.write.connect() as conn:
                    await conn.execute(text(f"SELECT {statement}"), {"v": value})
            failures.append((caught.value, value))
    finally:
        await database.dispose()
    for failure, value in failures:
        assert value in str(failure)
        assert value not in redact(str(failure))
        assert value not in classify(failure).reason
    assert [classify(failure).reason for failure, _ in failures] == [
        "invalid input for query argument $1 ('str' object cannot be interpreted as an integer)"
        " [22000]",
        "invalid input syntax for type integer [22P02]",
    ]
