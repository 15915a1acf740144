"""lightweight: a smaller original for small memory (faceswap's "Lightweight").

    64×64×3 ─ conv5/2 128 ─ conv5/2 256 ─ conv5/2 512                    (8×8×512)
            ─ Dense 512 ─ Dense 4·4·512 ─ reshape ─ upscale 256           (8×8×256)  shared encoder
    decoder A, decoder B:
            ─ upscale 512 ─ upscale 256 ─ upscale 128 ─ conv5 3 ─ sigmoid (64×64×3)

One conv fewer and half the bottleneck of original; the decoders are wider,
so most of its ~51 M parameters sit in the two decoders.
"""
from __future__ import annotations

from .base import SharedEncoderModel
from .options import LEARN_MASK
from .original import dense_encoder, upscale_decoder


class Lightweight(SharedEncoderModel):
    arch = "lightweight"
    summary = "faceswap's Lightweight: 64→64 px, 3 convs, Dense 512 bottleneck"
    OPTIONS = {"learn_mask": LEARN_MASK}

    def __init__(self, options=None):
        super().__init__(options)
        encoder = dense_encoder(64, [128, 256, 512], units=512, grid_ch=512, shared_up=256)
        decoders = [upscale_decoder(256, [512, 256, 128], self.learn_mask) for _ in "ab"]
        self.set_parts(encoder, *decoders, input_size=64, output_size=64)
