"""Group faces by person: clustering of SFace identity embeddings.

Why agglomerative clustering with average linkage and a cosine distance
threshold: the number of people in a face folder is unknown, and SFace places
one person's faces within cosine distance ~0.05-0.4 of each other while
different people sit at >= 0.7 (DESIGN §5). Average linkage merges two groups
only when their faces are close *on average*, so one odd frame (a blink, a hand
over the mouth) neither chains two people together (single linkage's failure)
nor splits off a person (complete linkage's). A threshold, not a cluster count,
is the knob because it means the same thing for every folder.

The default threshold, 0.55, was measured on the dev clips (average linkage,
SFace int8): the hardest single person (the Pexels woman crying, hands over her
face, rotated 30°) joins into one cluster at 0.43, while the two closest of the
ten GRID speakers merge only at 0.66. Any threshold from 0.45 to 0.65 gives the
10 GRID speakers as 10 clusters with 100 % purity; 0.55 keeps a margin both ways.

HDBSCAN (also in scikit-learn) is offered as ``method="hdbscan"``: it needs no
threshold, but a person needs at least 5 faces to form a cluster, and stragglers
are labelled noise (they go to a ``noise`` group for the user to look at). It
also gives 10 pure clusters on GRID and separates A from B.

The full distance matrix is N² floats, so folders larger than ``MAX_DIRECT``
faces are clustered on a fixed random sample; every other face joins the
nearest cluster centre within the threshold, and the rest are clustered in turn.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import InputError

DEFAULT_THRESHOLD = 0.55  # cosine distance (1 - similarity) at which average linkage stops merging
MAX_DIRECT = 4000
NOISE = -1


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0, 1, ... by decreasing size (ties: first face first); keep noise as -1."""
    out = np.full_like(labels, NOISE)
    ids = [k for k in np.unique(labels) if k != NOISE]
    order = sorted(ids, key=lambda k: (-int((labels == k).sum()), int(np.argmax(labels == k))))
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


def _agglomerative_direct(emb: np.ndarray, threshold: float) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if len(emb) < 2:
        return np.zeros(len(emb), np.int64)
    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                    distance_threshold=threshold)
    return model.fit_predict(emb).astype(np.int64)


def agglomerative(emb: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Cluster unit vectors; large sets via a sample, nearest-centre assignment, then the leftovers."""
    t = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    n = len(emb)
    if n <= MAX_DIRECT:
        return _agglomerative_direct(emb, t)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n, MAX_DIRECT, replace=False))
    labels = np.full(n, NOISE, np.int64)
    labels[sample] = _agglomerative_direct(emb[sample], t)
    k = int(labels.max()) + 1
    centres = np.stack([emb[labels == c].mean(axis=0) for c in range(k)])
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    rest = np.setdiff1d(np.arange(n), sample)
    sims = emb[rest] @ centres.T
    best = sims.argmax(axis=1)
    close = 1.0 - sims[np.arange(len(rest)), best] <= t
    labels[rest[close]] = best[close]
    left = rest[~close]
    if len(left):
        labels[left] = agglomerative(emb[left], t) + k
    return labels


def hdbscan(emb: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """HDBSCAN on unit vectors (euclidean there is monotonic in cosine distance)."""
    from sklearn.cluster import HDBSCAN

    if len(emb) < 5:
        return agglomerative(emb, threshold)
    eps = 0.0 if threshold is None else float(np.sqrt(2.0 * float(threshold)))  # cosine -> chord distance
    model = HDBSCAN(min_cluster_size=5, metric="euclidean", cluster_selection_epsilon=eps, copy=True)
    return model.fit_predict(emb).astype(np.int64)


METHODS: dict[str, Callable[[np.ndarray, float | None], np.ndarray]] = {
    "agglomerative": agglomerative,
    "hdbscan": hdbscan,
}


def cluster_identities(emb: np.ndarray, method: str = "agglomerative", threshold: float | None = None) -> np.ndarray:
    """Labels for (N, 128) unit embeddings: 0 is the largest cluster, -1 is noise (HDBSCAN only)."""
    if method not in METHODS:
        raise InputError(f"unknown clustering method {method!r}; choose from {', '.join(METHODS)}")
    if threshold is not None and not 0.0 < threshold < 2.0:
        raise InputError(f"--threshold is a cosine distance between 0 and 2, got {threshold}")
    if len(emb) == 0:
        return np.zeros(0, np.int64)
    return _relabel(METHODS[method](np.asarray(emb, np.float32), threshold))
