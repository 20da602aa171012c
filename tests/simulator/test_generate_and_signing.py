"""Generated data (Arabic and English, big ids, deterministic) and webhook signing vectors."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from shababco.simulator.delivery import sign
from shababco.simulator.generate import generate_events
from shababco.simulator.store import Store

PAYLOADS = Path(__file__).resolve().parents[2] / "examples" / "shopify-payloads"
ARABIC = re.compile(r"[\u0600-\u06FF]")
LATIN = re.compile(r"[A-Za-z]{3,}")


def make_store(count: int, seed: int = 3) -> Store:
    store = Store(seed=seed, shop_domain="test.myshopify.com")
    generate_events(store, count, random.Random(seed))
    return store


def test_hmac_test_vectors() -> None:
    assert sign("hush", b"{}") == "UFwgrGBPZilFtmKh8TqcovA78LGYb1BdWu9I4Q2oyRg="
    raw = json.loads((PAYLOADS / "products_update.real-delivery-2024.json").read_text())["raw_body"]
    assert sign("hush", raw.encode()) == "2S92oywTw15CI1XK5it5kamJ/XLkvwyiFPuTJw61kLk="


def test_generated_events_mix_arabic_and_english() -> None:
    titles = [p.title for p in make_store(80).products.values()]
    assert sum(bool(ARABIC.search(t)) for t in titles) >= 20
    assert sum(bool(LATIN.search(t)) and not ARABIC.search(t) for t in titles) >= 20


def test_generated_events_are_complete() -> None:
    store = make_store(40)
    for product in store.products.values():
        assert {"subtitle", "start_date", "end_date", "venue"} <= {k for _, k in product.metafields}
        assert json.loads(product.metafields[("event", "venue")].value)["city"]
        assert 1 <= len(product.variants) <= 6
        assert product.images
        for variant in product.variants:
            assert {"type", "features", "hidden"} <= {k for _, k in variant.metafields}
            assert variant.levels
    assert len(store.locations) >= 3
    assert any(product_id > 2**53 for product_id in store.products)
    assert any(product_id < 2**53 for product_id in store.products)


def test_same_seed_same_store() -> None:
    first, second = make_store(20, seed=9), make_store(20, seed=9)
    assert [p.title for p in first.products.values()] == [p.title for p in second.products.values()]
    assert list(first.variants) == list(second.variants)
