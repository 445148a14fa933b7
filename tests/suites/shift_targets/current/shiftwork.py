"""Current of the shift suite: grow does 15 % more work, shrink 30 % less."""

GROW_N = 23_000
SAME_N = 20_000
SHRINK_N = 14_000


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
