"""Options declared once: a dataclass field carries its default, help, choices and flag.

Why: every stage option used to be written three times (dataclass default, argparse
default with "(default: X)" in its help, and a keyword in ``commands/<verb>.run``), and
the copies drifted. Now the stage's options dataclass is the only source: ``option()``
declares a field with its CLI metadata, ``add_options`` turns the fields into argparse
flags (defaults, choices and the "(default: X)" text taken from the field), and
``values_from`` builds the keyword arguments of the stage call from ``dataclasses.fields``.

The flags record which of them the user typed (``GIVEN`` on the namespace), and ``values_from``
passes only those: a flag that repeats its default (``--batch-size 16``) is then told from one left
alone, which a preset needs (the preset fills what was left, an explicit flag wins).
"""
from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, dataclass
from typing import Any

KEY = "twoface.option"
GIVEN = "_twoface_given"  # the namespace attribute: the dests of the option flags on the command line


def _given(action_cls: type) -> type:
    """``action_cls`` that also adds its dest to the namespace's ``GIVEN`` (a tuple, fresh per parse)."""

    class Given(action_cls):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                     option_string: str | None = None) -> None:
            super().__call__(parser, namespace, values, option_string)
            setattr(namespace, GIVEN, (*getattr(namespace, GIVEN, ()), self.dest))

    Given.__name__ = f"Given{action_cls.__name__}"
    return Given


class _Store(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)


class _StoreConst(argparse.Action):
    """store_true / store_false: a bare flag that stores ``const``."""

    def __init__(self, option_strings: Sequence[str], dest: str, const: Any = None, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, const=const, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, self.const)


_STORE, _STORE_CONST, _NEGATABLE = _given(_Store), _given(_StoreConst), _given(argparse.BooleanOptionalAction)


@dataclass(frozen=True)
class Flag:
    """How one option field appears on the command line."""

    help: str
    group: str | None = None
    flag: str | None = None  # the long flag; default: --field-name
    short: str | None = None  # e.g. "-m"
    type: Callable[[str], Any] | None = None  # default: from the field's annotation (int, float)
    choices: Sequence[Any] | None = None
    metavar: str | None = None
    nargs: str | None = None  # default: "+" for list fields
    const: Any = None  # the value of a bare flag with nargs="?"
    negatable: bool = False  # --x / --no-x (argparse.BooleanOptionalAction)
    default_help: str | None = None  # what "(default: ...)" says, when the value alone would not explain it
    cli: bool = True  # False: an API-only option, no flag


def option(default: Any = MISSING, *, help: str, default_factory: Any = MISSING, **flag: Any) -> Any:
    """A dataclass field with its command-line description (see ``Flag`` for the keywords)."""
    meta = {KEY: Flag(help=help, **flag)}
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def flag_of(f: dataclasses.Field) -> Flag | None:
    return f.metadata.get(KEY)


def default_of(f: dataclasses.Field) -> Any:
    """The field's default value (a fresh one for factory defaults); MISSING when it has none."""
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def _describe(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) if value else "none"
    return str(value)


def _kind(f: dataclasses.Field) -> str:
    """The annotation without ``| None``, as text (annotations are strings under ``from __future__``)."""
    text = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    parts = [p.strip() for p in text.split("|") if p.strip() != "None"]
    return parts[0] if len(parts) == 1 else text


