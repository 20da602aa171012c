"""Deliveries the mirror cannot apply: retried with backoff when the failure may pass,
quarantined with their reason when it cannot or keeps failing, never lost; listed, retried and
discarded by `shababco webhooks failed|retry|discard`, counted in `/metrics`.

The database's refusals are real: a test trigger raises the SQLSTATE a real failure would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changes import ChangeFeed
from shababco.shopify.models import WebhookDelivery
from shababco.shopify.payloads import PayloadError
from shababco.shopify.webhooks import quarantine
from shababco.shopify.webhooks.failures import (
    MAX_ATTEMPTS,
    Kind,
    backoff_seconds,
    classify,
)
from shababco.shopify.webhooks.inbox import InboxWorker
from tests.support.factories import make_product
from tests.support.refusal import refuse_poison
from tests.support.webhook_client import deliver, eventually

SHABABCO = str(Path(sys.executable).parent / "shababco")


@pytest.fixture
async def refuse(db: AsyncEngine) -> AsyncIterator[Any]:
    """`await refuse(state)`: the database refuses events titled "Poison" with that SQLSTATE
    until `await refuse(None)`."""

    async def set_state(state: str | None) -> None:
        await refuse_poison(db, state)

    yield set_state
    await refuse_poison(db, None)


async def row(db: AsyncEngine, webhook_id: str) -> Any:
    async with db.connect() as conn:
        return (
            await conn.execute(
                select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
            )
        ).one_or_none()


async def until_row(db: AsyncEngine, webhook_id: str, **expected: Any) -> Any:
    async def matches() -> bool:
        found = await row(db, webhook_id)
        return found is not None and all(
            (getattr(found, key) is not None) if want is ... else getattr(found, key) == want
            for key, want in expected.items()
        )

    await eventually(matches, within=15)
    return await row(db, webhook_id)


def shababco(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [SHABABCO, "webhooks", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def samples(api: httpx.AsyncClient) -> dict[tuple[str, frozenset[Any]], float]:
    body = (await api.get("/metrics")).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


async def test_a_delivery_the_database_refuses_is_quarantined_then_retried(
    api: httpx.AsyncClient, db: AsyncEngine, database_url: str, refuse: Any
) -> None:
    await refuse("22003")  # numeric_value_out_of_range: the content, trying again cannot help
    counter = (
        "webhooks_applied_total",
        frozenset({"topic": "products/create", "outcome": "quarantined"}.items()),
    )
    before = (await samples(api)).get(counter, 0.0)
    poison, good = make_product(title="Poison"), make_product(title="Fine")
    for product, webhook_id in ((poison, "poison-1"), (good, "good-1")):
        headers = {"X-Shopify-Webhook-Id": webhook_id}
        assert (await deliver(api, "products/create", product, headers=headers)).status_code == 200
    quarantined = await until_row(db, "poison-1", quarantined_at=...)
    assert quarantined.attempts == 1  # at once: no retries for what cannot pass
    assert "refused for the test [22003]" in quarantined.last_error
    assert quarantined.processed_at is None
    await until_row(db, "good-1", processed_at=...)  # the rest of the batch goes on

    after = await samples(api)
    assert after[counter] == before + 1
    assert after[("webhook_inbox_backlog", frozenset({("state", "quarantined")}))] == 1
    assert after[("webhook_inbox_backlog", frozenset({("state", "pending")}))] == 0

    listed = shababco(database_url, "failed")
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    received = quarantined.received_at.isoformat(timespec="seconds")
    assert line.startswith(f"poison-1  products/create  {received}  refused for the test")

    still = shababco(database_url, "retry", "poison-1", "unknown-id")
    assert still.returncode == 1
    assert "poison-1  products/create  quarantined again: refused for the test" in still.stdout
    assert "unknown-id: no quarantined delivery has this id" in still.stderr
    await refuse(None)
    retried = shababco(database_url, "retry", "--all")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.splitlines() == ["poison-1  products/create  applied"]
    assert (await api.get(f"/events/{poison['id']}")).json()["title"] == "Poison"
    assert (await row(db, "poison-1")).quarantined_at is None
    async with db.connect() as conn:
        assert await quarantine.quarantined(conn) == []


async def test_a_transient_failure_is_retried_after_a_backoff(
    api: httpx.AsyncClient, db: AsyncEngine, refuse: Any
) -> None:
    await refuse("40001")  # serialization_failure: passes by itself
    product = make_product(title="Poison")
    headers = {"X-Shopify-Webhook-Id": "flaky-1"}
    assert (await deliver(api, "products/create", product, headers=headers)).status_code == 200
    first = await until_row(db, "flaky-1", attempts=1)
    assert first.quarantined_at is None and first.processed_at is None
    assert "[40001]" in first.last_error
    # The next attempt waits at least half the first delay (1 s, jittered).
    assert (first.next_attempt_at - first.received_at).total_seconds() >= 0.5
    await until_row(db, "flaky-1", attempts=2)  # tried again once due
    await refuse(None)
    applied = await until_row(db, "flaky-1", processed_at=...)
    assert applied.last_error is None and applied.quarantined_at is None
    assert (await api.get(f"/events/{product['id']}")).json()["title"] == "Poison"


async def test_a_failure_that_keeps_passing_is_quarantined_after_the_last_attempt(
    api: httpx.AsyncClient, db: AsyncEngine, refuse: Any
) -> None:
    await refuse("55P03")  # lock_not_available
    product = make_product(title="Poison")
    headers = {"X-Shopify-Webhook-Id": "locked-1"}
    assert (await deliver(api, "products/create", product, headers=headers)).status_code == 200
    await until_row(db, "locked-1", attempts=1)
    async with db.begin() as conn:  # skip the backoffs: the attempt before the last, due now
        await conn.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == "locked-1")
            .values(attempts=MAX_ATTEMPTS - 1, next_attempt_at=text("now()"))
        )
    quarantined = await until_row(db, "locked-1", quarantined_at=...)
    assert quarantined.attempts == MAX_ATTEMPTS
    await refuse(None)
    worker = InboxWorker(db, ChangeFeed(db), currency="USD")
    [outcome] = await worker.retry()
    assert (outcome.webhook_id, outcome.outcome) == ("locked-1", "applied")


async def test_discard_deletes_only_quarantined_deliveries(
    api: httpx.AsyncClient, db: AsyncEngine, database_url: str, refuse: Any
) -> None:
    await refuse("22003")
    for product, webhook_id in ((make_product(title="Poison"), "bad"), (make_product(), "ok")):
        headers = {"X-Shopify-Webhook-Id": webhook_id}
        await deliver(api, "products/create", product, headers=headers)
    await until_row(db, "bad", quarantined_at=...)
    await until_row(db, "ok", processed_at=...)
    async with db.begin() as conn:
        assert (
            await quarantine.discard(conn, ["ok"]) == []
        )  # applied: not the quarantine's to delete
    assert shababco(database_url, "discard").returncode == 2  # ids or --all, not neither
    result = shababco(database_url, "discard", "--all")
    assert result.stderr.strip() == "discarded 1 quarantined deliveries"
    assert await row(db, "bad") is None
    assert await row(db, "ok") is not None


async def test_failures_are_told_apart_by_what_raised_them(db: AsyncEngine) -> None:
    async def raised(statement: str) -> DBAPIError:
        with pytest.raises(DBAPIError) as caught:
            async with db.connect() as conn:
                await conn.execute(text(statement))
        return caught.value

    def raising(state: str) -> str:
        return f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{state}'; END $$"

    assert classify(await raised("SELECT 1/0")).kind is Kind.PERMANENT
    assert classify(await raised(raising("40P01"))).kind is Kind.TRANSIENT  # deadlock
    assert classify(await raised(raising("57014"))).kind is Kind.TRANSIENT  # statement timeout
    assert classify(await raised(raising("08006"))).kind is Kind.OUTAGE
    assert classify(await raised(raising("57P01"))).kind is Kind.OUTAGE  # admin shutdown
    assert classify(PayloadError("price exceeds")).kind is Kind.PERMANENT
    assert classify(ConnectionRefusedError()).kind is Kind.OUTAGE
    bug = classify(KeyError("x"))
    assert (bug.kind, bug.reason) == (Kind.TRANSIENT, "KeyError: 'x'")


def test_backoff_doubles_with_jitter_up_to_five_minutes() -> None:
    for attempts in range(1, 15):
        delay = min(300.0, 2.0 ** (attempts - 1))
        waits = [backoff_seconds(attempts) for _ in range(50)]
        assert all(delay / 2 <= wait <= delay for wait in waits)
        assert len(set(waits)) > 1  # jittered: failures together do not retry together
