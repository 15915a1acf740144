"""original: the model that started it all (the 2017 reddit autoencoder, faceswap's "Original").

    64×64×3 ─ conv5/2 128 ─ conv5/2 256 ─ conv5/2 512 ─ conv5/2 1024     (4×4×1024)
            ─ Dense 1024 ─ Dense 4·4·1024 ─ reshape ─ upscale 512         (8×8×512)  shared encoder
    decoder A, decoder B (one per identity):
            ─ upscale 256 ─ upscale 128 ─ upscale 64 ─ conv5 3 ─ sigmoid (64×64×3)

About 82 M parameters with both decoders (69.7 M in the encoder, 6.2 M per decoder):
the Dense layers and the 1024→2048 upscale conv hold most of them.
``lowmem`` drops the 1024 conv and halves the Dense width, as faceswap's option does.
"""
from __future__ import annotations

from collections import OrderedDict

from torch import nn

from .base import SharedEncoderModel
from .blocks import DenseBottleneck, OutputHead, down_stack, up_stack
from .options import LEARN_MASK, Option


def dense_encoder(input_size: int, widths: list[int], units: int, grid_ch: int,
                  shared_up: int) -> nn.Sequential:
    """Stride-2 convs, then Dense→Dense→4×4 grid→one upscale: the encoder of original and its kin."""
    enc_size = input_size // 2 ** len(widths)
    return nn.Sequential(OrderedDict(
        down=down_stack(3, widths),
        bottleneck=DenseBottleneck(widths[-1], enc_size, units, grid_ch, 4, upscale_to=shared_up),
    ))


def upscale_decoder(cin: int, widths: list[int], learn_mask: bool) -> nn.Sequential:
    """Pixel-shuffle upscales of the given widths, then the output head."""
    return nn.Sequential(OrderedDict(
        up=up_stack(cin, widths),
        head=OutputHead(widths[-1], learn_mask),
    ))


class Original(SharedEncoderModel):
    arch = "original"
    summary = "faceswap's Original: 64→64 px, Dense 1024 bottleneck, ~82 M parameters"
    OPTIONS = {
        "lowmem": Option(False, "drop the 1024-wide conv and use a 512-unit Dense (less memory)"),
        "learn_mask": LEARN_MASK,
    }

    def __init__(self, options=None):
        super().__init__(options)
        lowmem = self.options["lowmem"]
        widths = [128, 256, 512] if lowmem else [128, 256, 512, 1024]
        encoder = dense_encoder(64, widths, units=512 if lowmem else 1024, grid_ch=1024, shared_up=512)
        decoders = [upscale_decoder(512, [256, 128, 64], self.learn_mask) for _ in "ab"]
        self.set_parts(encoder, *decoders, input_size=64, output_size=64)
