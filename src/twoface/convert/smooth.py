"""Temporal smoothing of face transforms: the One-Euro filter, per tracked face.

Why: landmarks found frame by frame wobble by a pixel or two even on a still
head. The swapped face is warped with a transform computed from them, so that
wobble becomes a visibly shaking face. A One-Euro filter (Casiez, Roussel and
Vogel, CHI 2012) smooths hard when the face is still and lets go when it moves
fast, so it removes jitter without making real motion lag.

What is filtered: each face's frame->aligned transform, represented by the
three frame points that map to the aligned crop's corners (0,0), (S,0) and
(0,S). Filtering points (not matrix entries) keeps the parameters in one unit,
and dividing them by the face's size makes the same parameters work for a
100 px and a 1000 px face. Faces are followed from frame to frame by their
centre; a face that reappears after a gap starts a fresh filter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

DEFAULT_MIN_CUTOFF = 1.0  # Hz: smoothing of a still face (lower = smoother)
DEFAULT_BETA = 3.0  # how fast the cutoff rises with speed (face sizes per second)
DEFAULT_D_CUTOFF = 1.0  # Hz: smoothing of the speed estimate


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro filter over an array of any shape; each element is filtered on its own."""

    def __init__(self, min_cutoff: float = DEFAULT_MIN_CUTOFF, beta: float = DEFAULT_BETA,
                 d_cutoff: float = DEFAULT_D_CUTOFF):
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def reset(self) -> None:
        self._x = self._dx = self._t = None

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or t <= self._t:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        dt = float(t) - self._t
        dx = (x - self._x) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self._dx = self._dx + a_d * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = _alpha(cutoff, dt)
        self._x = self._x + a * (x - self._x)
        self._t = float(t)
        return self._x.copy()


def _corners(size: int) -> np.ndarray:
    return np.array([[0.0, 0.0], [size, 0.0], [0.0, size]], dtype=np.float64)


def matrix_to_points(M: np.ndarray, size: int) -> np.ndarray:
    """The three frame points that ``M`` maps to the aligned crop's corners."""
    inv = cv2.invertAffineTransform(np.asarray(M, np.float64))
    c = _corners(size)
    return c @ inv[:, :2].T + inv[:, 2]


def points_to_matrix(points: np.ndarray, size: int) -> np.ndarray:
    """Inverse of ``matrix_to_points``: the frame->aligned 2x3 matrix."""
    return cv2.getAffineTransform(np.asarray(points, np.float32), _corners(size).astype(np.float32)).astype(np.float64)


@dataclass
class _Track:
    centre: np.ndarray
    scale: float  # face size when the track started: the filter's unit
    last_t: float
    filt: OneEuroFilter


class TransformSmoother:
    """Smooths the transforms of the faces of a video, one call per frame, in frame order."""

    def __init__(self, min_cutoff: float = DEFAULT_MIN_CUTOFF, beta: float = DEFAULT_BETA,
                 d_cutoff: float = DEFAULT_D_CUTOFF, max_gap_s: float = 0.5, match_radius: float = 0.5):
        self.params = (min_cutoff, beta, d_cutoff)
        self.max_gap_s = max_gap_s
        self.match_radius = match_radius  # in face sizes
        self._tracks: list[_Track] = []

    def _assign(self, centres: list[np.ndarray], scales: list[float], t: float) -> list[_Track]:
        self._tracks = [tr for tr in self._tracks if t - tr.last_t <= self.max_gap_s and t > tr.last_t]
        pairs = []
        for i, (c, s) in enumerate(zip(centres, scales)):
            for j, tr in enumerate(self._tracks):
                d = float(np.linalg.norm(c - tr.centre)) / max(s, 1e-6)
                if d <= self.match_radius:
                    pairs.append((d, i, j))
        pairs.sort()
        chosen: dict[int, _Track] = {}
        used: set[int] = set()
        for _, i, j in pairs:
            if i not in chosen and j not in used:
                chosen[i] = self._tracks[j]
                used.add(j)
        out = []
        for i in range(len(centres)):
            track = chosen.get(i)
            if track is None:
                track = _Track(centres[i], scales[i], t, OneEuroFilter(*self.params))
                self._tracks.append(track)
            out.append(track)
        return out

    def __call__(self, t: float, matrices: list[np.ndarray], size: int) -> list[np.ndarray]:
        """Smoothed versions of this frame's frame->aligned matrices (for crop size ``size``)."""
        pts = [matrix_to_points(M, size) for M in matrices]
        centres = [p[1:].mean(axis=0) for p in pts]  # midpoint of the crop's diagonal = its centre
        scales = [float(np.linalg.norm(p[1] - p[0])) for p in pts]
        tracks = self._assign(centres, scales, t)
        out = []
        for p, c, _s, tr in zip(pts, centres, scales, tracks):
            # filter in units of the face's size when first seen, so the parameters do not
            # depend on resolution (a fixed unit per track: zooming stays a smooth signal)
            smoothed = tr.filt(t, p / tr.scale) * tr.scale
            tr.centre, tr.last_t = c, t
            out.append(points_to_matrix(smoothed, size))
        return out
