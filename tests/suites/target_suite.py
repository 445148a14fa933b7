"""A suite that imports target code at top level: only importable inside a worker."""

import sample_app

import perfkit


@perfkit.benchmark(params={"n": [200]})
def work(n):
    if sample_app.VERSION not in ("v1", "v2"):
        raise AssertionError("unexpected version")
    return lambda: sample_app.work(n)


@perfkit.benchmark()
def version():
    # Fails on v2 only, so tests can see which target a worker imported.
    if sample_app.VERSION == "v2":
        raise RuntimeError(f"imported {sample_app.VERSION}")
    return lambda: None
