"""Thin wrappers that give store records the GraphQL type they are seen as."""

from __future__ import annotations

from dataclasses import dataclass

from shababco.simulator.models import Image, InventoryLevel, Variant


@dataclass(frozen=True)
class InventoryItemRef:
    variant: Variant


@dataclass(frozen=True)
class MediaImageRef:
    image: Image


@dataclass(frozen=True)
class ImageRef:
    image: Image


@dataclass(frozen=True)
class LevelRef:
    level: InventoryLevel
    variant: Variant