def add_options(parser: argparse.ArgumentParser, cls: type, *, only: Iterable[str] | None = None,
                skip: Iterable[str] = (), titles: dict[str, str] | None = None,
                order: Iterable[str] = (), groups: dict[str, Any] | None = None) -> dict[str, Any]:
    """Add a flag for each option field of ``cls`` (in field order); returns the argument groups by name.

    ``titles`` renames groups for this verb and ``order`` makes groups in that order first
    (argparse shows groups in the order they were made); ``groups`` passes in groups that
    already exist, so a verb can mix its own arguments into them.
    """
    wanted = set(only) if only is not None else None
    skipped = set(skip)
    groups = dict(groups or {})
    titles = titles or {}
    parser.set_defaults(**{GIVEN: ()})  # "none typed", as opposed to a namespace made by hand
    for name in order:
        if name not in groups:
            groups[name] = parser.add_argument_group(titles.get(name, name))
    for f in dataclasses.fields(cls):
        spec = flag_of(f)
        if spec is None or not spec.cli or f.name in skipped or (wanted is not None and f.name not in wanted):
            continue
        target: Any = parser
        if spec.group is not None:
            if spec.group not in groups:
                groups[spec.group] = parser.add_argument_group(titles.get(spec.group, spec.group))
            target = groups[spec.group]
        _add_flag(target, f, spec)
    return groups


def _add_flag(target: Any, f: dataclasses.Field, spec: Flag) -> None:
    default = default_of(f)
    long = spec.flag or "--" + f.name.replace("_", "-")
    names = [spec.short, long] if spec.short else [long]
    shown = spec.default_help if spec.default_help is not None else _describe(default)
    kwargs: dict[str, Any] = {"dest": f.name, "default": default}
    kind = _kind(f)
    if kind == "bool":
        if spec.negatable:
            kwargs["action"] = _NEGATABLE
        elif default is True:
            names = [spec.flag or "--no-" + f.name.replace("_", "-")]
            kwargs["action"], kwargs["const"] = _STORE_CONST, False
            shown = spec.default_help or ""  # the flag turns a default-on behaviour off
        else:
            kwargs["action"], kwargs["const"] = _STORE_CONST, True
    else:
        kwargs["action"] = _STORE
        kwargs["type"] = spec.type or {"int": int, "float": float}.get(kind)
        if kind.startswith("list[") and spec.type is None:
            kwargs["nargs"] = spec.nargs or "+"
        elif spec.nargs is not None:
            kwargs["nargs"] = spec.nargs
            kwargs["const"] = spec.const
        if spec.choices is not None:
            kwargs["choices"] = list(spec.choices)
        if spec.metavar is not None:
            kwargs["metavar"] = spec.metavar
    help_text = spec.help.replace("%", "%%")
    kwargs["help"] = f"{help_text} (default: {shown})" if shown else help_text
    target.add_argument(*names, **{k: v for k, v in kwargs.items() if v is not None or k == "default"})


def values_from(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments for ``cls`` from parsed ``args``: the option fields whose flags were typed.

    The stage's dataclass fills in the rest with the same defaults, so leaving a flag out changes
    nothing but this: a preset may fill it. A namespace made by hand (no ``GIVEN``) passes every field.
    """
    given = getattr(args, GIVEN, None)
    out = {}
    for f in dataclasses.fields(cls):
        spec = flag_of(f)
        if spec is None or not spec.cli or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        # a value off its default was typed too, through a verb's own alias of the flag (--skip-unchanged)
        if given is None or f.name in given or value != default_of(f):
            out[f.name] = value
    return out


DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(kw_only=True)
class RuntimeOptions:
    """Where and how torch runs, for the stages that run models (``device.choose`` resolves them)."""

    device: str = option("auto", choices=DEVICES, group="runtime", help="where to run",
                         default_help="auto = CUDA if present, else CPU")
    precision: str = option("auto", choices=PRECISIONS, group="runtime", help="numeric precision",
                            default_help="auto = AMP on CUDA, bf16 on CPUs with bf16 units, else fp32")


# ---- argparse types shared by the option declarations ---------------------------------
def int_list(text: str) -> list[int]:
    """'90,180,270' -> [90, 180, 270] (lists of angles)."""
    try:
        return [int(float(t)) for t in text.replace(" ", "").split(",") if t]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from err


def percent(text: str) -> float:
    """'5' or '5%' -> 5.0."""
    try:
        return float(text.rstrip("%"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a number (percent), got {text!r}") from err


def positive_int(text: str) -> int:
    """A whole number > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return value
