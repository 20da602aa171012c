"""The API held to its own OpenAPI document by schemathesis: requests generated for every read
operation (fixed seed, bounded examples, so every run sends the same requests), each answer
checked: no 5xx, a documented status, content type, headers and body schema, and every request
the document does not allow refused with a 4xx.

Run it longer locally with `SCHEMATHESIS_EXAMPLES=10000 .venv/bin/pytest tests/test_openapi.py`
(a different seed: `SCHEMATHESIS_SEED=7`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.app import create_app
from shababco.config import Settings
from tests.support.data import load_products
from tests.support.factories import make_product, make_variant
from tests.support.server import LiveServer

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "2500"))  # per operation and phase
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261203"))
# The document only: building the app opens nothing.
DOCUMENT = create_app(Settings(_env_file=None, database_url="postgresql://-/-")).openapi()
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _schema() -> Any:
    config = SchemathesisConfig(seed=SEED)
    config.projects.default.generation.update(
        max_examples=EXAMPLES, deterministic=True, database="none"
    )
    loaded = schemathesis.openapi.from_dict(DOCUMENT, config=config)
    return loaded.include(method="GET")  # the webhooks need a signature: tests/shopify/webhooks


schema = _schema()


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as opened:
        yield opened


@pytest.fixture
async def stocked(db: AsyncEngine) -> None:
    """Events for the lists and the details to return, so their bodies are checked too."""
    await load_products(
        db,
        make_product(title="Jazz Night", category="Music", handle="jazz-night"),
        make_product(title="أمسية العود", category="أمسيات", start=None),
        make_product(
            title="Rock",
            category="music",
            variants=[make_variant(price="12.5", compare_at_price="20")],
        ),
    )


@schema.parametrize()  # type: ignore[untyped-decorator]
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_answer_is_documented(
    case: Case[Any], cached_api: LiveServer, session: requests.Session, stocked: None
) -> None:
    """Through the response cache as served by default: a repeated request is an L1 hit."""
    case.call_and_validate(
        base_url=cached_api.url, session=session, checks=CHECKS, allow_redirects=False
    )


async def test_the_served_document_is_the_one_held_to(api: httpx.AsyncClient) -> None:
    assert (await api.get("/openapi.json")).json() == DOCUMENT


def test_every_read_documents_its_errors_and_the_request_id() -> None:
    for path, operations in DOCUMENT["paths"].items():
        responses = operations.get("get", {}).get("responses", {})
        for status, response in responses.items():
            assert "X-Request-ID" in response["headers"], (path, status)
            if status >= "400" and (path, status) != ("/ready", "503"):  # readiness says why
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, status)
        if responses:
            assert "500" in responses, path
    metrics = DOCUMENT["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
