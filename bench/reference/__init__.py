"""A hand-written FastAPI + asyncpg service, the yardstick of the uncached reads."""
