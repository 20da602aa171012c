"""The old architecture's REST Admin endpoints: products.json with Link pagination and 40/2 s."""

from __future__ import annotations

import asyncio
import base64
import random
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from shababco.simulator.payloads import product_body
from shababco.simulator.runtime import Simulator

MAX_LIMIT = 250
THROTTLED_BODY = {
    "errors": "Exceeded 2 calls per second for api client. "
    "Reduce request rates to resume uninterrupted service."
}

router = APIRouter(include_in_schema=False)


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


@router.get("/admin/api/{version}/products.json")
async def list_products(request: Request, version: str) -> Response:
    """REST products.json: id order, `limit` ≤ 250, cursor pagination through `Link`."""
    simulator, denied, headers = await _admit(request)
    if denied is not None:
        return denied
    params = request.query_params
    limit = min(int(params.get("limit", 50)), MAX_LIMIT)
    ordered = sorted(simulator.store.products.values(), key=lambda p: p.id)
    if "status" in params and "page_info" not in params:
        ordered = [p for p in ordered if p.status == params["status"]]
    cursor = _read_page_info(params["page_info"]) if "page_info" in params else None
    if "page_info" in params and cursor is None:
        return _json({"errors": {"page_info": "Invalid value."}}, 400, headers)
    if cursor and cursor["direction"] == "next":
        page = [p for p in ordered if p.id > cursor["last_id"]][:limit]
    elif cursor:
        page = [p for p in ordered if p.id < cursor["last_id"]][-limit:]
    else:
        since = int(params.get("since_id", 0))
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
    return _json({"products": [product_body(p) for p in page]}, 200, headers)


@router.get("/admin/api/{version}/products/{product_id}.json")
async def get_product(request: Request, version: str, product_id: str) -> Response:
    """REST products/{id}.json."""
    simulator, denied, headers = await _admit(request)
    if denied is not None:
        return denied
    product = simulator.store.products.get(int(product_id)) if product_id.isdigit() else None
    if product is None:
        return _json({"errors": "Not Found"}, 404, headers)
    return _json({"product": product_body(product)}, 200, headers)
