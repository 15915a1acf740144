"""dlight: a light, high-resolution dfaker variant (AnDenix's model, faceswap's "DLight").

    128×128×3 ─ 5 × [conv5/2 e·2ⁱ⁻¹ ‖ avgpool2] (concatenated)          (4×4×(3 + e·31/2))
              ─ Dense D ─ Dense 4·4·1024 ─ reshape (dropout 0.05)           (4×4×1024)  encoder
    decoder A (the face being replaced, light):
              ─ bilinear ×r ─ hybrid-upscale 256 ─ 128 ─ 64 ─ 32 ─ conv5 3 ─ sigmoid
    decoder B (the face you want to see), details "good":
              ─ hybrid-upscale×r 512 ─ 3 residual 512 ─ hybrid 512 ─ 2 residual 512 ─ batchnorm
              ─ hybrid 256 ─ residual 256 ─ hybrid 128 ─ residual 128 ─ batchnorm
              ─ hybrid 64 ─ conv5 3 ─ sigmoid
      details "fast": upscale×r 512 ─ fast-hybrid 512 ─ 256 ─ 128 ─ 64 ─ conv5 3 ─ sigmoid

r = output_size / 64 (2, 4 or 6 for 128, 256, 384 px out). features lowmem/fair/best
set e = 48/64/64 and D = 640/1152/1664. A hybrid upscale concatenates a
pixel-shuffle path (detail) with a bilinear path (lighting); see blocks.py.
"""
from __future__ import annotations

from collections import OrderedDict

from torch import nn

from .base import SharedEncoderModel
from .blocks import DenseBottleneck, HybridUpscaleBlock, OutputHead, PoolConcatDownBlock, ResidualBlock, UpscaleBlock
from .options import LEARN_MASK, Option

_DENSE = {"lowmem": 640, "fair": 1152, "best": 1664}


def _hybrid_chain(cin: int, widths: list[int], fast: bool = False) -> list[nn.Module]:
    layers: list[nn.Module] = []
    prev = cin
    for width in widths:
        layers.append(HybridUpscaleBlock(prev, width, fast=fast))
        prev = width
    return layers


class DLight(SharedEncoderModel):
    arch = "dlight"
    summary = "faceswap's DLight: 128 px in, 128/256/384 px out, light decoder A, rich decoder B"
    OPTIONS = {
        "features": Option("best", "encoder capacity (tattoos, wrinkles...)", choices=("lowmem", "fair", "best")),
        "details": Option("good", "decoder B: 'good' adds residual blocks, 'fast' is lighter",
                          choices=("fast", "good")),
        "output_size": Option(256, "output size in pixels", choices=(128, 256, 384)),
        "learn_mask": LEARN_MASK,
    }

    def __init__(self, options=None):
        super().__init__(options)
        o = self.options
        e = 48 if o["features"] == "lowmem" else 64
        layers, prev = [], 3
        for width in (e // 2, e, 2 * e, 4 * e, 8 * e):
            layers.append(PoolConcatDownBlock(prev, width))
            prev += width
        layers.append(DenseBottleneck(prev, 4, _DENSE[o["features"]], 1024, 4, dropout=0.05))
        ratio = o["output_size"] // 64
        decoder_a = nn.Sequential(
            nn.Upsample(scale_factor=ratio, mode="bilinear", align_corners=False),
            *_hybrid_chain(1024, [256, 128, 64, 32]),
            OutputHead(32, self.learn_mask))
        builder = self._decoder_b_good if o["details"] == "good" else self._decoder_b_fast
        self.set_parts(nn.Sequential(*layers), decoder_a, builder(ratio),
                       input_size=128, output_size=o["output_size"])

    def _decoder_b_good(self, ratio: int) -> nn.Sequential:
        return nn.Sequential(OrderedDict(
            grid=HybridUpscaleBlock(1024, 512, scale=ratio),
            res1=nn.Sequential(ResidualBlock(512), ResidualBlock(512, bias=False), ResidualBlock(512, bias=False)),
            up1=HybridUpscaleBlock(512, 512),
            res2=nn.Sequential(ResidualBlock(512), ResidualBlock(512, bias=False)),
            norm2=nn.BatchNorm2d(512),
            up2=HybridUpscaleBlock(512, 256),
            res3=ResidualBlock(256),
            up3=HybridUpscaleBlock(256, 128),
            res4=ResidualBlock(128, bias=False),
            norm4=nn.BatchNorm2d(128),
            up4=HybridUpscaleBlock(128, 64),
            head=OutputHead(64, self.learn_mask),
        ))

    def _decoder_b_fast(self, ratio: int) -> nn.Sequential:
        return nn.Sequential(
            UpscaleBlock(1024, 512, scale=ratio),
            *_hybrid_chain(512, [512, 256, 128, 64], fast=True),
            OutputHead(64, self.learn_mask))
