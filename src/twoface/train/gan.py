"""The adversaries of training (models/discriminator.py), each with its own optimizer and AMP scale.

--gan: one patch discriminator per side, least-squares losses, mixup. The generator's adversarial
term is computed with the discriminators frozen (no gradient reaches them); then the
discriminators take their own step on mixup blends of the real targets and the (detached)
outputs of the same step.

--true-face: a code discriminator learns whose face each code is, and the encoder is taught to
leave it guessing, so that A's codes lie where decoder B has learnt to draw (DeepFaceLab's
"true face power"). The swaps are decodes of the other side's codes, which no loss ever shows a
decoder; this is the one term that acts on where those codes lie.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ..errors import ModelError
from ..models.folder import CODE_DISCRIMINATOR_PREFIX, DISCRIMINATOR_PREFIXES
from . import distributed
from .optim import build_optimizer, load_optimizer_state, match_layouts

if TYPE_CHECKING:
    from pathlib import Path
    
    from ..data import Batch
    from ..device import Runtime
    from ..models.base import SwapModel


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
        load_adversary(self.d, self.optimizer, DISCRIMINATOR_PREFIXES, "discriminator", tensors, meta, weights, path)


def load_adversary(module: nn.Module, optimizer: torch.optim.Optimizer, prefixes: tuple[str, ...], key: str,
                   tensors: dict, meta: dict, weights: dict, path: Path) -> None:
    """An adversary's weights (those starting with ``prefixes``) and its optimizer (tensors and
    metadata under ``key``); nothing when the checkpoint was saved without it (it starts fresh)."""
    mine = {k: v for k, v in weights.items() if k.startswith(prefixes)}
    if not mine or key not in meta:
        return
    expected = module.state_dict()
    bad = [k for k in expected if k not in mine or tuple(mine[k].shape) != tuple(expected[k].shape)]
    if bad:
        raise ModelError(f"{key.replace('_', ' ')} tensor {bad[0]!r} is missing or has another shape", path)
    module.load_state_dict(mine)
    part = {k[len(key) + 1:]: v for k, v in tensors.items() if k.startswith(key + ".")}
    try:
        load_optimizer_state(optimizer, part, meta[key])
    except ModelError as err:
        raise ModelError(err.message, path) from err
    match_layouts(optimizer)


class _Codes(nn.Module):
    """Holds the code discriminator so its state-dict keys start with ``code_discriminator.``."""

    def __init__(self, code_shape: tuple[int, ...]):
        super().__init__()
        from ..models.discriminator import CodeDiscriminator

        self.code_discriminator = CodeDiscriminator(code_shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.code_discriminator(z)


def code_shape(model: SwapModel, runtime: Runtime) -> tuple[int, ...]:
    """One code's shape, from encoding two blank faces (eval mode, no gradient: nothing changes)."""
    size = int(model.input_size)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), runtime.autocast():
            z = model.encode(runtime.tensor(torch.zeros(2, 3, size, size)))
    finally:
        model.train(was_training)
    return tuple(int(d) for d in z.shape[1:])


class CodeAdversary:
    """--true-face: D learns A's codes → 1 and B's → 0; the encoder's term pulls both to ½.

    Why ½ for both, where DeepFaceLab pulls only src's codes towards dst's label: twoface swaps
    both ways, and a target in the middle has no side to overshoot to.
    """

    META = "code_discriminator"

    def __init__(self, model, opts, runtime, group):
        self.runtime = runtime
        self.d = runtime.prepare(_Codes(code_shape(model, runtime)))
        self.net = distributed.wrap(self.d, group, runtime)
        self.optimizer = build_optimizer(opts.optimizer, list(self.d.parameters()), lr=opts.lr)
        self.scaler = runtime.grad_scaler()

    def encoder_loss(self, z: torch.Tensor) -> torch.Tensor:
        """E[(D(z) − ½)²] over both sides' codes, through a frozen D."""
        from ..models.discriminator import lsgan_target_loss

        self.d.requires_grad_(False)
        try:
            with self.runtime.autocast():
                logits = self.d(z)
        finally:
            self.d.requires_grad_(True)
        return lsgan_target_loss(logits, 0.5)

    def step(self, z: torch.Tensor, n: int) -> dict[str, float]:
        """One discriminator step on this step's (detached) codes; logs its loss and how often it is right."""
        from ..models.discriminator import lsgan_target_loss

        with self.runtime.autocast():
            logits = self.net(z)
        loss = lsgan_target_loss(logits[:n], 1.0) + lsgan_target_loss(logits[n:], 0.0)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        right = torch.cat([logits[:n] > 0.5, logits[n:] <= 0.5]).float().mean()
        return {"true_face/d": float(loss.detach()), "true_face/acc": float(right)}

    def weights(self) -> dict[str, torch.Tensor]:
        return self.d.state_dict()

    def load_state(self, tensors: dict, meta: dict, weights: dict, path: Path) -> None:
        load_adversary(self.d, self.optimizer, (CODE_DISCRIMINATOR_PREFIX,), self.META, tensors, meta, weights, path)
