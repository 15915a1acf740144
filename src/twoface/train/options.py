"""Every training option in one record, shared by the Python API and the CLI.

Why one dataclass: ``twoface.train.train(...)`` and ``twoface train ...`` must accept the
same options with the same defaults, and the web UI will fill the same record. Validation
happens here once, with messages that name the flag.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..errors import TwofaceError

DEFAULT_ARCH = "original"
CLIP_MODES = ("none", "norm", "autoclip")


@dataclass
class TrainOptions:
    faces_a: Path
    faces_b: Path
    model_dir: Path
    arch: str | None = None  # None: the model folder's arch when resuming, else "original"
    options: dict = field(default_factory=dict)  # architecture options (--option key=value)
    batch_size: int = 16
    iterations: int | None = None
    minutes: float | None = None
    loss: str = "ssim:1,mse:1"
    optimizer: str = "adam"
    lr: float | None = None  # None: the optimizer's default (adam 5e-5)
    warmup: int = 0
    clip: str = "none"
    clip_value: float | None = None
    mask_loss: bool = False
    mask_penalty: float = 0.1
    learn_mask: bool = False
    eye_multiplier: float = 3.0
    mouth_multiplier: float = 2.0
    warp: bool = True
    warp_to_landmarks: bool = False
    flip: bool = True
    augment_color: bool = True
    holdout: float = 0.05
    gan: bool = False
    gan_weight: float = 0.1
    save_every: int = 250
    snapshot_every: int = 0
    preview_every: int = 250
    timelapse: str | None = None
    eval_every: int = 250
    log_every: int = 50
    seed: int | None = None
    compile: bool = False
    distributed: bool = False
    resume: bool = True
    device: str = "auto"
    precision: str = "auto"
    tensorboard: bool = True
    quality: bool = True  # the SFace identity signal at each --eval-every

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
        for name in ("eye_multiplier", "mouth_multiplier", "gan_weight"):
            positive(name, getattr(self, name), allow_zero=True)
        if not 0 <= self.holdout < 0.5:
            raise TwofaceError(f"--holdout must be in [0, 0.5), got {self.holdout}")
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
