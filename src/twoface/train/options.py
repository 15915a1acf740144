"""Every training option in one record, shared by the Python API and the CLI.

Why one dataclass: ``twoface.train.train(...)`` and ``twoface train ...`` must accept the
same options with the same defaults, and the web UI will fill the same record. Validation
happens here once, with messages that name the flag.
"""
from __future__ import annotations

import json
import math
from dataclasses import InitVar, asdict, dataclass, field, fields
from pathlib import Path
from typing import ClassVar

from ..errors import TwofaceError
from ..options import RuntimeOptions, option, positive_int

DEFAULT_ARCH = "original"
CLIP_MODES = ("none", "norm", "autoclip")
BALANCE_KINDS = ("none", "expression", "pose")  # data.balance.BALANCE_KINDS, repeated so options stay torch-free
INIT_PARTS = ("encoder", "all")  # what --init-from copies (models.transfer.PARTS)
SCHEDULES = ("constant", "cosine")  # of the learning rate after the warmup (train.optim.Warmup)
# Bundles of settings measured on bench/quality.py. A preset fills in only the options the caller did
# not give (a flag typed, a keyword of train()); "arch" applies to a new model only.
PRESETS: dict[str, dict] = {
    # a short run on a CPU: at 367 iterations (batch 16) of lightweight, validation loss 0.30 -> 0.23 and
    # pose error 1.45 -> 1.19 deg against faceswap's constant 5e-5 (issue 15); the cosine needs a budget
    # --balance expression on top: A->B retrieval 67 % -> 100 %, verification 29 % -> 58 %
    # --warp-stop on top (from a GRID prior; README, fifth and sixth sessions): 0.6 sharpened every budget measured;
    # 0.3 against 0.6: pose 1.22 -> 0.87 deg and verification A->B 50 -> 75 % at 367 iterations, level at 734
    # batch 8: at 734 iterations the same verification (96 %) and sharpness as batch 16 for 55 % of its CPU-s; the
    # 10-minute demo went from 558 to ~1,000 iterations and verification 42/81 % to 100/100 % (pose 1.0 -> 1.5 deg)
    # --true-face 0.1 on top (the cpu model on an fp32 CPU, twelfth session): swap sharpness 0.42 / 0.26 -> 0.49 / 0.33
    # and pose 1.89 -> 1.34 deg at 30 minutes, 0.28 / 0.23 -> 0.32 / 0.29 at 10 (eleventh), for 2-3 % of the rate
    "cpu": {"arch": "lightweight", "lr": 5e-4, "warmup": 20, "lr_schedule": "cosine", "balance": "expression",
            "warp_stop": 0.3, "batch_size": 8, "true_face": 0.1},
}
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

    KIND: ClassVar[str] = "pair"  # what the model folder holds (config.json "kind")
    PRESET_OMITS: ClassVar[frozenset[str]] = frozenset()  # preset settings this kind of training has no use for

    faces_a: Path = option(help="face PNGs of person A", cli=False)
    faces_b: Path = option(help="face PNGs of person B", cli=False)
    model_dir: Path = option(help="the model folder", cli=False)
    arch: str | None = option(None, group=_MODEL,  # None: the model folder's arch when resuming, else "original"
                              help="architecture: original, lightweight, iae, dfaker, villain, realface, dlight, custom, "
                                   "cpu (made for training on a few CPU cores: a third of lightweight's FLOPs; the one "
                                   "to use on a CPU without bf16 units, where it swapped in 10 minutes and lightweight "
                                   "did not; --option size=128 for 128 px)",
                              default_help="original, or the model folder's when resuming")
    options: dict = option(default_factory=dict, cli=False, help="architecture options (--option key=value)")
    preset: str | None = option(None, choices=tuple(PRESETS), group=_MODEL, default_help="none",
                                help="settings measured for a purpose; cpu = lightweight, lr 5e-4 with a 20-iteration "
                                     "warmup and a cosine decay over --minutes/--iterations, --balance expression, "
                                     "--warp-stop 0.3, batch 8, --true-face 0.1 (for an evening on a CPU; add "
                                     "--arch cpu on a CPU without bf16 units)")
    learn_mask: bool = option(False, group=_MODEL, help="the model also learns a face mask channel")
    gan: bool = option(False, group=_MODEL, help="add an adversarial loss from a patch discriminator per side")
    gan_weight: float = option(0.1, group=_MODEL, help="weight of the adversarial loss")
    gan_swaps: bool = option(False, group=_MODEL,
                             help="with --gan: the discriminators also judge the swaps (A drawn by B's decoder, B by "
                                  "A's: the faces convert shows), which no pixel loss reaches; off, they judge the "
                                  "reconstructions only (faceswap-GAN's way)")
    gan_start: float = option(0.0, metavar="SHARE", group=_MODEL, default_help="0 = from the first step",
                              help="with --gan: the share of the budget (--iterations or --minutes) trained before the "
                                   "adversarial loss and its discriminators start, so they sharpen a face already "
                                   "learnt (DeepFaceLab's and faceswap-GAN's late GAN) and cost nothing before")
    true_face: float = option(0.0, metavar="WEIGHT", group=_MODEL, default_help="0 = off",
                              help="weight of a code discriminator's loss (DeepFaceLab's true face power): a small "
                                   "discriminator learns whose face each code is and the encoder learns to leave it "
                                   "guessing, so that each decoder has seen codes like the other person's, which are "
                                   "what it draws in a swap")
    init_from: str | None = option(None, metavar="MODEL", group=_MODEL, default_help="a random start",
                                   help="start a new model from the weights of MODEL (a model folder, or a prior from "
                                        "`twoface pretrain`); --arch and its options default to MODEL's")
    init_parts: str = option("encoder", choices=INIT_PARTS, group=_MODEL,
                             help="with --init-from: the encoder only, or all (the decoders too; a prior's one "
                                  "decoder starts both)")
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
                                         "a decode and an SFace pass per side and step. Measured at 0.3 from the first step "
                                         "(bench/quality.py): the swaps became colour patterns that SFace and the "
                                         "judge accept as the person; look at the previews")
    perceptual_weight: float = option(0.0, group=_LOSS, default_help="0 = off",
                                      help="weight of a perceptual loss: distance between SFace feature maps of each "
                                           "reconstruction and its target")
    identity_start: float = option(0.0, metavar="SHARE", group=_LOSS, default_help="0 = from the first step",
                                   help="with --identity-weight: the share of the budget (--iterations or --minutes) "
                                        "trained before the identity loss starts, once the decoders draw faces")
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
    balance: str = option("none", choices=BALANCE_KINDS, group=_DATA,
                          help="draw faces so that each kind of expression (blendshape clusters) or pose "
                               "(10-degree bins) comes up about equally often, not the person's most frequent look")
    warp_stop: float = option(0.0, metavar="SHARE", group=_DATA, default_help="0 = warp to the end",
                              help="the share of the budget (--iterations or --minutes) after which the random "
                                   "warp stops, so that the last steps learn the detail the warp hides "
                                   "(DeepFaceLab's random_warp off late)")
    warp_strength: float = option(1.0, group=_DATA,
                                  help="size of the random warp: 1 is faceswap's; less keeps more of the source's "
                                       "expression, more pushes the swap further from the source's identity")
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

    # the options the caller gave (train() passes its keywords, the CLI the flags typed): the preset fills
    # the others. None (a record made by hand, the web form's non-default values): those at their defaults.
    explicit: InitVar[frozenset[str] | None] = None

    def __post_init__(self, explicit: frozenset[str] | None = None) -> None:
        self.faces_a, self.faces_b, self.model_dir = Path(self.faces_a), Path(self.faces_b), Path(self.model_dir)
        self.options = dict(self.options or {})
        self.apply_preset(explicit)
        self.validate()

    def apply_preset(self, explicit: frozenset[str] | None = None) -> None:
        """Fill the options the caller did not give from the preset (``arch`` is kept for a new model)."""
        if self.preset is None:
            return
        if self.preset not in PRESETS:
            raise TwofaceError(f"--preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        defaults = {f.name: f.default for f in fields(self)}
        for name, value in PRESETS[self.preset].items():
            if name == "arch":
                continue  # train.session.model_choice uses it when the folder holds no model yet
            if name in self.PRESET_OMITS:
                continue
            if name in ("lr_schedule", "warp_stop") and self.iterations is None and self.minutes is None:
                continue  # a decay (a late phase) needs a budget; run until Ctrl-C keeps the rate (and the warp)
            if name == "warp_stop" and not self.warp:
                continue  # --no-warp: nothing to stop
            left = name not in explicit if explicit is not None else getattr(self, name) == defaults[name]
            if left:
                setattr(self, name, value)

    def preset_arch(self) -> str | None:
        return PRESETS[self.preset].get("arch") if self.preset else None

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
        for name in ("eye_multiplier", "mouth_multiplier", "gan_weight", "warp_strength", "identity_weight",
                     "perceptual_weight", "true_face"):
            positive(name, getattr(self, name), allow_zero=True)
        if self.gan_swaps and not self.gan:
            raise TwofaceError("--gan-swaps says what the discriminators of --gan judge; give --gan too")
        if self.warp_stop and not self.warp:
            raise TwofaceError("--warp-stop stops the random warp late, and --no-warp turns it off: give one")
        for name, phase in (("gan_start", "gan"), ("identity_start", "identity_weight"), ("warp_stop", "warp")):
            share = getattr(self, name)
            flag, needs = ("--" + n.replace("_", "-") for n in (name, phase))
            if not 0 <= share < 1:
                raise TwofaceError(f"{flag} is a share of the budget in [0, 1), got {share}")
            if share and not getattr(self, phase):
                raise TwofaceError(f"{flag} starts {needs} late; give {needs} too")
            if share and self.iterations is None and self.minutes is None:
                raise TwofaceError(f"{flag} is a share of the budget: give --iterations or --minutes")
            if share and self.distributed and self.iterations is None:
                raise TwofaceError(f"{flag} with --distributed needs --iterations (ranks must agree on when it starts)")
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
        if self.init_parts not in INIT_PARTS:
            raise TwofaceError(f"--init-parts must be one of {', '.join(INIT_PARTS)}, got {self.init_parts!r}")
        self.check_faces()

    def check_faces(self) -> None:
        if self.faces_a.resolve() == self.faces_b.resolve():
            raise TwofaceError(f"--faces-a and --faces-b are the same folder ({self.faces_a}); "
                               "train needs two different people")

    def to_json(self) -> dict:
        def plain(v):
            return str(v) if isinstance(v, Path) else [plain(x) for x in v] if isinstance(v, list) else v

        return {k: plain(v) for k, v in asdict(self).items()}


@dataclass
class PretrainOptions(TrainOptions):
    """``twoface pretrain``: every training knob, on one pool of face folders instead of two people.

    Why a subclass: a prior is trained by the same loop, losses and augmentation as a pair
    (``train.trainer``), so it takes the same options with the same defaults; only the faces
    differ (any number of folders, pooled) and the identity signal, which needs two people, is off.
    """

    KIND: ClassVar[str] = "prior"
    PRESET_OMITS: ClassVar[frozenset[str]] = frozenset({"true_face"})  # one pool: no two people to tell apart
    faces_a: Path = field(default=Path(), init=False)  # unused: a prior has one pool of faces
    faces_b: Path = field(default=Path(), init=False)
    init_from: str | None = option(None, cli=False, help="unused: a prior starts from random weights")
    init_parts: str = option("encoder", cli=False, help="unused")
    quality: bool = option(False, cli=False, help="no identity signal: a prior swaps nobody")
    identity_weight: float = option(0.0, cli=False, help="unused: a prior swaps nobody")
    identity_start: float = option(0.0, cli=False, help="unused: a prior has no identity loss")
    true_face: float = option(0.0, cli=False, help="unused: a prior has no two people to tell apart")
    faces: list[Path] = option(default_factory=list, cli=False, help="face folders of many people, pooled")

    def __post_init__(self, explicit: frozenset[str] | None = None) -> None:
        self.faces = [Path(f) for f in self.faces]
        super().__post_init__(explicit)

    def check_faces(self) -> None:
        if not self.faces:
            raise TwofaceError("pretrain needs at least one face folder")
        seen: dict[Path, Path] = {}
        for folder in self.faces:
            if folder.resolve() in seen:
                raise TwofaceError(f"the face folder {folder} is given twice")
            seen[folder.resolve()] = folder
        if self.init_from is not None:
            raise TwofaceError("a prior starts from random weights (--init-from is for `twoface train`)")
        if self.quality:
            raise TwofaceError("a prior has no identity signal (quality needs two people)")
        if self.identity_weight:
            raise TwofaceError("a prior has no identity loss (--identity-weight needs two people)")
        if self.true_face:
            raise TwofaceError("a prior has no two people to tell apart (--true-face needs two people)")


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
