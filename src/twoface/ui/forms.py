"""Form fields made from the stages' option dataclasses, so the UI never re-declares an option.

Why generated: an option is declared once, in its dataclass, with the same name and default as
the CLI flag (``--batch-size`` is ``batch_size``). The UI reads ``dataclasses.fields`` to draw
each form and turns the posted text back into typed values; a new option appears in the UI
without touching it.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import MISSING, dataclass
from typing import Any

from ..errors import InputError


@dataclass
class FormField:
    name: str
    kind: str  # "bool", "int", "float", "str", "list", "dict"
    default: object
    optional: bool
    choices: tuple = ()
    primary: bool = False
    help: str = ""
    cli_flag: str | None = None

    @property
    def flag(self) -> str:
        return self.cli_flag or "--" + self.name.replace("_", "-")

    @property
    def default_text(self) -> str:
        d = self.default
        if d is None:
            return ""
        if isinstance(d, (list, tuple)):
            return ",".join(str(x) for x in d)
        if isinstance(d, dict):
            return ",".join(f"{k}={v}" for k, v in d.items())
        return str(d)


def _kind(type_text: str) -> tuple[str, bool]:
    t = str(type_text).replace(" ", "")
    optional = "None" in t
    for kind in ("bool", "int", "float", "list", "dict"):
        if t.startswith(kind) or f"|{kind}" in t:
            return kind, optional
    return "str", optional


def _flag_meta(f: dataclasses.Field):
    """The CLI description declared with the field (``twoface.options.option``), when there is one."""
    try:
        from ..options import flag_of
    except ImportError:  # an older tree without declared flags
        return None
    return flag_of(f)


def option_fields(cls, skip: tuple[str, ...] = (), primary: tuple[str, ...] = (),
                  choices: dict[str, tuple] | None = None) -> list[FormField]:
    """One FormField per dataclass field, in declaration order, primary ones first."""
    out = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            continue  # a required field (a path) is chosen by the page, not typed
        kind, optional = _kind(str(f.type))
        meta = _flag_meta(f)
        given = tuple((choices or {}).get(f.name, ())) or tuple(getattr(meta, "choices", None) or ())
        out.append(FormField(f.name, kind, default, optional or default is None, given, f.name in primary,
                             help=getattr(meta, "help", "") or "", cli_flag=getattr(meta, "flag", None)))
    return sorted(out, key=lambda x: not x.primary)


GIVEN = "__given"  # the hidden field where the page's script lists the fields the user touched


def parse_form(fields: list[FormField], form: Mapping[str, Any]) -> dict:
    """Posted text -> typed keyword arguments: values that differ from the default, and any value the
    user touched (named in ``__given``).

    Why both: an untouched field posts its default, which must not count as chosen, or ``preset`` could
    never fill it; a touched one counts even when it equals the default, as a typed CLI flag does
    (``--preset cpu --batch-size 16`` trains at 16).
    """
    given = {n.strip() for n in str(form.get(GIVEN) or "").split(",") if n.strip()}
    out: dict = {}
    for f in fields:
        if f.kind == "bool":
            if f.default is None:  # tri-state (auto/on/off), drawn as a select
                choice = form.get(f.name) or ""
                if choice in ("on", "off"):
                    out[f.name] = choice == "on"
                continue
            if f"{f.name}__present" not in form:
                continue  # the form did not show this checkbox
            value = form.get(f.name) in ("on", "true", "1", "yes")
            if value != f.default or f.name in given:
                out[f.name] = value
            continue
        text = form.get(f.name)
        if text is None:
            continue
        text = str(text).strip()
        if text == f.default_text and f.name not in given:
            continue
        try:
            value = _convert(f, text)
        except ValueError:
            raise InputError(f"{f.flag}: cannot read {text!r} as {f.kind}") from None
        if f.choices and value is not None and value not in f.choices:
            raise InputError(f"{f.flag} must be one of {', '.join(map(str, f.choices))}, got {value!r}")
        out[f.name] = value
    return out


def _convert(f: FormField, text: str):
    if text == "":
        if f.optional:
            return None
        if f.kind in ("list", "dict"):
            return [] if f.kind == "list" else {}
        raise ValueError(text)
    if f.kind == "int":
        return int(text)
    if f.kind == "float":
        return float(text)
    if f.kind == "list":
        items = [t.strip() for t in text.split(",") if t.strip()]
        return [int(t) if t.lstrip("-").isdigit() else t for t in items]
    if f.kind == "dict":
        out = {}
        for part in text.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(part)
            try:
                out[key.strip()] = json.loads(value)
            except ValueError:
                out[key.strip()] = value.strip()
        return out
    return text


# --- the forms of each page -----------------------------------------------------------------------
def extract_fields() -> list[FormField]:
    from ..extract import ExtractOptions

    return option_fields(ExtractOptions, skip=("debug_landmarks", "commit_every", "filter", "exclude"),
                         primary=("every", "size", "min_size", "max_faces"))


def train_fields() -> list[FormField]:
    from ..models import ARCHS
    from ..train.options import CLIP_MODES, DEFAULT_ARCH, TrainOptions

    # init_from is a path typed by hand: the UI's pages only hand out workspace-checked paths
    return option_fields(TrainOptions, skip=("distributed", "timelapse", "init_from", "init_parts"),
                         primary=("arch", "options", "batch_size", "iterations", "minutes", "preview_every",
                                  "save_every"),
                         choices={"clip": CLIP_MODES, "optimizer": ("adam", "adamw", "adabelief", "lion"),
                                  "arch": tuple(ARCHS) if ARCHS else (DEFAULT_ARCH,)})


def convert_fields() -> list[FormField]:
    from ..convert.blend import MASK_KINDS
    from ..convert.color import COLOR_MATCHERS
    from ..convert.options import DIRECTIONS, X264_PRESETS, ConvertOptions
    from ..convert.sharpen import SHARPENERS

    return option_fields(ConvertOptions, skip=("filter", "exclude", "writer", "overwrite"),
                         primary=("direction", "mask", "erode", "blur", "color", "sharpen", "sharpen_amount",
                                  "smooth", "frames"),
                         choices={"mask": tuple(MASK_KINDS), "color": tuple(COLOR_MATCHERS),
                                  "sharpen": tuple(SHARPENERS), "direction": tuple(DIRECTIONS),
                                  "preset": X264_PRESETS})
