"""Comparison servers for bench/cache_bench.py: a bare Starlette endpoint and the original plan."""
