"""custom: a configurable model for higher resolutions.

    in×in×3 ─ depth × conv5/2 (w, 2w, 4w, ... capped at max_width)            (s×s×C), s = in/2^depth
            ─ bottleneck "dense": Dense latent ─ Dense 4·4·2d ─ reshape
              bottleneck "conv":  conv3/2 … down to 1×1×latent ─ 1×1 conv ─ shuffle to 4×4×2d
            ─ upscale d                                                       (8×8×d)   encoder
    decoder A, decoder B:
            ─ upscale d/2 ─ upscale d/4 ─ … (never below 32 wide) ─ conv5 3 ─ sigmoid  (out×out×3)

Input and output sizes are independent powers of two from 64 to 512. The
default depth ends the encoder at 4×4. The "conv" bottleneck (stride-2 convs to
a 1×1 latent) replaces the Dense layer's ``s²·C·latent`` weights with ``9·C²`` per
halving, which is what makes a shallow encoder on a large input affordable.
"upscaler" picks pixel shuffle (faceswap's) or resize-conv (nearest ×2 then conv).
With the defaults it is original's layout at 128 px (~82 M parameters).
"""
from __future__ import annotations

import math
from collections import OrderedDict

from torch import nn

from .base import SharedEncoderModel
from .blocks import UPSCALERS, ConvBottleneck, DenseBottleneck, OutputHead, down_stack, up_stack
from .options import LEARN_MASK, Option, bad_combination

MIN_DECODER_WIDTH = 32
MAX_DENSE_WEIGHTS = 1 << 28   # a Dense layer beyond 268 M weights is a mistake, not a model


def encoder_widths(width: int, depth: int, max_width: int) -> list[int]:
    return [min(width << i, max_width) for i in range(depth)]


def decoder_widths(decoder_width: int, output_size: int) -> list[int]:
    steps = int(math.log2(output_size // 8))
    return [max(decoder_width >> (i + 1), MIN_DECODER_WIDTH) for i in range(steps)]


class Custom(SharedEncoderModel):
    arch = "custom"
    summary = "configurable: 64–512 px in and out, dense or conv bottleneck, pixel-shuffle or resize-conv"
    OPTIONS = {
        "input_size": Option(128, "input size in pixels", lo=64, hi=512, pow2=True),
        "output_size": Option(128, "output size in pixels", lo=64, hi=512, pow2=True),
        "encoder_width": Option(64, "width of the first conv; each further conv doubles it", lo=8, hi=1024),
        "encoder_depth": Option(None, "number of stride-2 convs (default: down to 4×4)", kind=int, lo=1, hi=9),
        "max_width": Option(1024, "cap on the encoder's widths", lo=8, hi=4096),
        "bottleneck": Option("dense", "dense (Flatten→Dense) or conv (stride-2 convs to 1×1)",
                             choices=("dense", "conv")),
        "latent": Option(1024, "bottleneck width: Dense units, or channels at 1×1", lo=16, hi=8192),
        "decoder_width": Option(512, "width after the shared upscale at 8×8; halves per upscale",
                                lo=16, hi=2048),
        "upscaler": Option("pixelshuffle", "how decoders upscale", choices=tuple(UPSCALERS)),
        "learn_mask": LEARN_MASK,
    }

    @classmethod
    def resolve(cls, options: dict) -> dict:
        size = options["input_size"]
        deepest = int(math.log2(size))
        if options["encoder_depth"] is None:
            options["encoder_depth"] = deepest - 2
        depth = options["encoder_depth"]
        if depth > deepest:
            raise bad_combination(cls.arch, f"encoder_depth={depth} would shrink a {size} px input "
                                  f"below 1 px; use at most {deepest}")
        if options["bottleneck"] == "dense":
            side = size >> depth
            flat = side * side * encoder_widths(options["encoder_width"], depth, options["max_width"])[-1]
            if flat * options["latent"] > MAX_DENSE_WEIGHTS:
                raise bad_combination(cls.arch, f"the Dense bottleneck would need {flat * options['latent']:,} "
                                      f"weights ({side}×{side} features); raise encoder_depth or use "
                                      "bottleneck=conv")
        return options

    def __init__(self, options=None):
        super().__init__(options)
        o = self.options
        widths = encoder_widths(o["encoder_width"], o["encoder_depth"], o["max_width"])
        side, grid_ch, d = o["input_size"] >> o["encoder_depth"], 2 * o["decoder_width"], o["decoder_width"]
        kind = DenseBottleneck if o["bottleneck"] == "dense" else ConvBottleneck
        encoder = nn.Sequential(OrderedDict(
            down=down_stack(3, widths),
            bottleneck=kind(widths[-1], side, o["latent"], grid_ch, 4),
            up=UPSCALERS[o["upscaler"]](grid_ch, d),
        ))
        dec = decoder_widths(d, o["output_size"])
        decoders = [nn.Sequential(OrderedDict(up=up_stack(d, dec, o["upscaler"]),
                                              head=OutputHead(dec[-1], self.learn_mask))) for _ in "ab"]
        self.set_parts(encoder, *decoders, input_size=o["input_size"], output_size=o["output_size"])
