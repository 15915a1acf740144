"""JSON from untrusted files with limits: size, nesting depth, no NaN/Infinity unless allowed.

Why not plain ``json.loads``: a file of 100,000 ``[`` raises RecursionError (a crash, not a
message), ``NaN`` is accepted, and an inflated metadata chunk can be any size. (``1e999``
parses as infinity: the contracts check every number they use for being finite.)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InputError, TwofaceError

MAX_JSON_DEPTH = 32  # twoface's own files nest 6 deep at most
MAX_JSON_BYTES = 64 << 20  # state.json with a long loss curve is < 1 MB


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def load_json(data: bytes | str, path: str | Path | None, what: str, error: type[TwofaceError] = InputError,
              max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH, allow_nan: bool = False) -> Any:
    """Parse ``data``; any problem becomes ``error("<what> ...", path)``, one line."""
    if len(data) > max_bytes:
        raise error(f"{what} is too large ({len(data):,} bytes; the limit is {max_bytes:,})", path)
    try:
        obj = json.loads(data) if allow_nan else json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise error(f"{what} is nested too deeply (more than {max_depth} levels)", path) from None
    except (ValueError, TypeError) as err:  # JSONDecodeError, UnicodeDecodeError, huge integers
        raise error(f"{what} is not valid JSON ({_short(err)})", path) from None
    depth = _depth(obj, max_depth)
    if depth > max_depth:
        raise error(f"{what} is nested too deeply (more than {max_depth} levels)", path)
    return obj


def _short(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:120]


def _depth(obj: Any, limit: int) -> int:
    """Nesting depth, iteratively (a recursive walk would hit the very limit we guard)."""
    deepest = 0
    stack = [(obj, 1)]
    while stack:
        item, d = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            if isinstance(item, list) and item:
                first = item[0]
                if not isinstance(first, (dict, list)):
                    continue  # a row of numbers: a leaf
                if isinstance(first, list) and first and not isinstance(first[0], (dict, list)):
                    deepest = max(deepest, d + 1)
                    continue  # rows of numbers (landmarks, polygons): their shape is the contract's to check
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return deepest
