"""--balance: drawing weights that even out a face set's expressions or poses (real dev faces)."""
from __future__ import annotations

import numpy as np
import torch

from twoface.data import Augmenter, FaceSet
from twoface.data.balance import BALANCE_KINDS, kmeans, sampling_weights
from twoface.data.loader import BatchStream
from twoface.train.options import BALANCE_KINDS as OPTION_KINDS


def test_option_choices_are_the_library_kinds():
    assert OPTION_KINDS == BALANCE_KINDS


def test_expression_weights_give_each_cluster_a_more_equal_share(faces_a):
    fs = FaceSet(faces_a, 64)  # extracted by `twoface extract`: blendshapes and pose in the metadata
    w = sampling_weights(fs.metas, "expression")
    assert w is not None and len(w) == len(fs.metas) and np.isclose(w.mean(), 1.0) and (w > 0).all()
    x = np.array([m.blendshapes for m in fs.metas])
    k = int(np.clip(round(np.sqrt(len(x) / 2)), 2, 16))
    labels = kmeans(x, k)
    sizes = np.bincount(labels, minlength=k)
    biggest = sizes.argmax()
    uniform_share = sizes[biggest] / len(x)
    weighted_share = w[labels == biggest].sum() / w.sum()
    assert weighted_share < uniform_share, (weighted_share, uniform_share)
    assert np.array_equal(w, sampling_weights(fs.metas, "expression"))   # deterministic
    assert sampling_weights(fs.metas, "none") is None


def test_pose_weights_favour_rare_poses(faces_a):
    fs = FaceSet(faces_a, 64)
    w = sampling_weights(fs.metas, "pose")
    yaw = np.array([m.pose[0] for m in fs.metas])
    far = np.abs(yaw - np.median(yaw)).argmax()
    near = np.abs(yaw - np.median(yaw)).argmin()
    assert w[far] >= w[near]


def test_weighted_stream_draws_by_weight_and_repeats_with_its_seed(face_dirs):
    fs = FaceSet(face_dirs["a"], 64)
    n = len(fs.train)
    weights = np.ones(n)
    weights[0] = 50.0  # one face far more likely than the rest
    aug = Augmenter(64, 64, warp=False, flip=False, color=False)
    one = BatchStream(fs.train, 8, aug, seed=3, weights=weights, tune_memory=False)
    two = BatchStream(fs.train, 8, aug, seed=3, weights=weights, tune_memory=False)
    order = one._order(0)
    assert torch.equal(order, two._order(0)) and len(order) == n
    assert (order == 0).sum() > 5 * n / (n + 49) / 2  # face 0 drawn about 50/(n+49) of the time
