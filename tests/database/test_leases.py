"""Leases for leader-only jobs: one holder at a time, renewed by it, taken over once lapsed."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shababco.database.leases import Leadership, Lease, give_up, hold
from tests.support.server import free_port
from tests.support.webhook_client import eventually


async def _holder(db: AsyncEngine, name: str) -> str | None:
    async with db.connect() as conn:
        holder: str | None = await conn.scalar(select(Lease.holder).where(Lease.name == name))
    return holder


async def _leads(leadership: Leadership) -> bool:
    return leadership.leader


async def test_one_holder_until_it_lapses_or_is_given_up(db: AsyncEngine) -> None:
    assert await hold(db, name="job", holder="a", seconds=60)
    assert not await hold(db, name="job", holder="b", seconds=60)
    assert await hold(db, name="job", holder="a", seconds=-1)  # renewed, but lapsed at once
    assert await hold(db, name="job", holder="b", seconds=60)  # taken over
    assert not await hold(db, name="job", holder="a", seconds=60)
    assert await hold(db, name="other job", holder="a", seconds=60)  # leases are per name
    await give_up(db, name="job", holder="a")  # not the holder: changes nothing
    assert await _holder(db, "job") == "b"
    await give_up(db, name="job", holder="b")
    assert await hold(db, name="job", holder="a", seconds=60)


async def test_leadership_is_claimed_renewed_and_handed_back(db: AsyncEngine) -> None:
    first, second = (Leadership(db, name="job", tick=0.05) for _ in range(2))
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(first.run(stop_first))
    await eventually(lambda: _leads(first))
    assert not await second.renew()
    other = asyncio.create_task(second.run(stop_second))
    stop_first.set()
    await running
    assert not first.leader  # handed back on stop: the other takes it at its next renewal
    await eventually(lambda: _leads(second))
    assert await _holder(db, "job") == second.holder
    stop_second.set()
    await other
    assert await _holder(db, "job") is None


async def test_an_unreachable_database_is_not_leadership(db: AsyncEngine) -> None:
    leadership = Leadership(db, name="job", tick=0.05)
    assert await leadership.renew()
    nowhere = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    cut_off = Leadership(nowhere, name="job", tick=1)
    cut_off.holder, cut_off.leader = leadership.holder, True
    try:
        assert not await cut_off.renew()
    finally:
        await nowhere.dispose()
    assert not cut_off.leader
