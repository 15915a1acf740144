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

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import ModelError
from ..fsutil import sha256_file
from .base import SwapModel

CONFIG = "config.json"
WEIGHTS = "weights.safetensors"
OPTIMIZER = "optimizer.safetensors"
STATE = "state.json"
FILES = (CONFIG, WEIGHTS, OPTIMIZER)
FORMAT = "twoface-model"
STATE_FORMAT = "twoface-state"
FORMAT_VERSION = 1
# weights of training-only modules that a converting model does not have
TRAINING_ONLY_PREFIXES = ("discriminator_a.", "discriminator_b.")


def read_json(path: Path) -> dict | None:
    """A JSON object from a file, or None when it is missing or unreadable as such."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read_config(model_dir: Path) -> dict | None:
    """config.json of a twoface model folder, or None when the folder has no model yet."""
    path = Path(model_dir) / CONFIG
    candidates = [path, path.with_name(CONFIG + ".prev")]
    for p in candidates:
        if p.exists():
            cfg = read_json(p)
            if cfg is None or cfg.get("format") != FORMAT:
                raise ModelError("is not a twoface model config (unreadable or foreign config.json)", p)
            return cfg
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
        cfg = read_json(self.locations[CONFIG])
        if cfg is None:
            raise ModelError("unreadable config.json", self.locations[CONFIG])
        return cfg

    def tensors(self, name: str) -> tuple[dict[str, torch.Tensor], dict]:
        """The tensors of a safetensors file of this checkpoint and the JSON in its metadata."""
        from safetensors import safe_open

        path = self.locations[name]
        try:
            with safe_open(str(path), framework="pt", device="cpu") as fh:
                meta = fh.metadata() or {}
                tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        except Exception as err:  # safetensors raises its own error types for damaged files
            raise ModelError(f"damaged or truncated safetensors file ({err})", path) from err
        try:
            extra = json.loads(meta.get("twoface", "{}"))
        except ValueError as err:
            raise ModelError("damaged metadata in safetensors file", path) from err
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
        state = read_json(state_path)
        if state is None or state.get("format") != STATE_FORMAT:
            problems.append((state_path, "unreadable or foreign state file"))
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


def load_model(model_dir: str | Path, runtime: Any = None) -> tuple[SwapModel, dict]:
    """The trained swap model of a model folder, in eval mode, and its config (for convert/evaluate).

    Returns ``(SwapModel, config dict)``. Raises ModelError for a folder that is not a twoface
    model, a missing or damaged weights file, or weights whose shapes disagree with config.json.
    """
    from . import build

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelError("no such model folder", model_dir)
    config = read_config(model_dir)
    if config is None:
        raise ModelError("is not a twoface model folder (no config.json)", model_dir)
    ckpt = find_checkpoint(model_dir, need=(CONFIG, WEIGHTS))
    if ckpt is not None:
        config = ckpt.config
        tensors, _ = ckpt.tensors(WEIGHTS)
        weights_path = ckpt.locations[WEIGHTS]
    else:  # a folder put together by hand: config.json and weights.safetensors only
        weights_path = model_dir / WEIGHTS
        if not weights_path.exists():
            raise ModelError("has no weights.safetensors (was training ever saved?)", model_dir)
        tensors, _ = Checkpoint(model_dir, {}, model_dir / STATE, {WEIGHTS: weights_path}).tensors(WEIGHTS)
    try:
        model = build(config["arch"], **config.get("options", {}))
    except KeyError as err:
        raise ModelError(f"config.json lacks {err}", model_dir / CONFIG) from err
    model.load_state_dict(check_weights(model, tensors, weights_path))
    model.eval()
    if runtime is not None:
        model = runtime.prepare(model)
    return model, config
