"""Optional features and the pip extras that install them.

pyproject.toml is the one place that lists an extra's packages; this module reads them back
from perfkit's installed metadata (``Requires-Dist: pkg; extra == "demo"``) so that a
missing optional package becomes one line naming the extra to install. Stdlib only; it
never imports the optional packages themselves.
"""

from __future__ import annotations

import re
from importlib import metadata

from perfkit.errors import MissingExtraError

_EXTRA = re.compile(r"""\bextra\s*==\s*["']([^"']+)["']""")
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extra_requirements() -> dict[str, list[str]]:
    """``{extra: [distribution names]}`` of the installed perfkit; ``{}`` when perfkit runs
    from a source tree without metadata (nothing can be checked then)."""
    try:
        requires = metadata.requires("perfkit") or []
    except metadata.PackageNotFoundError:
        return {}
    extras: dict[str, list[str]] = {}
    for line in requires:
        extra, name = _EXTRA.search(line), _NAME.match(line)
        if extra and name:  # one name per package, even when markers list it twice
            names = extras.setdefault(extra.group(1), [])
            if name.group(1) not in names:
                names.append(name.group(1))
    return extras


def _installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def missing(extra: str) -> list[str]:
    """The packages of `extra` that are not installed."""
    return [d for d in extra_requirements().get(extra, []) if not _installed(d)]


def install_hint(extra: str) -> str:
    return f"pip install 'perfkit[{extra}]' (in a checkout: pip install -e '.[{extra}]')"


def require(extra: str, feature: str) -> None:
    """Raise `MissingExtraError` when a package of `extra`, which `feature` needs, is missing."""
    absent = missing(extra)
    if absent:
        raise MissingExtraError(f"{feature} needs {', '.join(absent)}: {install_hint(extra)}")


def extra_for_module(module: str) -> str | None:
    """The extra whose package provides the top-level module `module`, if any
    (``rapidfuzz`` -> ``demo``; ``PySide6`` matches ``PySide6-Essentials``)."""
    top = _normal(module.split(".")[0])
    for extra, distributions in extra_requirements().items():
        for distribution in distributions:
            name = _normal(distribution)
            if name == top or name.startswith(top + "-"):
                return extra
    return None
