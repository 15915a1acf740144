"""villain: a heavy 128 px model with a deep residual entry (VillainGuy's model, faceswap's "Villain").

    128×128×3 ─ conv5/2 128 (no activation) = e                                   (64×64×128)
              ─ 16 residual blocks 128 on LeakyReLU₀.₂(e), plus LeakyReLU₀.₁(e)
              ─ conv5/2 128 ─ pixelshuffle ─ conv5/2 128 ─ pixelshuffle ─ conv5/2 128  (32×32×128)
              ─ separable5/2 256 ─ conv5/2 512 ─ separable5/2 1024                 (4×4×1024)
              ─ Dense 1024 ─ Dense 8·8·1024 ─ reshape ─ upscale 512               (16×16×512)  encoder
    decoder A, decoder B:
              ─ upscale 512 ─ residual 512 ─ upscale 256 ─ residual 256
              ─ upscale 128 ─ residual 128 ─ conv5 3 ─ sigmoid                    (128×128×3)

The stride-2-then-shuffle pairs trade resolution for channels and back, mixing
neighbouring pixels cheaply. ``lowmem`` halves the residual chain and the Dense
width and skips the last separable conv, as faceswap's option does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import SharedEncoderModel
from .blocks import LEAK, RESIDUAL_LEAK, DenseBottleneck, DownBlock, ResidualBlock, SeparableDownBlock
from .dfaker import residual_decoder
from .options import LEARN_MASK, Option


class ResidualEntry(nn.Module):
    """The first conv, then a chain of residual blocks with a long skip around the chain."""

    def __init__(self, ch: int, blocks: int):
        super().__init__()
        self.conv = DownBlock(3, ch, slope=None)
        self.chain = nn.Sequential(*(ResidualBlock(ch) for _ in range(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.conv(x)
        return self.chain(F.leaky_relu(e, RESIDUAL_LEAK)) + F.leaky_relu(e, LEAK)


class Villain(SharedEncoderModel):
    arch = "villain"
    summary = "faceswap's Villain: 128→128 px, 16 residual blocks, very heavy (~150 M parameters)"
    OPTIONS = {
        "lowmem": Option(False, "8 residual blocks, Dense 512 and no 1024-wide separable conv"),
        "learn_mask": LEARN_MASK,
    }

    def __init__(self, options=None):
        super().__init__(options)
        lowmem = self.options["lowmem"]
        layers = [
            ResidualEntry(128, 8 if lowmem else 16),
            DownBlock(128, 128), nn.PixelShuffle(2),
            DownBlock(32, 128), nn.PixelShuffle(2),
            DownBlock(32, 128),
            SeparableDownBlock(128, 256),
            DownBlock(256, 512),
        ]
        if not lowmem:
            layers.append(SeparableDownBlock(512, 1024))
        layers.append(DenseBottleneck(512 if lowmem else 1024, 8 if lowmem else 4,
                                      512 if lowmem else 1024, 1024, 8, upscale_to=512))
        decoders = [residual_decoder(512, [512, 256, 128], None, self.learn_mask) for _ in "ab"]
        self.set_parts(nn.Sequential(*layers), *decoders, input_size=128, output_size=128)
