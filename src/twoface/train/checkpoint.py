"""The model folder on disk, written: save it so a crash never leaves half a model.

Reading it back (finding the newest complete checkpoint, loading the model) is
``twoface.models.folder``, which the other stages use; this module re-exports it.

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
from collections.abc import Iterator
from pathlib import Path

import torch

from .. import __version__
from ..errors import OutputError, from_os_error
from ..fsutil import atomic_dir, atomic_write_text, file_mode, fsync_path, sha256_file

# the read side lives in the library (models.folder); re-exported for training and its tests
from ..models.folder import (  # noqa: F401
    CONFIG,
    FILES,
    FORMAT,
    FORMAT_VERSION,
    OPTIMIZER,
    PAIR,
    PRIOR,
    STATE,
    STATE_FORMAT,
    TRAINING_ONLY_PREFIXES,
    WEIGHTS,
    Checkpoint,
    check_weights,
    find_checkpoint,
    load_model,
    read_config,
    read_json,
)


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
            os.chmod(tmp[name], file_mode())  # temp files are created private; a model is shareable
            fsync_path(tmp[name])
        state = {**state, "format": STATE_FORMAT, "format_version": FORMAT_VERSION,
                 "twoface_version": __version__, "saved_at": time.time(),
                 "files": {name: sha256_file(tmp[name]) for name in FILES}}
        # state.json.tmp is complete and synced before any rename happens
        atomic_write_text(tmp[STATE], json.dumps(state, indent=1) + "\n")
        os.chmod(tmp[STATE], file_mode())
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
        fsync_path(model_dir)
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


