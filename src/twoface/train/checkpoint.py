"""The model folder on disk: save it so a crash never leaves half a model, load it back safely.

Layout (DESIGN §2): ``config.json`` (architecture and every option that shapes it),
``weights.safetensors`` (prefixed keys), ``optimizer.safetensors`` (tensors; hyper-parameters
as JSON in the safetensors metadata) and ``state.json`` (iteration, RNG and data-stream
states, loss history, face-set fingerprints). No pickle anywhere.

Why this save protocol: a checkpoint is four files, and no file system renames four files at
once. So ``state.json`` is written last and carries the sha256 of the other three. Each file is
first written complete under a ``.tmp`` name and fsynced; then, one file at a time, the file of
the last complete checkpoint is renamed to ``<name>.prev`` and the new one takes its name.
Whenever the process dies, the last complete checkpoint is still on disk, each of its files
under its own name or its ``.prev`` name, and its state file (``state.json`` or
``state.json.prev``) says by hash which is which. :func:`find_checkpoint` picks the newest
state whose files all check out.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import torch

from .. import __version__
from ..contracts.model_files import FORMAT, FORMAT_VERSION, STATE_FORMAT  # noqa: F401  (re-exported: ck.FORMAT)
from ..errors import ModelError, OutputError, from_os_error
from ..fsutil import atomic_dir, atomic_write_text, sha256_file

CONFIG = "config.json"
WEIGHTS = "weights.safetensors"
OPTIMIZER = "optimizer.safetensors"
STATE = "state.json"
FILES = (CONFIG, WEIGHTS, OPTIMIZER)
# weights of training-only modules that a converting model does not have
TRAINING_ONLY_PREFIXES = ("discriminator_a.", "discriminator_b.")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_mode() -> int:
    """rw for everyone the umask allows (what a plain open() would create)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _read_json(path: Path, parse, what: str) -> dict:
    """A model-folder JSON file through its contract (``parse_config``/``parse_state``); ModelError."""
    from ..contracts.jsonsafe import load_json

    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelError(f"cannot read {what} ({err.strerror or err})", path) from err
    return parse(load_json(data, path, f"damaged {what}", ModelError, allow_nan=what == STATE), path)


def read_config(model_dir: Path) -> dict | None:
    """config.json of a twoface model folder, or None when the folder has no model yet."""
    from ..contracts.model_files import parse_config

    path = Path(model_dir) / CONFIG
    candidates = [path, path.with_name(CONFIG + ".prev")]
    for p in candidates:
        if p.exists():
            return _read_json(p, parse_config, CONFIG)
    return None


def check_not_foreign(model_dir: Path) -> None:
    """Refuse to train into a non-empty folder that is not a twoface model (a typo'd -m, say)."""
    model_dir = Path(model_dir)
    if not model_dir.exists():
        return
    if not model_dir.is_dir():
        raise OutputError("is a file, expected a model folder", model_dir)
    ours = {CONFIG, STATE, WEIGHTS, OPTIMIZER, "previews", "timelapse", "logs", "snapshots", ".lock"}
    names = {p.name for p in model_dir.iterdir()}
    if not names:
        return
    if CONFIG not in names and f"{CONFIG}.prev" not in names:
        # hidden names are temp files of an interrupted first save (atomic writes start with ".")
        strangers = sorted(n for n in names if not n.startswith((".", *ours)))
        if strangers:
            raise OutputError(f"is not empty and is not a twoface model folder (it holds {strangers[0]!r}); "
                              "choose a new or empty folder", model_dir)
    read_config(model_dir)  # raises on a foreign config.json


def clean_temp(model_dir: Path) -> int:
    """Remove the temp files a killed save left behind; returns how many. Never touches a checkpoint."""
    removed = 0
    for p in Path(model_dir).glob("*.tmp"):
        if p.is_file() and (p.name.startswith(".") or p.name[:-len(".tmp")] in (*FILES, STATE)):
            p.unlink(missing_ok=True)
            removed += 1
    return removed


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
        from ..contracts.model_files import parse_config

        return _read_json(self.locations[CONFIG], parse_config, CONFIG)

    def tensors(self, name: str) -> tuple[dict[str, torch.Tensor], dict]:
        """The tensors of a safetensors file of this checkpoint and the JSON in its metadata.

        The header is checked before the library maps the file; weights must be finite.
        """
        from safetensors import safe_open

        from ..contracts.model_files import check_finite, check_safetensors, extra_metadata

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
    from ..contracts.model_files import parse_state

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
            state = _read_json(state_path, parse_state, STATE)
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


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict | None) -> None:
    from safetensors.torch import save_file

    flat, seen = {}, set()
    for k, v in tensors.items():
        v = v.detach().to("cpu").contiguous()
        ptr = v.untyped_storage().data_ptr()
        flat[k] = v.clone() if ptr in seen else v  # safetensors refuses tensors sharing memory
        seen.add(ptr)
    save_file(flat, str(path), metadata={"format": "pt", "twoface": json.dumps(meta or {})})


