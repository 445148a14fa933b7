"""The PerfkitError family: errors a user can act on.

The CLI turns any of these into one line on stderr and exit code 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class PerfkitError(Exception):
    """A user-facing error: bad input, missing file, bad option."""


class SuiteError(PerfkitError):
    """The suite cannot be found, imported or understood."""


class TargetError(PerfkitError):
    """A target spec is malformed, missing, or names an unknown git ref."""


class RunDirError(PerfkitError):
    """A run directory or one of its files is missing or malformed."""


class HistoryError(PerfkitError):
    """The history store is missing, unreadable, or from a newer perfkit."""


class ProfileError(PerfkitError):
    """A profile file is not a readable pstats file."""


class ParameterError(PerfkitError):
    """A notebook or report parameter is unknown or has a bad value."""


class MissingExtraError(PerfkitError):
    """An optional feature's packages are not installed; the message names the extra."""
