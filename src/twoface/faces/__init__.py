"""Faces: detection, dense landmarks, alignment geometry, masks, identity and quality.

Each model sits behind a small class that is cheap to call and costly to open:
make one ``get_detector(...)``, ``Landmarker()`` and ``Embedder()`` per worker
thread and reuse them (none of them is thread-safe). Importing this package does
not import mediapipe; the first ``Landmarker()`` does.

Per frame, ``twoface.extract`` composes them:

    dets = detector.detect(frame)                     # boxes + 5 points, frame px
    lm = landmarker.landmarks(frame, det)             # 478 points, blendshapes, pose
    m = align.align_matrix(lm.points, size, coverage) # frame -> aligned
    face = align.warp(frame, m, size)
    polys = masks.mask_polygons(align.transform_points(lm.points, m))
    identity = embedder.embed(frame, lm.points)       # levelled 112 px ArcFace crop
    blur = quality.blur_score(face)
"""
from . import align, masks, mesh, quality
from .align import (
                    DEFAULT_COVERAGE,
                    align_matrix,
                    identity_crop,
                    identity_from_aligned,
                    invert,
                    roll_degrees,
                    to_68,
                    transform_points,
                    warp,
)
from .detect import DETECTORS, Detection, Detector, get_detector
from .identity import Embedder, cosine, load_reference
from .landmarks import BLENDSHAPE_NAMES, Landmarker, LandmarkResult
from .masks import MASKS, mask_polygons, render_mask
from .quality import blur_score

__all__ = [
    "align", "masks", "mesh", "quality", "DEFAULT_COVERAGE", "align_matrix", "identity_crop",
    "identity_from_aligned", "invert", "roll_degrees", "to_68", "transform_points", "warp",
    "DETECTORS", "Detection", "Detector", "get_detector", "Embedder", "cosine", "load_reference",
    "BLENDSHAPE_NAMES", "Landmarker", "LandmarkResult", "MASKS", "mask_polygons", "render_mask",
    "blur_score",
]
