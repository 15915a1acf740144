"""The --gan pieces: patch discriminator shapes, LSGAN loss values, mixup, gradients."""
from __future__ import annotations

import pytest
import torch

from twoface.models.discriminator import (
    DISCRIMINATORS,
    PatchDiscriminator,
    lsgan_d_loss,
    lsgan_g_loss,
    lsgan_target_loss,
    mixup,
)


@pytest.mark.parametrize("size,layers,grid", [(64, 3, 8), (128, 3, 16), (64, 2, 16), (32, 1, 16)])
def test_one_logit_per_patch(size, layers, grid):
    d = PatchDiscriminator(3, 16, layers)
    y = d(torch.rand(2, 3, size, size))
    assert y.shape == (2, 1, grid, grid) and y.dtype == torch.float32


def test_widths_double_and_cap_at_eight_times():
    d = PatchDiscriminator(in_channels=6, width=4, layers=5)
    widths = [m.out_channels for m in d.body if isinstance(m, torch.nn.Conv2d)]
    assert widths == [4, 8, 16, 32, 32]
    assert d.body[0].in_channels == 6
    assert DISCRIMINATORS["patch"] is PatchDiscriminator
    with pytest.raises(ValueError):
        PatchDiscriminator(layers=0)


def test_lsgan_losses_on_known_inputs():
    ones, zeros = torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)
    assert lsgan_d_loss(ones, zeros).item() == 0.0                      # perfect discriminator
    assert lsgan_d_loss(zeros, ones).item() == pytest.approx(1.0)       # ½(1) + ½(1)
    assert lsgan_d_loss(ones * 0.5, ones * 0.5).item() == pytest.approx(0.25)
    assert lsgan_g_loss(ones).item() == 0.0                             # the generator fooled D
    assert lsgan_g_loss(zeros).item() == pytest.approx(0.5)
    assert lsgan_g_loss(ones * 3).item() == pytest.approx(2.0)          # ½·(3 − 1)²
    lam = torch.tensor([0.25, 0.75]).view(2, 1, 1, 1)
    # per-sample targets broadcast over the patches: ((0.5−0.25)² + (0.5−0.75)²)/2
    assert lsgan_target_loss(ones * 0.5, lam).item() == pytest.approx(0.0625)
    assert lsgan_d_loss(ones.bfloat16(), zeros.bfloat16()).dtype == torch.float32


def test_mixup_blends_per_sample():
    torch.manual_seed(0)
    real, fake = torch.ones(64, 3, 8, 8), torch.zeros(64, 3, 8, 8)
    mixed, lam = mixup(real, fake, alpha=0.2)
    assert lam.shape == (64, 1, 1, 1) and lam.dtype == torch.float32
    assert (lam >= 0).all() and (lam <= 1).all() and lam.std() > 0.1   # Beta(0.2, 0.2): mostly near 0 or 1
    assert torch.allclose(mixed, lam.expand_as(mixed))
    torch.manual_seed(0)
    again, lam2 = mixup(real, fake, alpha=0.2)
    assert torch.equal(lam, lam2) and torch.equal(mixed, again)
    torch.manual_seed(1)
    _, many = mixup(torch.ones(4000, 1, 1, 1), torch.zeros(4000, 1, 1, 1), alpha=1.0)
    assert abs(many.mean().item() - 0.5) < 0.03                          # Beta(1, 1) is uniform
    with pytest.raises(ValueError):
        mixup(real, fake[:3])
    with pytest.raises(ValueError):
        mixup(real, fake, alpha=0)


def test_gradients_flow_in_bf16_channels_last():
    torch.manual_seed(0)
    d = PatchDiscriminator(3, 16, 3).to(memory_format=torch.channels_last)
    real = torch.rand(2, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    fake = torch.rand(2, 3, 64, 64, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = lsgan_d_loss(d(real), d(fake.detach()))
    loss.backward()
    for name, p in d.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert fake.grad is None                           # detached: the D step does not touch G
    d.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        g = lsgan_g_loss(d(fake))
    g.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
