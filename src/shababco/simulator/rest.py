"""The old architecture's REST Admin endpoints, read-only, with Shopify's 40-call bucket at 2/s.

Served: `products.json` (`ids`, `fields`, `status`, `since_id`, `limit`, Link pagination),
`products/count.json`, `products/{id}.json` (`fields`) and `shop.json`. Every other REST route
and method, writes included, answers as Shopify answers a route it does not have: 404
`{"errors": "Not Found"}`, after the token check.
"""

from __future__ import annotations

import asyncio
import base64
import random
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from shababco.simulator.models import Product, rest_time
from shababco.simulator.payloads import product_body
from shababco.simulator.resolvers_admin import PLAN_NAMES, SHOP_ID
from shababco.simulator.runtime import Simulator

MAX_LIMIT = 250
THROTTLED_BODY = {
    "errors": "Exceeded 2 calls per second for api client. "
    "Reduce request rates to resume uninterrupted service."
}

NOT_FOUND = {"errors": "Not Found"}
INVALID = "Invalid value."

router = APIRouter(include_in_schema=False)
# Mounted after every other route: whatever they do not serve under /admin/api/.
unknown_routes = APIRouter(include_in_schema=False)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


async def _admit(request: Request) -> tuple[Simulator, Response | None, dict[str, str]]:
    """Authenticate, count against the leaky bucket and wait the injected latency."""
    simulator: Simulator = request.app.state.simulator
    denied = simulator.check_token(request)
    if denied is not None:
        return simulator, denied, {}
    if not simulator.rest_bucket.try_add():
        headers = {
            "Retry-After": "2.0",
            "X-Shopify-Shop-Api-Call-Limit": simulator.rest_bucket.header(),
        }
        return simulator, _json(THROTTLED_BODY, 429, headers), {}
    headers = {"X-Shopify-Shop-Api-Call-Limit": simulator.rest_bucket.header()}
    low, high = simulator.config.latency
    if high > 0:
        await asyncio.sleep(random.uniform(low, high))
    return simulator, None, headers


def _page_info(direction: str, product_id: int, limit: int) -> str:
    raw = orjson.dumps({"direction": direction, "last_id": product_id, "limit": limit})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_page_info(token: str) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


class BadParameter(ValueError):
    """A query parameter Shopify would refuse; carries the parameter's name."""


def _integer(params: Any, name: str, default: int) -> int:
    value = params.get(name, str(default))
    if not value.isdigit():
        raise BadParameter(name)
    return int(value)


