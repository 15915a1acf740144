"""A model folder, read: which checkpoint is newest and complete, its config, and the model.

Why in the library: convert, evaluate, inspect and export all open model folders,
and they must not reach into the training stage to do it. Training (``train.checkpoint``)
keeps the write side: the save protocol, the lock and the snapshots.

Layout (DESIGN §2): ``config.json`` (architecture and every option that shapes it),
``weights.safetensors`` (prefixed keys), ``optimizer.safetensors`` (tensors; hyper-parameters
as JSON in the safetensors metadata) and ``state.json`` (iteration, RNG and data-stream
states, loss history, face-set fingerprints). No pickle anywhere. ``state.json`` carries
the sha256 of the other files; a save in progress leaves the previous checkpoint under
``.prev`` names, and :func:`find_checkpoint` picks the newest state whose files all check out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..contracts.jsonsafe import load_json
from ..contracts.model_files import (  # noqa: F401
    FORMAT,
    FORMAT_VERSION,
    PAIR,
    PRIOR,
    STATE_FORMAT,
    check_finite,
    check_safetensors,
    extra_metadata,
    parse_config,
    parse_state,
)
from ..errors import ModelError
from ..fsutil import sha256_file
from .base import SwapModel

CONFIG = "config.json"
WEIGHTS = "weights.safetensors"
OPTIMIZER = "optimizer.safetensors"
STATE = "state.json"
FILES = (CONFIG, WEIGHTS, OPTIMIZER)
# weights of training-only modules that a converting model does not have
DISCRIMINATOR_PREFIXES = ("discriminator_a.", "discriminator_b.")  # --gan's (train/gan.py)
CODE_DISCRIMINATOR_PREFIX = "code_discriminator."                  # --true-face's
TRAINING_ONLY_PREFIXES = (*DISCRIMINATOR_PREFIXES, CODE_DISCRIMINATOR_PREFIX)


def read_json(path: Path, what: str = CONFIG) -> dict:
    """config.json or state.json through its contract (``contracts.model_files``); ModelError.

    Size and depth are limited, the format and format_version checked (a newer one is refused),
    and every field training and conversion use has the right type and range.
    """
    parse = parse_state if what == STATE else parse_config
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ModelError(f"cannot read {what} ({err.strerror or err})", path) from err
    return parse(load_json(data, path, f"damaged {what}", ModelError, allow_nan=what == STATE), path)


def read_config(model_dir: Path) -> dict | None:
    """config.json of a twoface model folder, or None when the folder has no model yet."""
    path = Path(model_dir) / CONFIG
    candidates = [path, path.with_name(CONFIG + ".prev")]
    for p in candidates:
        if p.exists():
            return read_json(p, CONFIG)
    return None


@dataclass
class Checkpoint:
    """A complete, verified checkpoint: where each of its files is, and what its state says."""

    model_dir: Path
    state: dict
    state_path: Path
    locations: dict[str, Path] = field(default_factory=dict)  # logical file name -> actual path

    @property
    def iteration(self) -> int:
        return int(self.state.get("iteration", 0))

    @property
    def config(self) -> dict:
        return read_json(self.locations[CONFIG], CONFIG)

    def tensors(self, name: str) -> tuple[dict[str, torch.Tensor], dict]:
        """The tensors of a safetensors file of this checkpoint and the JSON in its metadata.

        The header is checked before the library maps the file; weights must be finite.
        """
        from safetensors import safe_open

        path = self.locations[name]
        header = check_safetensors(path)
        extra = extra_metadata(header, path)
        try:
            with safe_open(str(path), framework="pt", device="cpu") as fh:
                tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        except Exception as err:  # safetensors raises its own error types for damaged files
            raise ModelError(f"damaged or truncated safetensors file ({err})", path) from err
        if name == WEIGHTS:
            check_finite(tensors, path)
        return tensors, extra

    @property
    def fell_back(self) -> bool:
        """True when the newest state could not be used and an older checkpoint was picked."""
        return self.state_path.name != STATE


def find_checkpoint(model_dir: Path, need: tuple[str, ...] = FILES) -> Checkpoint | None:
    """The newest complete checkpoint in ``model_dir``; None if no save ever completed.

    A state whose files are missing or do not match its hashes is skipped for an older one
    (an interrupted save or a damaged file). When states exist but none is complete, the
    error names the file that is wrong.
    """
    model_dir = Path(model_dir)
    hashes: dict[Path, str | None] = {}

    def digest(p: Path) -> str | None:
        if p not in hashes:
            try:
                hashes[p] = sha256_file(p) if p.is_file() else None
            except OSError:
                hashes[p] = None
        return hashes[p]

    problems: list[tuple[Path, str]] = []
    for state_path in (model_dir / STATE, model_dir / f"{STATE}.prev"):
        if not state_path.exists():
            continue
        try:
            state = read_json(state_path, STATE)
        except ModelError as err:
            problems.append((state_path, err.message))
            continue
        files = state.get("files", {})
        locations: dict[str, Path] = {}
        for name in need:
            want = files.get(name)
            found = next((p for p in (model_dir / name, model_dir / f"{name}.prev")
                          if want is not None and digest(p) == want), None)
            if found is None:
                primary = model_dir / name
                why = "is missing" if not primary.exists() else \
                    "is damaged or truncated (its sha256 does not match state.json)"
                problems.append((primary, why))
                break
            locations[name] = found
        else:
            return Checkpoint(model_dir, state, state_path, locations)
    if problems:
        path, why = problems[0]
        raise ModelError(f"{why}; no complete checkpoint left in {model_dir}", path)
    return None


def check_weights(model: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path,
                  ignore_prefixes: tuple[str, ...] = TRAINING_ONLY_PREFIXES) -> dict[str, torch.Tensor]:
    """The subset of ``tensors`` that ``model`` takes, after checking every name and shape.

    The error names the first mismatch, so a user sees *which* layer disagrees with config.json.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    extra = [k for k in tensors if k not in expected and not k.startswith(ignore_prefixes)]
    if missing:
        raise ModelError(f"has no tensor {missing[0]!r} ({len(missing)} missing) that the "
                         f"{getattr(model, 'arch', 'model')} model of config.json needs", path)
    if extra:
        raise ModelError(f"holds tensor {extra[0]!r} ({len(extra)} unexpected) that the "
                         f"{getattr(model, 'arch', 'model')} model of config.json does not have", path)
    for k, v in expected.items():
        if tuple(tensors[k].shape) != tuple(v.shape):
            raise ModelError(f"tensor {k!r} has shape {list(tensors[k].shape)} but config.json's "
                             f"model expects {list(v.shape)}", path)
    return {k: tensors[k] for k in expected}


