"""The small suite whose real runs give `selfbench changes` its noise (not a self-benchmark)."""

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
