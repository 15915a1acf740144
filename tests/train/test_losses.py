"""Losses on real face crops: zero for identical images, growing with noise, finite gradients under bf16."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from twoface.errors import TwofaceError
from twoface.train import losses as L

NAMES = ["ssim", "ms_ssim", "mae", "mse", "gmsd", "lpl", "ffl"]


@pytest.fixture(scope="module")
def faces(data_dir) -> torch.Tensor:
    """Eight real frames of person A, centre-cropped around the face, float RGB in [0,1], 64 px."""
    import av
    import cv2

    crops = []
    with av.open(str(data_dir / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4")) as box:
        for i, frame in enumerate(box.decode(video=0)):
            if i % 40 == 0:
                rgb = frame.to_ndarray(format="rgb24")
                h, w = rgb.shape[:2]
                crop = rgb[h // 2 - 150:h // 2 + 150, w // 2 - 150:w // 2 + 150]
                crops.append(cv2.resize(crop, (64, 64), interpolation=cv2.INTER_AREA))
            if len(crops) == 8:
                break
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255


@pytest.mark.parametrize("name", NAMES)
def test_identical_is_zero_and_noise_increases(name, faces):
    fn = L.LOSSES[name]
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(faces.shape, generator=gen)
    assert fn(faces, faces).item() == pytest.approx(0.0, abs=2e-5)
    values = [fn((faces + s * noise).clamp(0, 1), faces).item() for s in (0.02, 0.08, 0.25)]
    assert values[0] < values[1] < values[2], values
    assert values[0] > 1e-5


@pytest.mark.parametrize("name", NAMES)
def test_weights_focus_the_loss(name, faces):
    """Damage only the left half: weighting the right half must give a smaller loss than weighting the left."""
    damaged = faces.clone()
    damaged[..., :32] = (damaged[..., :32] + 0.3 * torch.randn_like(damaged[..., :32])).clamp(0, 1)
    left = torch.zeros(faces.shape[0], 1, 64, 64)
    left[..., :32] = 1
    right = 1 - left
    fn = L.LOSSES[name]
    assert fn(damaged, faces, right + 0.01).item() < fn(damaged, faces, left + 0.01).item()


def test_ms_ssim_scales_suit_small_faces():
    assert L.ms_ssim_scales(64) == 3
    assert L.ms_ssim_scales(128) == 4
    assert L.ms_ssim_scales(256) == 5


def test_sum_under_bf16_autocast_has_finite_gradients(faces):
    loss = L.build_loss("ssim:1,ms_ssim:0.5,mae:1,mse:1,gmsd:0.3,lpl:1,ffl:1")
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    mask = (faces.mean(1, keepdim=True) > 0.3).float()
    weights = torch.ones_like(mask)
    weights[..., 20:30, 10:54] = 3
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = torch.sigmoid(conv(faces))
        assert out.dtype == torch.bfloat16
        total, parts = loss(out, faces, mask, weights)
    assert total.dtype == torch.float32
    total.backward()
    assert set(parts) == {"ssim", "ms_ssim", "mae", "mse", "gmsd", "lpl", "ffl", "mask"}
    assert all(torch.isfinite(v) and not v.requires_grad for v in parts.values())
    assert torch.isfinite(conv.weight.grad).all() and conv.weight.grad.abs().sum() > 0


def test_mask_penalty_ignores_the_background(faces):
    """With penalty 0, damage outside the mask costs nothing; with penalty 1 it counts fully."""
    mask = torch.zeros(faces.shape[0], 1, 64, 64)
    mask[..., 16:48, 16:48] = 1
    damaged = faces.clone()
    damaged[..., :8, :] = 1 - damaged[..., :8, :]
    none = L.build_loss("mae:1,mse:1", mask_penalty=0.0)(damaged, faces, mask)[0]
    full = L.build_loss("mae:1,mse:1", mask_penalty=1.0)(damaged, faces, mask)[0]
    assert none.item() == pytest.approx(0.0, abs=1e-7)
    assert full.item() > 0.01


def test_learned_mask_channel_is_scored(faces):
    mask = (faces.mean(1, keepdim=True) > 0.4).float()
    loss = L.build_loss("mse:1")
    good = torch.cat([faces, mask], 1)
    bad = torch.cat([faces, 1 - mask], 1)
    assert loss(good, faces, mask)[1]["mask"].item() == 0
    assert loss(bad, faces, mask)[1]["mask"].item() > 0.1
    bce = L.mask_loss(mask * 0.98 + 0.01, mask, "bce")
    assert 0 < bce.item() < L.mask_loss(0.5 * torch.ones_like(mask), mask, "bce").item()


def test_spec_parsing():
    assert L.parse_loss_spec("ssim:1, mse:0.5") == [("ssim", 1.0), ("mse", 0.5)]
    assert L.parse_loss_spec("ms-ssim") == [("ms_ssim", 1.0)]
    assert L.build_loss("ssim:1,mse:1").spec == "ssim:1,mse:1"
    for bad, words in [("ssmi:1", "unknown loss 'ssmi'"), ("mse:x", "not a number"),
                       ("mse:-1", ">= 0"), ("", "no term"), ("mse:0", "no term")]:
        with pytest.raises(TwofaceError, match=words):
            L.parse_loss_spec(bad)


def test_default_training_loss_weights_the_face_over_the_background(faces, tmp_path):
    """Issue 14: faceswap trains with its penalised mask loss on, and twoface now does too, so the
    model's capacity goes to the face: an error outside the face mask costs mask_penalty of the same
    error inside it."""
    from twoface.train.options import TrainOptions

    opts = TrainOptions(faces_a=tmp_path / "a", faces_b=tmp_path / "b", model_dir=tmp_path / "m")
    assert opts.mask_loss and 0 < opts.mask_penalty < 1
    loss = L.build_loss(opts.loss, mask_penalty=opts.mask_penalty)
    n, _, s, _ = faces.shape
    yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    oval = (((xx - s / 2) / (0.3 * s)) ** 2 + ((yy - s / 2) / (0.4 * s)) ** 2 <= 1).float()
    mask = oval.expand(n, 1, s, s)
    noise = 0.15 * torch.randn(faces.shape, generator=torch.Generator().manual_seed(0))
    bg = (faces + noise * (1 - mask)).clamp(0, 1)
    face = (faces + noise * mask).clamp(0, 1)
    # per unit of area: the background error, weighted, costs far less than the face error
    area_in, area_out = float(mask.mean()), 1 - float(mask.mean())
    bg_cost = float(loss(bg, faces, mask)[0]) / area_out
    face_cost = float(loss(face, faces, mask)[0]) / area_in
    assert bg_cost < 0.35 * face_cost, (bg_cost, face_cost)
    unmasked = float(loss(bg, faces, None)[0]) / area_out
    assert bg_cost < 0.5 * unmasked  # SSIM windows straddling the edge keep part of it
