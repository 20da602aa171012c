"""Leases: which process runs a leader-only job, until when; renewed by their holder.

A row rather than a session-level advisory lock, so that leadership works through a transaction
pooler (PgBouncer, Supavisor), where consecutive transactions may run on different server
connections and no session outlives a transaction. Every statement is one short transaction and
every time is the database's clock, so processes on hosts whose clocks differ agree. A holder
that dies (SIGKILL, lost host) stops renewing: its lease lapses and another process takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Text, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from shababco.database.core import Base, Timestamp

log = logging.getLogger(__name__)


class Lease(Base):
    """Who holds the named job, and until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)


def process_name() -> str:
    """This process, recognisable in the `leases` table: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def hold(engine: AsyncEngine, *, name: str, holder: str, seconds: float) -> bool:
    """Take the lease if it is free or lapsed, or renew it if `holder` has it; True if held."""
    claim = insert(Lease).values(
        name=name, holder=holder, expires_at=func.now() + timedelta(seconds=seconds)
    )
    statement = claim.on_conflict_do_update(
        index_elements=[Lease.name],
        set_={"holder": claim.excluded.holder, "expires_at": claim.excluded.expires_at},
        where=(Lease.holder == holder) | (Lease.expires_at < func.now()),
    ).returning(Lease.holder)
    async with engine.begin() as conn:
        return await conn.scalar(statement) is not None


async def give_up(engine: AsyncEngine, *, name: str, holder: str) -> None:
    """Hand the lease back, so that another process takes it at once."""
    async with engine.begin() as conn:
        await conn.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


class Leadership:
    """This process's claim on a lease, renewed every `tick` seconds while `run` runs.

    The lease lasts three ticks, so a holder keeps it through two failed renewals (a busy event
    loop, a pooler restart) and a dead one is replaced within four ticks.
    """

    def __init__(self, engine: AsyncEngine, *, name: str, tick: float) -> None:
        self.engine, self.name, self.tick = engine, name, tick
        self.holder = process_name()
        self.leader = False

    async def renew(self) -> bool:
        """Take or renew the lease now; whether this process leads."""
        lasting = 3 * self.tick
        try:
            held = await hold(self.engine, name=self.name, holder=self.holder, seconds=lasting)
        except Exception as exc:
            if self.leader:
                log.warning("lease %s not renewed: %r", self.name, exc)
            held = False
        if held != self.leader:
            log.info("lease %s: %s", self.name, "taken" if held else "lost")
        self.leader = held
        return held

    async def run(self, stop: asyncio.Event) -> None:
        """Renew every tick until `stop`, then hand the lease back."""
        while not stop.is_set():
            await self.renew()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.tick)
        if self.leader:
            self.leader = False
            with contextlib.suppress(Exception):
                await give_up(self.engine, name=self.name, holder=self.holder)