@dataclass
class Weights:
    """The weights of a model folder as read for use: its config, tensors, and where they came from."""

    model_dir: Path
    config: dict
    tensors: dict[str, torch.Tensor]
    path: Path  # the weights file actually read (``weights.safetensors`` or its ``.prev``)
    iteration: int | None  # None for a hand-assembled folder without state.json
    sha256: str

    @property
    def kind(self) -> str:
        return str(self.config.get("kind", PAIR))


def read_weights(model_dir: str | Path) -> Weights:
    """config.json and the weights of the newest complete checkpoint (or of a hand-assembled folder).

    ModelError for a folder that is not a twoface model or whose weights are missing or damaged.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelError("no such model folder", model_dir)
    config = read_config(model_dir)
    if config is None:
        raise ModelError("is not a twoface model folder (no config.json)", model_dir)
    ckpt = find_checkpoint(model_dir, need=(CONFIG, WEIGHTS))
    if ckpt is not None:
        tensors, _ = ckpt.tensors(WEIGHTS)
        return Weights(model_dir, ckpt.config, tensors, ckpt.locations[WEIGHTS], ckpt.iteration,
                       ckpt.state["files"][WEIGHTS])
    # a folder put together by hand: config.json and weights.safetensors only
    weights_path = model_dir / WEIGHTS
    if not weights_path.exists():
        raise ModelError("has no weights.safetensors (was training ever saved?)", model_dir)
    tensors, _ = Checkpoint(model_dir, {}, model_dir / STATE, {WEIGHTS: weights_path}).tensors(WEIGHTS)
    return Weights(model_dir, config, tensors, weights_path, None, sha256_file(weights_path))


def build_from_config(config: dict, where: Path) -> SwapModel:
    """A fresh model of the architecture and options config.json names (a prior made generic)."""
    from . import build

    try:
        model = build(config["arch"], **config.get("options", {}))
    except KeyError as err:
        raise ModelError(f"config.json lacks {err}", where) from err
    if config.get("kind", PAIR) == PRIOR:
        model.make_generic()
    return model


def refuse_prior(config: dict | None, model_dir: Path) -> None:
    """Convert and export need a swap model; a pretrain prior has one generic decoder and swaps nobody."""
    if config is not None and config.get("kind", PAIR) == PRIOR:
        raise ModelError("is a pretrained prior, not a swap model: train a pair from it with "
                         f"`twoface train --init-from {model_dir} --init-parts all`", model_dir)


def load_model(model_dir: str | Path, runtime: Any = None) -> tuple[SwapModel, dict]:
    """The trained model of a model folder, in eval mode, and its config (for convert/evaluate).

    Returns ``(SwapModel, config dict)``. Raises ModelError for a folder that is not a twoface
    model, a missing or damaged weights file, or weights whose shapes disagree with config.json.
    A pretrain prior loads as a generic model (``model.generic``); see :func:`refuse_prior`.
    """
    found = read_weights(model_dir)
    model = build_from_config(found.config, found.model_dir / CONFIG)
    model.load_state_dict(check_weights(model, found.tensors, found.path))
    model.eval()
    if runtime is not None:
        model = runtime.prepare(model)
    return model, found.config
