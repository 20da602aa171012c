"""Dependency aliases that keep handler signatures short."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.db import Database


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    async with get_database(request).read.connect() as connection:
        yield connection


ReadConnection = Annotated[AsyncConnection, Depends(read_connection)]
