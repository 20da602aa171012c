"""Validation of metafield values by type, as Shopify checks them on write."""

from __future__ import annotations

from datetime import date, datetime

import orjson

from shababco.simulator.models import Metafield, Product, Variant
from shababco.simulator.store import Store

MAX_METAFIELDS_PER_CALL = 25


def value_error(kind: str, value: str) -> str | None:
    """Return why `value` is not a valid `kind` metafield value, or None if it is."""
    if value == "":
        return "Value can't be blank."
    try:
        if kind == "boolean" and value not in {"true", "false"}:
            return "Value must be true or false."
        if kind in {"number_integer"}:
            int(value)
        if kind == "date_time":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        if kind == "date":
            date.fromisoformat(value)
        if kind == "json":
            orjson.loads(value)
        if kind.startswith("list.") and not isinstance(orjson.loads(value), list):
            return "Value must be a JSON array."
    except (ValueError, orjson.JSONDecodeError):
        return f"Value is invalid for type {kind}."
    return None


def upsert_metafield(
    store: Store, owner: Product | Variant, namespace: str, key: str, kind: str | None, value: str
) -> Metafield | str:
    """Create or update one metafield; return it, or the reason it was refused."""
    existing = owner.metafields.get((namespace, key))
    kind = kind or (existing.type if existing else None)
    if kind is None:
        return "Type can't be blank."
    problem = value_error(kind, value)
    if problem:
        return problem
    if existing is not None:
        existing.value, existing.type, existing.updated_at = value, kind, store.now()
        return existing
    owner_kind = "Product" if isinstance(owner, Product) else "ProductVariant"
    created = store.new_metafield(owner_kind, owner.id, namespace, key, kind, value)
    owner.metafields[(namespace, key)] = created
    return created
