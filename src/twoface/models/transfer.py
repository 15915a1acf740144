"""Starting a new model from an earlier one's weights (``twoface train --init-from MODEL``).

Why: the shared encoder learns faces in general (pose, expression, light), and that is most of
what a new pair has to learn again; starting from an earlier model's encoder (faceswap's
``--load-weights``) or from a pretrain prior's encoder and generic decoder (DeepFaceLab's
pretrain) gets a new pair to a usable swap in a fraction of the iterations.

Parts: ``encoder`` copies the shared ``encoder`` only; ``all`` copies every part of the model,
decoders included. From a prior (one generic decoder, stored under side a's names) side b's
parts are filled from side a's, so both decoders start as the prior's. A part is copied only
when every one of its tensors exists in the source under the same name with the same shape;
otherwise nothing is copied and the error says which part of which model does not fit and why.
The optimizer is never carried over: its moments belong to the old model's losses.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ModelError
from .base import SwapModel
from .folder import PAIR, PRIOR, TRAINING_ONLY_PREFIXES, Weights, read_weights

PARTS = ("encoder", "all")
SHOWN = 3  # tensors named in a shape-mismatch message


def open_source(model_dir: str | Path) -> Weights:
    """The model to start from: its config and weights, read and checked like any model folder."""
    return read_weights(model_dir)


def _part_of(key: str) -> str:
    return key.split(".", 1)[0]


def target_keys(model: SwapModel, parts: str) -> list[str]:
    """The state-dict names of ``model`` that ``parts`` fills."""
    if parts not in PARTS:
        raise ModelError(f"--init-parts must be one of {', '.join(PARTS)}, got {parts!r}")
    keys = list(model.state_dict())
    return [k for k in keys if _part_of(k) == "encoder"] if parts == "encoder" else keys


def source_key(model: SwapModel, key: str, source_kind: str) -> str:
    """Where ``key`` of ``model`` comes from: the same name, or side a's for side b from a prior."""
    if source_kind == PRIOR and not model.generic:
        part, _, rest = key.partition(".")
        sides = dict(zip(model.SIDE_PARTS["b"], model.SIDE_PARTS["a"]))
        if part in sides:
            return f"{sides[part]}.{rest}"
    return key


def _name(part: str, source_kind: str = PAIR, mapped: str | None = None) -> str:
    """A part as users read it: "encoder", "decoder B", "the prior's decoder A" ..."""
    def plain(p: str) -> str:
        head, sep, side = p.rpartition("_")
        return f"{head} {side.upper()}" if sep and side in ("a", "b") else p

    if source_kind == PRIOR and mapped is not None and mapped != part:
        return f"{plain(part)} (filled from the prior's {plain(mapped)})"
    return plain(part)


def transfer(model: SwapModel, source: Weights, parts: str = "encoder") -> dict:
    """Copy ``parts`` of ``source`` into ``model`` in place; returns the record for config.json.

    ModelError (naming the source folder) when a part does not fit: another architecture,
    other options, or another layout; then ``model`` is left untouched.
    """
    keys = target_keys(model, parts)
    tensors = {k: v for k, v in source.tensors.items() if not k.startswith(TRAINING_ONLY_PREFIXES)}
    mapping = {k: source_key(model, k, source.kind) for k in keys}
    expected = model.state_dict()
    problems: dict[str, list[str]] = {}  # target part -> what is wrong with it
    for k, s in mapping.items():
        part = _part_of(k)
        if s not in tensors:
            problems.setdefault(part, []).append(f"{s} is missing")
        elif tuple(tensors[s].shape) != tuple(expected[k].shape):
            problems.setdefault(part, []).append(
                f"{k} is {list(expected[k].shape)} here, {list(tensors[s].shape)} there")
    wanted_parts = {_part_of(s) for s in mapping.values()}
    taken = set(mapping.values())
    for s in tensors:  # a tensor of a copied part that this model has no place for: another layout
        if _part_of(s) in wanted_parts and s not in taken:
            part = next(_part_of(k) for k, v in mapping.items() if _part_of(v) == _part_of(s))
            problems.setdefault(part, []).append(f"{s} has no place here")
    if problems:
        raise ModelError(_mismatch(model, source, parts, mapping, problems), source.model_dir)
    with torch.no_grad():
        model.load_state_dict({k: tensors[s].to(expected[k].dtype) for k, s in mapping.items()}, strict=False)
    return {
        "path": str(source.model_dir.resolve()),
        "kind": source.kind,
        "arch": str(source.config.get("arch")),
        "iteration": source.iteration,
        "weights_sha256": source.sha256,
        "parts": parts,
        "tensors": len(mapping),
    }


def _mismatch(model: SwapModel, source: Weights, parts: str, mapping: dict[str, str],
              problems: dict[str, list[str]]) -> str:
    """One line: what the source is, what this model is, which parts do not fit and the first reasons."""
    src_arch = str(source.config.get("arch"))
    what = "prior" if source.kind == PRIOR else "model"
    first_key: dict[str, str] = {}
    for k, s in mapping.items():
        first_key.setdefault(_part_of(k), _part_of(s))
    names = [_name(p, source.kind, first_key.get(p)) for p in problems]
    fits = f"its {', '.join(names)} {'does' if len(names) == 1 else 'do'} not fit"
    hint = "; --init-parts encoder would copy the encoder alone" if parts == "all" and "encoder" not in problems else ""
    if src_arch != model.arch:
        return f"is a {src_arch} {what}, this one is {model.arch}: {fits}{hint}"
    saved = dict(source.config.get("options", {}))
    differ = [f"{k}={saved.get(k)!r} there, {v!r} here" for k, v in model.options.items()
              if k in saved and saved[k] != v]
    reasons = [r for rs in problems.values() for r in rs]
    detail = "; ".join(reasons[:SHOWN]) + (f"; {len(reasons) - SHOWN} more" if len(reasons) > SHOWN else "")
    options = f" (its options differ: {', '.join(differ)})" if differ else ""
    return f"is a {src_arch} {what} like this one, but {fits}{options}: {detail}{hint}"


def describe(record: dict) -> str:
    """The console line's account of where a new model's weights came from."""
    parts = "encoder" if record.get("parts") == "encoder" else "encoder and decoders"
    at = f" at iteration {record['iteration']}" if record.get("iteration") is not None else ""
    return f"{parts} from {record.get('path')} ({record.get('arch')} {record.get('kind', PAIR)}{at})"
