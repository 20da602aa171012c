"""Structured logs: JSON lines with the request id; secrets never logged."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shababco.config import Settings
from shababco.database.engines import open_database
from shababco.logs import JsonFormatter, TextFormatter, redact, register_secrets
from shababco.shopify.models import WebhookDelivery
from shababco.shopify.webhooks.failures import classify
from shababco.telemetry import PIPE_BUF, AccessLog, TelemetryMiddleware, _pieces
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


class Written:
    """What an access log wrote: every `sink` call, kept."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.writes.append(data)

    @property
    def text(self) -> str:
        return b"".join(self.writes).decode()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]


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
    access_logging: None, live_api: LiveServer, db: AsyncEngine
) -> None:
    access_log = live_api.app.state.access_log
    access_log.flush()  # earlier tests' lines to the usual place
    written = Written()
    access_log.sink = written
    try:
        async with httpx.AsyncClient(base_url=live_api.url) as client:
            given = await client.get("/events/nope", headers={"X-Request-ID": "req-from-the-lb.1"})
            assert given.headers["x-request-id"] == "req-from-the-lb.1"
            fresh = await client.get("/health", headers={"X-Request-ID": "<script>"})
            assert fresh.headers["x-request-id"] != "<script>"
            assert len(fresh.headers["x-request-id"]) == 16
        access_log.flush()
    finally:
        access_log.sink = AccessLog().sink
    access = [line for line in written.lines() if line["logger"] == "shababco.access"]
    by_id = {line["request_id"]: line for line in access}
    assert by_id["req-from-the-lb.1"]["endpoint"] == "/events/{event_id}"
    assert by_id["req-from-the-lb.1"]["status"] == 404
    assert by_id[fresh.headers["x-request-id"]]["endpoint"] == "/health"
    assert all(line["ms"] >= 0 for line in access)


async def test_no_secret_reaches_the_logs_of_a_serving_app(
    captured: Captured, access_logging: None, settings: Settings, db: AsyncEngine
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
        server = LiveServer(configured)
        server.app.state.access_log.sink = lambda data: captured.stream.write(data.decode())
        with server:  # its access lines are all written when it stops
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


def access_app(access_log: AccessLog) -> httpx.AsyncClient:
    """A client of a small app behind the telemetry middleware, writing to `access_log`; its
    route is one of the API's, so that the metrics see no endpoint of their own."""

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/events/{event_id}", hello)])
    app.add_middleware(TelemetryMiddleware, access_log=access_log)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_access_lines_carry_the_fields_of_a_log_line(access_logging: None) -> None:
    written = Written()
    access_log = AccessLog(sink=written)
    async with access_app(access_log) as client:
        answer = await client.get("/events/x?q=1", headers={"X-Request-ID": "req-1"})
        await client.get("/nowhere")
    access_log.close()
    first, second = written.lines()
    assert set(first) == {
        "ts", "level", "logger", "message", "pid", "request_id", "endpoint", "status", "ms"
    }  # fmt: skip
    assert first["ts"].endswith("+00:00") and len(first["ts"]) == len(
        "2026-01-01T00:00:00.000+00:00"
    )
    assert first["level"] == "info"
    assert first["logger"] == "shababco.access"
    assert first["message"] == "GET /events/x 200"
    assert first["pid"] == os.getpid()
    assert first["request_id"] == answer.headers["x-request-id"] == "req-1"
    assert first["endpoint"] == "/events/{event_id}"
    assert first["status"] == 200
    assert first["ms"] >= 0
    assert (second["message"], second["endpoint"]) == ("GET /nowhere 404", "unmatched")


async def test_access_lines_in_the_text_format(access_logging: None) -> None:
    written = Written()
    access_log = AccessLog(log_format="text", sink=written)
    async with access_app(access_log) as client:
        await client.get("/events/x", headers={"X-Request-ID": "req-2"})
    access_log.close()
    assert written.text == "INFO shababco.access: GET /events/x 200 [req-2]\n"


async def test_access_lines_are_redacted(access_logging: None) -> None:
    register_secrets([ACCESS_TOKEN])
    written = Written()
    access_log = AccessLog(sink=written)
    async with access_app(access_log) as client:
        await client.get(f"/events/{ACCESS_TOKEN}")
        await client.get("/events/layla.h@example.org")
        await client.get(f"/events/{TOKEN_PREFIX}ffffeeeeddddcccc")
    access_log.close()
    text = written.text
    for secret in (ACCESS_TOKEN, "layla.h@example.org", "ffffeeee"):
        assert secret not in text
    assert [line["message"] for line in written.lines()] == ["GET /events/[REDACTED] 200"] * 3


async def test_the_writer_thread_writes_and_a_stop_writes_the_rest(access_logging: None) -> None:
    written = Written()
    access_log = AccessLog(sink=written)
    access_log.start()
    try:
        async with access_app(access_log) as client:
            await client.get("/events/first")

            async def first_written() -> bool:
                return "GET /events/first 200" in written.text

            await eventually(first_written)  # written without a stop
            for n in range(50):
                await client.get(f"/events/{n}")
    finally:
        access_log.close()
    messages = [line["message"] for line in written.lines()]
    assert messages == ["GET /events/first 200"] + [f"GET /events/{n} 200" for n in range(50)]


async def test_a_full_buffer_drops_lines_and_counts_them(access_logging: None) -> None:
    def dropped() -> float:
        return REGISTRY.get_sample_value("access_log_dropped_total") or 0.0

    before = dropped()
    written = Written()
    access_log = AccessLog(sink=written, capacity=3)  # no writer thread: nothing drains it
    async with access_app(access_log) as client:
        for n in range(5):
            assert (await client.get(f"/events/{n}")).status_code == 200  # answered all the same
    assert dropped() - before == 2
    access_log.close()
    assert [line["message"] for line in written.lines()] == [
        f"GET /events/{n} 200" for n in range(3)
    ]


async def test_no_access_lines_above_info() -> None:
    logger = logging.getLogger("shababco.access")
    level = logger.level
    logger.setLevel(logging.WARNING)  # LOG_LEVEL=warning
    written = Written()
    access_log = AccessLog(sink=written)
    try:
        async with access_app(access_log) as client:
            await client.get("/events/x")
        access_log.close()
    finally:
        logger.setLevel(level)
    assert written.writes == []


def test_batches_are_written_in_pieces_a_pipe_keeps_whole() -> None:
    lines = [f"{n:05d} " + "x" * (n % 300) + "\n" for n in range(2000)]
    long_line = "y" * (PIPE_BUF * 2) + "\n"
    data = "".join([*lines[:1000], long_line, *lines[1000:]]).encode()
    pieces = _pieces(data)
    assert b"".join(pieces) == data
    assert all(piece.endswith(b"\n") for piece in pieces)
    assert [piece for piece in pieces if len(piece) > PIPE_BUF] == [long_line.encode()]
    assert len(pieces) < len(lines) / 10


def test_the_redactor_scans_only_where_a_token_may_be() -> None:
    """The shortcut changes no answer: a text with a token is redacted, in any case."""
    batch = "\n".join(
        [
            "GET /events 200",
            f"token {TOKEN_PREFIX.upper()}ABCDEF0123",
            "https://storage.example/x?SIG=abc123",
            url_with_password("redis", "u", "pw-secret", "cache:6379"),
        ]
    )
    redacted = redact(batch)
    for secret in ("ABCDEF0123", "abc123", "pw-secret"):
        assert secret not in redacted
    assert redacted.startswith("GET /events 200\n")
