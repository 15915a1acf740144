"""Alignment geometry: the canonical face template and similarity transforms.

Every aligned face in twoface is the frame warped by one similarity (rotation,
uniform scale, translation) that carries five anchor points — the two eye
centres, the nose tip and the mouth corners — as close as possible (least
squares, Umeyama 1991) onto a fixed template. A similarity keeps the face's shape,
so the crops of a set share eye line and scale but keep each face's expression.

Template: the standard ArcFace 112×112 five-point template (the frame that SFace
and most face-recognition networks expect). ``coverage`` sets how much of the
head a crop shows, faceswap-style (larger shows more of the head):

    crop side = 2 × coverage × (ArcFace crop side)

- coverage 0.5: the ArcFace framing (brows to chin, used for identity embeddings);
- coverage 0.75 (default): the whole face with forehead and chin and a small margin,
  what a swap model learns and what the "extended" mask needs;
- coverage 1.0: the whole head with hair and ears.

The template is scaled about the crop centre, so the eye line stays just above
the middle of the crop at every coverage.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from . import mesh

DEFAULT_COVERAGE = 0.75

# ArcFace 112×112 template: right eye, left eye, nose tip, right mouth corner, left mouth corner
# (subject's right/left; the right eye is on the image's left).
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)
IDENTITY_SIZE = 112
IDENTITY_COVERAGE = 0.5


def five_points(points: np.ndarray) -> np.ndarray:
    """The five anchor points (eye centres, nose tip, mouth corners) of a 478-point mesh.

    A (5, 2) array (e.g. a detector's points) is returned as is, so every function
    here accepts either. Eye centre = mean of the eye's contour points: steadier
    than the iris, which moves with gaze.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape == (5, 2):
        return pts
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 468:
        raise ValueError(f"expected (478, 2) mesh points or (5, 2) anchor points, got {pts.shape}")
    return np.stack([pts[list(mesh.RIGHT_EYE)].mean(0), pts[list(mesh.LEFT_EYE)].mean(0),
                     pts[mesh.NOSE_TIP], pts[mesh.MOUTH_RIGHT], pts[mesh.MOUTH_LEFT]])


def template(size: int, coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """The five template points (5, 2) in a ``size``-pixel aligned crop at ``coverage``."""
    if coverage <= 0:
        raise ValueError(f"coverage must be positive, got {coverage}")
    unit = ARCFACE_112 / 112.0 - 0.5
    return (unit * (0.5 / coverage) + 0.5) * size


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares similarity (2×3) taking ``src`` points onto ``dst`` (Umeyama 1991).

    Solved in closed form from the SVD of the cross-covariance; the sign fix keeps
    it a rotation (never a mirror image of the face).
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    sc, dc = src - mu_s, dst - mu_d
    var_s = (sc ** 2).sum() / len(src)
    if var_s <= 1e-12:
        raise ValueError("degenerate points: they all coincide")
    u, s, vt = np.linalg.svd(dc.T @ sc / len(src))
    d = np.array([1.0, 1.0 if np.linalg.det(u) * np.linalg.det(vt) >= 0 else -1.0])
    r = u @ np.diag(d) @ vt
    scale = float((s * d).sum() / var_s)
    t = mu_d - scale * r @ mu_s
    return np.hstack([scale * r, t[:, None]])


def align_matrix(points: np.ndarray, size: int, coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """The 2×3 similarity mapping frame pixels → a ``size``-pixel aligned face.

    ``points``: the (478, 2) mesh or five anchor points, in frame pixels.
    """
    return umeyama(five_points(points), template(size, coverage))


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Points (N, 2) through a 2×3 affine, as float32."""
    pts = np.asarray(points, np.float64)
    m = np.asarray(m, np.float64)
    return (pts @ m[:, :2].T + m[:, 2]).astype(np.float32)


def invert(m: np.ndarray) -> np.ndarray:
    """The inverse of a 2×3 affine (aligned → frame for an alignment matrix)."""
    return cv2.invertAffineTransform(np.asarray(m, np.float64))


def scale_of(m: np.ndarray) -> float:
    """The linear scale of a similarity (output pixels per input pixel)."""
    return math.sqrt(abs(float(np.linalg.det(np.asarray(m, np.float64)[:, :2]))))


def warp(bgr: np.ndarray, m: np.ndarray, size: int, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """The aligned crop: ``bgr`` warped by ``m`` into a ``size``×``size`` image.

    Shrinking (a face bigger in the frame than in the crop) first area-resamples
    just the source region the crop needs, then warps with bilinear sampling:
    ``warpAffine`` alone would alias, since its INTER_AREA is not a true box filter.
    """
    m = np.asarray(m, np.float64)
    s = scale_of(m)
    if s >= 0.999:
        return cv2.warpAffine(bgr, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
    h, w = bgr.shape[:2]
    corners = transform_points(np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64), invert(m))
    x0, y0 = np.floor(corners.min(0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 3
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:  # the crop lies outside the frame: nothing to antialias
        return cv2.warpAffine(bgr, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
    roi = bgr[y0:y1, x0:x1]
    rw, rh = max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s))
    small = cv2.resize(roi, (rw, rh), interpolation=cv2.INTER_AREA)
    sx, sy = rw / (x1 - x0), rh / (y1 - y0)
    # small pixel centre (i) <-> frame pixel centre x0 + (i + 0.5) / sx - 0.5
    to_frame = np.array([[1 / sx, 0, x0 + 0.5 / sx - 0.5], [0, 1 / sy, y0 + 0.5 / sy - 0.5], [0, 0, 1]])
    m2 = np.vstack([m, [0, 0, 1]]) @ to_frame
    return cv2.warpAffine(small, m2[:2], (size, size), flags=cv2.INTER_LINEAR, borderMode=border)


def roll_degrees(points: np.ndarray) -> float:
    """The in-image roll of a face: the angle of its eye line, in degrees.

    Measured from the right eye (image left) to the left eye, in image
    coordinates (y down): 0 for a level face, positive when the face is turned
    clockwise on screen. ``cv2.getRotationMatrix2D(c, roll, 1)`` levels it.
    """
    p = five_points(points)
    dx, dy = p[1] - p[0]
    return math.degrees(math.atan2(dy, dx))


def to_68(points478: np.ndarray) -> np.ndarray:
    """The iBUG 68-point landmarks (68, 2) picked from the 478-point mesh (see ``mesh.TO_68``)."""
    pts = np.asarray(points478, np.float32)
    if pts.ndim != 2 or pts.shape[0] < 468 or pts.shape[1] != 2:
        raise ValueError(f"expected (478, 2) mesh points, got {pts.shape}")
    return pts[list(mesh.TO_68)].copy()


def identity_crop(bgr: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The 112×112 crop identity networks expect (ArcFace template: eyes level, fixed place)."""
    return warp(bgr, align_matrix(points, IDENTITY_SIZE, IDENTITY_COVERAGE), IDENTITY_SIZE)


def identity_from_aligned(face: np.ndarray, coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """The 112×112 identity crop cut from an already aligned face (no second pass over the frame).

    The ArcFace framing is the aligned crop's centre scaled by ``coverage / 0.5``, so
    this is one small resize; use it when the aligned face is at least ~150 px.
    """
    size = face.shape[0]
    k = IDENTITY_SIZE / size * (coverage / IDENTITY_COVERAGE)
    c_in, c_out = (size - 1) / 2.0, (IDENTITY_SIZE - 1) / 2.0
    m = np.array([[k, 0.0, c_out - k * c_in], [0.0, k, c_out - k * c_in]])
    return warp(face, m, IDENTITY_SIZE)
