"""`/_simulator/`: what Shopify has no API for (generation, chaos, retry scale, export)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from shababco.simulator.chaos import ChaosSettings
from shababco.simulator.export import export_state
from shababco.simulator.generate import generate_events
from shababco.simulator.runtime import Simulator


def simulator_of(request: Request) -> Simulator:
    """The running simulator; refuses requests without the access token."""
    simulator: Simulator = request.app.state.simulator
    if simulator.check_token(request) is not None:
        raise HTTPException(401, "Invalid API key or access token")
    return simulator


SimulatorDep = Annotated[Simulator, Depends(simulator_of)]
router = APIRouter(prefix="/_simulator", tags=["simulator"])


class GenerateRequest(BaseModel):
    count: int = Field(ge=1, le=200_000, description="How many events (products) to create.")
    notify: bool = Field(True, description="Fire products/create for each new event.")


class GenerateResult(BaseModel):
    created: int
    product_ids: list[str]


class ChaosModel(BaseModel):
    duplicate_rate: float = Field(0.0, ge=0, le=1, description="Chance a delivery is sent twice.")
    reorder_window: int = Field(0, ge=0, le=10_000, description="Deliveries shuffled together.")
    drop_rate: float = Field(0.0, ge=0, le=1, description="Chance a delivery is never sent.")
    delay_min: float = Field(0.0, ge=0, description="Seconds before the first attempt (low end).")
    delay_max: float = Field(0.0, ge=0, description="Seconds before the first attempt (high end).")


class RetryScale(BaseModel):
    retry_time_scale: float = Field(
        gt=0, description="Multiplier on Shopify's 4-hour retry schedule."
    )


class ThrottleModel(BaseModel):
    maximum_available: float = Field(gt=0)
    restore_rate: float = Field(gt=0)
    currently_available: float | None = Field(None, ge=0)


@router.post("/events", operation_id="generate_events")
def generate(body: GenerateRequest, simulator: SimulatorDep) -> GenerateResult:
    """Create N realistic Arabic and English events."""
    products = generate_events(simulator.store, body.count, simulator.rng)
    if body.notify:
        for product in products:
            simulator.store.emit("products/create", product)
    return GenerateResult(created=len(products), product_ids=[str(p.id) for p in products])


@router.get("/chaos", operation_id="get_chaos")
def get_chaos(simulator: SimulatorDep) -> ChaosModel:
    """Current chaos settings of webhook delivery."""
    return ChaosModel(**simulator.dispatcher.settings.chaos.as_dict())


@router.put("/chaos", operation_id="put_chaos")
def put_chaos(body: ChaosModel, simulator: SimulatorDep) -> ChaosModel:
    """Replace the chaos settings."""
    chaos: ChaosSettings = simulator.dispatcher.settings.chaos
    for key, value in body.model_dump().items():
        setattr(chaos, key, value)
    return body


@router.get("/retry-time-scale", operation_id="get_retry_time_scale")
def get_retry_scale(simulator: SimulatorDep) -> RetryScale:
    """Multiplier applied to the retry schedule (1.0 = Shopify's real 4 hours)."""
    return RetryScale(retry_time_scale=simulator.dispatcher.settings.retry_time_scale)


@router.put("/retry-time-scale", operation_id="put_retry_time_scale")
def put_retry_scale(body: RetryScale, simulator: SimulatorDep) -> RetryScale:
    """Change the retry time scale."""
    simulator.dispatcher.settings.retry_time_scale = body.retry_time_scale
    return body


@router.get("/throttle", operation_id="get_throttle")
def get_throttle(simulator: SimulatorDep) -> ThrottleModel:
    """The GraphQL cost bucket."""
    status = simulator.bucket.status()
    return ThrottleModel(
        maximum_available=status["maximumAvailable"],
        restore_rate=status["restoreRate"],
        currently_available=status["currentlyAvailable"],
    )


@router.put("/throttle", operation_id="put_throttle")
def put_throttle(body: ThrottleModel, simulator: SimulatorDep) -> ThrottleModel:
    """Resize or refill the GraphQL cost bucket (tests and benchmarks)."""
    simulator.bucket.configure(body.maximum_available, body.restore_rate, body.currently_available)
    return get_throttle(simulator)


@router.get("/export", operation_id="export_state")
def export(simulator: SimulatorDep) -> Response:
    """The store's true state: events, tickets, prices, metafields, available and sold."""
    return Response(orjson.dumps(export_state(simulator.store)), media_type="application/json")


@router.get("/deliveries/stats", operation_id="delivery_stats")
def delivery_stats(simulator: SimulatorDep) -> dict[str, Any]:
    """Webhook delivery counters."""
    return simulator.dispatcher.stats()


@router.get("/deliveries", operation_id="delivery_log")
def delivery_log(
    simulator: SimulatorDep,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 1000,
    topic: str | None = None,
) -> dict[str, Any]:
    """The most recent delivery attempts, oldest first."""
    attempts = [
        entry for entry in simulator.dispatcher.log if topic is None or entry["topic"] == topic
    ]
    return {"attempts": attempts[-limit:]}


@router.post("/deliveries/wait-idle", operation_id="wait_idle")
async def wait_idle(
    simulator: SimulatorDep, seconds: Annotated[float, Query(alias="timeout", gt=0, le=600)] = 10.0
) -> dict[str, Any]:
    """Wait until no delivery is pending (retries included), or until `timeout` seconds."""
    deadline = time.monotonic() + seconds
    # The counter moves in many places; polling it is simpler than signalling every change.
    while simulator.dispatcher.outstanding > 0 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return {
        "idle": simulator.dispatcher.outstanding == 0,
        "outstanding": simulator.dispatcher.outstanding,
    }
