"""Small helpers shared by the mutation resolvers: userErrors entries and Money inputs."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def user_error(field: list[str], message: str, code: str | None = None) -> dict[str, Any]:
    """A userErrors entry."""
    return {"field": field, "message": message, "code": code}


def parse_money(value: Any) -> Decimal | None:
    """Parse a Money scalar input; None if it is not a decimal amount."""
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
