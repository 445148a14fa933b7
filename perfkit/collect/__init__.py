"""Measurement passes that run inside a worker process: timing, profiling, memory.

Each pass is a function ``(body, options) -> dict`` returning a JSON-able payload.
Passes never touch the run directory except files whose path the parent gives them.
"""
