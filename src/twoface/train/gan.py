"""--gan: one patch discriminator per side, least-squares losses, mixup (models/discriminator.py).

The generator's adversarial term is computed with the discriminators frozen (no gradient reaches
them); then the discriminators take their own step, with their own optimizer, on mixup blends
of the real targets and the (detached) outputs of the same step.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ..errors import ModelError
from . import distributed
from .optim import build_optimizer, load_optimizer_state, match_layouts

if TYPE_CHECKING:
    from pathlib import Path
    
    from ..data import Batch

PREFIXES = ("discriminator_a.", "discriminator_b.")


class Discriminators(nn.Module):
    """Both sides' discriminators; state-dict keys start with ``discriminator_a.`` / ``discriminator_b.``."""

    def __init__(self, width: int = 64, layers: int = 3):
        super().__init__()
        from ..models.discriminator import PatchDiscriminator

        self.discriminator_a = PatchDiscriminator(3, width, layers)
        self.discriminator_b = PatchDiscriminator(3, width, layers)

    def forward(self, xa: torch.Tensor, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.discriminator_a(xa), self.discriminator_b(xb)


def _layers_for(size: int) -> int:
    """Patches of about 1/8 of the face at 64 px, never fewer than 4×4 patches."""
    layers = 3
    while layers > 1 and size >> layers < 4:
        layers -= 1
    return layers


class Adversary:
    def __init__(self, model, opts, runtime, group):
        self.runtime = runtime
        self.d = runtime.prepare(Discriminators(layers=_layers_for(model.output_size)))
        self.net = distributed.wrap(self.d, group, runtime)
        self.optimizer = build_optimizer(opts.optimizer, list(self.d.parameters()), lr=opts.lr)
        self.scaler = runtime.grad_scaler()  # its own loss scale under fp16 (a no-op otherwise)

    @staticmethod
    def _by_side(pa: torch.Tensor, pb: torch.Tensor, swaps: tuple[torch.Tensor, ...]
                 ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The fakes each side's discriminator judges: its reconstructions, and with --gan-swaps the swaps
        drawn by its decoder (``swaps`` is (A through decoder B, B through decoder A))."""
        fakes_a, fakes_b = [pa[:, :3]], [pb[:, :3]]
        if swaps:
            a_as_b, b_as_a = swaps
            fakes_a.append(b_as_a[:, :3])
            fakes_b.append(a_as_b[:, :3])
        return fakes_a, fakes_b

    def generator_loss(self, pa: torch.Tensor, pb: torch.Tensor, swaps: tuple[torch.Tensor, ...] = ()
                       ) -> torch.Tensor:
        """½·E[(D(fake) − 1)²] for both sides (and each kind of fake), through frozen discriminators."""
        from ..models.discriminator import lsgan_g_loss

        fakes_a, fakes_b = self._by_side(pa, pb, swaps)
        self.d.requires_grad_(False)  # the graph records this now: no gradient reaches D
        try:
            with self.runtime.autocast():
                # one pass per side over every kind of fake: the batch is the fakes stacked
                la, lb = self.d(self.runtime.tensor(torch.cat(fakes_a)), self.runtime.tensor(torch.cat(fakes_b)))
        finally:
            self.d.requires_grad_(True)
        return lsgan_g_loss(la) + lsgan_g_loss(lb)

    def step(self, ba: Batch, bb: Batch, fakes: tuple[torch.Tensor, ...]) -> dict[str, float]:
        """One discriminator step on mixup blends of real targets and ``fakes``, this step's (detached)
        outputs: (reconstruction A, reconstruction B) and with --gan-swaps (A as B, B as A)."""
        from ..models.discriminator import lsgan_target_loss, mixup

        fakes_a, fakes_b = self._by_side(fakes[0], fakes[1], tuple(fakes[2:]))
        # each kind of fake is blended with the same real faces, so the real side weighs as much as the fakes
        ma, lam_a = mixup(ba.target.repeat(len(fakes_a), 1, 1, 1), torch.cat(fakes_a).float())
        mb, lam_b = mixup(bb.target.repeat(len(fakes_b), 1, 1, 1), torch.cat(fakes_b).float())
        with self.runtime.autocast():
            la, lb = self.net(self.runtime.tensor(ma), self.runtime.tensor(mb))
        loss = lsgan_target_loss(la, lam_a) + lsgan_target_loss(lb, lam_b)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {"gan/d": float(loss.detach())}

    def weights(self) -> dict[str, torch.Tensor]:
        return self.d.state_dict()

    def load_state(self, tensors: dict, meta: dict, weights: dict, path: Path) -> None:
        """Discriminator weights and optimizer from a checkpoint; a model saved without --gan starts them fresh."""
        mine = {k: v for k, v in weights.items() if k.startswith(PREFIXES)}
        if not mine or "discriminator" not in meta:
            return
        expected = self.d.state_dict()
        bad = [k for k in expected if k not in mine or tuple(mine[k].shape) != tuple(expected[k].shape)]
        if bad:
            raise ModelError(f"discriminator tensor {bad[0]!r} is missing or has another shape", path)
        self.d.load_state_dict(mine)
        part = {k[len("discriminator."):]: v for k, v in tensors.items() if k.startswith("discriminator.")}
        try:
            load_optimizer_state(self.optimizer, part, meta["discriminator"])
        except ModelError as err:
            raise ModelError(err.message, path) from err
        match_layouts(self.optimizer)
