"""Benchmarks that misbehave in every way a worker can: raise, hang, die, segfault."""

import ctypes
import os
import time

import perfkit


@perfkit.benchmark()
def fine():
    return lambda: sum(range(50))


@perfkit.benchmark()
def raises_in_setup():
    raise RuntimeError("setup could not connect")


@perfkit.benchmark(timeout="1.5s")
def hangs():
    return lambda: time.sleep(3600)


@perfkit.benchmark()
def exits():
    return lambda: os._exit(3)


@perfkit.benchmark()
def segfaults():
    return lambda: ctypes.string_at(0)


@perfkit.benchmark(params={"name": ["../../escape", "a b/c", "ünïcödé"]})
def odd_ids(name):
    return lambda: len(name)
