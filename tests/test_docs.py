"""The API's documentation pages work with no network: their scripts come from this process."""

from __future__ import annotations

import re

import httpx
import pytest

ASSET = re.compile(r'(?:src|href)="([^"]+\.(?:js|css))"')


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_load_their_assets_from_the_api(api: httpx.AsyncClient, page: str) -> None:
    html = await api.get(page)
    assert html.status_code == 200
    assets = ASSET.findall(html.text)
    assert assets
    assert all(asset.startswith("/docs/static/") for asset in assets)
    for asset in assets:
        response = await api.get(asset)
        assert response.status_code == 200
        assert len(response.content) > 10_000  # the real bundle, not a placeholder
