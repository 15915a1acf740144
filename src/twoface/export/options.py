"""Every export option in one record, shared by ``twoface.export.export`` and ``twoface export``."""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import TwofaceError
from ..options import option
from .framing import DFL_DEFAULT_COVERAGE

FORMATS = ("onnx", "dfm")
DIRECTIONS = {"a2b": "b", "b2a": "a"}  # direction -> the decoder side that renders the output
SUFFIXES = {"onnx": ".onnx", "dfm": ".dfm"}
FP32_TOLERANCE = 1e-3  # max abs difference onnxruntime vs torch, values in [0, 1]
FP16_TOLERANCE = 2e-2  # fp16 export vs the fp32 torch model (measured about 1e-3; see README)


def coverage_or_model(text: str) -> float | str:
    """--dfm-coverage: a number, or 'model'."""
    if text.strip().lower() == "model":
        return "model"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'model', got {text!r}") from None


@dataclass
class ExportOptions:
    """How to export. The DFM fields describe DeepFaceLive's face aligner the DFM will be fed by."""

    format: str | None = option(None, choices=FORMATS, default_help="from the output's suffix",
                                help="onnx (a plain graph) or dfm (DeepFaceLive)")
    direction: str = option("a2b", choices=tuple(DIRECTIONS),
                            help="a2b: the graph turns faces of A into B; b2a: B into A")
    fp16: bool = option(False, help="store weights and compute in float16 (about half the size; inputs and "
                                    "outputs stay float32)")
    overwrite: bool = option(False, default_help="", help="replace an existing output file")
    check_faces: str | None = option(None, metavar="FOLDER", group="self-check",
                                     default_help="the model's training faces of the source side",
                                     help="face PNGs to check the export on")
    check_count: int = option(8, metavar="N", group="self-check", help="how many faces to check on")
    dfm_coverage: float | str = option(DFL_DEFAULT_COVERAGE, type=coverage_or_model, metavar="K",
                                       group="dfm framing (DeepFaceLive's face aligner)",
                                       default_help=f"{DFL_DEFAULT_COVERAGE}, DeepFaceLive's default",
                                       help="the face coverage DeepFaceLive will crop at; 'model' feeds the "
                                            "model's own crop and prints the aligner settings that cut it")
    dfm_x_offset: float = option(0.0, metavar="X", group="dfm framing (DeepFaceLive's face aligner)",
                                 help="DeepFaceLive's aligner X offset")
    dfm_y_offset: float = option(0.0, metavar="Y", group="dfm framing (DeepFaceLive's face aligner)",
                                 help="DeepFaceLive's aligner Y offset")

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise TwofaceError(f"--direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}")
        if self.format is not None and self.format not in FORMATS:
            raise TwofaceError(f"--format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if isinstance(self.check_count, bool) or not isinstance(self.check_count, int) \
                or not 1 <= self.check_count <= 256:
            raise TwofaceError(f"--check-count must be a whole number from 1 to 256, got {self.check_count!r}")
        if isinstance(self.dfm_coverage, str) and self.dfm_coverage.strip().lower() == "model":
            self.dfm_coverage = "model"
        else:
            try:
                value = float(self.dfm_coverage)
            except (TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value) or not 0.5 <= value <= 6.0:
                raise TwofaceError(f"--dfm-coverage must be a number from 0.5 to 6 (DeepFaceLive's face coverage) "
                                   f"or 'model', got {self.dfm_coverage!r}")
            self.dfm_coverage = value
        for flag, value in (("dfm-x-offset", self.dfm_x_offset), ("dfm-y-offset", self.dfm_y_offset)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or abs(value) > 1:
                raise TwofaceError(f"--{flag} must be a number from -1 to 1, got {value!r}")

    @property
    def side(self) -> str:
        return DIRECTIONS[self.direction]

    def format_for(self, output: Path) -> str:
        """The format asked for, else the one the output's suffix names; refuses a mismatch."""
        suffix = output.suffix.lower()
        fmt = self.format or ("dfm" if suffix == ".dfm" else "onnx")
        if suffix != SUFFIXES[fmt]:
            raise TwofaceError(f"{output}: a {fmt} export is named *{SUFFIXES[fmt]} "
                               f"({'DeepFaceLive looks for .dfm files' if fmt == 'dfm' else 'the ONNX suffix'}); "
                               f"rename the output or pass --format")
        return fmt
