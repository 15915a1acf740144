"""The training loop: ``train(faces_a, faces_b, model_dir, ...)`` and the Trainer behind it.

One step: a batch of warped A faces and one of warped B faces go through the shared encoder
(in one pass) and each side's decoder; the loss compares each output with the unwarped face;
one backward, one optimizer step. Around the step: saves every --save-every (crash-safe, see
checkpoint.py), previews, validation loss and the SFace identity signal every --eval-every,
a console line every --log-every, TensorBoard throughout.

Exact resume: a save records the weights, optimizer tensors, the gradient-clipping history,
every RNG state of every rank and each rank's data-stream position; resuming restores all of
them, so N straight iterations and N/2 + resume + N/2 end with the same weights.
"""
from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from ..errors import ModelError, TwofaceError
from ..models.transfer import describe as describe_init
from ..models.transfer import transfer
from . import checkpoint as ck
from . import distributed, rng
from .evaluation import Evaluator
from .face_losses import FaceLosses
from .logs import TrainLog
from .options import PretrainOptions, TrainOptions
from .session import (
    check_faces_match,
    choose_seed,
    load_faces,
    load_pool,
    make_config,
    model_choice,
    open_init_source,
    open_model_dir,
)
from .signals import StoppedAtOnce, StopRequest, TrainingInterrupted
from .step import Stepper

CURVE_POINTS = 2000  # loss-curve points kept in state.json
logger = logging.getLogger(__name__)
SNAPSHOT_REQUEST = "snapshot.request"  # a file in the model folder asking for a snapshot now (`twoface ui`)


