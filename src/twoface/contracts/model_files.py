"""The contracts of a model folder: config.json, state.json and the safetensors files.

``parse_config`` and ``parse_state`` take the parsed JSON (see ``load_json``) and return it
checked: the right format and a format_version this twoface reads (a newer one is refused,
never half-understood), the fields training and conversion use with the right types and
ranges, RNG states of the right shape. ``check_safetensors`` reads the 8-byte length and the
JSON header of a safetensors file before the library maps it, and ``check_finite`` refuses
weights holding NaN or infinity (a diverged or damaged model).
"""
from __future__ import annotations

import base64
import binascii
import struct
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .check import Checker, kind
from .jsonsafe import load_json

FORMAT = "twoface-model"
STATE_FORMAT = "twoface-state"
FORMAT_VERSION = 1
# config.json "kind": a swap model of two people, or a pretrain prior (one generic decoder);
# configs written before priors existed have no kind and are pairs
PAIR, PRIOR = "pair", "prior"
KINDS = (PAIR, PRIOR)
MAX_HEADER = 100 << 20
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
               "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
HEX = frozenset("0123456789abcdef")


def _version(c: Checker, d: dict, path) -> int:
    version = c.integer(d.get("format_version", 1), "format_version", 1)
    if version > FORMAT_VERSION:
        raise ModelError(f"written by a newer twoface (format_version {version}; this one reads up to "
                         f"{FORMAT_VERSION}); upgrade twoface to use it", path)
    return version


def _header(obj: Any, path: str | Path | None, fmt: str, name: str, what: str) -> Checker:
    """The checks config.json and state.json share: a dict of the right format and a readable version."""
    c = Checker(path, f"damaged {name}", ModelError)
    if not isinstance(obj, dict) or obj.get("format") != fmt:
        raise ModelError(f"is not a twoface {what} (unreadable or foreign {name})", path)
    _version(c, obj, path)
    return c


def parse_config(obj: Any, path: str | Path | None) -> dict:
    """A model's config.json, checked (``ModelError`` naming the field)."""
    c = _header(obj, path, FORMAT, "config.json", "model config")
    c.string(c.has(obj, "arch"), "arch", 64)
    options = c.obj(obj.get("options", {}), "options")
    for key, value in options.items():
        field = f"options.{str(key)[:40]}"
        if isinstance(value, float):
            c.number(value, field)
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, (dict, list)):
                    raise c.fail(field, "must be a list of plain values")
                if isinstance(v, float):
                    c.number(v, field)
        elif value is not None and not isinstance(value, (bool, int, str)):
            raise c.fail(field, f"must be a plain value, got {kind(value)}")
    for key in ("input_size", "output_size"):
        if key in obj:
            c.integer(obj[key], key, 4, 8192)
    if "learn_mask" in obj:
        c.boolean(obj["learn_mask"], "learn_mask")
    faces = c.obj(obj.get("faces", {}), "faces")
    if faces.get("coverage") is not None:
        c.number(faces["coverage"], "faces.coverage", 0.01, 100.0)
    if faces.get("size") is not None:
        c.integer(faces["size"], "faces.size", 1, 8192)
    c.obj(obj.get("training", {}), "training")
    kind_ = obj.get("kind", PAIR)
    if kind_ not in KINDS:
        raise c.fail("kind", f"must be one of {', '.join(KINDS)}")
    if obj.get("init_from") is not None:
        init = c.obj(obj["init_from"], "init_from")
        for key in ("path", "arch", "parts"):
            if key in init:
                c.string(init[key], f"init_from.{key}", 4096)
        if "iteration" in init:
            c.integer(init["iteration"], "init_from.iteration", 0, 10**12)
    return obj


def parse_state(obj: Any, path: str | Path | None) -> dict:
    """A model's state.json, checked: iteration, seed, file hashes, RNG and stream states."""
    c = _header(obj, path, STATE_FORMAT, "state.json", "state file")
    c.integer(obj.get("iteration", 0), "iteration", 0, 10**12)
    if "seed" in obj:
        c.integer(obj["seed"], "seed", 0, 2**64 - 1)
    c.integer(obj.get("world_size", 1), "world_size", 1, 65536)
    files = c.obj(c.has(obj, "files"), "files")
    for name, digest in files.items():
        d = c.string(digest, f"files.{str(name)[:40]}", 64)
        if len(d) != 64 or not set(d) <= HEX:
            raise c.fail(f"files.{str(name)[:40]}", "must be a sha256 (64 hex digits)")
    rngs = obj.get("rng", [])
    if not isinstance(rngs, list):
        raise c.fail("rng", f"must be a list, got {kind(rngs)}")
    for i, r in enumerate(rngs):
        _rng(c, c.obj(r, f"rng[{i}]"), f"rng[{i}]")
    data = obj.get("data", [])
    if not isinstance(data, list):
        raise c.fail("data", f"must be a list, got {kind(data)}")
    for i, d in enumerate(data):
        for side in c.obj(d, f"data[{i}]").values():
            s = c.obj(side, f"data[{i}]")
            for key in ("epoch", "position", "batches"):
                c.integer(c.has(s, key, f"data[{i}].{key}"), f"data[{i}].{key}", 0, 10**15)
            if "seed" in s:
                c.integer(s["seed"], f"data[{i}].seed", 0, 2**64 - 1)
    for key in ("clipper", "scaler", "gan_scaler", "loss_history", "face_sets"):
        if key in obj and obj[key] is not None:
            c.obj(obj[key], key)
    return obj


