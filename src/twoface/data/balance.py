"""Sampling weights that even out the looks of a face set (DeepFaceLab's ``uniform_yaw``, widened).

Why: a decoder learns its person's most frequent look first. When most of A's faces laugh with
their eyes shut, a short run draws that laugh over every source frame, whatever the source does:
on the dev pair the swap's expression error was dominated by closed eyes and a smile the source
never made (bench/quality.py, issue 14). Drawing each face with a weight that makes every kind of
look about equally frequent teaches the rarer ones (the neutral, open-eyed face) as early as the
common ones.

- ``expression``: k-means on the 52 blendshape scores that extract stores in each face's metadata;
  each cluster gets an equal share of the draws.
- ``pose``: 10-degree bins of yaw and pitch, each bin an equal share.

A cluster never counts as smaller than half the mean cluster size, so one odd face (a blink, a hand
over the mouth) is not drawn as often as a whole common look. Faces without the measure keep the
mean weight. Deterministic: the same faces give the same weights.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..store.metadata import FaceMeta

BALANCE_KINDS = ("none", "expression", "pose")
POSE_BIN_DEG = 10.0


def kmeans(x: np.ndarray, k: int, iterations: int = 20, seed: int = 0) -> np.ndarray:
    """Cluster labels of the rows of ``x`` (k-means++ start, Lloyd steps); small and dependency-free."""
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
        total = d2.sum()
        centres.append(x[rng.choice(len(x), p=d2 / total)] if total > 0 else x[rng.integers(len(x))])
    c = np.stack(centres)
    labels = np.zeros(len(x), np.int64)
    for _ in range(iterations):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(2).argmin(1)
        for j in range(k):
            if (labels == j).any():
                c[j] = x[labels == j].mean(0)
    return labels


def _equal_shares(labels: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Per-face weights giving each label an equal share (floored at half the mean group size)."""
    weights = np.ones(len(labels))
    groups, counts = np.unique(labels[known], return_counts=True)
    floor = 0.5 * counts.mean()
    size = dict(zip(groups.tolist(), np.maximum(counts, floor).tolist()))
    weights[known] = [1.0 / size[g] for g in labels[known].tolist()]
    weights[known] /= weights[known].mean()
    return weights


def sampling_weights(metas: Sequence[FaceMeta], kind: str, seed: int = 0) -> np.ndarray | None:
    """One weight per face (mean 1) for drawing batches, or None for uniform drawing."""
    if kind == "none" or len(metas) < 4:
        return None
    if kind == "expression":
        known = np.array([m.blendshapes is not None and len(m.blendshapes) == 52 for m in metas])
        if known.sum() < 4:
            return None
        x = np.array([m.blendshapes if k else [0.0] * 52 for m, k in zip(metas, known)], np.float64)
        k = int(np.clip(round(np.sqrt(known.sum() / 2)), 2, 16))
        labels = np.zeros(len(metas), np.int64)
        labels[known] = kmeans(x[known], k, seed=seed)
        return _equal_shares(labels, known)
    if kind == "pose":
        yaw_pitch = np.array([m.pose[:2] for m in metas], np.float64)
        bins = np.floor(yaw_pitch / POSE_BIN_DEG).astype(np.int64)
        labels = bins[:, 0] * 1000 + bins[:, 1]
        return _equal_shares(labels, np.ones(len(metas), bool))
    raise ValueError(f"unknown balance {kind!r}; choose one of {', '.join(BALANCE_KINDS)}")