class Trainer:
    """Everything one training run holds; build it, then call :meth:`run`."""

    def __init__(self, opts: TrainOptions):
        from ..device import choose
        from ..models import build

        self.opts = opts
        self.group, self.runtime = distributed.setup(opts.distributed, choose(opts.device, opts.precision))
        if not self.group.is_main:  # one voice per job: the other processes only report errors
            logging.getLogger("twoface").setLevel(logging.ERROR)
        self.threads = distributed.set_threads(self.group)
        start = open_model_dir(opts)
        if self.group.is_main and opts.model_dir.exists():
            ck.clean_temp(opts.model_dir)
        self.previous = start.previous
        self.resume = start.resume
        source = open_init_source(opts) if start.resume is None else None
        arch, options = model_choice(opts, start.config, source.config if source is not None else None)
        self.seed = choose_seed(opts, start.resume)
        if opts.seed is not None and opts.seed != self.seed:
            logger.info(f"note: the model continues with its own seed {self.seed} (--seed {opts.seed} applies to new models)")
        rng.seed_everything(self.seed)  # the same initial weights on every rank
        model = build(arch, **options)
        if opts.KIND == ck.PRIOR:
            model.make_generic()
        self.init_from = transfer(model, source, opts.init_parts) if source is not None else None
        size = max(model.input_size, model.output_size)
        self.set_a, self.set_b, faces = (load_pool(opts, size, self.seed) if isinstance(opts, PretrainOptions)
                                         else load_faces(opts, size, self.seed))
        if start.config is not None:
            check_faces_match(start.config, faces, opts.model_dir)
        if source is not None:
            check_faces_match(source.config, faces, source.model_dir)
        self.config = make_config(model, opts, faces, start.config, self.init_from)
        self.model = self.runtime.prepare(model)
        self.iteration = 0
        weights: dict = {}
        if self.resume is not None:
            weights, _ = self.resume.tensors(ck.WEIGHTS)
            self.model.load_state_dict(ck.check_weights(self.model, weights, self.resume.locations[ck.WEIGHTS]))
        face_losses = None
        if opts.identity_weight > 0 or opts.perceptual_weight > 0:  # the SFace terms (face_losses.py)
            face_losses = FaceLosses(self.set_a.train.images, self.set_b.train.images, model.output_size,
                                     faces["coverage"], faces["size"], self.runtime.device,
                                     opts.identity_weight, opts.perceptual_weight)
        self.stepper = Stepper(self.model, opts, self.runtime, self.group, face_losses)
        self.stream = self._make_stream()
        history = self.resume.state.get("loss_history", {}) if self.resume is not None else {}
        self.curve: list[list[float]] = list(history.get("curve", []))
        self.eval_history: list[dict] = list(history.get("valid", []))
        if self.resume is not None:
            try:
                self._restore(self.resume, weights)
            except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as err:  # past the contract
                raise ModelError(f"damaged state.json: cannot restore the training state "
                                 f"({type(err).__name__}: {str(err)[:120]})", self.resume.state_path) from err
        self.last_saved = self.iteration if self.resume is not None else None

    # --- set-up helpers -------------------------------------------------------------------------
    def _make_stream(self):
        from .stream import make_stream

        rank_seed = self.seed + 1_000_003 * self.group.rank
        return make_stream(self.set_a, self.set_b, self.model, self.opts, rank_seed, device=self.runtime.device)

    def _restore(self, resume: ck.Checkpoint, weights: dict) -> None:
        state = resume.state
        self.iteration = resume.iteration
        tensors, meta = resume.tensors(ck.OPTIMIZER)
        self.stepper.load_state(tensors, meta, state, resume.locations[ck.OPTIMIZER], weights)
        ranks_match = int(state.get("world_size", 1)) == self.group.world_size
        sets = state.get("face_sets", {})
        same_faces = sets.get("a", {}).get("fingerprint") == self.set_a.fingerprint and \
            sets.get("b", {}).get("fingerprint") == self.set_b.fingerprint
        if not same_faces:
            logger.info("note: the face folders changed since the last save; the batch order starts afresh")
        if not ranks_match:
            logger.info(f"note: saved with {state.get('world_size', 1)} process(es), now {self.group.world_size}; "
                     "random streams start afresh")
        rng_states, data_states = state.get("rng", []), state.get("data", [])
        if ranks_match and self.group.rank < len(rng_states):
            rng.restore(rng_states[self.group.rank])
        else:
            rng.seed_everything(self.seed + self.iteration + self.group.rank)
        if ranks_match and same_faces and self.group.rank < len(data_states):
            self.stream.load_state_dict(data_states[self.group.rank])
            if not self.opts.warp_stop:  # a stop saved by an earlier --warp-stop run; this run warps throughout
                self.stream.keep_warping()

    def _progress(self, start_it: int, deadline: float | None) -> float | None:
        """Share of the budget done before this step, for the learning-rate schedule (None: no budget).

        --iterations counts the model's life; --minutes this run's clock. With both, the further one.
        """
        opts, shares = self.opts, []
        if opts.iterations:
            shares.append(self.iteration / opts.iterations)
        if deadline is not None and opts.minutes:
            shares.append(1.0 - (deadline - time.monotonic()) / (opts.minutes * 60))
        return max(shares) if shares else None

    # --- the loop ---------------------------------------------------------------------------------
    def run(self) -> dict:
        opts, g = self.opts, self.group
        start_it = self.iteration
        if opts.iterations is not None and start_it >= opts.iterations:
            logger.info(f"{opts.model_dir} is already at iteration {start_it} (asked for {opts.iterations}); "
                     "nothing to do (raise --iterations to train on)")
            self.stream.close()
            distributed.teardown(g)
            return self._summary(start_it, None, None)
        deadline = time.monotonic() + opts.minutes * 60 if opts.minutes else None
        log = TrainLog(opts.model_dir if g.is_main else None, start_it, opts.iterations, deadline,
                       faces_per_step=2 * opts.batch_size * g.world_size, tensorboard=opts.tensorboard)
        log.silent = not g.is_main
        evaluator = Evaluator(self, log) if g.is_main else None
        self._announce(log)
        stop = None
        try:
            with StopRequest() as stop:
                if evaluator is not None and start_it == 0:
                    evaluator.evaluate(0)
                diverged = False
                while True:
                    done = stop.requested or (opts.iterations is not None and self.iteration >= opts.iterations) \
                        or (deadline is not None and time.monotonic() >= deadline)
                    done, diverged = distributed.any_flags([done, diverged], g)
                    if diverged:
                        self._diverged(log)
                    if done:
                        break
                    t0 = time.perf_counter()
                    progress = self._progress(start_it, deadline)
                    self._maybe_stop_warp(progress, log)
                    losses = self.stepper.step(self.iteration, self.stream.next(), progress)
                    self.iteration += 1
                    if self.iteration > start_it + 1:  # the first step builds kernels (or compiles): not speed
                        log.speed.add(time.perf_counter() - t0)
                    diverged = not math.isfinite(losses["a"] + losses["b"])
                    if diverged:
                        continue  # agreed at the top of the loop; nothing of this step is logged or saved
                    log.add_losses(losses)
                    self._after_step(log, evaluator)
                signum = stop.signum if stop.requested else None
                if log.count:  # a last line for the iterations since the last one
                    self._log_line(log)
                if signum is None and evaluator is not None and evaluator.last_eval != self.iteration:
                    evaluator.evaluate(self.iteration)
                if evaluator is not None and evaluator.last_preview != self.iteration:
                    evaluator.preview(self.iteration)
                if self.last_saved != self.iteration:
                    self.save(log)
                self._check_ranks_agree(log)
        except KeyboardInterrupt as err:
            if isinstance(err, TrainingInterrupted):
                raise
            raise StoppedAtOnce(opts.model_dir, self.iteration) from None
        finally:
            log.close()
            self.stream.close()
            distributed.teardown(g)
        summary = self._summary(start_it, log, evaluator)
        if signum is not None:
            raise TrainingInterrupted(signum, summary)
        return summary

    def _maybe_stop_warp(self, progress: float | None, log: TrainLog) -> None:
        """--warp-stop: once that share of the budget is done, the batches come without the random warp."""
        if self.opts.warp_stop and self.stream.warping and progress is not None and progress >= self.opts.warp_stop:
            self.stream.stop_warp()
            log.print(f"it {self.iteration:7d}  random warp off for the rest of the budget (--warp-stop "
                      f"{self.opts.warp_stop:g})")

    def _after_step(self, log: TrainLog, evaluator) -> None:
        opts, it = self.opts, self.iteration
        if it % opts.log_every == 0:
            self._log_line(log)
        if evaluator is not None:
            if it % opts.eval_every == 0:
                evaluator.evaluate(it)
            if it % opts.preview_every == 0:
                evaluator.preview(it)
        snapshot = (bool(opts.snapshot_every) and it % opts.snapshot_every == 0) or self._snapshot_requested()
        if it % opts.save_every == 0 or snapshot:
            self.save(log)
        if snapshot and self.group.is_main:
            assert self.previous is not None  # the save just above made it
            ck.snapshot(self.previous, opts.model_dir / "snapshots" / str(it))

    def _snapshot_requested(self) -> bool:
        """A snapshot asked for from outside (the UI's "snapshot now"); single-process runs only,
        since all ranks of a distributed run would have to agree on the step."""
        if self.group.enabled:
            return False
        request = self.opts.model_dir / SNAPSHOT_REQUEST
        if not request.exists():
            return False
        request.unlink(missing_ok=True)
        return True

    def _diverged(self, log: TrainLog) -> None:
        """A NaN/inf loss: stop without saving, so the last good checkpoint stays the newest."""
        saved = "no save yet" if self.last_saved is None else f"the last save (iteration {self.last_saved}) is intact"
        raise TwofaceError(f"training diverged: the loss is not a number at iteration {self.iteration}; {saved}. "
                           "Resume with a lower --lr, or with --clip autoclip", self.opts.model_dir)

    def _log_line(self, log: TrainLog) -> None:
        means = distributed.mean_scalars(log.means(), self.group)
        log.console(self.iteration, means, log.speed.window(), lr=self.stepper.lr)
        self.curve.append([self.iteration, round(means.get("a", float("nan")), 6),
                           round(means.get("b", float("nan")), 6)])
        del self.curve[:-CURVE_POINTS]

    def _check_ranks_agree(self, log: TrainLog) -> None:
        """DDP must leave every rank with the same weights; say so, or fail loudly if not."""
        if not self.group.enabled:
            return
        digests = distributed.gather(distributed.weights_digest(self.model), self.group)
        self.rank_digests = digests
        if len(set(digests)) != 1:
            raise RuntimeError(f"the {len(digests)} processes ended with different weights ({digests}); "
                               "this is a bug in distributed training")
        log.print(f"weights agree on all {len(digests)} processes (sha256 {digests[0][:16]})")

    def _announce(self, log: TrainLog) -> None:
        m, o = self.model, self.opts
        params = sum(p.numel() for p in m.parameters())
        what = "prior" if m.generic else "model"
        verb = f"resuming at iteration {self.iteration}" if self.resume is not None else f"new {what}"
        log.print(f"{verb}: {m.arch} {m.input_size}->{m.output_size} px, {params / 1e6:.1f} M parameters; "
                  f"{self.runtime.describe()}, {self.threads} thread(s)"
                  + (f", {self.group.world_size} processes" if self.group.enabled else ""))
        if self.runtime.device.type == "cpu" and self.runtime.precision == "fp32" and o.precision == "auto":
            # auto picks fp32 on a CPU only when it has no bf16 units (device.choose); why say so: the
            # README's CPU budgets were measured where bf16 runs natively (README, Limits)
            log.print("this CPU has no bf16 units (AVX512-BF16 or AMX), so training runs in fp32: expect several "
                      "times fewer faces/s than the README's timings, and give a --minutes budget to match"
                      + ("" if m.arch == "cpu" else "; `--arch cpu` (a third of lightweight's FLOPs) is what swapped "
                         "in 10 minutes on such a CPU"))
        if self.init_from is not None:
            log.print(f"starting from the {describe_init(self.init_from)}; the optimizer starts afresh")
        faces = f"faces: {self.set_a.describe()}" if self.set_b is self.set_a else \
            f"faces A: {self.set_a.describe()}; faces B: {self.set_b.describe()}"
        log.print(f"{faces}; batch {o.batch_size}{' x 2 from the pool' if self.set_b is self.set_a else ''}, "
                  f"seed {self.seed}")
        if self.stepper.face_losses is not None:
            start = f" from {o.identity_start:.0%} of the budget" if o.identity_weight and o.identity_start else ""
            log.print(f"SFace losses: identity weight {o.identity_weight:g}{start}, perceptual weight "
                      f"{o.perceptual_weight:g} (logged as a/identity, b/identity, a/perceptual, b/perceptual)")
        if o.gan:
            start = f"from {o.gan_start:.0%} of the budget" if o.gan_start else "from the first step"
            log.print(f"adversarial loss: weight {o.gan_weight:g}, {start} (logged as gan/g, gan/d)")
        if o.true_face:
            log.print(f"code discriminator (--true-face): weight {o.true_face:g} (logged as true_face/g, "
                      "true_face/d and true_face/acc, how often it tells A's codes from B's)")

    # --- saving -------------------------------------------------------------------------------
    def save(self, log: TrainLog | None = None) -> None:
        """All ranks gather their RNG and data states; rank 0 writes the checkpoint."""
        g = self.group
        rng_states = distributed.gather(rng.capture(), g)
        data_states = distributed.gather(self.stream.state_dict(), g)
        if g.is_main:
            tensors, meta, extra_weights = self.stepper.state_tensors()
            weights = {**self.model.state_dict(), **extra_weights}
            state = {
                "iteration": self.iteration, "seed": self.seed, "world_size": g.world_size,
                "rng": rng_states, "data": data_states, **self.stepper.state_json(),
                "loss_history": {"recent": log.history if log else {}, "curve": self.curve,
                                 "valid": self.eval_history[-CURVE_POINTS:]},
                "face_sets": {side: {"folder": str(fs.folder), "fingerprint": fs.fingerprint, "faces": len(fs)}
                              for side, fs in (("a", self.set_a), ("b", self.set_b))},
            }
            self.previous = ck.save_checkpoint(self.opts.model_dir, self.config, weights, tensors, meta, state,
                                               self.previous)
        self.last_saved = self.iteration
        distributed.barrier(g)

    def _summary(self, start_it: int, log: TrainLog | None, evaluator) -> dict:
        out = {"iteration": self.iteration, "start_iteration": start_it, "iterations_run": self.iteration - start_it,
               "model_dir": str(self.opts.model_dir), "rank": self.group.rank, "arch": self.model.arch}
        if log is not None:
            out["losses"] = dict(log.history)
            out["faces_per_s"] = log.speed.overall()
            out["train_seconds"] = log.speed.total_busy
        if evaluator is not None:
            out.update(evaluator.summary())
        if getattr(self, "rank_digests", None):
            out["rank_weight_digests"] = list(self.rank_digests)
        return out


