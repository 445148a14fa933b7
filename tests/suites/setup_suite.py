"""Two like bodies, one behind a setup dearer than a profile: which workers take profiles.

Each worker that ran a benchmark appends its name to $PERFKIT_TEARDOWN_MARKER."""

import os
import time

import perfkit


def _mark(name):
    marker = os.environ.get("PERFKIT_TEARDOWN_MARKER")
    if marker:
        with open(marker, "a") as handle:
            handle.write(f"{name}\n")


@perfkit.benchmark()
def heavy_setup():
    time.sleep(0.6)  # a worker start and setup dearer than a profile (0.4 s by default)
    data = list(range(1000))
    yield lambda: sorted(data)
    _mark("heavy_setup")


@perfkit.benchmark()
def light_setup():
    data = list(range(1000))
    yield lambda: sorted(data)
    _mark("light_setup")
