"""Losses through a face network: identity of the swaps, and a perceptual distance of the reconstructions.

Why: the pixel losses train each decoder to redraw its own person from that person's warped
faces; nothing in them asks the *swap* (A's face through B's decoder) to look like B. The
identity term does: 1 − cosine between the SFace embedding of each swap and the target person's
mean embedding (``--identity-weight``). The perceptual term compares SFace's intermediate feature
maps of each reconstruction with those of its target (``--perceptual-weight``): a distance in what
a face network sees rather than in pixels.

The network is the SFace extract already ships, ported to torch (``faces.sface_torch``) so that
gradients pass through it to the decoders; it is frozen. It is *not* the judge: ``twoface
evaluate`` scores with dlib's ResNet, which training never sees, so the identity term cannot
game the reported score directly (the live ``identity`` signal, also SFace, may rise faster than
the judge's verification: read the judge).

Target identity: the renormalised mean embedding of each side's *training* faces, computed once at
start through the very path a model output takes (the cache scaled to the model's output size,
then cut to SFace's crop): real faces at the model's resolution define what "looks like B" means,
so the target is reachable. Not the batch's own targets: 16 faces give a noisy mean that moves
every step, and embedding them costs 2N more SFace passes per step. Not the ``identity`` vectors
stored in the face metadata: those come from full-resolution frames, and a 64 px face of the same
person embeds measurably elsewhere.

Geometry: a model draws its face in the frame of its target (the aligned crop at the faces'
coverage, under the batch's random rotation, zoom, shift and flip); ``sface_torch.crop_theta``
maps that onto SFace's ArcFace template, undoing the augmentation, and ``grid_sample`` keeps it
differentiable. A swap of B's face is in B's frame: it uses B's batch matrices.

Precision: SFace runs in float32 with autocast off, whatever ``--precision``: the decoder outputs
are cast up, and the 128-d cosine keeps its digits under bf16 training.

Names in the logs: everything under ``a/`` trains decoder A. ``a/identity`` is B's faces drawn
by decoder A, measured against A's identity; ``a/perceptual`` is decoder A's reconstruction of A.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..faces.sface_torch import crop_theta, load_sface_torch, to_sface

PERCEPTUAL_TAPS = ("conv_4", "conv_6", "conv_8")  # 56, 28 and 14 px maps: mid-level, about half the network's cost
CENTROID_FACES = 64  # per side, spread over the training split: plenty for a mean (same-person cosines ~0.8)
CHUNK = 32


class FaceLosses:
    """The identity and perceptual terms of one run (see the module docstring)."""

    def __init__(self, images_a: torch.Tensor, images_b: torch.Tensor, output_size: int, coverage: float,
                 aligned_size: int, device: torch.device | str, identity_weight: float = 0.0,
                 perceptual_weight: float = 0.0, max_faces: int = CENTROID_FACES):
        """``images_*``: uint8 N×3×S×S RGB training faces (a FaceSet split); ``aligned_size``: their PNGs' size;
        ``max_faces``: how many of each side's faces make its mean embedding."""
        self.device = torch.device(device)
        self.net = load_sface_torch(self.device)
        self.output_size = int(output_size)
        self.coverage, self.aligned_size = float(coverage), int(aligned_size)
        self.identity_weight, self.perceptual_weight = float(identity_weight), float(perceptual_weight)
        self.max_faces = int(max_faces)
        self.centroids: dict[str, torch.Tensor] = {}
        if self.identity_weight > 0:
            self.centroids = {"a": self.centroid(images_a), "b": self.centroid(images_b)}

    @property
    def wants_swaps(self) -> bool:
        return self.identity_weight > 0

    def crops(self, images: torch.Tensor, theta: torch.Tensor | None = None) -> torch.Tensor:
        """SFace's 112 px input cut from model-frame images (``theta``: the batch's augmentation, or None)."""
        return to_sface(images, crop_theta(self.coverage, self.aligned_size, theta))

    @torch.no_grad()
    def centroid(self, images_u8: torch.Tensor) -> torch.Tensor:
        """The unit mean embedding (128,) of up to ``max_faces`` faces, evenly spread over the set."""
        n = images_u8.shape[0]
        pick = torch.linspace(0, n - 1, min(n, self.max_faces)).round().long().unique()
        embeddings = []
        for start in range(0, len(pick), CHUNK):
            x = images_u8[pick[start:start + CHUNK]].to(self.device).float() / 255
            if x.shape[-1] != self.output_size:  # as the model would draw it: at its output size
                mode = "area" if x.shape[-1] > self.output_size else "bilinear"
                x = F.interpolate(x, size=(self.output_size, self.output_size), mode=mode)
            embeddings.append(F.normalize(self.net(self.crops(x)), dim=1))
        return F.normalize(torch.cat(embeddings).mean(0), dim=0)

    def identity(self, swaps: torch.Tensor, theta: torch.Tensor | None, side: str) -> torch.Tensor:
        """Mean 1 − cosine of the swaps' embeddings to ``side``'s centroid (0: exactly the person's mean)."""
        embedding = self.net(self.crops(swaps, theta))
        return 1 - F.cosine_similarity(embedding, self.centroids[side][None].to(embedding), dim=1).mean()

    def perceptual(self, pred: torch.Tensor, target: torch.Tensor, theta: torch.Tensor | None) -> torch.Tensor:
        """Mean squared distance of channel-normalised SFace feature maps (LPIPS-style; 0 to 4), over the taps.

        Normalising each position's feature vector makes the layers comparable without weights
        fitted to them, and a brighter or darker image does not dominate.
        """
        with torch.no_grad():
            ref = self.net.features(self.crops(target, theta), PERCEPTUAL_TAPS)
        got = self.net.features(self.crops(pred, theta), PERCEPTUAL_TAPS)
        terms = [(F.normalize(got[k], dim=1) - F.normalize(ref[k], dim=1)).pow(2).sum(1).mean() for k in PERCEPTUAL_TAPS]
        return torch.stack(terms).mean()

    def __call__(self, pa: torch.Tensor, pb: torch.Tensor, swaps: tuple[torch.Tensor, ...], ba, bb
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(weighted sum of the terms, each term detached for the logs).

        ``pa``/``pb``: the reconstructions; ``swaps``: (A's input through decoder B, B's through
        decoder A), empty when the identity term is off or not yet started; ``ba``/``bb``: the two batches.
        """
        logged: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=pa.device)
        with torch.autocast(device_type=pa.device.type, enabled=False):
            if self.identity_weight > 0 and swaps:  # no swaps: before --identity-start
                a_as_b, b_as_a = swaps
                terms = {"a": self.identity(b_as_a, bb.theta, "a"), "b": self.identity(a_as_b, ba.theta, "b")}
                for side, term in terms.items():
                    total = total + self.identity_weight * term
                    logged[f"{side}/identity"] = term.detach()
            if self.perceptual_weight > 0:
                for side, pred, batch in (("a", pa, ba), ("b", pb, bb)):
                    term = self.perceptual(pred, batch.target, batch.theta)
                    total = total + self.perceptual_weight * term
                    logged[f"{side}/perceptual"] = term.detach()
        return total, logged
