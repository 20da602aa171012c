"""JSONB read through the engine's decoder (orjson, or the stdlib for long integers)."""

from __future__ import annotations

from sqlalchemy import text

from shababco.config import Settings
from shababco.db import create_engine


async def test_jsonb_reads_back_exactly(settings: Settings, database_url: str) -> None:
    documents = [
        '{"name": "دار الأوبرا", "seats": [1, 2.5, null, true]}',
        '{"id": 9007199254740993, "big": 123456789012345678901234567890}',
        '[-12345678901234567890123, "1234567890123456789012"]',
    ]
    expected = [
        {"name": "دار الأوبرا", "seats": [1, 2.5, None, True]},
        {"id": 9007199254740993, "big": 123456789012345678901234567890},
        [-12345678901234567890123, "1234567890123456789012"],
    ]
    engine = create_engine(database_url, settings, pool=False)
    try:
        async with engine.connect() as conn:
            for document, value in zip(documents, expected, strict=True):
                statement = text("SELECT CAST(:document AS jsonb)")
                assert await conn.scalar(statement, {"document": document}) == value
    finally:
        await engine.dispose()
