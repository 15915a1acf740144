"""The optional adversarial loss: a PatchGAN discriminator with least-squares loss and mixup.

Why these three (as in shaoanlu's faceswap-GAN): a patch discriminator judges
each ~receptive-field patch as real or fake, which pushes the decoder towards
sharp local texture without caring about global layout (the reconstruction
losses already handle that); least-squares targets give gradients even for
confidently classified samples (Mao et al. 2017, LSGAN); and mixup (Zhang et
al. 2018) trains the discriminator on blends of real and fake with soft
targets, which keeps it from overpowering a small generator.

    in×in×C ─ conv4/2 w ─ conv4/2 2w ─ … (``layers`` halvings, widths capped at 8w)
            ─ conv3/1 1  → logits, one per patch                    (in/2^layers)²

All maths that feeds a loss runs in float32. ``CodeDiscriminator`` (--true-face) judges the
encoder's codes instead of images: whose face a code came from.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import he_uniform_

D_LEAK = 0.2  # the usual LeakyReLU slope of GAN discriminators


class PatchDiscriminator(nn.Module):
    """Stride-2 4×4 convs with LeakyReLU(0.2), then a 3×3 conv to one logit per patch."""

    def __init__(self, in_channels: int = 3, width: int = 64, layers: int = 3):
        super().__init__()
        if layers < 1 or width < 1 or in_channels < 1:
            raise ValueError("in_channels, width and layers must be positive")
        body: list[nn.Module] = []
        prev = in_channels
        for i in range(layers):
            out = width * min(2 ** i, 8)
            body += [nn.Conv2d(prev, out, 4, 2, 1), nn.LeakyReLU(D_LEAK, inplace=True)]
            prev = out
        self.body = nn.Sequential(*body)
        self.logits = nn.Conv2d(prev, 1, 3, 1, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                he_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.layers = layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N×C×H×W images → N×1×(H/2^layers)×(W/2^layers) float32 logits."""
        return self.logits(self.body(x)).float()


class CodeDiscriminator(nn.Module):
    """Whose face a code is (--true-face): a 1×1 squeeze of a spatial code, then two dense layers.

    Small on purpose (DeepFaceLab's code discriminator is dense layers too): it only has to
    separate two clouds of codes, and every step pays for it. ``code_shape`` is one code's
    (C, H, W), or (D,) for a flat one.
    """

    def __init__(self, code_shape: tuple[int, ...], width: int = 256, squeeze: int = 64):
        super().__init__()
        if not code_shape or any(d < 1 for d in code_shape) or width < 1 or squeeze < 1:
            raise ValueError("code_shape, width and squeeze must be positive")
        if len(code_shape) == 3:
            c, h, w = code_shape
            self.squeeze: nn.Module = nn.Sequential(nn.Conv2d(c, min(squeeze, c), 1), nn.LeakyReLU(D_LEAK, inplace=True))
            flat = min(squeeze, c) * h * w
        else:
            self.squeeze = nn.Identity()
            flat = int(torch.Size(code_shape).numel())
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(flat, width), nn.LeakyReLU(D_LEAK, inplace=True),
                                   nn.Linear(width, width), nn.LeakyReLU(D_LEAK, inplace=True), nn.Linear(width, 1))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                he_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """N codes → N×1 float32 logits (1: A's, 0: B's)."""
        return self.dense(self.squeeze(z)).float()


DISCRIMINATORS = {"patch": PatchDiscriminator, "code": CodeDiscriminator}


def lsgan_target_loss(logits: torch.Tensor, target: float | torch.Tensor) -> torch.Tensor:
    """Mean squared distance of the logits to a target (1 real, 0 fake, or mixup's λ)."""
    target = torch.as_tensor(target, dtype=torch.float32, device=logits.device)
    return F.mse_loss(logits.float(), target.expand_as(logits))


def lsgan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss: ½·E[(D(real) − 1)²] + ½·E[D(fake)²] (LSGAN, a=0, b=1)."""
    return 0.5 * (lsgan_target_loss(real_logits, 1.0) + lsgan_target_loss(fake_logits, 0.0))


def lsgan_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss: ½·E[(D(fake) − 1)²] (LSGAN, c=1)."""
    return 0.5 * lsgan_target_loss(fake_logits, 1.0)


def mixup(real: torch.Tensor, fake: torch.Tensor, alpha: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend real and fake per sample with λ ~ Beta(α, α); returns (mixed, λ as N×1×1×1 float32).

    Train the discriminator with ``lsgan_target_loss(D(mixed), λ)``, passing
    ``fake.detach()`` so this step does not update the generator. λ is drawn
    from torch's global generator, so ``torch.manual_seed`` makes it repeatable.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} differ in shape")
    if alpha <= 0:
        raise ValueError("mixup alpha must be positive")
    n = real.shape[0]
    a = torch.tensor(float(alpha))
    lam = torch.distributions.Beta(a, a).sample((n,)).to(real.device).view(n, 1, 1, 1)
    weight = lam.to(real.dtype)
    return weight * real + (1 - weight) * fake.to(real.dtype), lam
