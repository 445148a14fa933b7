"""The small suite whose real runs give `selfbench changes` its noise (not a self-benchmark).

Six unlike workloads (dicts, sorting, float arithmetic, regular expressions, JSON, object
allocation): each run measures all of them, so the noise sample holds whole runs — the
state of the machine that a run shares across its benchmarks is in it, with what is each
benchmark's own.
"""

import json
import re

import perfkit


@perfkit.benchmark()
def dict_counts():
    def body():
        counts = {}
        for i in range(20000):
            counts[i % 64] = counts.get(i % 64, 0) + i
        return counts

    return body


@perfkit.benchmark()
def sort_strings():
    words = [f"w{(i * 7919) % 10007}" for i in range(5000)]
    return lambda: sorted(words)


@perfkit.benchmark()
def float_sum():
    def body():
        total = 0.0
        for i in range(1, 20000):
            total += (i * 0.5) ** 0.5 / i
        return total

    return body


@perfkit.benchmark()
def regex_scan():
    text = " ".join(f"key{i}=value{i * 31 % 997};" for i in range(2000))
    pattern = re.compile(r"key(\d+)=value(\d+);")
    return lambda: pattern.findall(text)


@perfkit.benchmark()
def json_round_trip():
    data = [{"id": i, "name": f"item {i}", "tags": ["a", "b"], "score": i / 7} for i in range(600)]
    return lambda: json.loads(json.dumps(data))


@perfkit.benchmark()
def make_objects():
    class Point:
        __slots__ = ("x", "y")

        def __init__(self, x: int, y: int) -> None:
            self.x, self.y = x, y

    return lambda: [Point(i, -i) for i in range(10000)]