def _rng(c: Checker, r: dict, field: str) -> None:
    """The shapes ``twoface.train.rng.capture`` writes; anything else would crash ``restore``."""
    if "torch" in r:
        _b64(c, r["torch"], f"{field}.torch")
    if "cuda" in r:
        if not isinstance(r["cuda"], list):
            raise c.fail(f"{field}.cuda", "must be a list")
        for s in r["cuda"]:
            _b64(c, s, f"{field}.cuda")
    if "numpy" in r:
        n = c.obj(r["numpy"], f"{field}.numpy")
        if n.get("bit_generator") != "MT19937":
            raise c.fail(f"{field}.numpy.bit_generator", "must be 'MT19937'")
        key = c.has(n, "key", f"{field}.numpy.key")
        if not (isinstance(key, list) and len(key) == 624):
            raise c.fail(f"{field}.numpy.key", "must be 624 whole numbers")
        for k in key:
            c.integer(k, f"{field}.numpy.key", 0, 2**32 - 1)
        c.integer(c.has(n, "pos", f"{field}.numpy.pos"), f"{field}.numpy.pos", 0, 624)
        c.integer(c.has(n, "has_gauss", f"{field}.numpy.has_gauss"), f"{field}.numpy.has_gauss", 0, 1)
        c.number(c.has(n, "gauss", f"{field}.numpy.gauss"), f"{field}.numpy.gauss")
    if "python" in r:
        p = r["python"]
        if not (isinstance(p, list) and len(p) == 3 and isinstance(p[1], list) and len(p[1]) == 625):
            raise c.fail(f"{field}.python", "must be [version, 625 whole numbers, gauss]")
        c.integer(p[0], f"{field}.python", 1, 3)
        for k in p[1][:624]:
            c.integer(k, f"{field}.python", 0, 2**32 - 1)
        c.integer(p[1][624], f"{field}.python", 0, 624)
        if p[2] is not None:
            c.number(p[2], f"{field}.python")


def _b64(c: Checker, value: Any, field: str) -> None:
    text = c.string(value, field, 1 << 20)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise c.fail(field, "is not base64 text") from None
    if field.endswith(".torch") and len(raw) != 5056:  # torch's CPU generator state
        raise c.fail(field, f"must decode to 5056 bytes, got {len(raw)}")


def check_safetensors(path: Path) -> dict:
    """The header of a safetensors file, checked against the file's size; returns it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            size = path.stat().st_size
            if len(head) < 8:
                raise ModelError("damaged safetensors file: shorter than its 8-byte header length", path)
            (n,) = struct.unpack("<Q", head)
            if n > min(MAX_HEADER, size - 8):
                raise ModelError(f"damaged or truncated safetensors file: its header claims {n:,} bytes "
                                 f"of a {size:,}-byte file", path)
            raw = fh.read(n)
    except OSError as err:
        raise ModelError(f"cannot read ({err.strerror or err})", path) from err
    header = load_json(raw, path, "damaged safetensors header", ModelError, max_bytes=MAX_HEADER)
    c = Checker(path, "damaged safetensors header", ModelError)
    c.obj(header, "header")
    body = size - 8 - n
    for name, entry in header.items():
        if name == "__metadata__":
            meta = c.obj(entry, name)
            if not all(isinstance(v, str) for v in meta.values()):
                raise c.fail(name, "must map names to strings")
            continue
        field = str(name)[:60]
        e = c.obj(entry, field)
        dtype = e.get("dtype")
        if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
            raise c.fail(field, f"has an unknown dtype {str(dtype)[:20]!r}")
        shape = e.get("shape")
        if not isinstance(shape, list) or len(shape) > 16:
            raise c.fail(field, "has no valid shape")
        count = 1
        for s in shape:
            count *= c.integer(s, f"{field}.shape", 0, 2**40)
        offsets = e.get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2):
            raise c.fail(field, "has no valid data_offsets")
        a = c.integer(offsets[0], f"{field}.data_offsets", 0)
        b = c.integer(offsets[1], f"{field}.data_offsets", 0)
        if not a <= b <= body:
            raise ModelError(f"damaged or truncated safetensors file: tensor {field!r} lies beyond its end", path)
        if b - a != count * DTYPE_BYTES[dtype]:
            raise c.fail(field, f"takes {b - a} bytes but its shape {shape} needs {count * DTYPE_BYTES[dtype]}")
    return header


def extra_metadata(header: dict, path: Path) -> dict:
    """twoface's JSON inside a safetensors file's ``__metadata__`` (the optimizer's hyper-parameters)."""
    text = header.get("__metadata__", {}).get("twoface", "{}")
    obj = load_json(text, path, "damaged metadata in safetensors file", ModelError)
    if not isinstance(obj, dict):
        raise ModelError("damaged metadata in safetensors file (not an object)", path)
    return obj


def check_finite(tensors: dict, path: Path) -> None:
    """Refuse weights that hold NaN or infinity: such a model only paints garbage."""
    import torch

    for name, t in tensors.items():
        if t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise ModelError(f"tensor {name!r} holds {bad} of {t.numel()} values that are NaN or infinite; "
                             "the model is damaged (or its training diverged): use an earlier snapshot", path)


__all__ = ["parse_config", "parse_state", "check_safetensors", "check_finite", "extra_metadata"]
