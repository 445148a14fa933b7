"""Case ids and the file names made from them: built here and nowhere else.

A case id is ``name[k=v,...]`` (params in declared order), or ``name`` alone. Values
print as themselves (``n=100``, ``mode=fast``, ``flag=True``) unless that would be
ambiguous: a string that contains ``, = [ ] " \\`` or that reads like a number, a bool
or None is written as a JSON string (``q="a,b"``, ``x="1"``), so every id splits back
into the values it was made from. Stdlib only: the worker side imports this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+\-\[\]]+")
_NEEDS_QUOTES = re.compile(r'[,=\[\]"\\\x00-\x1f\x7f]|^\s|\s$')
_OTHER_TYPES = {"True", "False", "None"}
FILENAME_MAX = 150  # characters of a file name made from an id, hash included
_HASH_CHARS = 8


def _reads_as_other_type(text: str) -> bool:
    if text in _OTHER_TYPES:
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def format_value(value: Any) -> str:
    """One parameter value as it appears in an id."""
    if isinstance(value, str):
        if not value or _NEEDS_QUOTES.search(value) or _reads_as_other_type(value):
            return json.dumps(value, ensure_ascii=False)
        return value
    text = str(value)
    if _NEEDS_QUOTES.search(text):
        return json.dumps(text, ensure_ascii=False)
    return text


def format_params(params: Mapping[str, Any]) -> str:
    """Canonical ``k=v,k=v`` text of a parameter dict, in declared order."""
    return ",".join(f"{key}={format_value(value)}" for key, value in params.items())


def case_id(name: str, params: Mapping[str, Any] | str) -> str:
    """Full benchmark id: ``name[k=v,...]``, or just ``name`` without params."""
    text = params if isinstance(params, str) else format_params(params)
    return f"{name}[{text}]" if text else name


def split_case_id(full_id: str) -> tuple[str, str]:
    """Inverse of `case_id`: ``"f[n=1]"`` -> ``("f", "n=1")`` (names hold no ``[``)."""
    if full_id.endswith("]") and "[" in full_id:
        name, _, rest = full_id.partition("[")
        return name, rest[:-1]
    return full_id, ""


def split_params(text: str) -> list[tuple[str, str]]:
    """``k=v,k="a,b"`` -> ``[("k", "v"), ("k", '"a,b"')]``: keys and value texts as written.

    Raises ValueError on text that `format_params` cannot have written.
    """
    pairs: list[tuple[str, str]] = []
    decoder = json.JSONDecoder()
    i = 0
    while i < len(text):
        eq = text.find("=", i)
        if eq <= i:
            raise ValueError(f"bad params {text!r}: expected k=v at character {i}")
        key, start = text[i:eq], eq + 1
        if text.startswith('"', start):
            try:
                _, end = decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                raise ValueError(f"bad params {text!r}: unterminated quoted value") from None
        else:
            end = text.find(",", start)
            end = len(text) if end < 0 else end
        pairs.append((key, text[start:end]))
        if end < len(text):
            if text[end] != "," or end == len(text) - 1:
                raise ValueError(f"bad params {text!r}: expected ',' at character {end}")
            end += 1
        i = end
    return pairs


def match_params(text: str, declared: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """Map a params text back to the declared values it was made from (keeps their types).

    Raises ValueError naming the parameter when a value was not declared.
    """
    wanted = dict(split_params(text))
    result: dict[str, Any] = {}
    for key, values in declared.items():
        token = wanted.get(key)
        for value in values:
            if format_value(value) == token:
                result[key] = value
                break
        else:
            raise ValueError(f"no value {token!r} for parameter {key!r}")
    return result


def valid_label(label: str) -> bool:
    """A target label: letters, digits and ``_.+-``, at most 64 characters."""
    return bool(_LABEL.match(label))


def safe_filename(text: str) -> str:
    """A file name for an id that cannot escape its directory, and one per id.

    Kept as it is when it is already safe and short; otherwise unsafe runs of characters
    become ``_``, the name is cut, and a hash of the whole original text is appended, so
    two ids never share a name (not even two long ones that differ only at the end).
    """
    cleaned = _UNSAFE.sub("_", text).strip("._") or "benchmark"
    if cleaned == text and len(text) <= FILENAME_MAX and not text.startswith("."):
        return cleaned
    import hashlib  # here: ~4 ms of every worker's start-up, which never needs it

    digest = hashlib.sha1(text.encode()).hexdigest()[:_HASH_CHARS]
    return f"{cleaned[: FILENAME_MAX - _HASH_CHARS - 1]}-{digest}"
