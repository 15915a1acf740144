"""The SFace identity and perceptual losses (train.face_losses) on the real dev faces."""
from __future__ import annotations

import json
import math

import pytest
import torch
from train_helpers import TINY

from twoface.data import Augmenter, FaceSet
from twoface.models import build
from twoface.train import train
from twoface.train.face_losses import FaceLosses
from twoface.train.step import Pair

pytestmark = pytest.mark.usefixtures("one_thread")
SIZE = TINY["output_size"]


@pytest.fixture(scope="module")
def sets(faces_a, faces_b):
    return FaceSet(faces_a, SIZE, seed=0), FaceSet(faces_b, SIZE, seed=0)


def _losses(sets, **weights) -> FaceLosses:
    a, b = sets
    coverage = float(a.metas[0].coverage)
    return FaceLosses(a.train.images, b.train.images, SIZE, coverage, int(a.metas[0].size), "cpu", max_faces=24,
                      **weights)


def test_a_real_face_is_nearer_its_own_person(sets):
    """Held-out real faces: 1 − cosine to their own person's mean is well below that to the other's."""
    losses = _losses(sets, identity_weight=1.0)
    with torch.no_grad():
        for own, other, fs in (("a", "b", sets[0]), ("b", "a", sets[1])):
            faces = fs.valid.images.float() / 255
            near, far = float(losses.identity(faces, None, own)), float(losses.identity(faces, None, other))
            assert near < far - 0.3, f"{own}: own {near:.3f}, other {far:.3f}"
            assert 0 <= near < 0.5


def test_identity_gradient_reaches_the_decoder(sets):
    """The identity term alone (A's faces through decoder B, towards B) moves decoder B and the encoder, not SFace."""
    torch.manual_seed(0)
    model = build("custom", **TINY)
    losses = _losses(sets, identity_weight=1.0)
    aug = Augmenter(SIZE, SIZE)
    g = torch.Generator().manual_seed(3)
    fa, fb = sets
    ba = aug(fa.train.images[:4], fa.train.masks[:4], fa.train.landmarks[:4], g)
    bb = aug(fb.train.images[:4], fb.train.masks[:4], fb.train.landmarks[:4], g)
    assert ba.theta is not None and ba.theta.shape == (4, 2, 3)
    _, _, a_as_b, _ = Pair(model, swaps=True)(ba.warped, bb.warped)
    losses.identity(a_as_b, ba.theta, "b").backward()
    grads = {name.split(".")[0]: p.grad for name, p in model.named_parameters()}
    dec_b = [p.grad for n, p in model.named_parameters() if n.startswith("decoder_b.") and p.grad is not None]
    assert dec_b and max(float(gr.abs().max()) for gr in dec_b) > 0
    assert grads["encoder"] is not None
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith("decoder_a."))
    assert all(p.grad is None for p in losses.net.parameters())


def test_perceptual_is_zero_for_the_target_itself(sets):
    losses = _losses(sets, perceptual_weight=1.0)
    x = sets[0].valid.images.float() / 255
    with torch.no_grad():
        same = float(losses.perceptual(x, x, None))
        blurred = torch.nn.functional.avg_pool2d(x, 5, 1, 2, count_include_pad=False)
        off = float(losses.perceptual(blurred, x, None))
    assert same < 1e-6 and off > 0.05, (same, off)


def test_training_with_identity_and_perceptual_terms(faces_a, faces_b, tmp_path, tiny_kwargs):
    """A few bf16 iterations end to end: the terms are logged, finite, and recorded in config.json."""
    model_dir = tmp_path / "model"
    summary = train(faces_a, faces_b, model_dir, iterations=2,
                    **{**tiny_kwargs, "batch_size": 4, "precision": "bf16", "identity_weight": 0.5,
                       "perceptual_weight": 0.2})
    losses = summary["losses"]
    for key in ("a/identity", "b/identity", "a/perceptual", "b/perceptual"):
        assert key in losses and math.isfinite(losses[key]), (key, losses)
    assert 0 <= losses["a/identity"] <= 2 and losses["a/perceptual"] > 0
    training = json.loads((model_dir / "config.json").read_text())["training"]
    assert training["identity_weight"] == 0.5 and training["perceptual_weight"] == 0.2


def test_a_late_identity_loss_starts_at_its_share_of_the_budget(faces_a, faces_b, tmp_path, tiny_kwargs):
    """--identity-start 0.5: the first half trains exactly as without the term, then it is on and logged."""
    kw = {**tiny_kwargs, "batch_size": 4, "log_every": 1}
    plain = train(faces_a, faces_b, tmp_path / "plain", iterations=4, **kw)
    late = train(faces_a, faces_b, tmp_path / "late", iterations=4, identity_weight=0.5, identity_start=0.5, **kw)
    curve = [json.loads((tmp_path / d / "state.json").read_text())["loss_history"]["curve"] for d in ("plain", "late")]
    assert curve[0][:2] == curve[1][:2]
    assert curve[0][2:] != curve[1][2:]
    assert "a/identity" in late["losses"] and "a/identity" not in plain["losses"]
