"""Field checks shared by the contracts: types, ranges, shapes, finite numbers, one-line errors."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, TwofaceError


def kind(value: Any) -> str:
    """How a wrong value is described in a message: its JSON type, not Python's."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Checker:
    """Checks the fields of one parsed file; the first problem raises ``error`` naming file and field."""

    def __init__(self, path: str | Path | None, what: str, error: type[TwofaceError] = InputError):
        self.path = path
        self.what = what
        self.error = error

    def fail(self, field: str, problem: str) -> TwofaceError:
        return self.error(f"{self.what}: {field!r} {problem}", self.path)

    def obj(self, value: Any, field: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(field, f"must be an object, got {kind(value)}")
        return value

    def has(self, d: dict, key: str, field: str | None = None) -> Any:
        if key not in d:
            raise self.fail(field or key, "is missing")
        return d[key]

    def integer(self, value: Any, field: str, lo: int | None = None, hi: int | None = None) -> int:
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"must be a whole number, got {kind(value)}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.fail(field, f"must be {_range(lo, hi)}, got {value}")
        return value

    def number(self, value: Any, field: str, lo: float | None = None, hi: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(field, f"must be a number, got {kind(value)}")
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise self.fail(field, f"must be a finite number, got {value}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.fail(field, f"must be {_range(lo, hi)}, got {value:g}")
        return value

    def string(self, value: Any, field: str, max_len: int = 4096) -> str:
        if not isinstance(value, str):
            raise self.fail(field, f"must be a string, got {kind(value)}")
        if len(value) > max_len:
            raise self.fail(field, f"is too long ({len(value)} characters; at most {max_len})")
        return value

    def boolean(self, value: Any, field: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(field, f"must be true or false, got {kind(value)}")
        return value

    def array(self, value: Any, field: str, shape: tuple[int | None, ...], limit: float = 1e7,
              max_rows: int = 100_000) -> np.ndarray:
        """A list (of lists) of finite numbers of ``shape`` (None: any length from 1 to ``max_rows``)."""
        want = "x".join("N" if s is None else str(s) for s in shape)
        if not isinstance(value, list):
            raise self.fail(field, f"must be a {want} list of numbers, got {kind(value)}")
        if len(value) > max_rows:
            raise self.fail(field, f"has {len(value)} rows; at most {max_rows}")
        try:
            arr = np.asarray(value)
        except (OverflowError, ValueError):  # a ragged list
            raise self.fail(field, f"must be a {want} list of numbers") from None
        if arr.dtype.kind not in "iuf":  # strings, nulls, objects, integers beyond 64 bits
            raise self.fail(field, f"must be a {want} list of numbers")
        arr = arr.astype(np.float64, copy=False)
        if arr.ndim != len(shape) or any(s is not None and a != s for a, s in zip(arr.shape, shape)) \
                or any(s is None and a == 0 for a, s in zip(arr.shape, shape)):
            raise self.fail(field, f"must be {want}, got {'x'.join(map(str, arr.shape)) or 'a scalar'}")
        if not np.isfinite(arr).all():
            raise self.fail(field, "holds a value that is not a finite number (NaN or infinity)")
        if arr.size and float(np.abs(arr).max()) > limit:
            raise self.fail(field, f"holds a value beyond {limit:g}")
        return arr


def _range(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"from {lo:g} to {hi:g}"
    return f"at least {lo:g}" if lo is not None else f"at most {hi:g}"
