"""Dependency aliases that keep handler signatures short, and what they read for handlers that
take no dependency.

Async on purpose: FastAPI runs a plain `def` dependency in its thread pool (a profile counted 8
hops per uncached detail), and each hop then waits for the GIL behind the event loop. The
catalog's read routes call `database_of` and `cache_of` instead: FastAPI solves each dependency
anew for every request, 10 us of CPU apiece, and an uncached read is 300 us in all.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shababco.cache.core import ResponseCache
from shababco.config import Settings
from shababco.database.engines import Database


def database_of(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def cache_of(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.cache
    return cache


async def get_database(request: Request) -> Database:
    return database_of(request)


async def get_cache(request: Request) -> ResponseCache:
    return cache_of(request)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DatabaseDep = Annotated[Database, Depends(get_database)]
CacheDep = Annotated[ResponseCache, Depends(get_cache)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
