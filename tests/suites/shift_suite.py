"""Known shifts for the comparison tests: run with baseline= and current= shift_targets/*.

Both targets define module `shiftwork`; current does +40 % work in `grow`, the
same in `same`, and -40 % in `shrink` (extra loop iterations, not sleeps).
"""

import perfkit


@perfkit.benchmark()
def grow():
    import shiftwork

    return shiftwork.grow


@perfkit.benchmark()
def same():
    import shiftwork

    return shiftwork.same


@perfkit.benchmark()
def shrink():
    import shiftwork

    return shiftwork.shrink
