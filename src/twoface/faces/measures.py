"""Per-face measurements that sort keys rank by: sharpness, lightness, source size.

Why measure here rather than trust stored numbers: users edit, recompress or
replace face PNGs, and a score stored at extraction time then describes pixels
that are gone. Sharpness and lightness are cheap (well under a millisecond a
face), so they are always computed from the pixels the user will train on.

Both are measured inside the face (the convex hull of the aligned landmarks,
shrunk a little), so a busy or blurred background and the hair line do not
decide the order, and at a fixed working size, so faces aligned at different
sizes compare fairly.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..store.metadata import FaceMeta

WORK_SIZE = 128  # faces are measured at this side length
HULL_SHRINK = 0.85  # the hull is shrunk toward its centre so its edge (face/background) does not count


def face_mask(meta: FaceMeta, size: int = WORK_SIZE) -> np.ndarray:
    """A bool (size, size) mask of the inner face, from the aligned landmarks.

    Falls back to the central half of the crop when the metadata has no landmarks.
    """
    mask = np.zeros((size, size), np.uint8)
    pts = np.asarray(meta.landmarks, np.float32).reshape(-1, 2)
    if len(pts) >= 3 and meta.size > 0:
        pts = pts * (size / float(meta.size))
        centre = pts.mean(axis=0)
        hull = cv2.convexHull(((pts - centre) * HULL_SHRINK + centre).astype(np.float32))
        cv2.fillConvexPoly(mask, np.round(hull).astype(np.int32), 1)
    if mask.sum() < size * size // 50:  # no landmarks, or degenerate ones
        q = size // 4
        mask[q:size - q, q:size - q] = 1
    return mask.astype(bool)


def _working(image: np.ndarray) -> np.ndarray:
    if image.shape[0] == WORK_SIZE and image.shape[1] == WORK_SIZE:
        return image
    return cv2.resize(image, (WORK_SIZE, WORK_SIZE), interpolation=cv2.INTER_AREA)


def sharpness(image: np.ndarray, meta: FaceMeta) -> float:
    """Variance of the Laplacian inside the face: low means blurred (or flat)."""
    gray = cv2.cvtColor(_working(image), cv2.COLOR_BGR2GRAY).astype(np.float32)
    lap = cv2.Laplacian(gray, cv2.CV_32F, ksize=3)
    return float(lap[face_mask(meta)].var())


def lightness(image: np.ndarray, meta: FaceMeta) -> float:
    """Mean CIELAB L* (0 black .. 100 white) inside the face: dark and blown-out faces sit at the ends."""
    lab = cv2.cvtColor(_working(image), cv2.COLOR_BGR2LAB)
    return float(lab[..., 0][face_mask(meta)].mean()) * 100.0 / 255.0


def source_size(meta: FaceMeta) -> float:
    """Side of the aligned crop measured in source-frame pixels.

    The matrix maps frame -> aligned, so its scale is aligned px per frame px;
    ``size / scale`` is how many frame pixels the crop spans. For one coverage
    this is proportional to the face's size in the frame.
    """
    m = meta.matrix_array()
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    return float(meta.size) / scale if scale > 0 else 0.0


def frame_position(meta: FaceMeta) -> tuple[float, float]:
    """Where the centre of the aligned crop lies in the source frame (x, y pixels)."""
    m = meta.matrix_array()
    c = np.array([meta.size / 2.0, meta.size / 2.0])
    x, y = np.linalg.solve(m[:, :2], c - m[:, 2])
    return float(x), float(y)
