"""One optimisation step, and the optimizer-side state a checkpoint must carry.

Why the encoder sees both sides in one pass: the shared encoder is most of the compute, and
one batch of 2N faces uses the cores better than two of N. It also makes every parameter take
part in every forward, which DistributedDataParallel requires.
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..errors import ModelError
from ..models.base import SwapModel
from . import distributed
from .losses import build_loss, mask_loss
from .optim import (
    GradientClipper,
    Warmup,
    build_optimizer,
    load_optimizer_state,
    match_layouts,
    optimizer_state_to_tensors,
)

if TYPE_CHECKING:
    from pathlib import Path
    
    from ..data import Batch
    from .face_losses import FaceLosses

log = logging.getLogger(__name__)

class Pair(nn.Module):
    """(warped A, warped B) → (A through decoder A, B through decoder B), and with ``swaps`` also
    (A through decoder B, B through decoder A) for the identity loss; with ``codes`` the codes of
    both (A's first) come last, for --true-face.

    The swaps reuse the encoder's pass (z is shared) and cost one more decode per side; they are
    made inside ``forward`` so DistributedDataParallel sees every parameter they use.
    """

    def __init__(self, model: SwapModel, swaps: bool = False, codes: bool = False):
        super().__init__()
        self.model = model
        self.wants_swaps = swaps  # the run has an identity loss
        self.swaps = swaps        # this step decodes the swaps (off before --identity-start)
        self.codes = codes

    def forward(self, xa: torch.Tensor, xb: torch.Tensor) -> tuple[torch.Tensor, ...]:
        m = self.model
        z = m.encode(torch.cat([xa, xb]))
        n = xa.shape[0]
        out: tuple[torch.Tensor, ...] = (m.decode(z[:n], "a"), m.decode(z[n:], "b"))
        if self.swaps:
            out += (m.decode(z[:n], "b"), m.decode(z[n:], "a"))
        return out + (z,) if self.codes else out


def try_compile(module: nn.Module) -> Callable[..., Any] | None:
    """torch.compile, or None with a warning when this platform cannot (no C compiler, say)."""
    if not hasattr(torch, "compile"):
        log.warning("warning: this torch has no torch.compile; running eagerly")
        return None
    if shutil.which("cc") is None and shutil.which("gcc") is None and shutil.which("clang") is None:
        log.warning("warning: --compile needs a C/C++ compiler on the PATH (none found); running eagerly")
        return None
    try:
        log.info("compiling the model with torch.compile: the first step takes a few minutes")
        return torch.compile(module)
    except Exception as err:  # compile is lazy, so this rarely fires; the first step may
        log.warning(f"warning: torch.compile failed ({type(err).__name__}: {err}); running eagerly")
        return None


class Stepper:
    """Optimizer, loss, clipping, AMP scaler (and the GAN and --true-face, when on) around the model."""

    def __init__(self, model: SwapModel, opts, runtime, group, face_losses: FaceLosses | None = None):
        self.model, self.opts, self.runtime, self.group = model, opts, runtime, group
        self.face_losses = face_losses  # identity / perceptual terms through SFace, when asked for
        self.pair = Pair(model, swaps=face_losses is not None and face_losses.wants_swaps, codes=opts.true_face > 0)
        self.net = distributed.wrap(self.pair, group, runtime)
        self.compiled = try_compile(self.net) if opts.compile else None
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(opts.optimizer, self.params, lr=opts.lr)
        self.warmup = Warmup(self.optimizer, opts.warmup, opts.lr_schedule)
        self.clipper = GradientClipper(opts.clip, opts.clip_value)
        self.scaler = runtime.grad_scaler()
        self.loss_fn = build_loss(opts.loss, mask_penalty=opts.mask_penalty)
        self.use_weights = opts.eye_multiplier != 1 or opts.mouth_multiplier != 1
        self.gan = None
        if opts.gan:
            from .gan import Adversary

            self.gan = Adversary(model, opts, runtime, group)
        self.true_face = None
        if opts.true_face > 0:
            from .gan import CodeAdversary

            self.true_face = CodeAdversary(model, opts, runtime, group)
        self.lr = self.optimizer.param_groups[0]["lr"]

    # --- losses -----------------------------------------------------------------------------------------
    def image_loss(self, pred: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, dict]:
        """Reconstruction loss of one side; a learned mask channel is trained against the landmark mask."""
        weights = batch.weights if self.use_weights else None
        if pred.shape[1] == batch.target.shape[1] + 1 and not self.opts.mask_loss:
            total, parts = self.loss_fn(pred[:, :-1], batch.target, None, weights)
            m = mask_loss(pred[:, -1:], batch.target_mask, self.loss_fn.mask_kind)
            return total + self.loss_fn.mask_weight * m, {**parts, "mask": m.detach()}
        return self.loss_fn(pred, batch.target, batch.target_mask if self.opts.mask_loss else None, weights)

    # --- the step ---------------------------------------------------------------------------------------
    def _forward_backward(self, net, xa, xb, ba, bb, gan_on: bool, identity_on: bool
                          ) -> tuple[dict[str, torch.Tensor | float], tuple | None, torch.Tensor | None]:
        """Losses of one forward and backward; also this step's outputs (detached) when the GAN needs
        them, and its codes (detached) when --true-face's discriminator does."""
        # the swaps' decodes are only paid for while a term reads them: the identity loss, or --gan-swaps
        swaps_gan = gan_on and self.opts.gan_swaps
        self.pair.swaps = identity_on or swaps_gan
        with self.runtime.autocast():
            pa, pb, *swaps = net(xa, xb)
        z = swaps.pop() if self.pair.codes else None
        la, parts_a = self.image_loss(pa, ba)
        lb, parts_b = self.image_loss(pb, bb)
        total = la + lb
        logged: dict[str, torch.Tensor | float] = {"a": la.detach(), "b": lb.detach(), **{f"a/{k}": v for k, v in parts_a.items()},
                  **{f"b/{k}": v for k, v in parts_b.items()}}
        if self.face_losses is not None:  # "a" and "b" stay the reconstruction losses, comparable across runs
            face_total, face_terms = self.face_losses(pa, pb, tuple(swaps) if identity_on else (), ba, bb)
            total = total + face_total
            logged.update(face_terms)
        if gan_on:
            assert self.gan is not None
            g_loss = self.gan.generator_loss(pa, pb, tuple(swaps) if swaps_gan else ())
            total = total + self.opts.gan_weight * g_loss
            logged["gan/g"] = g_loss.detach()
        if self.true_face is not None:
            assert z is not None
            c_loss = self.true_face.encoder_loss(z)
            total = total + self.opts.true_face * c_loss
            logged["true_face/g"] = c_loss.detach()
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        fakes = tuple(t.detach() for t in (pa, pb, *(swaps if swaps_gan else ()))) if gan_on else None
        return logged, fakes, None if z is None else z.detach()

    @staticmethod
    def started(start: float, progress: float | None) -> bool:
        """Whether a late phase (``--gan-start``, ``--identity-start``: a share of the budget) is on."""
        return start <= 0 or (progress is not None and progress >= start)

    def step(self, iteration: int, batches: tuple[Batch, Batch], progress: float | None = None) -> dict[str, float]:
        """Train on one (A, B) pair of batches; returns the losses as floats.

        ``progress`` is the share of the budget done (for the cosine schedule), None when unbounded.
        """
        ba, bb = (b.to(self.runtime.device) for b in batches)
        xa, xb = self.runtime.tensor(ba.warped), self.runtime.tensor(bb.warped)
        self.lr = self.warmup.apply(iteration, progress)
        gan_on = self.gan is not None and self.started(self.opts.gan_start, progress)
        identity_on = self.pair.wants_swaps and self.started(self.opts.identity_start, progress)
        if self.compiled is not None:
            try:
                logged, fakes, codes = self._forward_backward(self.compiled, xa, xb, ba, bb, gan_on, identity_on)
            except Exception as err:  # compilation happens here, at the first call
                log.warning(f"warning: torch.compile failed ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
                         "running eagerly")
                self.compiled = None
        if self.compiled is None:
            logged, fakes, codes = self._forward_backward(self.net, xa, xb, ba, bb, gan_on, identity_on)
        self.scaler.unscale_(self.optimizer)
        if self.opts.clip != "none":
            logged["grad_norm"] = torch.tensor(self.clipper(self.params))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if fakes is not None:
            assert self.gan is not None
            logged.update(self.gan.step(ba, bb, fakes))
        if codes is not None:
            assert self.true_face is not None
            logged.update(self.true_face.step(codes, xa.shape[0]))
        return {k: float(v) for k, v in logged.items()}

    # --- checkpoint state ---------------------------------------------------------------------------------
    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict, dict[str, torch.Tensor]]:
        """(optimizer tensors, their JSON metadata, extra weights such as the discriminators)."""
        tensors, meta = optimizer_state_to_tensors(self.optimizer)
        tensors = {f"model.{k}": v for k, v in tensors.items()}
        meta = {"model": meta}
        extra: dict[str, torch.Tensor] = {}
        if self.gan is not None:
            d_tensors, d_meta = optimizer_state_to_tensors(self.gan.optimizer)
            tensors.update({f"discriminator.{k}": v for k, v in d_tensors.items()})
            meta["discriminator"] = d_meta
            extra = self.gan.weights()
        if self.true_face is not None:
            c_tensors, c_meta = optimizer_state_to_tensors(self.true_face.optimizer)
            tensors.update({f"{self.true_face.META}.{k}": v for k, v in c_tensors.items()})
            meta[self.true_face.META] = c_meta
            extra = {**extra, **self.true_face.weights()}
        return tensors, meta, extra

    def state_json(self) -> dict:
        out = {"clipper": self.clipper.state_dict(), "optimizer": self.opts.optimizer}
        if self.scaler.is_enabled():
            out["scaler"] = self.scaler.state_dict()
            if self.gan is not None:
                out["gan_scaler"] = self.gan.scaler.state_dict()
            if self.true_face is not None:
                out["true_face_scaler"] = self.true_face.scaler.state_dict()
        return out

    def load_state(self, tensors: dict, meta: dict, state: dict, path: Path, weights: dict | None = None) -> None:
        """Restore optimizer(s), clipping history and AMP scale; a changed optimizer or clip mode starts afresh."""
        saved = meta.get("model", {})
        if saved.get("class") != type(self.optimizer).__name__:
            log.info(f"note: the optimizer changed ({saved.get('class')} -> {type(self.optimizer).__name__}); "
                     "its state starts afresh")
        else:
            part = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
            try:
                load_optimizer_state(self.optimizer, part, saved)
            except ModelError as err:
                raise ModelError(err.message, path) from err
            match_layouts(self.optimizer)
            if self.opts.lr is not None:  # an explicit --lr wins over the saved rate
                for group in self.optimizer.param_groups:
                    group["base_lr"] = group["lr"] = float(self.opts.lr)
        self.warmup = Warmup(self.optimizer, self.opts.warmup, self.opts.lr_schedule)
        clip = state.get("clipper")
        if clip and clip.get("mode") == self.clipper.mode:
            self.clipper.load_state_dict(clip)
        if "scaler" in state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        if "gan_scaler" in state and self.gan is not None and self.gan.scaler.is_enabled():
            self.gan.scaler.load_state_dict(state["gan_scaler"])
        if "true_face_scaler" in state and self.true_face is not None and self.true_face.scaler.is_enabled():
            self.true_face.scaler.load_state_dict(state["true_face_scaler"])
        if self.gan is not None:
            self.gan.load_state(tensors, meta, weights or {}, path)
        if self.true_face is not None:
            self.true_face.load_state(tensors, meta, weights or {}, path)

