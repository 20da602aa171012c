"""Generate realistic Arabic and English events (products) deterministically from a seed."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta
from decimal import Decimal

from shababco.simulator import words
from shababco.simulator.models import (
    SHOP_TIMEZONE,
    Image,
    Location,
    Metafield,
    Product,
    ProductOption,
    Variant,
)
from shababco.simulator.store import Store

PRICES = [Decimal(p) for p in ("25", "35", "49.50", "75", "99", "120", "150", "250", "499.99")]
STATUSES = ["active"] * 14 + ["draft", "archived", "unlisted"]


def slugify(text: str) -> str:
    """Make a Shopify-style handle, keeping Arabic letters as Shopify does."""
    slug = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-_")
    return slug or "event"


def ensure_locations(store: Store) -> None:
    """Create the shop's locations once."""
    if store.locations:
        return
    for name, address1, city in words.LOCATIONS:
        location = Location(store.ids.next("location"), name, address1, city, "SA", store.now())
        store.locations[location.id] = location


def generate_events(store: Store, count: int, rng: random.Random) -> list[Product]:
    """Create `count` events in the store and return them (no webhooks fired here)."""
    ensure_locations(store)
    now = store.now()
    products = [_event(store, rng, now) for _ in range(count)]
    for product in products:
        store.register_product(product)
    return products


def _event(store: Store, rng: random.Random, now: datetime) -> Product:
    product_type, english_genres, arabic_genres = rng.choice(words.CATEGORIES)
    arabic = rng.random() < 0.5
    venue = rng.choice(words.VENUES)
    title = (
        _arabic_title(rng, arabic_genres, venue)
        if arabic
        else _english_title(rng, english_genres, venue)
    )
    created = now - timedelta(days=rng.uniform(5, 120))
    updated = created + (now - created) * rng.random()
    product = Product(
        id=store.ids.next("product"),
        title=title,
        handle=store.unique_handle(slugify(title)),
        status=rng.choice(STATUSES),
        product_type=product_type,
        vendor=rng.choice(words.VENDORS),
        tags=_tags(rng, arabic),
        description_html=_description(rng, arabic),
        created_at=created.replace(microsecond=0),
        updated_at=updated.replace(microsecond=0),
        published_at=created.replace(microsecond=0),
    )
    _add_event_metafields(store, rng, product, venue, arabic, now)
    _add_variants(store, rng, product, arabic)
    _add_images(store, rng, product)
    return product


def _english_title(rng: random.Random, genres: list[str], venue: tuple[str, ...]) -> str:
    title = f"{rng.choice(words.ENGLISH_ADJECTIVES)} {rng.choice(genres)}"
    return f"{title} {venue[1]}" if rng.random() < 0.5 else f"{title} {rng.randint(2026, 2027)}"


def _arabic_title(rng: random.Random, genres: list[str], venue: tuple[str, ...]) -> str:
    head = rng.choice(genres)
    if rng.random() < 0.2:
        head = f"{rng.choice(words.ARABIC_WITH_DIACRITICS)} {head.split(' ', 1)[-1]}"
    place = f"في {venue[4]}" if rng.random() < 0.5 else f"ب{venue[4]}"
    return f"{head} {rng.choice(words.ARABIC_QUALIFIERS)} {place}"


def _tags(rng: random.Random, arabic: bool) -> list[str]:
    pool = words.TAGS_AR + words.TAGS_EN[:2] if arabic else words.TAGS_EN
    return sorted(set(rng.sample(pool, rng.randint(1, 3))))


def _description(rng: random.Random, arabic: bool) -> str:
    sentences = words.ARABIC_SENTENCES if arabic else words.ENGLISH_SENTENCES
    chosen = rng.sample(sentences, 3)
    return f"<p>{chosen[0]}</p><p><strong>{chosen[1]}</strong> {chosen[2]}</p>"


