"""Loads on one `serve` process: uncached reads against a hand-written service, overload, memory."""
