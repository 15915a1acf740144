"""Face-level measurements: held-out faces through the model, judged and landmarked.

Why held-out faces: reconstruction (A->A, B->B) on faces the model trained on
measures memory, not skill. The model folder records its holdout fraction and
seed, and ``data.FaceSet`` splits deterministically from them, so evaluate sees
exactly the faces training never did. Without that record, a fixed
deterministic subset is used and the report says so.

Fairness of the comparisons: the swapped faces come out at the model's output
size, so gallery faces and source faces are brought to that same size before
the judge or the landmarker sees them: resolution must not be the cue.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..store.metadata import list_face_files, read_face

if TYPE_CHECKING:
    from ..faces.landmarks import Landmarker, LandmarkResult
    from .judge import Judge

LANDMARK_SIDE = 256  # aligned faces are enlarged to this before the landmarker runs


@dataclass
class HeldOut:
    """Aligned faces of one side, with their landmarks in crop pixels."""

    files: list[Path]
    images: list[np.ndarray]  # uint8 BGR as stored
    landmarks: list[np.ndarray]  # (478, 2) in stored-image pixels
    coverage: float
    how: str  # "model holdout" or "deterministic subset"
    extra: dict = field(default_factory=dict)


def evenly(items: list, n: int) -> list:
    """At most ``n`` items spread evenly over the list (all of them when it is short)."""
    if n <= 0 or len(items) <= n:
        return list(items)
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in idx]


def split_files(folder: Path, model_dir: Path, config: dict, max_faces: int) -> tuple[list[Path], list[Path], str]:
    """(held-out files, training files, how the split was made) for one face folder."""
    from ..models.folder import find_checkpoint

    files = list_face_files(folder)
    holdout = float((config.get("training") or {}).get("holdout", 0.0) or 0.0)
    seed = None
    try:
        ck = find_checkpoint(model_dir)
        seed = None if ck is None else ck.state.get("seed")
    except Exception:  # noqa: BLE001 - a damaged state only loses the split, evaluate goes on
        seed = None
    try:  # data.FaceSet's own split order, so these are exactly the faces training held out
        from ..data.faceset import _split_order
    except ImportError:  # pragma: no cover - another data package: fall back to the fixed subset
        _split_order = None  # type: ignore[assignment]
    if holdout > 0 and seed is not None and len(files) >= 2 and _split_order is not None:
        n_valid = min(len(files) - 1, max(1, round(len(files) * holdout)))
        order = _split_order(files, int(seed))
        valid = sorted(files[i] for i in order[:n_valid])
        train = sorted(files[i] for i in order[n_valid:])
        return evenly(valid, max_faces), train, f"model holdout ({holdout:g}, seed {seed})"
    # no recorded split: every 10th face (deterministic), the rest form the gallery
    valid = files[::10]
    train = [f for f in files if f not in set(valid)]
    return evenly(valid, max_faces), train or files, "deterministic subset (every 10th face)"


def load_faces(files: list[Path]) -> HeldOut:
    images, landmarks, coverages = [], [], []
    for f in files:
        img, meta = read_face(f)
        images.append(img)
        landmarks.append(meta.landmarks_array())
        coverages.append(float(meta.coverage))
    cov = float(np.median(coverages)) if coverages else 0.75
    return HeldOut(list(files), images, landmarks, cov, "")


def to_size(img: np.ndarray, size: int) -> np.ndarray:
    if img.shape[0] == size and img.shape[1] == size:
        return img
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(img, (size, size), interpolation=interp)


def face_mask(points: np.ndarray, size: int) -> np.ndarray | None:
    """The "extended" landmark mask (float, size x size) of an aligned face; None without 478 points.

    Where the sharpness ratio is measured: the face itself, not the background, whose detail
    says nothing about the swap.
    """
    from ..faces.masks import mask_polygons, render_mask

    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if pts.shape[0] != 478:
        return None
    return render_mask(mask_polygons(pts, ["extended"])["extended"], size)


def as_uint8(face: np.ndarray) -> np.ndarray:
    return np.clip(face * 255.0 + 0.5, 0, 255).astype(np.uint8)


class AlignedDetection:
    """A stand-in detection for an aligned crop: the face sits where the template puts it."""

    def __init__(self, size: int, coverage: float):
        from ..faces.align import template

        self.points5 = template(size, coverage).astype(np.float32)
        side = size * 0.5 / coverage  # the ArcFace framing (brows to chin) at this coverage
        off = (size - side) / 2.0
        self.bbox = (off, off, side, side)
        self.score = 1.0
        self.rotation = 0


def landmark_aligned(landmarker: Landmarker, img: np.ndarray, coverage: float) -> LandmarkResult | None:
    """LandmarkResult of an aligned face crop (enlarged to a common size first), or None."""
    big = to_size(img, LANDMARK_SIDE)
    return landmarker.landmarks(big, AlignedDetection(LANDMARK_SIDE, coverage))


def judge_faces(judge: Judge, images: list[np.ndarray], landmarks: list[np.ndarray] | None) -> np.ndarray:
    """dlib descriptors (N, 128) of aligned faces; landmarks (crop px) place the face box."""
    out = []
    for i, img in enumerate(images):
        pts = None if landmarks is None else landmarks[i]
        out.append(judge.embed_aligned(img, pts))
    return np.stack(out) if out else np.zeros((0, 128), np.float32)


def gallery_folder(judge: Judge, folder: Path, size: int, max_faces: int) -> np.ndarray:
    """Judge descriptors of a --gallery folder: twoface face PNGs, or any face photos."""
    from ..media.reader import IMAGE_EXTS

    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("."))
    from ..errors import InputError

    if not files:
        raise InputError("no images in this gallery folder", folder)
    out = []
    for f in evenly(files, max_faces):
        try:
            img, meta = read_face(f)
            scale = size / img.shape[0]
            out.append(judge.embed_aligned(to_size(img, size), meta.landmarks_array() * scale))
        except InputError:  # a plain photo: dlib finds the face itself
            from ..media.reader import read_image

            try:
                photo = read_image(f)
            except InputError:
                photo = None
            if photo is not None:
                out.append(judge.embed(photo))
    if not out:
        raise InputError("no readable face images in this gallery folder", folder)
    return np.stack(out)
