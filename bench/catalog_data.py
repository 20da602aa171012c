"""Generated REST-shaped products for the catalog benchmark: English and Arabic, 5 tickets each."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

CATEGORIES = [
    "Concerts",
    "Theatre",
    "Comedy",
    "Festivals",
    "Sports",
    "Workshops",
    "Family",
    "Conferences",
    "Exhibitions",
    "Nightlife",
    "Film",
    "Opera",
]
EN_NOUNS = [
    "night",
    "festival",
    "concert",
    "symphony",
    "gala",
    "show",
    "tour",
    "session",
    "recital",
    "party",
    "market",
    "workshop",
    "premiere",
    "marathon",
    "derby",
    "cup",
    "summit",
    "expo",
    "screening",
    "revue",
    "ballet",
    "opera",
    "jam",
    "carnival",
    "fair",
    "rally",
    "cabaret",
    "showcase",
    "retreat",
    "masterclass",
]
EN_ADJECTIVES = [
    "summer",
    "winter",
    "grand",
    "open air",
    "acoustic",
    "classic",
    "desert",
    "royal",
    "midnight",
    "golden",
    "electric",
    "family",
    "legendary",
    "urban",
]
AR_NOUNS = [
    "حفلة",
    "مهرجان",
    "أمسية",
    "عرض",
    "ليلة",
    "مسرحية",
    "معرض",
    "بطولة",
    "ملتقى",
    "سهرة",
    "مسابقة",
    "رحلة",
    "ورشة",
    "احتفال",
]
AR_ADJECTIVES = [
    "الصيف",
    "الشتاء",
    "الطرب",
    "العود",
    "الشعر",
    "الرياض",
    "جدة",
    "النجوم",
    "الأوبرا",
    "التراث",
    "الفن",
    "الموسيقى",
]
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "zen",
    "tor",
    "vi",
    "na",
    "sel",
    "dor",
    "ami",
    "qu",
    "bel",
    "ron",
    "sha",
    "lin",
    "mar",
    "tek",
    "jo",
    "ul",
    "fer",
    "os",
    "vin",
    "ga",
]
AR_SYLLABLES = ["سا", "مي", "نو", "ري", "لا", "كو", "دا", "زي", "فا", "هو", "جو", "بي", "تا"]
# Kept for callers that want plain words (search benchmark queries).
EN_WORDS = EN_NOUNS + EN_ADJECTIVES
AR_WORDS = AR_NOUNS + AR_ADJECTIVES
FILLER = [
    "with",
    "the",
    "best",
    "artists",
    "tickets",
    "doors",
    "open",
    "seats",
    "limited",
    "enjoy",
    "evening",
    "program",
    "special",
    "guests",
    "food",
    "drinks",
    "parking",
    "children",
    "welcome",
    "stage",
    "sound",
    "lights",
    "performance",
    "audience",
    "city",
]


def artist(rng: random.Random, arabic: bool) -> str:
    """A made-up performer name: thousands of distinct, searchable words."""
    syllables = AR_SYLLABLES if arabic else SYLLABLES
    return "".join(rng.choices(syllables, k=rng.choice([2, 3]))).capitalize()


VENUES = [
    ("King Fahd Stadium", "Riyadh"),
    ("دار الأوبرا", "القاهرة"),
    ("Blue Hall", "Jeddah"),
    ("Dubai Opera", "Dubai"),
    ("مسرح البلد", "عمان"),
    ("Corniche Arena", "Abu Dhabi"),
]
TICKET_TYPES = ["Standard", "VIP", "Early bird", "Student", "Family"]
START = datetime(2026, 1, 1, tzinfo=UTC)


def _metafield(key: str, value: str, kind: str) -> dict[str, str]:
    return {"namespace": "event", "key": key, "value": value, "type": kind}


def product(index: int, rng: random.Random) -> dict[str, Any]:
    """One active (mostly) event with five ticket types."""
    product_id = 8_000_000_000_000 + index
    arabic = index % 3 == 0
    name = artist(rng, arabic)
    if arabic:
        title = f"{rng.choice(AR_NOUNS)} {rng.choice(AR_ADJECTIVES)} {name}"
    else:
        title = f"{name} {rng.choice(EN_ADJECTIVES)} {rng.choice(EN_NOUNS)}".title()
    venue_name, city = rng.choice(VENUES)
    start = START + timedelta(hours=rng.randrange(0, 24 * 730))
    updated = (START + timedelta(seconds=index)).isoformat()
    description = " ".join([*rng.choices(FILLER, k=30), name, artist(rng, arabic)])
    variants = []
    base_price = rng.randrange(10, 400)
    for position, name in enumerate(TICKET_TYPES, start=1):
        variant_id = 9_000_000_000_000 + index * 10 + position
        variants.append(
            {
                "id": variant_id,
                "title": name,
                "option1": name,
                "position": position,
                "price": str(base_price * position),
                "compare_at_price": None,
                "sku": None,
                "inventory_item_id": variant_id + 1_000_000_000_000,
                "inventory_quantity": rng.randrange(0, 500),
                "updated_at": updated,
            }
        )
    return {
        "id": product_id,
        "title": title,
        "handle": f"event-{index}",
        "body_html": f"<p>{description}</p>",
        "product_type": CATEGORIES[index % len(CATEGORIES)],
        "tags": ", ".join(rng.sample(EN_ADJECTIVES, 2)),
        "status": "active" if index % 20 else rng.choice(["draft", "archived", "unlisted"]),
        "created_at": START.isoformat(),
        "updated_at": updated,
        "variants": variants,
        "images": [
            {
                "src": f"https://cdn.example.com/{product_id}.jpg",
                "alt": title,
                "width": 1200,
                "height": 800,
                "position": 1,
            }
        ],
        "metafields": [
            _metafield("subtitle", f"{city} {rng.choice(EN_NOUNS)}", "single_line_text_field"),
            _metafield("start_date", start.isoformat(), "date_time"),
            _metafield("end_date", (start + timedelta(hours=3)).isoformat(), "date_time"),
            _metafield("venue", f'{{"name": "{venue_name}", "city": "{city}"}}', "json"),
        ],
    }


def products(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for index in range(count):
        yield product(index, rng)
