"""cpu: a swap model sized for training on a few CPU cores (issue 15).

    64×64×3 ─ conv5/2 64 ─ conv3/2 128 ─ residual 128 ─ conv3/2 256 ─ residual 256   (8×8×256)
            ─ bottleneck "dense4": conv3/2 256 ─ Dense 512 ─ Dense 4·4·256 (4×4×256) ─ upscale 512   (default)
              bottleneck "conv4":  conv3/2 256 (linear)                 (4×4×256) ─ upscale 512
              bottleneck "conv8":  conv1 128 (linear)                   (8×8×128) ─ conv3 512
                                                                          (8×8×512)  shared encoder
    decoder A, decoder B:
            ─ upscale 256 [─ residual 256] ─ upscale 128 ─ upscale 64 ─ conv5 3 ─ sigmoid   (64×64×3)

size=128 puts a conv5/2 32 in front (and the next conv is 3×3/2 to 64) and one more upscale,
to 32 wide at 128×128, behind; everything between is the same.

Why this shape: on a CPU the training step costs what its convolutions cost, and most of
faceswap's 64 px models spend it in the decoders (``lightweight``'s 512- and 256-wide upscales at
16 and 32 px are 4.8 of its 6.6 GFLOP per face). Here the decoders keep ``original``'s widths
(512 in at 8×8, then 256, 128, 64), whose upscales cost the same at every level, and the encoder
uses 3×3 convs and two residual blocks at 16 and 8 px, where they are cheap. The giant Dense
layer (16.8 M weights in ``lightweight``) is replaced by a small one at 4×4 (4.2 M weights,
0.4 % of the FLOPs), which is still the only way from one face to the other: both sides must
pass through the same 4×4×256 code, so the encoder keeps pose and expression there and each
decoder adds its identity.

Why dense4 is the default: the purely convolutional code ("conv4") reconstructs well but lets
the source's identity through (a conv keeps where things are, so B's features reach A's
decoder in place): after 728 iterations its A->B swaps were still nearest A (ID retrieval 4 %).
The Dense layers mix every position, as ``lightweight``'s do, and at the same cost per step
the dense4 model swapped (retrieval 100 % both ways at 714 iterations; README, tenth session).
See bench/models_cpu.py for FLOPs, parameters, speed and loss per CPU-second.
"""
from __future__ import annotations

from collections import OrderedDict

from torch import nn

from .base import SharedEncoderModel
from .blocks import DenseBottleneck, DownBlock, OutputHead, ResidualBlock, UpscaleBlock, conv
from .options import LEARN_MASK, Option

GRID = 256          # channels of the 8×8 features entering the bottleneck, and of the 4×4 code
DECODER_IN = 512    # channels at 8×8 where the decoders start (original's)
DENSE_UNITS = 512   # the "dense4" bottleneck's width (lightweight's)


def encoder(size: int, bottleneck: str) -> nn.Sequential:
    """Down to 8×8×256 through residual blocks, then the bottleneck, then out to 8×8×512."""
    first = [DownBlock(3, 32), DownBlock(32, 64, kernel=3)] if size == 128 else [DownBlock(3, 64)]
    parts: OrderedDict[str, nn.Module] = OrderedDict(
        down=nn.Sequential(*first, DownBlock(64, 128, kernel=3), ResidualBlock(128),
                           DownBlock(128, GRID, kernel=3), ResidualBlock(GRID)))
    if bottleneck == "conv4":    # ConvBottleneck's way down, once: 8×8 → 4×4, linear
        parts["bottleneck"] = conv(GRID, GRID, 3, 2)
        parts["up"] = UpscaleBlock(GRID, DECODER_IN)
    elif bottleneck == "dense4":
        parts["bottleneck"] = nn.Sequential(DownBlock(GRID, GRID, kernel=3),
                                            DenseBottleneck(GRID, 4, DENSE_UNITS, GRID, 4))
        parts["up"] = UpscaleBlock(GRID, DECODER_IN)
    else:                        # conv8: a 1×1 squeeze to half the channels at 8×8
        parts["bottleneck"] = conv(GRID, GRID // 2, 1)
        parts["up"] = DownBlock(GRID // 2, DECODER_IN, kernel=3, stride=1)
    return nn.Sequential(parts)


def decoder(size: int, residual: bool, learn_mask: bool) -> nn.Sequential:
    """original's upscales (512 in: 256, 128, 64[, 32]) and an optional residual block after the first."""
    widths = [256, 128, 64] + ([32] if size == 128 else [])
    layers: list[nn.Module] = []
    prev = DECODER_IN
    for i, width in enumerate(widths):
        layers.append(UpscaleBlock(prev, width))
        if residual and i == 0:
            layers.append(ResidualBlock(width))
        prev = width
    return nn.Sequential(OrderedDict(up=nn.Sequential(*layers), head=OutputHead(prev, learn_mask)))


class Cpu(SharedEncoderModel):
    arch = "cpu"
    summary = "made for CPUs: 64 (or 128) px, residual encoder, small 4×4 dense bottleneck, original's decoder widths"
    OPTIONS = {
        "size": Option(64, "input and output size in pixels", choices=(64, 128)),
        "bottleneck": Option("dense4", "the shared code: dense4 (4×4×256 through Dense 512), conv4 (4×4×256, "
                             "convolutional: leaks the source's identity) or conv8 (8×8×128)",
                             choices=("conv4", "dense4", "conv8")),
        "decoder_residual": Option(False, "a residual block after each decoder's first upscale (+25% FLOPs)"),
        "learn_mask": LEARN_MASK,
    }

    def __init__(self, options=None):
        super().__init__(options)
        o = self.options
        decoders = [decoder(o["size"], o["decoder_residual"], self.learn_mask) for _ in "ab"]
        self.set_parts(encoder(o["size"], o["bottleneck"]), *decoders,
                       input_size=o["size"], output_size=o["size"])
