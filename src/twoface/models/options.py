"""Declared, validated model options.

Why a declaration per option: the trainer writes ``model.options`` to
``config.json`` and later rebuilds the model with ``build(arch, **options)``.
That round trip only works if every option that shapes the network is named,
typed, range-checked and JSON-able, and if a typo is refused with the list of
valid names instead of being silently ignored.

Values may arrive as strings (from ``--model-option key=value`` on a command
line); they are converted to the option's type before checking.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ModelError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Option:
    """One user-facing knob of an architecture.

    ``default=None`` means "auto": the model's ``resolve`` hook fills in a
    concrete value, so the saved options never contain ``None``.
    """

    default: bool | int | str | None
    help: str
    kind: type | None = None          # inferred from ``default`` when it is not None
    choices: tuple = ()
    lo: int | None = None
    hi: int | None = None
    multiple: int = 1
    pow2: bool = False

    @property
    def type(self) -> type:
        return self.kind if self.kind is not None else type(self.default)

    def describe(self) -> str:
        """The rule a value must follow, for error messages and help text."""
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.type is bool:
            return "true or false"
        parts = ["an integer"]
        if self.pow2:
            parts = ["a power of two"]
        if self.lo is not None and self.hi is not None:
            parts.append(f"from {self.lo} to {self.hi}")
        elif self.lo is not None:
            parts.append(f"of at least {self.lo}")
        if self.multiple > 1:
            parts.append(f"divisible by {self.multiple}")
        return " ".join(parts)

    def coerce(self, value: Any) -> Any:
        """Convert ``value`` to this option's type, or raise ValueError."""
        kind = self.type
        if value is None and self.default is None:
            return None
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            raise ValueError
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                return int(value.strip())
            raise ValueError
        if not isinstance(value, str):
            raise ValueError
        return value.strip().lower()

    def valid(self, value: Any) -> bool:
        if value is None:
            return self.default is None
        if self.choices:
            return value in self.choices
        if self.type is int:
            if self.lo is not None and value < self.lo:
                return False
            if self.hi is not None and value > self.hi:
                return False
            if value % self.multiple:
                return False
            if self.pow2 and (value <= 0 or value & (value - 1)):
                return False
        return True


def resolve_options(arch: str, spec: Mapping[str, Option], given: Mapping[str, Any]) -> dict:
    """Merge ``given`` over the defaults, refusing unknown names and bad values."""
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise ModelError(f"architecture {arch!r} has no option {unknown[0]!r}; "
                         f"its options are: {', '.join(spec)}")
    resolved = {}
    for name, opt in spec.items():
        raw = given.get(name, opt.default)
        try:
            value = opt.coerce(raw)
        except ValueError:
            value = _INVALID
        if value is _INVALID or not opt.valid(value):
            raise ModelError(f"{arch}: option {name}={raw!r} is invalid; it must be {opt.describe()}")
        resolved[name] = value
    return resolved


_INVALID = object()


def bad_combination(arch: str, message: str) -> ModelError:
    """An error for options that are valid alone but not together."""
    return ModelError(f"{arch}: {message}")


LEARN_MASK = Option(False, "also output a learned mask as a 4th channel, trained against the landmark mask")
