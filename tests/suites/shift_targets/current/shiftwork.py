"""Current of the shift suite: grow does 40 % more work, shrink 40 % less (effects far past
the 10 % threshold, so that a loaded machine widens the CIs without hiding them)."""

GROW_N = 28_000
SAME_N = 20_000
SHRINK_N = 12_000


def spin(n):
    total = 0
    for i in range(n):
        total += i % 7
    return total


def grow():
    return spin(GROW_N)


def same():
    return spin(SAME_N)


def shrink():
    return spin(SHRINK_N)
