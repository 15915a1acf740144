"""Every training option in one record, shared by the Python API and the CLI.

Why one dataclass: ``twoface.train.train(...)`` and ``twoface train ...`` must accept the
same options with the same defaults, and the web UI will fill the same record. Validation
happens here once, with messages that name the flag.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import TwofaceError
from ..options import RuntimeOptions, option, positive_int

DEFAULT_ARCH = "original"
CLIP_MODES = ("none", "norm", "autoclip")
SCHEDULES = ("constant", "cosine")  # of the learning rate after the warmup (train.optim.Warmup)
# the --help groups of `twoface train`
_MODEL = "model"
_LENGTH = "length"
_LOSS = "loss and optimizer"
_DATA = "data and augmentation"
_SAVE = "saving and monitoring"
_PERF = "performance"


@dataclass
class TrainOptions(RuntimeOptions):
    """Every knob of training; ``twoface train`` makes one flag of each (``twoface.options``)."""

    faces_a: Path = option(help="face PNGs of person A", cli=False)
    faces_b: Path = option(help="face PNGs of person B", cli=False)
    model_dir: Path = option(help="the model folder", cli=False)
    arch: str | None = option(None, group=_MODEL,  # None: the model folder's arch when resuming, else "original"
                              help="architecture: original, lightweight, iae, dfaker, villain, realface, dlight, custom",
                              default_help="original, or the model folder's when resuming")
    options: dict = option(default_factory=dict, cli=False, help="architecture options (--option key=value)")
    learn_mask: bool = option(False, group=_MODEL, help="the model also learns a face mask channel")
    gan: bool = option(False, group=_MODEL, help="add an adversarial loss from a patch discriminator per side")
    gan_weight: float = option(0.1, group=_MODEL, help="weight of the adversarial loss")
    iterations: int | None = option(None, type=positive_int, metavar="N", group=_LENGTH, default_help="",
                                    help="stop after N iterations in all (counting earlier runs of this model)")
    minutes: float | None = option(None, metavar="M", group=_LENGTH, help="stop after M minutes of this run",
                                   default_help="run until Ctrl-C when neither is given")
    batch_size: int = option(16, type=positive_int, group=_LENGTH, help="faces of each person per step")
    loss: str = option("ssim:1,mse:1", group=_LOSS, help="weighted losses: ssim, ms_ssim, mae, mse, gmsd, lpl, ffl")
    # on, as in faceswap (its penalized mask loss): at 367 iterations A->B retrieval 54 % -> 100 % and
    # the jitter ratio 3.02 -> 1.75 on the dev pair (bench/quality.py, issue 14)
    mask_loss: bool = option(True, negatable=True, group=_LOSS,
                             help="weight the loss by the face mask, so the background matters less")
    mask_penalty: float = option(0.1, group=_LOSS, help="with --mask-loss, the weight of pixels outside the mask")
    eye_multiplier: float = option(3.0, group=_LOSS, help="loss weight of the eye regions")
    mouth_multiplier: float = option(2.0, group=_LOSS, help="loss weight of the mouth region")
    identity_weight: float = option(0.0, group=_LOSS, default_help="0 = off",
                                    help="weight of an identity loss: 1 - SFace cosine of each swap (A's faces drawn "
                                         "by decoder B, and B's by A) to the target person's mean embedding; costs "
                                         "a decode and an SFace pass per side and step")
    perceptual_weight: float = option(0.0, group=_LOSS, default_help="0 = off",
                                      help="weight of a perceptual loss: distance between SFace feature maps of each "
                                           "reconstruction and its target")
    optimizer: str = option("adam", choices=("adam", "adamw", "adabelief", "lion"), group=_LOSS, help="optimizer")
    lr: float | None = option(None, group=_LOSS, help="learning rate",  # None: the optimizer's default (adam 5e-5)
                              default_help="the optimizer's; adam 5e-5")
    warmup: int = option(0, metavar="N", group=_LOSS, help="ramp the learning rate up over N iterations")
    lr_schedule: str = option("constant", choices=SCHEDULES, group=_LOSS,
                              help="after the warmup: a constant rate, or a cosine decay to a twentieth of it over the "
                                   "budget (--iterations, or --minutes of this run)")
    clip: str = option("none", choices=CLIP_MODES, group=_LOSS,
                       help="gradient clipping: by norm, by AutoClip percentile, or none")
    clip_value: float | None = option(None, group=_LOSS, default_help="",
                                      help="the norm for --clip norm (default 1.0) or the percentile for autoclip (default 10)")
    seed: int | None = option(None, group=_LOSS, help="random seed, for repeatable runs",
                              default_help="random, saved in state.json")
    holdout: float = option(0.05, group=_DATA, help="share of each face set kept out for validation")
    warp: bool = option(True, group=_DATA, help="no random warp of the inputs")
    warp_to_landmarks: bool = option(False, group=_DATA, default_help="",
                                     help="warp towards the landmarks of similar faces of the other person "
                                          "instead of random noise")
    flip: bool = option(True, group=_DATA, help="no random horizontal flips")
    augment_color: bool = option(True, group=_DATA, help="no random colour/lightness shifts")
    save_every: int = option(250, type=positive_int, metavar="N", group=_SAVE, help="save every N iterations")
    snapshot_every: int = option(0, metavar="N", group=_SAVE, default_help="0 = never",
                                 help="keep a copy of the model in snapshots/<iteration>/ every N iterations")
    preview_every: int = option(250, type=positive_int, metavar="N", group=_SAVE,
                                help="write previews/latest.jpg every N iterations")
    timelapse: str | None = option(None, nargs="?", const="4", metavar="FOLDER_OR_COUNT", group=_SAVE, default_help="off",
                                   help="also write timelapse/<iteration>.jpg at each preview: of COUNT held-out faces "
                                        "per person (4 when given without a value), or of the face PNGs in FOLDER "
                                        "shown as A and as B")
    eval_every: int = option(250, type=positive_int, metavar="N", group=_SAVE,
                             help="validation loss and identity similarity of held-out swaps every N iterations")
    log_every: int = option(50, type=positive_int, metavar="N", group=_SAVE, help="a console line every N iterations")
    resume: bool = option(True, negatable=True, group=_SAVE, default_help="on",
                          help="continue the model in the folder; --no-resume starts over and replaces it at the first save")
    tensorboard: bool = option(True, group=_SAVE, help="do not write TensorBoard logs")
    quality: bool = option(True, group=_SAVE,  # the SFace identity signal at each --eval-every
                           help="skip the SFace identity similarity at --eval-every (validation loss only)")
    compile: bool = option(False, group=_PERF, default_help="",
                           help="torch.compile the model (falls back to eager with a warning)")
    distributed: bool = option(False, group=_PERF, default_help="",
                               help="DistributedDataParallel across the processes of a torchrun job")

    def __post_init__(self) -> None:
        self.faces_a, self.faces_b, self.model_dir = Path(self.faces_a), Path(self.faces_b), Path(self.model_dir)
        self.options = dict(self.options or {})
        self.validate()

    def validate(self) -> None:
        def positive(name: str, value, allow_zero: bool = False) -> None:
            ok = value >= 0 if allow_zero else value > 0
            if not ok or (isinstance(value, float) and not math.isfinite(value)):
                bound = ">= 0" if allow_zero else "> 0"
                raise TwofaceError(f"--{name.replace('_', '-')} must be {bound}, got {value}")

        positive("batch_size", self.batch_size)
        if self.iterations is not None:
            positive("iterations", self.iterations)
        if self.minutes is not None:
            positive("minutes", self.minutes)
        if self.lr is not None:
            positive("lr", self.lr)
        for name in ("warmup", "snapshot_every"):
            positive(name, getattr(self, name), allow_zero=True)
        for name in ("save_every", "preview_every", "eval_every", "log_every"):
            positive(name, getattr(self, name))
        for name in ("eye_multiplier", "mouth_multiplier", "gan_weight", "identity_weight", "perceptual_weight"):
            positive(name, getattr(self, name), allow_zero=True)
        if not 0 <= self.holdout < 0.5:
            raise TwofaceError(f"--holdout must be in [0, 0.5), got {self.holdout}")
        if self.lr_schedule not in SCHEDULES:
            raise TwofaceError(f"--lr-schedule must be one of {', '.join(SCHEDULES)}, got {self.lr_schedule!r}")
        if self.lr_schedule == "cosine" and self.iterations is None and self.minutes is None:
            raise TwofaceError("--lr-schedule cosine decays over the budget: give --iterations or --minutes")
        if self.lr_schedule == "cosine" and self.distributed and self.iterations is None:
            # each process has its own clock; ranks must agree on the rate, so count iterations
            raise TwofaceError("--lr-schedule cosine with --distributed needs --iterations (not only --minutes)")
        if self.clip not in CLIP_MODES:
            raise TwofaceError(f"--clip must be one of {', '.join(CLIP_MODES)}, got {self.clip!r}")
        if self.faces_a.resolve() == self.faces_b.resolve():
            raise TwofaceError(f"--faces-a and --faces-b are the same folder ({self.faces_a}); "
                               "train needs two different people")

    def to_json(self) -> dict:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


def option_names() -> list[str]:
    return [f.name for f in fields(TrainOptions)]


def parse_option(text: str) -> tuple[str, object]:
    """``key=value`` for --option; the value is read as JSON when it parses (numbers, true, lists)."""
    key, sep, value = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key:
        raise TwofaceError(f"--option expects key=value, got {text!r}")
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return key, parsed
