"""Version 1 of a tiny target package: reports which version is imported."""

VERSION = "v1"


def work(n: int) -> int:
    return sum(i * i for i in range(n))
