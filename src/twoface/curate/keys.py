"""The scalar sort keys: one number per face, and the order that puts bad faces first.

Each key is a small record in ``KEYS`` (the names users type after ``--by``).
Values are computed so that *ascending* order is the useful order: the faces a
user most likely wants to delete come first (blurred, tiny, dark, strangers).
``identity`` is not here: it groups faces rather than ranking them (see cluster.py).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..faces import measures
from ..progress import tracked
from .embeddings import face_embeddings, reference_embedding
from .items import FaceItem


@dataclass(frozen=True)
class SortKey:
    name: str
    order: str  # what comes first, for help texts and summaries
    unit: str
    values: Callable[[list[FaceItem], KeyOptions], np.ndarray]


@dataclass
class KeyOptions:
    reference: str | Path | None = None  # for "similarity": a face PNG or photo; None = the set's mean
    progress: bool = False  # a progress bar on stderr for big folders


def _per_face(fn: Callable[[FaceItem], float]) -> Callable[[list[FaceItem], KeyOptions], np.ndarray]:
    def values(items: list[FaceItem], opts: KeyOptions) -> np.ndarray:
        out = np.empty(len(items), np.float64)
        for i, it in enumerate(tracked(items, "measuring", opts.progress)):
            out[i] = fn(it)
            it.release()  # keep memory flat on big folders
        return out
    return values


def _pose(index: int) -> Callable[[FaceItem], float]:
    def value(it: FaceItem) -> float:
        pose = list(it.meta.pose) + [0.0, 0.0, 0.0]
        return float(pose[index])
    return value


def _similarity(items: list[FaceItem], opts: KeyOptions) -> np.ndarray:
    emb = face_embeddings(items, opts.progress)
    if opts.reference is not None:
        ref = reference_embedding(opts.reference)
    else:
        ref = emb.mean(axis=0)
        ref /= max(float(np.linalg.norm(ref)), 1e-12)
    return (emb @ ref).astype(np.float64)


KEYS: dict[str, SortKey] = {
    "blur": SortKey("blur", "blurriest first", "Laplacian variance in the face",
                    _per_face(lambda it: measures.sharpness(it.image, it.meta))),
    "yaw": SortKey("yaw", "most turned to one side first, through frontal, to the other side", "degrees",
                   _per_face(_pose(0))),
    "pitch": SortKey("pitch", "lowest pitch first", "degrees", _per_face(_pose(1))),
    "roll": SortKey("roll", "lowest roll first", "degrees", _per_face(_pose(2))),
    "size": SortKey("size", "smallest in the source frame first", "source px across the crop",
                    _per_face(lambda it: measures.source_size(it.meta))),
    "color": SortKey("color", "darkest first (mean CIELAB lightness of the face)", "L* 0-100",
                     _per_face(lambda it: measures.lightness(it.image, it.meta))),
    "similarity": SortKey("similarity", "least like the reference (or the set's average face) first",
                          "cosine similarity", _similarity),
}
