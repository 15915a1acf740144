"""iae: the intermediate autoencoder (shaoanlu's IAE, faceswap's "IAE").

    64×64×3 ─ conv5/2 128 ─ conv5/2 256 ─ conv5/2 512 ─ conv5/2 1024      (4×4×1024)  encoder
    inter_a, inter_b, inter_both (each):
            ─ Dense 1024 ─ Dense 4·4·512 ─ reshape                       (4×4×512)
    decoder (shared):  concat(inter_<side>, inter_both)                   (4×4×1024)
            ─ upscale 512 ─ upscale 256 ─ upscale 128 ─ upscale 64 ─ conv5 3 ─ sigmoid (64×64×3)

The identity lives in the small per-side intermediate networks; the decoder is
shared, and ``inter_both`` carries what the two faces have in common (light,
pose), which is why IAE swaps tend to keep the target's lighting.
"""
from __future__ import annotations

import torch

from .base import SwapModel
from .blocks import DenseBottleneck, down_stack
from .options import LEARN_MASK
from .original import upscale_decoder


def _intermediate() -> DenseBottleneck:
    return DenseBottleneck(1024, 4, 1024, 512, 4)


class IAE(SwapModel):
    arch = "iae"
    summary = "faceswap's IAE: 64→64 px, per-side intermediate Dense layers, one shared decoder"
    OPTIONS = {"learn_mask": LEARN_MASK}
    SIDE_PARTS = {"a": ("inter_a",), "b": ("inter_b",)}

    def __init__(self, options=None):
        super().__init__(options)
        self.encoder = down_stack(3, [128, 256, 512, 1024])
        self.inter_a = _intermediate()
        self.inter_b = _intermediate()
        self.inter_both = _intermediate()
        self.decoder = upscale_decoder(1024, [512, 256, 128, 64], self.learn_mask)
        self.input_size = self.output_size = 64

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor, side: str) -> torch.Tensor:
        inter = self.inter_a if self.side_of(side) == "a" else self.inter_b
        return self.decoder(torch.cat([inter(z), self.inter_both(z)], dim=1))
