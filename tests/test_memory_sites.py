"""Allocation sites that grew: the user's code before IPython/ipykernel internals."""

from __future__ import annotations

import tracemalloc

from perfkit.collect.memory import is_framework_site, top_growth_sites, user_first


def test_framework_sites_are_told_from_user_code() -> None:
    assert is_framework_site("IPython/core/history.py:812")
    assert is_framework_site("/usr/lib/python3/dist-packages/ipykernel/kernelbase.py:3")
    assert is_framework_site("asyncio/events.py:80")
    assert not is_framework_site("<perfkit_memory>:1")
    assert not is_framework_site("/tmp/ipykernel_42/123.py:2")  # a cell's file is the user's
    assert not is_framework_site("trackmatch/matcher.py:40")


def test_user_sites_come_first_whatever_their_size() -> None:
    sites = [
        {"site": "IPython/core/history.py:812", "size_bytes": 900_000, "count": 3},
        {"site": "app/cache.py:10", "size_bytes": 200_000, "count": 1},
        {"site": "zmq/sugar/socket.py:5", "size_bytes": 500_000, "count": 2},
        {"site": "<perfkit_memory>:1", "size_bytes": 100_000, "count": 1},
    ]
    assert [s["site"] for s in user_first(sites)] == [
        "app/cache.py:10",
        "<perfkit_memory>:1",
        "IPython/core/history.py:812",
        "zmq/sugar/socket.py:5",
    ]


def test_top_growth_sites_of_real_snapshots_name_the_growing_line() -> None:
    kept = []
    tracemalloc.start(1)
    try:
        first = tracemalloc.take_snapshot()
        for _ in range(5):
            kept.append(bytearray(100_000))  # the growing line
        last = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    (top, *_) = top_growth_sites(first, last)
    assert top["site"].endswith(f"test_memory_sites.py:{_growing_line()}")
    assert top["size_bytes"] >= 500_000


def _growing_line() -> int:
    import inspect

    source, start = inspect.getsourcelines(
        test_top_growth_sites_of_real_snapshots_name_the_growing_line
    )
    return start + next(i for i, line in enumerate(source) if "# the growing line" in line)
