"""Every export option in one record, shared by ``twoface.export.export`` and ``twoface export``."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import TwofaceError
from .framing import DFL_DEFAULT_COVERAGE

FORMATS = ("onnx", "dfm")
DIRECTIONS = {"a2b": "b", "b2a": "a"}  # direction -> the decoder side that renders the output
SUFFIXES = {"onnx": ".onnx", "dfm": ".dfm"}
FP32_TOLERANCE = 1e-3  # max abs difference onnxruntime vs torch, values in [0, 1]
FP16_TOLERANCE = 2e-2  # fp16 export vs the fp32 torch model (measured about 1e-3; see README)


@dataclass
class ExportOptions:
    format: str | None = None  # None: from the output's suffix (.dfm -> dfm, else onnx)
    direction: str = "a2b"
    fp16: bool = False
    check_faces: str | None = None  # a face folder for the self-check (default: the model's training faces)
    check_count: int = 8
    dfm_coverage: float | str = DFL_DEFAULT_COVERAGE  # DeepFaceLive's face coverage, or "model"
    dfm_x_offset: float = 0.0
    dfm_y_offset: float = 0.0
    overwrite: bool = False

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
