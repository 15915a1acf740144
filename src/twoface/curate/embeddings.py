"""Identity embeddings of face files: the SFace vector stored in the PNG, or computed.

Extract stores the embedding in every face's metadata, so sorting a folder of
thousands of faces by identity reads vectors, not pixels. Faces written by other
tools (or with the identity stripped) are embedded on the fly from their
aligned pixels and landmarks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..progress import tracked
from .items import FaceItem

EMBED_DIM = 128


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def face_embeddings(items: list[FaceItem], progress: bool = False) -> np.ndarray:
    """(N, 128) float32 unit vectors, one per face, in ``items`` order."""
    out = np.zeros((len(items), EMBED_DIM), np.float32)
    missing = []
    for i, it in enumerate(items):
        v = it.meta.identity_array()
        if v is not None and v.shape == (EMBED_DIM,) and np.isfinite(v).all() and np.linalg.norm(v) > 0:
            out[i] = v
        else:
            missing.append(i)
    if missing:
        from ..faces.identity import Embedder

        embedder = Embedder()
        for i in tracked(missing, "embedding faces", progress):
            it = items[i]
            out[i] = embedder.embed(it.image, it.meta.landmarks_array())
            it.release()
    return _unit(out)


def reference_embedding(path: str | Path) -> np.ndarray:
    """The identity of a reference: a twoface face PNG or any photo with one face."""
    from ..faces.identity import load_reference

    return _unit(np.asarray(load_reference(Path(path)), np.float32).reshape(EMBED_DIM))
