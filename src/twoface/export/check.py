"""The export's self-check: the written graph under onnxruntime against the torch model, on real faces.

Why real faces: random noise exercises other activations than faces do (a sigmoid
saturated on noise hides errors), and a model is only ever fed faces. The faces are
the model's own training faces of the source side (their folder is in state.json),
or ``--check-faces``; with neither, the check runs on seeded noise and says so.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)


@dataclass
class CheckFaces:
    images: np.ndarray  # (N, S, S, 3) uint8 BGR at the size asked for
    source: str  # where they came from, for the report


def _training_folder(model_dir: Path, side: str) -> Path | None:
    try:
        state = json.loads((model_dir / "state.json").read_text(encoding="utf-8"))
        folder = Path(state["face_sets"][side]["folder"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return folder if folder.is_dir() else None


def load_check_faces(model_dir: Path, source_side: str, folder: str | Path | None, count: int,
                     size: int) -> CheckFaces:
    """``count`` face crops spread over the folder, resized to ``size``."""
    from ..errors import InputError
    from ..store.metadata import list_face_files

    chosen = Path(folder) if folder is not None else _training_folder(model_dir, source_side)
    if folder is not None and chosen is not None and not chosen.is_dir():
        raise InputError("no such face folder (--check-faces)", chosen)
    files = list_face_files(chosen) if chosen is not None else []
    if folder is not None and not files:
        raise InputError("holds no face images (--check-faces)", chosen)
    if not files:
        log.warning("no face folder for the self-check (none given, and the model's training faces are not on "
                    "this machine); checking on seeded noise instead; pass --check-faces FOLDER for real faces")
        rng = np.random.default_rng(0)
        return CheckFaces(rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8), "seeded noise")
    picks = [files[round(i * (len(files) - 1) / max(count - 1, 1))] for i in range(min(count, len(files)))]
    images = []
    for f in picks:
        im = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if im is None:
            raise InputError("is not a readable image", f)
        if im.shape[:2] != (size, size):
            im = cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA if im.shape[0] > size else cv2.INTER_CUBIC)
        images.append(im)
    return CheckFaces(np.stack(images), f"{len(images)} faces from {chosen}")


def max_abs_diff(reference: list[np.ndarray], got: list[np.ndarray]) -> float:
    """The largest absolute difference over every output, in the outputs' [0, 1] units."""
    return max(float(np.max(np.abs(np.asarray(r, np.float64) - np.asarray(g, np.float64))))
               for r, g in zip(reference, got))
