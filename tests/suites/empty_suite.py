"""A suite file that declares no benchmarks."""

import perfkit  # noqa: F401