def train(faces_a: str | Path, faces_b: str | Path, model_dir: str | Path, **options: Any) -> dict:
    """Train (or resume) a swap model; the Python twin of ``twoface train``.

    ``arch``: an architecture name (default ``original`` for a new model; a resumed model keeps
    its own, and naming another is an error). ``iterations`` counts from the model's start, so
    resuming with the same number continues to it; ``minutes`` limits this run; with neither,
    training runs until Ctrl-C. ``options`` are the other fields of
    :class:`~twoface.train.options.TrainOptions` (the CLI flags with underscores): ``loss``,
    ``optimizer``, ``lr``, ``warmup``, ``clip``, ``mask_loss``, ``learn_mask``, ``gan``,
    ``save_every``, ``preview_every``, ``eval_every``, ``seed``, ``compile``, ``device``,
    ``precision``, ``options`` (architecture options) ...

    Returns a summary: ``iteration``, ``losses`` (the last logged means, ``a``/``b`` and their
    parts), ``valid`` and ``valid_first`` (validation losses), ``identity`` (SFace similarity of
    held-out swaps to the other side's centroid, with references), ``faces_per_s``.
    Ctrl-C/SIGTERM save first, then raise :class:`TrainingInterrupted` (a KeyboardInterrupt)
    carrying the same summary.
    """
    opts = TrainOptions(faces_a=Path(faces_a), faces_b=Path(faces_b), model_dir=Path(model_dir),
                        explicit=frozenset(options), **options)
    return _train(opts)


