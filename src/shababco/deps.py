"""Dependency aliases that keep handler signatures short.

Async on purpose: FastAPI runs a plain `def` dependency in its thread pool (a profile counted 8
hops per uncached detail), and each hop then waits for the GIL behind the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shababco.cache.core import ResponseCache
from shababco.config import Settings
from shababco.database.engines import Database


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.cache
    return cache


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DatabaseDep = Annotated[Database, Depends(get_database)]
CacheDep = Annotated[ResponseCache, Depends(get_cache)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
