"""The live quality signal: does A→B look like B? Measured with SFace on held-out faces.

Losses say how well each decoder redraws its own person; they say nothing about the swap.
So every --eval-every iterations we render held-out A faces through B's decoder and ask the
SFace embedder how close each result is to B's identity centroid (the renormalised mean of
the ``identity`` embeddings stored in B's face metadata by ``twoface extract``), and the same
for B→A. The number climbs as the swap starts to carry the target's identity.

Two references, measured once on the same held-out faces through the same path, say what
the number means: real B faces against B's centroid (the ceiling: "as much B as B itself")
and real A faces against B's centroid (the floor: "not B at all").

Coverage: training crops usually show more of the head (coverage 0.75) than SFace's
ArcFace template (0.5). The embedder re-aligns every image from its landmarks
(``faces.align.identity_crop``), so a model output is embedded with the landmarks of the
face it was rendered from, scaled to the output size: the swap keeps pose and expression,
so those landmarks fit it. The crop needed lies inside the training crop, so no border is
invented.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import MissingDependency

if TYPE_CHECKING:
    from ..data import FaceSet
    from ..device import Runtime
    from ..faces.identity import Embedder
    from ..models.base import SwapModel

MAX_FACES = 24


def centroid(vectors: list) -> np.ndarray | None:
    """The renormalised mean of unit identity vectors; None when there are none."""
    rows = [np.asarray(v, np.float32) for v in vectors if v is not None and len(v)]
    if not rows:
        return None
    m = np.mean(np.stack(rows), axis=0)
    n = float(np.linalg.norm(m))
    return m / n if n > 0 else None


@dataclass
class Side:
    """What one side contributes: held-out faces, their landmarks, and its identity centroid."""

    images: torch.Tensor  # uint8 N×3×S×S RGB
    landmarks: np.ndarray  # float32 N×K×2 in S-pixel space
    centroid: np.ndarray


class IdentityProbe:
    """Mean SFace cosine of held-out swaps to the other side's centroid (see module docstring)."""

    def __init__(self, a: Side, b: Side, embedder=None):
        if embedder is None:
            try:
                import cv2

                from ..faces.identity import Embedder
            except ImportError as err:
                raise MissingDependency(f"the SFace embedder is not available ({err})") from err
            previous = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # OpenCV's engine notes are noise here
            try:
                embedder = Embedder()
            finally:
                cv2.utils.logging.setLogLevel(previous)
        self.embedder = embedder
        self.a, self.b = a, b
        self.references = {
            "b_real_to_b": self._mean(self._to_bgr(b.images), b.landmarks, b.centroid),
            "a_real_to_b": self._mean(self._to_bgr(a.images), a.landmarks, b.centroid),
            "a_real_to_a": self._mean(self._to_bgr(a.images), a.landmarks, a.centroid),
            "b_real_to_a": self._mean(self._to_bgr(b.images), b.landmarks, a.centroid),
        }

    @classmethod
    def from_facesets(cls, set_a: FaceSet, set_b: FaceSet, max_faces: int = MAX_FACES,
                      embedder: Embedder | None = None) -> IdentityProbe | None:
        """A probe over the held-out splits, or None when a side has no stored identities or no held-out face."""
        sides = []
        for fs in (set_a, set_b):
            c = centroid([m.identity for m in fs.metas])
            if c is None or len(fs.valid) == 0 or fs.landmarks.shape[1] < 468:
                return None
            n = min(max_faces, len(fs.valid))
            sides.append(Side(fs.valid.images[:n], fs.valid.landmarks[:n].numpy(), c))
        return cls(sides[0], sides[1], embedder)

    @staticmethod
    def _to_bgr(images: torch.Tensor) -> list[np.ndarray]:
        x = images[:, :3]
        if x.dtype != torch.uint8:
            x = x.float().clamp(0, 1).mul(255).round().to(torch.uint8)
        return [np.ascontiguousarray(img[:, :, ::-1]) for img in x.permute(0, 2, 3, 1).cpu().numpy()]

    def _mean(self, bgrs: list[np.ndarray], landmarks: np.ndarray, target: np.ndarray) -> float:
        if not bgrs:
            return float("nan")
        scale = bgrs[0].shape[0] / float(self.a.images.shape[-1])  # landmarks are in cache pixels
        items = [(bgr, np.asarray(pts, np.float32) * scale) for bgr, pts in zip(bgrs, landmarks)]
        emb = np.asarray(self.embedder.embed_many(items), np.float32)
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        return float(np.mean(emb @ (target / max(float(np.linalg.norm(target)), 1e-12))))

    @torch.no_grad()
    def measure(self, model: SwapModel, runtime: Runtime) -> dict[str, float]:
        """{"a2b": ..., "b2a": ...}: the swaps' mean cosine to the target's centroid."""
        from .preview import _as_input

        was_training = model.training
        model.eval()
        try:
            with runtime.autocast():
                a2b = model(_as_input(self.a.images, model, runtime), "b")
                b2a = model(_as_input(self.b.images, model, runtime), "a")
        finally:
            model.train(was_training)
        return {"a2b": self._mean(self._to_bgr(a2b.float().cpu()), self.a.landmarks, self.b.centroid),
                "b2a": self._mean(self._to_bgr(b2a.float().cpu()), self.b.landmarks, self.a.centroid)}