def pretrain(faces: list[str | Path] | tuple[str | Path, ...], model_dir: str | Path, **options: Any) -> dict:
    """Train a prior (``twoface pretrain``): one encoder and one generic decoder on pooled face folders.

    Every face of every folder is reconstructed from its warped self, with the losses,
    augmentation and mask loss of :func:`train` (``options`` are the same fields, less the
    identity signal and --init-from). The model folder's config.json says ``"kind": "prior"``;
    start pairs from it with ``train(..., init_from=model_dir, init_parts="all")``.
    Resume, saves, previews and logs work as in :func:`train`; returns the same summary.
    """
    return _train(PretrainOptions(model_dir=Path(model_dir), faces=[Path(f) for f in faces],
                                  explicit=frozenset(options), **options))


def _train(opts: TrainOptions) -> dict:
    main = not opts.distributed or os.environ.get("RANK", "0") == "0"
    if not main:
        return Trainer(opts).run()
    ck.check_not_foreign(opts.model_dir)
    existed = opts.model_dir.exists()
    try:
        with ck.locked(opts.model_dir):
            return Trainer(opts).run()
    except TwofaceError:
        _remove_if_untouched(opts.model_dir, existed)
        raise


def _remove_if_untouched(model_dir: Path, existed: bool) -> None:
    """A run refused at set-up leaves no empty model folder behind (only its lock file is in it)."""
    if existed:
        return
    try:
        if {p.name for p in model_dir.iterdir()} <= {".lock"}:
            (model_dir / ".lock").unlink(missing_ok=True)
            model_dir.rmdir()
    except OSError:
        pass
