"""perfkit measured against itself and against pyperf (the anchor).

Each module here is one self-benchmark with a ``main(argv) -> int``, run as
``python -m perfkit.selfbench NAME``. They are tools for the maintainers: they
may take minutes and spawn many processes, and nothing in the package imports them.
"""
