"""How faces must be cropped for a model: the one record both engines (torch, onnx) give the pipeline.

Kept apart from the torch code so that the ONNX engine and the convert pipeline import it without torch.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Framing:
    """How faces must be cropped for this model."""

    input_size: int
    output_size: int
    coverage: float
    learn_mask: bool
