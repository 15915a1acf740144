"""Rank 0's periodic look at the model: validation loss, identity signal, previews, timelapse.

All of it runs on held-out faces with no augmentation, in eval mode and without gradients, and
none of it draws random numbers, so it never changes what the training steps see (exact resume
holds whether or not a preview was written in between).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..errors import TwofaceError
from . import preview as pv
from .quality import IdentityProbe
from .stream import make_augmenter

if TYPE_CHECKING:
    from ..data.faceset import FaceSplit

PREVIEW_FACES = 4


class Evaluator:
    def __init__(self, trainer, log):
        self.t = trainer
        self.log = log
        self.opts = trainer.opts
        self.model = trainer.model
        self.plain = make_augmenter(self.model, self.opts, random=False)
        self.last_eval: int | None = None
        self.last_preview: int | None = None
        self.history: list[dict] = list(getattr(trainer, "eval_history", []))
        self.probe: IdentityProbe | None = None
        self.probe_tried = not self.opts.quality
        a, b = trainer.set_a, trainer.set_b
        self.pooled = a is b  # a prior: both halves of a batch come from one pool of faces
        self.fixed_a = _fixed(a, PREVIEW_FACES)
        self.fixed_b = _fixed(b, PREVIEW_FACES, skip=PREVIEW_FACES if self.pooled else 0)
        self.timelapse = self._timelapse_faces()

    # --- validation and identity ---------------------------------------------------------------------
    @torch.no_grad()
    def valid_loss(self, split: FaceSplit, side: str) -> float:
        if len(split) == 0:
            return float("nan")
        model, rt = self.model, self.t.runtime
        was_training = model.training
        model.eval()
        total, count = 0.0, 0
        try:
            bs = self.opts.batch_size
            for i in range(0, len(split), bs):
                batch = self.plain.plain(split.images[i:i + bs], split.masks[i:i + bs], split.landmarks[i:i + bs])
                batch = batch.to(rt.device)
                with rt.autocast():
                    pred = model(rt.tensor(batch.warped), side)
                loss, _ = self.t.stepper.image_loss(pred, batch)
                total += float(loss) * len(batch.warped)
                count += len(batch.warped)
        finally:
            model.train(was_training)
        return total / count

    def _get_probe(self) -> IdentityProbe | None:
        """Built at the first evaluation (it embeds the reference faces once)."""
        if not self.probe_tried:
            self.probe_tried = True
            try:
                self.probe = IdentityProbe.from_facesets(self.t.set_a, self.t.set_b)
                if self.probe is None:
                    self.log.print("note: no identity signal (the faces carry no identity embeddings, "
                                   "or no face is held out)")
            except TwofaceError as err:
                self.log.print(f"note: no identity signal ({err})")
        return self.probe

    def evaluate(self, iteration: int) -> dict:
        va = self.valid_loss(self.t.set_a.valid, "a")
        vb = va if self.pooled else self.valid_loss(self.t.set_b.valid, "b")  # a prior: one pool, one decoder
        entry = {"iteration": iteration, "valid_a": _r(va), "valid_b": _r(vb)}
        text = f"it {iteration:>7d}  validation loss " + (_loss(va) if self.pooled else f"A {_loss(va)} B {_loss(vb)}")
        probe = self._get_probe()
        if probe is not None:
            sims = probe.measure(self.model, self.t.runtime)
            ref = probe.references
            entry.update({"identity_a2b": _r(sims["a2b"]), "identity_b2a": _r(sims["b2a"])})
            text += (f"  identity A->B {sims['a2b']:.3f} (real B {ref['b_real_to_b']:.3f}, real A {ref['a_real_to_b']:.3f})"
                     f"  B->A {sims['b2a']:.3f} (real A {ref['a_real_to_a']:.3f}, real B {ref['b_real_to_a']:.3f})")
            self.log.scalars(iteration, {"identity/a2b": sims["a2b"], "identity/b2a": sims["b2a"],
                                         "identity/ref_real_b_to_b": ref["b_real_to_b"],
                                         "identity/ref_real_a_to_b": ref["a_real_to_b"]})
        self.log.scalars(iteration, {"valid/a": va, "valid/b": vb})
        self.log.print(text)
        self.history.append(entry)
        self.t.eval_history = self.history
        self.last_eval = iteration
        return entry

    # --- previews -----------------------------------------------------------------------------------------
    def preview(self, iteration: int) -> None:
        rt, model_dir = self.t.runtime, self.opts.model_dir
        n = min(len(self.fixed_a), len(self.fixed_b))
        grid = pv.render(self.model, self.fixed_a[:n], self.fixed_b[:n], rt)
        pv.write_jpeg(model_dir / "previews" / "latest.jpg", grid)
        self.log.image("preview", grid, iteration)
        if self.timelapse is not None:
            kind, faces = self.timelapse
            if kind == "held-out":
                frame = grid if len(faces[0]) == n else pv.render(self.model, faces[0], faces[1], rt)
            else:
                frame = pv.render_both_ways(self.model, faces, rt)
            pv.write_jpeg(model_dir / "timelapse" / f"{iteration:08d}.jpg", frame)
        self.log.flush()
        self.last_preview = iteration

    def _timelapse_faces(self):
        spec = self.opts.timelapse
        if spec is None:
            return None
        if spec.isdigit():
            count = max(1, int(spec))
            return "held-out", (_fixed(self.t.set_a, count), _fixed(self.t.set_b, count))
        from ..data import FaceSet

        folder = Path(spec)
        fs = FaceSet(folder, max(self.model.input_size, self.model.output_size), holdout=0)
        return "folder", fs.images[:16]

    def summary(self) -> dict:
        out: dict = {}
        if self.history:
            first, last = self.history[0], self.history[-1]
            out["valid"] = {"a": last["valid_a"], "b": last["valid_b"], "iteration": last["iteration"]}
            out["valid_first"] = {"a": first["valid_a"], "b": first["valid_b"], "iteration": first["iteration"]}
            if "identity_a2b" in last:
                out["identity"] = {"a2b": last["identity_a2b"], "b2a": last["identity_b2a"]}
                if self.probe is not None:
                    out["identity"]["references"] = {k: _r(v) for k, v in self.probe.references.items()}
                first_id = next((h for h in self.history if "identity_a2b" in h), None)
                if first_id is not None:
                    out["identity_first"] = {"a2b": first_id["identity_a2b"], "b2a": first_id["identity_b2a"],
                                             "iteration": first_id["iteration"]}
        return out


def _fixed(faceset, count: int, skip: int = 0) -> torch.Tensor:
    """``count`` held-out faces after the first ``skip`` (training faces when too few are held out)."""
    split = faceset.valid if len(faceset.valid) > skip else faceset.train
    return split.images[skip:skip + count] if len(split) > skip else split.images[:count]


def _r(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def _loss(value: float) -> str:
    """A validation loss for the console; NaN means no face of that side is held out (--holdout 0)."""
    return f"{value:.4f}" if math.isfinite(value) else "— (no faces held out)"