def _add_event_metafields(
    store: Store,
    rng: random.Random,
    product: Product,
    venue: tuple[str, str, str, str, str],
    arabic: bool,
    now: datetime,
) -> None:
    start = now + timedelta(days=rng.uniform(-60, 240))
    start = start.astimezone(SHOP_TIMEZONE).replace(hour=rng.choice([16, 18, 19, 20, 21]), minute=0)
    start = start.replace(second=0, microsecond=0)
    end = start + timedelta(hours=rng.choice([2, 3, 4, 6, 30, 54]))
    venue_json = {
        "name": venue[3] if arabic else venue[0],
        "city": venue[4] if arabic else venue[1],
        "address": venue[2],
        "country": "SA",
        "capacity": rng.choice([300, 800, 1500, 5000, 20000]),
    }
    subtitle = rng.choice(words.ARABIC_SENTENCES if arabic else words.ENGLISH_SENTENCES)
    fields = [
        ("subtitle", "single_line_text_field", subtitle),
        ("start_date", "date_time", start.isoformat()),
        ("end_date", "date_time", end.isoformat()),
        ("venue", "json", json.dumps(venue_json, ensure_ascii=False)),
    ]
    for key, kind, value in fields:
        _attach(
            product.metafields,
            store.new_metafield("Product", product.id, "event", key, kind, value),
        )


def _attach(target: dict[tuple[str, str], Metafield], metafield: Metafield) -> None:
    target[(metafield.namespace, metafield.key)] = metafield


def _add_variants(store: Store, rng: random.Random, product: Product, arabic: bool) -> None:
    kinds = rng.sample(words.TICKET_TYPES, rng.randint(1, 6))
    names = [kind[1] if arabic else kind[0] for kind in kinds]
    option_name = "نوع التذكرة" if arabic else "Ticket type"
    product.options = [ProductOption(store.ids.next("option"), option_name, names)]
    locations = list(store.locations)
    for position, (kind, name) in enumerate(zip(kinds, names, strict=True), start=1):
        price = rng.choice(PRICES)
        compare = price * Decimal("1.2") if rng.random() < 0.25 else None
        variant = Variant(
            id=store.ids.next("variant"),
            product_id=product.id,
            inventory_item_id=store.ids.next("inventory_item"),
            title=name,
            price=price,
            compare_at_price=None if compare is None else compare.quantize(Decimal("0.01")),
            position=position,
            sku=f"EVT-{product.id % 100000:05d}-{kind[2].upper()}",
            option_values=[name],
            created_at=product.created_at,
            updated_at=product.updated_at,
        )
        _add_ticket_metafields(store, rng, variant, kind)
        for location_id in rng.sample(locations, rng.randint(1, min(3, len(locations)))):
            level = store.set_available(variant, location_id, rng.randint(0, 400))
            level.updated_at = level.created_at = product.updated_at
        variant.updated_at = product.updated_at
        variant.old_inventory_quantity = variant.available
        product.variants.append(variant)


def _add_ticket_metafields(
    store: Store, rng: random.Random, variant: Variant, kind: tuple[str, str, str, list[str], str]
) -> None:
    _, _, machine_type, features, restrictions = kind
    fields = [
        ("type", "single_line_text_field", machine_type),
        ("features", "list.single_line_text_field", json.dumps(features, ensure_ascii=False)),
        ("hidden", "boolean", "true" if rng.random() < 0.1 else "false"),
    ]
    if restrictions:  # Shopify refuses blank metafield values, so an empty one is absent.
        fields.append(("restrictions", "single_line_text_field", restrictions))
    for key, value_type, value in fields:
        metafield = store.new_metafield(
            "ProductVariant", variant.id, "ticket", key, value_type, value
        )
        _attach(variant.metafields, metafield)


def _add_images(store: Store, rng: random.Random, product: Product) -> None:
    for position in range(1, rng.randint(1, 3) + 1):
        width, height = rng.choice([(1920, 1080), (1200, 1200), (1080, 1350)])
        url = (
            "https://cdn.shopify.com/s/files/1/0612/3456/7890/files/"
            f"event-{product.id}-{position}.jpg?v={int(product.created_at.timestamp())}"
        )
        product.images.append(
            Image(
                id=store.ids.next("image"),
                media_id=store.ids.next("media"),
                product_id=product.id,
                url=url,
                alt=product.title if position == 1 else None,
                width=width,
                height=height,
                position=position,
                created_at=product.created_at,
                updated_at=product.created_at,
            )
        )
