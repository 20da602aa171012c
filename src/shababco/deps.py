"""Dependency aliases that keep handler signatures short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shababco.cache.core import ResponseCache
from shababco.db import Database


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.cache
    return cache


DatabaseDep = Annotated[Database, Depends(get_database)]
CacheDep = Annotated[ResponseCache, Depends(get_cache)]
