"""Every convert option in one record, shared by the Python API and the CLI.

Why one dataclass: ``twoface.convert.convert(...)`` and ``twoface convert ...``
must accept the same options with the same defaults, and validation (with
messages that name the flag) happens once, before any frame is decoded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import TwofaceError
from .blend import MASK_KINDS, MaskOptions
from .color import COLOR_MATCHERS
from .sharpen import SHARPENERS

DIRECTIONS = {"a2b": "b", "b2a": "a"}  # direction -> the decoder side that renders the output
WRITERS = ("video", "images", "gif")
IMAGE_FORMATS = ("png", "jpg", "tif", "exr")


X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass
class ConvertOptions:
    direction: str = "a2b"
    mask: str = "extended"
    erode: float = 0.0
    blur: float = 5.0
    blur_passes: int = 1
    color: str = "match-hist"
    sharpen: str = "none"
    sharpen_amount: float = 1.0
    sharpen_radius: float = 1.0
    smooth: bool | None = None  # None: on for video, off for images
    smooth_cutoff: float = 1.0
    smooth_beta: float = 3.0
    filter: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    threshold: float = 0.4
    frames: str | None = None
    keep_unchanged: bool | None = None  # None: skip for image-folder output, keep otherwise
    scale: float = 1.0
    writer: str | None = None  # None: from the input and the output's suffix
    image_format: str | None = None  # None: an input sequence's own format, else png
    quality: int = 18  # H.264 CRF (lower is better)
    preset: str = "superfast"  # x264 speed/size trade-off; superfast keeps 720p conversion above 25 fps on 2 cores
    batch_size: int = 16
    overwrite: bool = False
    reference_video: str | None = None  # the video a frame sequence came from: its timing and audio
    device: str = "auto"
    precision: str = "auto"
    # on-the-fly extraction (no store): the same knobs as `twoface extract`
    detector: str = "yunet"
    min_size: int = 0
    max_faces: int | None = None
    rotate: list[int] = field(default_factory=list)
    score_threshold: float | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        self.filter = [str(p) for p in self.filter or []]
        self.exclude = [str(p) for p in self.exclude or []]
        self.rotate = list(self.rotate or [])
        if self.image_format is not None:
            self.image_format = {"jpeg": "jpg", "tiff": "tif"}.get(self.image_format, self.image_format)
        if self.reference_video is not None:
            self.reference_video = str(self.reference_video)
        self.validate()

    @property
    def side(self) -> str:
        return DIRECTIONS[self.direction]

    @property
    def mask_options(self) -> MaskOptions:
        return MaskOptions(kind=self.mask, erode=self.erode, blur=self.blur, blur_passes=self.blur_passes)

    def validate(self) -> None:
        def choice(flag: str, value, allowed) -> None:
            if value not in allowed:
                raise TwofaceError(f"--{flag} must be one of {', '.join(allowed)}, got {value!r}")

        def number(flag: str, value, lo=None, hi=None, lo_open=False) -> None:
            bad = not isinstance(value, (int, float)) or not math.isfinite(value)
            bad = bad or (lo is not None and (value <= lo if lo_open else value < lo))
            bad = bad or (hi is not None and value > hi)
            if bad:
                rng = f"{'>' if lo_open else '>='} {lo}" if lo is not None else ""
                rng += f"{' and ' if rng and hi is not None else ''}{f'<= {hi}' if hi is not None else ''}"
                raise TwofaceError(f"--{flag} must be a number {rng}, got {value!r}")

        choice("direction", self.direction, tuple(DIRECTIONS))
        choice("mask", self.mask, MASK_KINDS)
        choice("color", self.color, tuple(COLOR_MATCHERS))
        choice("sharpen", self.sharpen, tuple(SHARPENERS))
        if self.writer is not None:
            choice("writer", self.writer, WRITERS)
        if self.image_format is not None:
            choice("image-format", self.image_format, IMAGE_FORMATS)
        number("erode", self.erode, -50, 50)
        number("blur", self.blur, 0, 100)
        number("blur-passes", self.blur_passes, 0, 20)
        number("sharpen-amount", self.sharpen_amount, 0, 10)
        number("sharpen-radius", self.sharpen_radius, 0, 100, lo_open=True)
        number("scale", self.scale, 0, 8, lo_open=True)
        number("threshold", self.threshold, -1, 1)
        number("quality", self.quality, 0, 51)
        if self.preset not in X264_PRESETS:
            raise TwofaceError(f"--preset must be one of {', '.join(X264_PRESETS)}, got {self.preset!r}")
        number("batch-size", self.batch_size, 1, 4096)
        if int(self.batch_size) != self.batch_size:
            raise TwofaceError(f"--batch-size must be a whole number, got {self.batch_size}")
        if self.frames is not None:
            parse_frames(self.frames)


@dataclass(frozen=True)
class FrameSelection:
    """Which frame indices to convert: inclusive ranges, open ends allowed."""

    ranges: tuple[tuple[int, int | None], ...] = ()

    def __contains__(self, index: int) -> bool:
        if not self.ranges:
            return True
        return any(lo <= index and (hi is None or index <= hi) for lo, hi in self.ranges)


def parse_frames(text: str | None) -> FrameSelection:
    """``"10-200,300-"`` -> frames 10..200 and 300 to the end; ``"42"`` -> frame 42 alone."""
    if text is None or not text.strip():
        return FrameSelection()
    ranges = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part:
                lo_s, hi_s = part.split("-", 1)
                lo = int(lo_s) if lo_s else 0
                hi = int(hi_s) if hi_s else None
            else:
                lo = hi = int(part)
        except ValueError:
            raise TwofaceError(f"--frames: cannot read {part!r}; write ranges like 10-200,300-") from None
        if lo < 0 or (hi is not None and hi < lo):
            raise TwofaceError(f"--frames: {part!r} is not a valid range (first <= last, both >= 0)")
        ranges.append((lo, hi))
    return FrameSelection(tuple(ranges))
