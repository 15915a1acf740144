"""Face masks built from the 478-point mesh, stored as polygons.

No face-parsing or occlusion model ships offline (DESIGN §5), so masks come from
the landmarks, as faceswap's landmark masks do:

- "extended": the hull of the face oval, with the part above the brows pushed
  further up (``forehead`` × its height over the brow line) so the forehead is
  inside: a swap then covers the skin up to the hairline, not just brows to chin.
- "components": the union of convex regions (each eye with its brow, the nose,
  the mouth, and each half of the jaw and cheek up to the nose bridge): the face
  from the brows down, following the face's own shape when the head turns.

Polygons are in aligned-face pixels, rounded to 0.1 px so they stay small in the
JSON of a face PNG; ``render_mask`` turns any list of them into a soft mask.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from . import mesh

Polygon = list[list[float]]

SHIFT = 4  # fixed-point bits for sub-pixel polygon filling


def _hull(points: np.ndarray) -> Polygon:
    hull = cv2.convexHull(np.asarray(points, np.float32).reshape(-1, 1, 2)).reshape(-1, 2)
    return np.round(hull.astype(np.float64), 1).tolist()


def _mesh(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 468:
        raise ValueError(f"masks need the (478, 2) mesh points, got {pts.shape}")
    return pts


def extended_polygons(points: np.ndarray, forehead: float = 0.15) -> list[Polygon]:
    """One polygon: the face oval with its forehead part raised by ``forehead`` (see module doc)."""
    pts = _mesh(points)
    oval = pts[list(mesh.FACE_OVAL)].copy()
    eyes = (pts[list(mesh.RIGHT_EYE)].mean(0), pts[list(mesh.LEFT_EYE)].mean(0))
    across = eyes[1] - eyes[0]
    up = np.array([across[1], -across[0]]) / max(np.linalg.norm(across), 1e-9)  # eye line turned 90°
    if up @ (pts[mesh.FOREHEAD_TOP] - pts[mesh.CHIN]) < 0:
        up = -up
    brow_line = pts[list(mesh.RIGHT_BROW) + list(mesh.LEFT_BROW)].mean(0) @ up
    height = oval @ up - brow_line
    oval += np.clip(height, 0, None)[:, None] * forehead * up
    return [_hull(oval)]


def components_polygons(points: np.ndarray) -> list[Polygon]:
    """Convex regions whose union is the face from the brows down (see module doc)."""
    pts = _mesh(points)
    jaw = list(mesh.JAW_ARC)
    chin = jaw.index(mesh.CHIN)
    bridge = [mesh.BETWEEN_EYES, mesh.NOSE_TIP]
    regions = [
        list(mesh.RIGHT_EYE) + list(mesh.RIGHT_BROW),
        list(mesh.LEFT_EYE) + list(mesh.LEFT_BROW),
        list(mesh.NOSE_RIDGE) + list(mesh.NOSE_OUTLINE),
        list(mesh.LIPS_OUTER),
        jaw[: chin + 1] + bridge + [mesh.RIGHT_BROW[-1]],
        jaw[chin:] + bridge + [mesh.LEFT_BROW[-1]],
    ]
    return [_hull(pts[r]) for r in regions]


MASKS: dict[str, Callable[[np.ndarray], list[Polygon]]] = {
    "extended": extended_polygons,
    "components": components_polygons,
}


def mask_polygons(points_aligned: np.ndarray,
                  names: list[str] | tuple[str, ...] | None = None) -> dict[str, list[Polygon]]:
    """Polygons of each named mask (default: all in ``MASKS``) from the mesh in aligned pixels."""
    names = list(MASKS) if names is None else list(names)
    unknown = [n for n in names if n not in MASKS]
    if unknown:
        raise ValueError(f"unknown mask {unknown[0]!r}; choose from {', '.join(MASKS)}")
    return {n: MASKS[n](points_aligned) for n in names}


def render_mask(polygons: list[Polygon], size: int, feather: float = 0.0) -> np.ndarray:
    """A float32 (size, size) mask in [0, 1]: the union of ``polygons``, edges softened.

    ``feather`` is the width in pixels of the soft edge (a Gaussian blur), centred on
    the outline, so the value on the outline itself is about 0.5.
    """
    canvas = np.zeros((size, size), np.uint8)
    scale = float(1 << SHIFT)
    for poly in polygons:
        arr = np.asarray(poly, np.float64).reshape(-1, 2)
        if len(arr) < 3:
            continue
        # pixel centres are integers; fillPoly's fixed-point coordinates are too
        cv2.fillPoly(canvas, [np.round(arr * scale).astype(np.int32)], 255, cv2.LINE_AA, SHIFT)
    mask: np.ndarray = canvas.astype(np.float32) / 255.0
    if feather > 0:
        sigma = feather / 4.0  # ±2σ spans the feather width
        mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_CONSTANT)
    return np.clip(mask, 0.0, 1.0)
