"""Load and measurement tools the benchmarks share: a closed-loop load, wrk scripts, a lean
HTTP client."""
