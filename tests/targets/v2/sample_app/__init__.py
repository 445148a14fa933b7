"""Version 2 of a tiny target package: reports which version is imported."""

VERSION = "v2"


def work(n: int) -> int:
    return sum(i * i for i in range(n))
