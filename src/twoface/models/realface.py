"""realface: an asymmetric, configurable-size model (andenixa's RealFace "Pegasus", faceswap's "RealFace").

    in×in×3 ─ 3 × [conv5/2 c·2ⁱ ─ residual ─ residual] ─ conv5/2 8c        (in/16 × in/16 × 8c)  encoder
    decoder B (the face you want to see):
            ─ Dense dense_nodes ─ Dense g·g·f ─ reshape ─ upscale f ─ residual f
            ─ (k−2) × [upscale d/2ⁱ ─ residual ─ residual] ─ upscale d/2^(k−2)
            ─ conv5 3 ─ sigmoid                                              (out×out×3)
    decoder A (the face being replaced): the same with 2/3 of the widths and no
            residual blocks after the first upscale.

c = complexity_encoder (128), d = complexity_decoder (512). The starting grid g
is out/16 or out/32 (whichever is below 10 and, times 16, closest to the input
size); k (4 or 5) upscales bring g to the output size; f = 1024 − 64·(g − 4),
rounded down to a multiple of 16. Input 64–128 (step 16), output 64–256 (step 32).
"""
from __future__ import annotations

from collections import OrderedDict

from torch import nn

from .base import SharedEncoderModel
from .blocks import RESIDUAL_LEAK, DenseBottleneck, DownBlock, OutputHead, ResidualBlock, UpscaleBlock, up_stack
from .options import LEARN_MASK, Option


def decoder_grid(input_size: int, output_size: int) -> tuple[int, int]:
    """(g, k): the decoder's starting grid size and its number of ×2 upscales."""
    candidates = [(output_size >> k, k) for k in (4, 5) if (output_size >> k) < 10]
    return min(candidates, key=lambda c: abs(c[0] * 16 - input_size))


def grid_filters(grid: int) -> int:
    """The channel count of the Dense grid: fewer channels for a larger grid."""
    return (1024 - (grid - 4) * 64) // 16 * 16


class RealFace(SharedEncoderModel):
    arch = "realface"
    summary = "faceswap's RealFace: 64–128 px in, 64–256 px out, heavier decoder B"
    OPTIONS = {
        "input_size": Option(64, "input size in pixels", lo=64, hi=128, multiple=16),
        "output_size": Option(128, "output size in pixels", lo=64, hi=256, multiple=32),
        "dense_nodes": Option(1536, "width of decoder B's Dense layer (A gets 2/3)", lo=128, hi=4096),
        "complexity_encoder": Option(128, "width of the encoder's first conv (doubles 3 times)", lo=16, hi=256),
        "complexity_decoder": Option(512, "width of decoder B's first residual upscale (A gets 2/3)",
                                     lo=64, hi=1024),
        "learn_mask": LEARN_MASK,
    }

    def __init__(self, options=None):
        super().__init__(options)
        o = self.options
        c = o["complexity_encoder"]
        layers, prev = [], 3
        for i in range(3):
            layers += [DownBlock(prev, c * 2 ** i, slope=RESIDUAL_LEAK),
                       ResidualBlock(c * 2 ** i), ResidualBlock(c * 2 ** i)]
            prev = c * 2 ** i
        layers.append(DownBlock(prev, 8 * c))
        grid, ups = decoder_grid(o["input_size"], o["output_size"])
        enc = (8 * c, o["input_size"] // 16)
        self.set_parts(nn.Sequential(*layers),
                       self._decoder_a(enc, grid, ups), self._decoder_b(enc, grid, ups),
                       input_size=o["input_size"], output_size=o["output_size"])

    def _decoder_b(self, enc: tuple[int, int], grid: int, ups: int) -> nn.Sequential:
        f, d = grid_filters(grid), self.options["complexity_decoder"]
        layers: list[nn.Module] = [
            DenseBottleneck(*enc, self.options["dense_nodes"], f, grid, upscale_to=f, slope=RESIDUAL_LEAK),
            ResidualBlock(f, bias=False)]
        prev = f
        for i in range(ups - 2):
            layers += [UpscaleBlock(prev, d >> i, slope=RESIDUAL_LEAK),
                       ResidualBlock(d >> i, bias=False), ResidualBlock(d >> i)]
            prev = d >> i
        layers += [UpscaleBlock(prev, d >> (ups - 2)), OutputHead(d >> (ups - 2), self.learn_mask)]
        return nn.Sequential(*layers)

    def _decoder_a(self, enc: tuple[int, int], grid: int, ups: int) -> nn.Sequential:
        f, d = int(grid_filters(grid) / 1.5), int(self.options["complexity_decoder"] / 1.5)
        widths = [d >> i for i in range(ups - 1)]
        return nn.Sequential(OrderedDict(
            bottleneck=DenseBottleneck(*enc, int(self.options["dense_nodes"] / 1.5), f, grid,
                                       upscale_to=f, slope=RESIDUAL_LEAK),
            residual=ResidualBlock(f, bias=False),
            up=up_stack(f, widths),
            head=OutputHead(widths[-1], self.learn_mask),
        ))