def save_checkpoint(model_dir: Path, config: dict, weights: dict[str, torch.Tensor],
                    optimizer: dict[str, torch.Tensor], optimizer_meta: dict, state: dict,
                    previous: Checkpoint | None) -> Checkpoint:
    """Write a complete checkpoint without ever destroying ``previous`` before the new one is whole.

    ``previous`` is the last complete checkpoint (from :func:`find_checkpoint` or the last
    save): its files are moved to ``.prev`` names, never deleted, until the new state is in.
    """
    model_dir = Path(model_dir)
    tmp = {name: model_dir / f"{name}.tmp" for name in (*FILES, STATE)}
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(tmp[CONFIG], json.dumps(config, indent=2) + "\n")
        _write_tensors(tmp[WEIGHTS], weights, {"iteration": state.get("iteration")})
        _write_tensors(tmp[OPTIMIZER], optimizer, optimizer_meta)
        for name in (CONFIG, WEIGHTS, OPTIMIZER):
            os.chmod(tmp[name], _file_mode())  # temp files are created private; a model is shareable
            _fsync_path(tmp[name])
        state = {**state, "format": STATE_FORMAT, "format_version": FORMAT_VERSION,
                 "twoface_version": __version__, "saved_at": time.time(),
                 "files": {name: sha256_file(tmp[name]) for name in FILES}}
        # state.json.tmp is complete and synced before any rename happens
        atomic_write_text(tmp[STATE], json.dumps(state, indent=1) + "\n")
        os.chmod(tmp[STATE], _file_mode())
        # A first save renames config.json in last: a folder with config.json always holds a
        # complete model, so a kill mid-save is never mistaken for one to protect or resume.
        order = (*FILES, STATE) if previous is not None else (WEIGHTS, OPTIMIZER, STATE, CONFIG)
        for name in order:
            primary = model_dir / name
            if previous is None:
                keep = None
            else:
                keep = previous.state_path if name == STATE else previous.locations.get(name)
            if keep == primary:
                os.replace(primary, model_dir / f"{name}.prev")
            os.replace(tmp[name], primary)
        _fsync_path(model_dir)
    except BaseException as err:
        # a failed or interrupted save (a second Ctrl-C, a full disk) leaves no temp files:
        # they are never part of a complete checkpoint, and a model's weights are big
        for p in tmp.values():
            p.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise from_os_error(err, model_dir) from err
        raise
    return Checkpoint(model_dir, state, model_dir / STATE, {name: model_dir / name for name in FILES})


def snapshot(checkpoint: Checkpoint, dest: Path) -> None:
    """Freeze a checkpoint as a model folder of its own (``snapshots/<iteration>/``).

    Saved files are never modified in place (only renamed), so hard links cost nothing;
    copies are the fallback where links are not allowed.
    """
    with atomic_dir(dest) as tmp:
        for name, src in [*checkpoint.locations.items(), (STATE, checkpoint.state_path)]:
            try:
                os.link(src, tmp / name)
            except OSError:
                shutil.copy2(src, tmp / name)


@contextlib.contextmanager
def locked(model_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the model folder so two trainings never write into one."""
    model_dir = Path(model_dir)
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        fh = open(model_dir / ".lock", "a+")
    except OSError as err:
        raise from_os_error(err, model_dir) from err
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            raise OutputError("another `twoface train` is using this model folder", model_dir) from err
        yield
    finally:
        fh.close()


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


def load_model(model_dir: str | Path, runtime=None):
    """The trained swap model of a model folder, in eval mode, and its config (for convert/evaluate).

    Returns ``(SwapModel, config dict)``. Raises ModelError for a folder that is not a twoface
    model, a missing or damaged weights file, or weights whose shapes disagree with config.json.
    """
    from ..models import build

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
