"""A small suite for the engine's tests: fast bodies, params, a failure, a teardown."""

import os

import perfkit


@perfkit.benchmark(params={"n": [100, 200]})
def sum_range(n):
    return lambda: sum(range(n))


@perfkit.benchmark()
def with_teardown():
    data = list(range(1000))
    yield lambda: sorted(data)
    marker = os.environ.get("PERFKIT_TEARDOWN_MARKER")
    if marker:
        with open(marker, "a") as handle:
            handle.write("teardown\n")


@perfkit.benchmark()
def raises_in_body():
    def body():
        raise ValueError("boom from the body")

    return body
