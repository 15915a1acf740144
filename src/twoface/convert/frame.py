"""One frame's swap, split at the model: ``prepare`` before inference, ``finish`` after.

Why split: the pipeline batches faces of several frames for the model, so the
work before (alignment, crop, base mask) and after (mask shaping, colour,
sharpen, paste) each runs on its own thread, in parallel with inference.

Geometry: the 478 landmarks give the frame->aligned similarity at the model's
input size and training coverage (``align.align_matrix``); with smoothing, the
transform is filtered over time first. The output-size matrix is the same
transform scaled, so the model's output lands exactly where its input came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..faces import align
from ..faces.masks import mask_polygons, render_mask
from ..models.framing import Framing
from .blend import paste, shape_mask
from .color import get_color_matcher
from .deep import paste_deep
from .faces import FoundFace
from .options import ConvertOptions


@dataclass
class FaceJob:
    """One face on its way through the model."""

    crop: np.ndarray  # uint8 BGR, input size
    m_out: np.ndarray  # 2x3 frame -> aligned at output size
    mask: np.ndarray | None  # float32 base mask at output size (None for --mask predicted)
    face: np.ndarray | None = None  # float32 BGR output (filled after inference)
    learned_mask: np.ndarray | None = None


@dataclass
class FrameJob:
    """A frame and its faces; ``convert`` is False for frames passed through untouched."""

    index: int
    time: float
    name: str | None
    image: np.ndarray
    faces: list[FaceJob] = field(default_factory=list)
    convert: bool = False
    deep: np.ndarray | None = None  # the frame's own pixels above 8 bits (uint16/float32), pasted into instead


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """Output frame size for ``--scale``: even sides (H.264's yuv420p needs them), at least 2 px."""
    if scale == 1.0:
        return width, height
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def base_mask(points_aligned: np.ndarray, kind: str, size: int) -> np.ndarray | None:
    """The face mask before shaping, in output-size aligned pixels; None for the learned one."""
    if kind == "predicted":
        return None
    if kind == "none":
        return np.ones((size, size), np.float32)
    return render_mask(mask_polygons(points_aligned, [kind])[kind], size)


def face_matrices(faces: list[FoundFace], framing: Framing) -> list[np.ndarray]:
    """frame -> aligned at the model's input size, for each face."""
    return [align.align_matrix(f.landmarks, framing.input_size, framing.coverage) for f in faces]


def prepare(image: np.ndarray, faces: list[FoundFace], matrices_in: list[np.ndarray], framing: Framing,
            opts: ConvertOptions) -> list[FaceJob]:
    """Crop each face for the model and build its base mask."""
    jobs = []
    k = framing.output_size / framing.input_size
    for f, m_in in zip(faces, matrices_in):
        m_out = np.asarray(m_in, np.float64) * k  # the same transform, scaled to the output crop
        crop = align.warp(image, m_in, framing.input_size)
        pts_out = align.transform_points(f.landmarks, m_out)
        jobs.append(FaceJob(crop, m_out, base_mask(pts_out, opts.mask, framing.output_size)))
    return jobs


class Finisher:
    """Mask shaping, colour matching, sharpening and pasting of a frame's swapped faces."""

    def __init__(self, opts: ConvertOptions, framing: Framing):
        self.opts = opts
        self.framing = framing
        self.mask_opts = opts.mask_options
        self.color = get_color_matcher(opts.color)

    @staticmethod
    def _original(fj: FaceJob, size: int) -> np.ndarray:
        """The face being replaced, at output size: the model's input crop is that face already
        (same transform, scaled), so it is reused rather than warped out of the frame again."""
        crop = fj.crop
        if crop.shape[0] != size:
            crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if crop.shape[0] > size
                              else cv2.INTER_CUBIC)
        return crop.astype(np.float32) / 255.0

    def __call__(self, job: FrameJob) -> np.ndarray:
        image = job.image if job.deep is None else job.deep
        size = self.framing.output_size
        for fj in job.faces:
            if fj.face is None:
                continue
            raw = fj.learned_mask if fj.mask is None else fj.mask
            if raw is None:  # --mask predicted on a model without a mask channel (checked earlier)
                raw = np.ones((size, size), np.float32)
            mask = shape_mask(raw, self.mask_opts)
            original = self._original(fj, size)
            face = self.color(fj.face, original, mask)
            put = paste if job.deep is None else paste_deep
            put(image, face, mask, fj.m_out, seamless=self.opts.color == "seamless",
                  sharpen_method=self.opts.sharpen, sharpen_amount=self.opts.sharpen_amount,
                  sharpen_radius=self.opts.sharpen_radius)
        if self.opts.scale != 1.0:
            h, w = image.shape[:2]
            size_out = scaled_size(w, h, self.opts.scale)
            interp = cv2.INTER_AREA if self.opts.scale < 1 else cv2.INTER_CUBIC
            image = cv2.resize(image, size_out, interpolation=interp)
        return image
