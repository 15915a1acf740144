"""Preview grids: what the model makes of a few fixed held-out faces, as one JPEG.

Columns: A, A→A, A→B, B, B→B, B→A, one row per pair of faces. The faces are fixed for the
whole run (the first held-out faces of each side), so two previews taken at different times
compare like with like; that is also what the timelapse frames are.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from ..fsutil import atomic_path

if TYPE_CHECKING:
    from ..device import Runtime
    from ..models.base import SwapModel

COLUMNS = ("A", "A->A", "A->B", "B", "B->B", "B->A")
PRIOR_COLUMNS = ("face", "rebuilt", "face", "rebuilt")
HEADER = 22
MIN_TILE = 128  # 64 px faces are shown at 128 so a preview is readable on a screen


def to_bgr(images: torch.Tensor, size: int) -> list[np.ndarray]:
    """N×C×H×W float RGB in [0, 1] (extra channels ignored) → list of size×size uint8 BGR."""
    rgb = images[:, :3].detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    out = []
    for img in rgb.permute(0, 2, 3, 1).cpu().numpy():
        bgr = np.ascontiguousarray(img[:, :, ::-1])
        if bgr.shape[0] != size:
            interp = cv2.INTER_AREA if bgr.shape[0] > size else cv2.INTER_CUBIC
            bgr = cv2.resize(bgr, (size, size), interpolation=interp)
        out.append(bgr)
    return out


def grid(columns: list[list[np.ndarray]], labels: tuple[str, ...] | list[str], size: int) -> np.ndarray:
    """Tile equal-length columns of size×size BGR images under a labelled header row."""
    rows = len(columns[0])
    canvas = np.full((HEADER + rows * size, len(columns) * size, 3), 24, np.uint8)
    for c, (col, label) in enumerate(zip(columns, labels)):
        cv2.putText(canvas, label, (c * size + 6, HEADER - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (235, 235, 235), 1, cv2.LINE_AA)
        for r, img in enumerate(col):
            canvas[HEADER + r * size:HEADER + (r + 1) * size, c * size:(c + 1) * size] = img
    return canvas


@torch.no_grad()
def render(model: SwapModel, faces_a: torch.Tensor, faces_b: torch.Tensor, runtime: Runtime, size: int | None = None) -> np.ndarray:
    """The A, A→A, A→B, B, B→B, B→A grid for two equal batches of uint8/float RGB faces.

    A prior (``model.generic``) has one decoder and swaps nobody: its grid is face, rebuilt,
    face, rebuilt, for the two batches side by side.
    """
    was_training = model.training
    model.eval()
    generic = bool(getattr(model, "generic", False))
    try:
        xa = _as_input(faces_a, model, runtime)
        xb = _as_input(faces_b, model, runtime)
        with runtime.autocast():
            outs = [model(xa, "a"), model(xb, "a")] if generic else \
                [model(xa, "a"), model(xa, "b"), model(xb, "b"), model(xb, "a")]
    finally:
        model.train(was_training)
    size = size or max(MIN_TILE, int(getattr(model, "output_size", faces_a.shape[-1])))
    if generic:
        rebuilt_a, rebuilt_b = (to_bgr(o, size) for o in outs)
        return grid([to_bgr(_unit(faces_a), size), rebuilt_a, to_bgr(_unit(faces_b), size), rebuilt_b],
                    PRIOR_COLUMNS, size)
    aa, ab, bb, ba = (to_bgr(o, size) for o in outs)
    columns = [to_bgr(_unit(faces_a), size), aa, ab, to_bgr(_unit(faces_b), size), bb, ba]
    return grid(columns, COLUMNS, size)


@torch.no_grad()
def render_both_ways(model: SwapModel, faces: torch.Tensor, runtime: Runtime, size: int | None = None) -> np.ndarray:
    """Input, as A, as B: for timelapse faces that belong to neither side's held-out set."""
    was_training = model.training
    model.eval()
    try:
        x = _as_input(faces, model, runtime)
        with runtime.autocast():
            as_a, as_b = model(x, "a"), model(x, "b")
    finally:
        model.train(was_training)
    size = size or max(MIN_TILE, int(getattr(model, "output_size", faces.shape[-1])))
    return grid([to_bgr(_unit(faces), size), to_bgr(as_a, size), to_bgr(as_b, size)], ("input", "as A", "as B"), size)


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(255) if x.dtype == torch.uint8 else x.float()


def _as_input(faces: torch.Tensor, model, runtime) -> torch.Tensor:
    """Faces at the model's input size, float in [0, 1], on the model's device and layout."""
    x = _unit(faces)
    size = int(getattr(model, "input_size", x.shape[-1]))
    if x.shape[-1] != size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="area" if x.shape[-1] > size else "bilinear",
                                            align_corners=None if x.shape[-1] > size else False)
    return runtime.tensor(x)


def write_jpeg(path: Path, bgr: np.ndarray, quality: int = 90) -> None:
    """Write a JPEG atomically (a viewer refreshing the file never sees half an image)."""
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())
