"""Setting a training run up: the model folder (new, resumed or started over), the model, the faces.

Why separate from the loop: every user mistake (a typo'd folder, another architecture's model,
a damaged checkpoint, too few faces) is caught here, before any minute of training is spent,
and each becomes one clear message.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import InputError, ModelError
from ..models.transfer import open_source
from . import checkpoint as ck
from .options import DEFAULT_ARCH, PretrainOptions, TrainOptions

if TYPE_CHECKING:
    from ..data import FaceSet
    from ..models.base import SwapModel
    from ..models.folder import Weights

log = logging.getLogger(__name__)

COVERAGE_TOLERANCE = 1e-3


@dataclass
class Start:
    """Where a run starts: the checkpoint to continue (or None) and the one a save must preserve."""

    resume: ck.Checkpoint | None
    previous: ck.Checkpoint | None
    config: dict | None  # the config of ``resume``


def open_model_dir(opts: TrainOptions) -> Start:
    """Inspect the model folder: refuse a foreign one, find its last complete checkpoint."""
    model_dir = opts.model_dir
    ck.check_not_foreign(model_dir)
    if not model_dir.exists() or ck.read_config(model_dir) is None:
        return Start(None, None, None)
    try:
        found = ck.find_checkpoint(model_dir)
    except ModelError:
        if opts.resume:
            raise
        found = None  # starting over anyway: a damaged checkpoint is simply replaced
    if found is None:
        _refuse_unresumable(opts, model_dir)
        return Start(None, None, None)
    if found.fell_back:
        log.warning(f"warning: the newest save in {model_dir} is incomplete or damaged; "
            f"continuing from the previous one (iteration {found.iteration})")
    if not opts.resume:
        log.info(f"starting over: the model in {model_dir} (iteration {found.iteration}) "
            "will be replaced at the first save")
        return Start(None, found, None)
    _refuse_to_resume(opts, found)
    return Start(found, found, found.config)


def _refuse_to_resume(opts: TrainOptions, found: ck.Checkpoint) -> None:
    """A run that would resume a model it must not: another kind of model, or one --init-from would replace."""
    model_dir, kind = opts.model_dir, found.config.get("kind", ck.PAIR)
    if kind == ck.PRIOR and opts.KIND != ck.PRIOR:
        raise ModelError("is a pretrained prior, not a swap model: train a pair from it into a new folder with "
                         f"--init-from {model_dir} (or pass --no-resume to replace it)", model_dir)
    if kind != ck.PRIOR and opts.KIND == ck.PRIOR:
        raise ModelError("holds a swap model, not a prior: pretrain into a new folder "
                         "(or pass --no-resume to replace it)", model_dir)
    if opts.init_from is not None:
        raise ModelError(f"already holds a model (iteration {found.iteration}) that this run would resume; "
                         "--init-from starts a new one: pass --no-resume to replace it at the first save, "
                         "or choose another model folder", model_dir)


def _refuse_unresumable(opts: TrainOptions, model_dir: Path) -> None:
    """A folder with a model but no state to resume from is never replaced without --no-resume.

    (config.json and weights without state.json: a hand-assembled folder, or state.json
    deleted.) An interrupted first save never leaves this: its config.json is renamed in last.
    """
    if not opts.resume:
        return
    held = [n for n in (ck.WEIGHTS, f"{ck.WEIGHTS}.prev", ck.OPTIMIZER) if (model_dir / n).exists()]
    if not held:
        return
    raise ModelError(f"holds a model (config.json, {held[0]}) but no state.json to resume it from; "
                     "`twoface convert` can still use it. To train a new model in its place pass --no-resume "
                     "(it is replaced at the first save; copy the folder first to keep it), "
                     "or choose another model folder", model_dir)


def open_init_source(opts: TrainOptions) -> Weights | None:
    """The model --init-from names, read and checked (None without --init-from)."""
    if opts.init_from is None:
        return None
    source = Path(opts.init_from)
    if source.resolve() == opts.model_dir.resolve():
        raise ModelError("--init-from names the model folder itself; start from another model, or resume "
                         "this one without --init-from", source)
    return open_source(source)


def model_choice(opts: TrainOptions, config: dict | None, source: dict | None = None) -> tuple[str, dict]:
    """The architecture and options to build: the folder's when resuming, refusing contradictions.

    A new model started --init-from ``source`` (its config) takes the source's architecture and
    options unless told otherwise (the options given override the source's, one by one).
    """
    given = dict(opts.options)
    if opts.learn_mask:
        given["learn_mask"] = True
    if config is None:
        if source is not None and opts.arch in (None, source.get("arch")):
            return str(source["arch"]), {**source.get("options", {}), **given}
        return opts.arch or opts.preset_arch() or DEFAULT_ARCH, given
    arch = config.get("arch")
    where = opts.model_dir / ck.CONFIG
    if opts.arch is not None and opts.arch != arch:
        raise ModelError(f"the model folder holds a {arch!r} model but --arch {opts.arch!r} was given; "
                         f"drop --arch to continue it, or choose another model folder", where)
    saved = dict(config.get("options", {}))
    for key, value in given.items():
        if key in saved and saved[key] != value:
            raise ModelError(f"the saved {arch} model has {key}={saved[key]!r} but {key}={value!r} was given; "
                             "a model's shape cannot change when resuming", where)
        if key not in saved:
            raise ModelError(f"the saved {arch} model has no option {key!r}", where)
    return str(arch), saved


def choose_seed(opts: TrainOptions, resume: ck.Checkpoint | None) -> int:
    if resume is not None and "seed" in resume.state:
        return int(resume.state["seed"])
    if opts.seed is not None:
        return int(opts.seed)
    return int.from_bytes(os.urandom(4), "little")


def load_faces(opts: TrainOptions, size: int, seed: int) -> tuple[FaceSet, FaceSet, dict]:
    """Both face sets, cached at ``size``, each big enough for a batch, with one shared coverage."""
    from ..data import FaceSet

    sets = []
    for folder in (opts.faces_a, opts.faces_b):
        fs = FaceSet(folder, size, holdout=opts.holdout, seed=seed)
        fs.check_enough(opts.batch_size)
        sets.append(fs)
    coverage = {}
    png_size = {}
    for side, fs in zip("AB", sets):
        values = sorted({round(float(m.coverage), 4) for m in fs.metas})
        if values[-1] - values[0] > COVERAGE_TOLERANCE:
            raise InputError(f"faces of {side} mix crop coverages {values}; re-extract them with one --coverage",
                             fs.folder)
        coverage[side] = values[0]
        png_size[side] = max(int(m.size) for m in fs.metas)
    if abs(coverage["A"] - coverage["B"]) > COVERAGE_TOLERANCE:
        raise InputError(f"faces A ({opts.faces_a}) were extracted at coverage {coverage['A']} and faces B at "
                         f"{coverage['B']}; a swap needs both at the same coverage (re-extract one side)",
                         opts.faces_b)
    for side in "AB":
        if png_size[side] < size:
            log.warning(f"warning: faces {side} are {png_size[side]} px, smaller than the model's {size} px; "
                "they are upscaled (extract with a larger --size for sharper results)")
    info = {"coverage": coverage["A"], "size": min(png_size.values()), "landmarks": int(sets[0].landmarks.shape[1])}
    return sets[0], sets[1], info


def load_pool(opts: PretrainOptions, size: int, seed: int) -> tuple[FaceSet, FaceSet, dict]:
    """A prior's faces: every folder pooled into one set, all at one coverage.

    The pool serves as both sides of the trainer's batch (two streams with their own seeds),
    so each step reconstructs 2 x --batch-size faces of the pool through the one decoder.
    """
    from ..data import FaceSet

    sets = [FaceSet(folder, size, holdout=0, seed=seed) for folder in opts.faces]
    coverage = {fs.folder: sorted({round(float(m.coverage), 4) for m in fs.metas}) for fs in sets}
    first = sets[0]
    for fs in sets:
        values = coverage[fs.folder]
        if values[-1] - values[0] > COVERAGE_TOLERANCE:
            raise InputError(f"the faces mix crop coverages {values}; re-extract them with one --coverage", fs.folder)
        if abs(values[0] - coverage[first.folder][0]) > COVERAGE_TOLERANCE:
            raise InputError(f"faces extracted at coverage {values[0]}, those of {first.folder} at "
                             f"{coverage[first.folder][0]}; a prior needs all at one coverage (re-extract)",
                             fs.folder)
    pool = FaceSet.pooled(sets, holdout=opts.holdout, seed=seed)
    pool.check_enough(opts.batch_size)
    png_size = min(max(int(m.size) for m in fs.metas) for fs in sets)
    if png_size < size:
        log.warning(f"warning: some faces are {png_size} px, smaller than the model's {size} px; "
                    "they are upscaled (extract with a larger --size for sharper results)")
    info = {"coverage": coverage[first.folder][0], "size": png_size, "landmarks": int(pool.landmarks.shape[1]),
            "folders": [str(fs.folder) for fs in sets], "counts": [len(fs) for fs in sets]}
    return pool, pool, info


def check_faces_match(config: dict, info: dict, model_dir: Path) -> None:
    """A resumed (or --init-from) model was trained at one coverage: faces of another framing would confuse it."""
    saved = config.get("faces", {}).get("coverage")
    if saved is not None and abs(float(saved) - info["coverage"]) > COVERAGE_TOLERANCE:
        raise InputError(f"the model was trained on faces at coverage {saved}, these faces are at "
                         f"{info['coverage']}; extract them with --coverage {saved}", model_dir / ck.CONFIG)


# the training settings that config.json records (the latest run's)
TRAINING_RECORD = ("batch_size", "loss", "optimizer", "lr", "warmup", "lr_schedule", "preset", "clip", "clip_value",
                   "mask_loss", "mask_penalty", "eye_multiplier", "mouth_multiplier", "warp", "warp_strength",
                   "warp_stop", "balance", "warp_to_landmarks", "flip", "augment_color", "holdout", "gan", "gan_weight",
                   "gan_swaps", "gan_start", "identity_weight", "identity_start", "perceptual_weight", "true_face")


def make_config(model: SwapModel, opts: TrainOptions, faces: dict, old: dict | None,
                init_from: dict | None = None) -> dict:
    """config.json: what shapes the model (fixed for its life) plus the latest training settings.

    ``kind`` says whether it swaps two people or is a prior; ``init_from`` (kept for the model's
    life) names the model its first weights came from, with that model's iteration and weights hash.
    """
    training = {k: v for k, v in opts.to_json().items() if k in TRAINING_RECORD}
    init_from = init_from or (old or {}).get("init_from")
    return {
        "format": ck.FORMAT,
        "format_version": ck.FORMAT_VERSION,
        "twoface_version": __version__,
        "kind": ck.PRIOR if model.generic else ck.PAIR,
        "arch": model.arch,
        "options": dict(model.options),
        "input_size": int(model.input_size),
        "output_size": int(model.output_size),
        "learn_mask": bool(model.learn_mask),
        "faces": faces,
        "training": training,
        "created": (old or {}).get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        **({"init_from": init_from} if init_from else {}),
    }