def _ids(params: Any) -> set[int] | None:
    """The `ids` filter (comma-separated), or None when absent."""
    if "ids" not in params:
        return None
    parts = [part.strip() for part in params["ids"].split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise BadParameter("ids")
    return {int(part) for part in parts}


def _fields(params: Any) -> set[str] | None:
    """The `fields` projection (comma-separated top-level keys), or None for every field."""
    if "fields" not in params:
        return None
    return {part.strip() for part in params["fields"].split(",") if part.strip()}


def _body(product: Product, fields: set[str] | None) -> dict[str, Any]:
    body = product_body(product)
    return body if fields is None else {k: v for k, v in body.items() if k in fields}


def _filtered(simulator: Simulator, params: Any) -> list[Product]:
    """The store's products in id order, narrowed by `ids` and `status`."""
    ordered = sorted(simulator.store.products.values(), key=lambda p: p.id)
    ids = _ids(params)
    if ids is not None:
        ordered = [p for p in ordered if p.id in ids]
    if "status" in params:
        statuses = {part.strip() for part in params["status"].split(",")}
        ordered = [p for p in ordered if p.status in statuses]
    return ordered


@router.get("/admin/api/{version}/products.json")
async def list_products(request: Request, version: str) -> Response:
    """REST products.json: id order, `limit` ≤ 250, cursor pagination through `Link`."""
    simulator, denied, headers = await _admit(request)
    if denied is not None:
        return denied
    params = request.query_params
    try:
        limit = min(_integer(params, "limit", 50), MAX_LIMIT)
        since = _integer(params, "since_id", 0)
        # A page_info cursor carries the filters of its first page; others are ignored.
        ordered = _filtered(simulator, {} if "page_info" in params else params)
    except BadParameter as bad:
        return _json({"errors": {str(bad): INVALID}}, 400, headers)
    cursor = _read_page_info(params["page_info"]) if "page_info" in params else None
    if "page_info" in params and cursor is None:
        return _json({"errors": {"page_info": INVALID}}, 400, headers)
    if cursor and cursor["direction"] == "next":
        page = [p for p in ordered if p.id > cursor["last_id"]][:limit]
    elif cursor:
        page = [p for p in ordered if p.id < cursor["last_id"]][-limit:]
    else:
        page = [p for p in ordered if p.id > since][:limit]
    links = []
    base = f"{str(request.base_url).rstrip('/')}/admin/api/{version}/products.json?limit={limit}"
    if page and any(p.id > page[-1].id for p in ordered):
        links.append(f'<{base}&page_info={_page_info("next", page[-1].id, limit)}>; rel="next"')
    if page and cursor is not None and any(p.id < page[0].id for p in ordered):
        links.insert(
            0, f'<{base}&page_info={_page_info("previous", page[0].id, limit)}>; rel="previous"'
        )
    if links:
        headers["Link"] = ", ".join(links)
    fields = _fields(params)
    return _json({"products": [_body(p, fields) for p in page]}, 200, headers)


@router.get("/admin/api/{version}/products/count.json")
async def count_products(request: Request, version: str) -> Response:
    """REST products/count.json (`ids`, `status`)."""
    simulator, denied, headers = await _admit(request)
    if denied is not None:
        return denied
    try:
        count = len(_filtered(simulator, request.query_params))
    except BadParameter as bad:
        return _json({"errors": {str(bad): INVALID}}, 400, headers)
    return _json({"count": count}, 200, headers)


@router.get("/admin/api/{version}/products/{product_id}.json")
async def get_product(request: Request, version: str, product_id: str) -> Response:
    """REST products/{id}.json (`fields`)."""
    simulator, denied, headers = await _admit(request)
    if denied is not None:
        return denied
    product = simulator.store.products.get(int(product_id)) if product_id.isdigit() else None
    if product is None:
        return _json(NOT_FOUND, 404, headers)
    return _json({"product": _body(product, _fields(request.query_params))}, 200, headers)


@router.get("/admin/api/{version}/shop.json")
async def get_shop(request: Request, version: str) -> Response:
    """REST shop.json: the shop's identity, currency and plan."""
    simulator, denied, headers = await _admit(request)
    if denied is not None:
        return denied
    store, plan = simulator.store, simulator.config.plan
    earliest = min((p.created_at for p in store.products.values()), default=None)
    shop = {
        "id": SHOP_ID,
        "name": store.shop_name,
        "email": f"owner@{store.shop_domain}",
        "domain": store.shop_domain,
        "myshopify_domain": store.shop_domain,
        "country_code": "SA",
        "currency": store.currency,
        "enabled_presentment_currencies": [store.currency],
        "money_format": f"{{{{amount}}}} {store.currency}",
        "iana_timezone": "Asia/Riyadh",
        "timezone": "(GMT+03:00) Asia/Riyadh",
        "primary_locale": "ar",
        "plan_name": plan,
        "plan_display_name": PLAN_NAMES[plan],
        "created_at": rest_time(earliest),
    }
    if "fields" in request.query_params:
        wanted = _fields(request.query_params) or set()
        shop = {key: value for key, value in shop.items() if key in wanted}
    return _json({"shop": shop}, 200, headers)


@unknown_routes.api_route(
    "/admin/api/{version}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
)
async def unknown_route(request: Request, version: str, path: str) -> Response:
    """Shopify's answer to a route or method it does not have (writes included here)."""
    simulator: Simulator = request.app.state.simulator
    denied = simulator.check_token(request)
    return denied if denied is not None else _json(NOT_FOUND, 404)
