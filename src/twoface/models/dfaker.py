"""dfaker: original's encoder on a half-size input, decoders with residual blocks (faceswap's "Dfaker").

    64×64×3 ─ original's encoder (4 convs, Dense 1024, 4·4·1024, upscale 512)   (8×8×512)
    decoder A, decoder B:
            [output 256 only: upscale 1024 ─ residual 1024]
            ─ upscale 512 ─ residual 512 ─ upscale 256 ─ residual 256
            ─ upscale 128 ─ residual 128 ─ upscale 64 ─ conv5 3 ─ sigmoid       (128×128×3)

The output is twice the input size: the decoder learns to add detail. Upscales
followed by a residual block use dfaker's LeakyReLU slope 0.2.
"""
from __future__ import annotations

from collections import OrderedDict

from torch import nn

from .base import SharedEncoderModel
from .blocks import RESIDUAL_LEAK, OutputHead, UpscaleBlock, up_stack
from .options import LEARN_MASK, Option
from .original import dense_encoder


def residual_decoder(cin: int, widths: list[int], last: int | None, learn_mask: bool) -> nn.Sequential:
    """Upscale+residual pairs of the given widths, a plain upscale to ``last`` (if any), the head."""
    parts: OrderedDict[str, nn.Module] = OrderedDict(up=up_stack(cin, widths, slope=RESIDUAL_LEAK, residual=1))
    if last:
        parts["last"] = UpscaleBlock(widths[-1], last)
    parts["head"] = OutputHead(last or widths[-1], learn_mask)
    return nn.Sequential(parts)


class Dfaker(SharedEncoderModel):
    arch = "dfaker"
    summary = "faceswap's Dfaker: 64→128 px (or 128→256), residual decoders"
    OPTIONS = {
        "output_size": Option(128, "output size in pixels; the input is half of it", choices=(128, 256)),
        "learn_mask": LEARN_MASK,
    }

    def __init__(self, options=None):
        super().__init__(options)
        out = self.options["output_size"]
        widths = ([1024] if out == 256 else []) + [512, 256, 128]
        encoder = dense_encoder(out // 2, [128, 256, 512, 1024], units=1024, grid_ch=1024, shared_up=512)
        decoders = [residual_decoder(512, widths, 64, self.learn_mask) for _ in "ab"]
        self.set_parts(encoder, *decoders, input_size=out // 2, output_size=out)
