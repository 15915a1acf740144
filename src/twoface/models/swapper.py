"""A model folder run on faces, as convert, evaluate and export use it: aligned crops in, faces out.

Why a wrapper: the model speaks torch (N×3×S×S RGB in [0, 1]) while the rest of
the pipeline speaks OpenCV (uint8 BGR H×W×3); this is the one place that converts,
runs under the runtime's autocast, and reads the training framing (crop size
and coverage) from config.json so crops match what the model learned.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ModelError
from .base import SwapModel
from .framing import Framing


def model_framing(model: SwapModel, config: dict) -> Framing:
    """The crop size and coverage the model was trained with (old configs kept coverage at the top)."""
    from ..faces.align import DEFAULT_COVERAGE

    faces = config.get("faces") or {}
    coverage = faces.get("coverage", config.get("coverage", DEFAULT_COVERAGE))
    return Framing(int(model.input_size), int(model.output_size), float(coverage), bool(model.learn_mask))


class Swapper:
    """Runs a twoface model on batches of aligned crops."""

    def __init__(self, model_dir: str | Path, runtime: Any):
        from .folder import load_model, read_config, refuse_prior

        model_dir = Path(model_dir)
        if not model_dir.exists():
            raise ModelError("no such model folder", model_dir)
        if model_dir.is_dir():
            refuse_prior(read_config(model_dir), model_dir)
        self.model, self.config = load_model(model_dir, runtime)
        self.runtime = runtime
        self.framing = model_framing(self.model, self.config)
        self.model_dir = model_dir

    @torch.inference_mode()
    def __call__(self, crops: list[np.ndarray], side: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Render ``crops`` (uint8 BGR, input size) as identity ``side``.

        Returns float32 BGR faces (N, out, out, 3) in [0, 1], and the learned
        masks (N, out, out) when the model has a mask channel, else None.
        """
        batch = np.stack(crops)[..., ::-1]  # BGR -> RGB
        x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255.0)
        x = self.runtime.tensor(x)
        with self.runtime.autocast():
            y = self.model(x, side)
        y = y.float().clamp_(0.0, 1.0).permute(0, 2, 3, 1).contiguous().cpu().numpy()
        faces = np.ascontiguousarray(y[..., 2::-1])  # RGB -> BGR
        masks = np.ascontiguousarray(y[..., 3]) if y.shape[-1] > 3 else None
        return faces, masks
