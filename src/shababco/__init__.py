"""Shababco events API: a PostgreSQL read model of a Shopify catalog."""

__version__ = "0.1.0"
