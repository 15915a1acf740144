"""Every convert option in one record, shared by the Python API and the CLI.

Why one dataclass: ``twoface.convert.convert(...)`` and ``twoface convert ...``
must accept the same options with the same defaults, and validation (with
messages that name the flag) happens once, before any frame is decoded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import TwofaceError
from ..faces.analyze import FaceOptions
from ..media.x264 import DEFAULT_PRESET, DEFAULT_QUALITY, X264_PRESETS
from ..options import RuntimeOptions, option, percent
from .blend import MASK_KINDS, MaskOptions
from .color import COLOR_MATCHERS
from .sharpen import SHARPENERS

DIRECTIONS = {"a2b": "b", "b2a": "a"}  # direction -> the decoder side that renders the output
WRITERS = ("video", "images", "gif")
IMAGE_FORMATS = ("png", "jpg", "tif", "exr")
ENGINES = ("torch", "onnx")  # onnx: an exported model (`twoface export`) run by onnxruntime, no torch needed




@dataclass
class ConvertOptions(FaceOptions, RuntimeOptions):
    """How to convert. The face-finding fields (detector, min_size, max_faces, rotate,
    score_threshold, filter, exclude, threshold) come from ``faces.analyze.FaceOptions``:
    the same knobs as ``twoface extract``, used when there is no store.
    """

    direction: str = option("a2b", choices=tuple(DIRECTIONS), default_help="a2b",
                            help="a2b: faces of person A become B; b2a: B becomes A")
    mask: str = option("extended", choices=MASK_KINDS, group="mask",
                       help="blend mask: extended (face up to the forehead), components (brows to chin), "
                            "predicted (the model's learned mask), none (the whole crop)")
    erode: float = option(0.0, type=percent, metavar="PCT", group="mask", default_help="0",
                          help="shrink the mask by PCT % of the face crop; negative grows it")
    blur: float = option(5.0, type=percent, metavar="PCT", group="mask", default_help="5",
                         help="soften the mask edge with a Gaussian kernel of PCT % of the crop")
    blur_passes: int = option(1, metavar="N", group="mask", help="how many times to blur")
    # avg (a mean shift, faceswap's avg-color default): match-hist stretched a soft swap's histogram
    # onto the sharp original's, darkening eye sockets and flickering frame to frame (bench/quality.py:
    # jitter ratio 3.02 -> 1.92, pose error 3.06 -> 2.70 deg on the same model; issue 14)
    color: str = option("avg", choices=tuple(COLOR_MATCHERS), group="colour and detail",
                        help="match the swapped face's colours to the original: avg (mean shift), match-hist "
                             "(histograms; can darken the eyes of a soft swap and flicker), color-transfer "
                             "(Reinhard, LAB), seamless (Poisson cloning), none")
    sharpen: str = option("none", choices=tuple(SHARPENERS), group="colour and detail",
                          help="sharpen the swapped face after warping it back")
    sharpen_amount: float = option(1.0, group="colour and detail", help="strength of sharpening")
    sharpen_radius: float = option(1.0, metavar="PX", group="colour and detail", help="sharpening radius in output pixels")
    smooth: bool | None = option(None, negatable=True, group="colour and detail", default_help="on for video",
                                 help="smooth face positions over time so the swap does not jitter")
    smooth_cutoff: float = option(1.0, cli=False, help="One-Euro filter: minimum cutoff frequency (Hz)")
    smooth_beta: float = option(3.0, cli=False, help="One-Euro filter: how fast the cutoff rises with speed")
    frames: str | None = option(None, metavar="RANGES", group="selection", default_help="all",
                                help="convert only these frames, e.g. 10-200,300- (others pass through); "
                                     "frame numbers for a numbered sequence")
    keep_unchanged: bool | None = option(None, negatable=True, group="selection",
                                         default_help="on, except for image-folder output of a video "
                                                      "or an unnumbered folder",
                                         help="write frames without a swapped face as they are; "
                                              "--no-keep-unchanged leaves them out")
    writer: str | None = option(None, choices=WRITERS, group="output",
                                default_help="from the output's suffix; a name without suffix is a folder",
                                help="output kind")
    image_format: str | None = option(None, choices=IMAGE_FORMATS, group="output",
                                      default_help="the input sequence's format, else png",
                                      help="for image output; 16-bit PNG/TIFF and float EXR inputs are written "
                                           "back at their depth")
    reference_video: str | None = option(None, metavar="FILE", group="output",
                                         help="for a numbered frame sequence: the video it was dumped from; a video "
                                              "output takes its frame rate, timestamps and audio (copied bit-exact), "
                                              "frames matched by number")
    scale: float = option(1.0, group="output", help="resize output frames by this factor")
    quality: int = option(DEFAULT_QUALITY, metavar="CRF", group="output",
                          help="H.264 quality, lower is better, 0-51")
    preset: str = option(DEFAULT_PRESET, choices=X264_PRESETS, group="output",
                         help="x264 speed/size trade-off; slower presets make smaller files")
    overwrite: bool = option(False, group="output", default_help="", help="replace an existing output")
    batch_size: int = option(16, group="speed", help="faces per model batch")
    engine: str = option("torch", choices=ENGINES, group="runtime",
                         help="torch: run the model folder with torch; onnx: run an .onnx file from `twoface "
                              "export` with onnxruntime, no torch needed (--device/--precision then do not apply)")
    workers: int | None = option(None, group="speed", default_help="2", help="face-finding threads when there is no store")

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
        choice("engine", self.engine, ENGINES)
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
