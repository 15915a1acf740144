"""Batched augmentation on real faces: seeded, geometric changes shared, warp only on the input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from twoface.data import Augmenter, FaceSet, baseline_augment
from twoface.data.augment import colour_transform, landmark_flow, to_float, to_normalized

STILL = dict(warp=False, flip=False, color=False, rotation=0, zoom=0, shift=0)


@pytest.fixture(scope="module")
def faces(face_dirs):
    fs = FaceSet(face_dirs["a"], 64)
    return fs.images[:16], fs.masks[:16], fs.landmarks[:16]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def fields(b):
    return (b.warped, b.target, b.target_mask, b.weights)


def test_seed_reproduces_a_batch(faces):
    for aug in (Augmenter(64, 64, clahe=True), Augmenter(64, 64, warp_to_landmarks=True)):
        one, two, other = aug(*faces, gen(7)), aug(*faces, gen(7)), aug(*faces, gen(8))
        assert all(torch.equal(x, y) for x, y in zip(fields(one), fields(two)))
        assert not torch.equal(one.warped, other.warped)
        assert one.warped.dtype == torch.float32 and one.warped.shape == (16, 3, 64, 64)


def test_still_augmenter_is_the_plain_face(faces):
    aug = Augmenter(64, 64, **STILL)
    b, plain = aug(*faces, gen(0)), aug.plain(*faces)
    assert torch.allclose(b.target, faces[0].float() / 255, atol=1e-5)
    assert torch.allclose(b.warped, plain.warped, atol=1e-6) and torch.allclose(b.warped, b.target, atol=1e-6)


def test_warp_changes_the_input_but_not_the_target(faces):
    still = Augmenter(64, 64, **STILL)(*faces, gen(1))
    warped = Augmenter(64, 64, **{**STILL, "warp": True})(*faces, gen(1))
    assert torch.equal(warped.target, still.target) and torch.equal(warped.target_mask, still.target_mask)
    moved = (warped.warped - still.warped).abs().mean(dim=(1, 2, 3))
    assert (moved > 0.005).all(), moved
    to_lm = Augmenter(64, 64, **{**STILL, "warp_to_landmarks": True})(*faces, gen(1))
    assert torch.equal(to_lm.target, still.target)
    assert ((to_lm.warped - still.warped).abs().mean(dim=(1, 2, 3)) > 0.002).all()


def test_warp_strength_scales_the_warp_through_the_training_option(faces, face_dirs, tmp_path):
    """--warp-strength reaches the augmenter: half the strength moves the input less, twice more."""
    from twoface.models import build
    from twoface.train.options import TrainOptions
    from twoface.train.stream import make_augmenter

    model = build("lightweight")
    still = Augmenter(64, 64, **STILL)(*faces, gen(3))

    def moved(strength: float) -> float:
        opts = TrainOptions(faces_a=face_dirs["a"], faces_b=face_dirs["b"], model_dir=tmp_path / "m",
                            warp_strength=strength, flip=False, augment_color=False)
        aug = make_augmenter(model, opts)
        aug.rotation = aug.zoom = aug.shift = 0
        return float((aug(*faces, gen(3)).warped - still.warped).abs().mean())

    half, one, double = moved(0.5), moved(1.0), moved(2.0)
    assert 0 < half < one < double, (half, one, double)


def test_landmark_flow_carries_landmarks_to_the_partner(faces):
    lm = faces[2]
    partner = torch.roll(torch.arange(16), 1)
    flow = landmark_flow(lm, partner, 64)
    dst = to_normalized(lm[partner], 64)
    want = to_normalized(lm, 64) - dst
    got = F.grid_sample(flow, dst[:, :, None, :], mode="bicubic", align_corners=True)[..., 0].permute(0, 2, 1)
    err = (got - want).norm(dim=-1).mean()
    assert err < 0.5 * want.norm(dim=-1).mean(), (err, want.norm(dim=-1).mean())


def test_flip_is_shared_by_image_mask_and_weights(faces):
    aug = Augmenter(64, 64, **{**STILL, "flip": True})
    b, plain = aug(*faces, gen(3)), aug.plain(*faces)
    flipped = 0
    for i in range(16):
        same = torch.allclose(b.target[i], plain.target[i], atol=1e-5)
        mirror = torch.allclose(b.target[i], plain.target[i].flip(-1), atol=1e-5)
        assert same != mirror
        ref = (lambda t: t.flip(-1)) if mirror else (lambda t: t)
        assert torch.allclose(b.target_mask[i], ref(plain.target_mask[i]), atol=1e-5)
        assert torch.allclose(b.weights[i], ref(plain.weights[i]), atol=1e-5)
        assert torch.allclose(b.warped[i], ref(plain.warped[i]), atol=1e-5)
        flipped += mirror
    assert 0 < flipped < 16


def test_colour_jitter_stays_in_range_and_hits_input_and_target_alike(faces):
    b = Augmenter(64, 64, **{**STILL, "color": True})(*faces, gen(4))
    plain = faces[0].float() / 255
    assert b.warped.min() >= 0 and b.warped.max() <= 1
    assert torch.equal(b.warped, b.target)
    shift = (b.target - plain).abs().mean(dim=(1, 2, 3))
    assert (shift > 0.005).all()


def test_colour_transform_moves_lightness_and_colour_separately(faces):
    images = faces[0][:4]
    zero = torch.zeros(4)
    plain = to_float(images)
    assert torch.allclose(to_float(images, *colour_transform(zero, zero, zero)), plain, atol=1e-6)

    def luma(x):
        return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).mean().item()

    brighter = to_float(images, *colour_transform(zero + 0.3, zero, zero))
    darker = to_float(images, *colour_transform(zero - 0.3, zero, zero))
    assert luma(darker) < luma(plain) - 0.05 and luma(brighter) > luma(plain) + 0.05
    redder = to_float(images, *colour_transform(zero, zero, zero + 8))  # Cr up: more red, less green
    assert abs(luma(redder) - luma(plain)) < 0.005
    assert (redder[:, 0] - plain[:, 0]).mean() > 0.02 and (redder[:, 1] - plain[:, 1]).mean() < -0.01


def test_affine_moves_image_and_mask_together(faces):
    b = Augmenter(64, 64, warp=False, flip=False, color=False, rotation=10, zoom=0.05, shift=0.05)(*faces, gen(5))
    plain = faces[0].float() / 255
    assert ((b.target - plain).abs().mean(dim=(1, 2, 3)) > 0.005).all()
    # the mask still sits on the face: mask-weighted brightness matches the plain face closely
    face_now = (b.target.mean(1, keepdim=True) * b.target_mask).sum((1, 2, 3)) / b.target_mask.sum((1, 2, 3))
    m0 = faces[1].float() / 255
    face_then = (plain.mean(1, keepdim=True) * m0).sum((1, 2, 3)) / m0.sum((1, 2, 3))
    assert torch.allclose(face_now, face_then, atol=0.03)


def test_eye_and_mouth_weights(faces):
    b = Augmenter(64, 64).plain(*faces)
    lm = faces[2]
    for idx, value in (((33, 133), 3.0), ((263, 362), 3.0), ((13, 14), 2.0)):
        centre = lm[:, list(idx)].mean(1).round().long()
        assert all(abs(b.weights[i, 0, centre[i, 1], centre[i, 0]] - value) < 1e-3 for i in range(16))
    assert (b.weights[:, 0, 0, 0] == 1).all()
    assert set(torch.unique(b.weights.round(decimals=3)).tolist()) == {1.0, 2.0, 3.0}


def test_sizes_follow_the_model(face_dirs):
    fs = FaceSet(face_dirs["b"], 128)
    b = Augmenter(64, 128)(fs.images[:4], fs.masks[:4], fs.landmarks[:4], gen(0))
    assert b.warped.shape == (4, 3, 64, 64) and b.target.shape == (4, 3, 128, 128)
    assert b.target_mask.shape == b.weights.shape == (4, 1, 128, 128)


def test_baseline_augment(faces):
    bgr = faces[0][0].permute(1, 2, 0).numpy()[..., ::-1].copy()
    w1, t1 = baseline_augment(bgr, np.random.default_rng(0), 64, 64)
    w2, t2 = baseline_augment(bgr, np.random.default_rng(0), 64, 64)
    assert np.array_equal(w1, w2) and np.array_equal(t1, t2)
    assert w1.shape == t1.shape == (64, 64, 3) and w1.dtype == np.float32
    assert 0 <= w1.min() and w1.max() <= 1 and np.abs(w1 - t1).mean() > 0.005


def test_broadcast_affine_grid_matches_torch():
    from twoface.data.augment import affine_grid, affine_theta

    g = gen(11)
    theta = affine_theta(torch.rand(5, generator=g, dtype=torch.float64) * 20 - 10,
                         1 + torch.rand(5, generator=g, dtype=torch.float64) * 0.1,
                         torch.rand(5, generator=g, dtype=torch.float64) * 0.2,
                         torch.zeros(5, dtype=torch.float64), torch.tensor([True, False, True, False, False]))
    for size in (32, 64):
        ref = F.affine_grid(theta, [5, 3, size, size], align_corners=False)
        assert torch.allclose(affine_grid(theta, size), ref, atol=1e-6)
