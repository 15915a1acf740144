"""An endless, resumable stream of augmented batches, prepared in a background thread.

Why a thread and not worker processes: the cache is already decoded, and the
augmentation is a few batched torch ops that release the GIL, so one thread
keeps a batch or two ready while the main thread runs the training step, with
no copy of the cache per process (faceswap's workers each hold their own).

Why resumable: a run resumed from a checkpoint must see exactly the batches the
uninterrupted run would have seen. Each epoch's order is ``randperm`` from a
generator seeded with (seed, epoch), and each batch's augmentation generator is
seeded with (seed, batch number), so the whole future of the stream is a
function of ``(seed, epoch, position, batches)``: that small dict is the state.
(Reseeding per batch costs microseconds and needs no generator byte dump.)

Interface:

- ``BatchStream(split, batch_size, augmenter, seed=0, device="cpu", prefetch=2, tune_memory=True,
  threads=1)``: ``tune_memory`` calls :func:`twoface.data.memory.tune_allocator` (process-wide, see
  there); ``threads`` is torch's intra-op thread count inside the producer thread only. ``split`` is a
  ``FaceSplit`` (or anything with ``images``, ``masks``, ``landmarks`` tensors); iterating (or
  ``next(stream)``) yields :class:`~twoface.data.augment.Batch` on ``device``. Batches always hold
  ``batch_size`` faces: an epoch's tail is topped up from the next epoch's order.
- ``stream.state_dict() -> {"seed", "epoch", "position", "batches"}`` (JSON-able): the state
  *after the last batch handed out*, not after the ones prefetched.
- ``stream.load_state_dict(state)``: continue from there (drops any prefetched batches).
- ``stream.stop_warp()``: from the next batch handed out, no random warp (``--warp-stop``). The batch
  number it stops at is part of the state, so a resumed run stops at the same batch;
  ``stream.keep_warping()`` undoes it.
- ``stream.close()`` stops the thread (also a context manager); ``plain_batch(indices)`` gives
  unaugmented faces (previews, validation).
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    import numpy as np

from .augment import Augmenter, Batch
from .memory import tune_allocator

_MIX = 0x9E3779B97F4A7C15  # splits (seed, counter) into unrelated generator seeds


def _seed(seed: int, stream: int, counter: int) -> int:
    return (seed * 1_000_003 + stream * _MIX + counter * 0xBF58476D1CE4E5B9) % (2 ** 63 - 1)


class _Stop:
    pass


class BatchStream:
    """Infinite random batches of one face split (each epoch a permutation), prefetched in a thread."""

    def __init__(self, split, batch_size: int, augmenter: Augmenter, seed: int = 0,
                 device: str | torch.device = "cpu", prefetch: int = 2, tune_memory: bool = True,
                 threads: int = 1, weights: np.ndarray | None = None):
        """``weights``: one per face of ``split`` for drawing with replacement (data.balance), or None for
        each epoch a permutation."""
        if len(split.images) == 0:
            raise ValueError("cannot stream batches from an empty face split")
        if tune_memory:
            tune_allocator()
        self.split = split
        self.batch_size = int(batch_size)
        self.augmenter = augmenter
        self.seed = int(seed)
        self.device = torch.device(device)
        self.prefetch = max(1, int(prefetch))
        self.threads = max(1, int(threads))
        self.weights = None if weights is None else torch.as_tensor(np.asarray(weights, np.float64))
        self._state = {"seed": self.seed, "epoch": 0, "position": 0, "batches": 0}
        self.warp_from: int | None = None  # the first batch number without the random warp (stop_warp)
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()

    # --- the deterministic part -------------------------------------------------------------------------

    def _order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(_seed(self.seed, 1, epoch))
        if self.weights is not None:  # an "epoch" is as many weighted draws as there are faces
            return torch.multinomial(self.weights, len(self.split.images), replacement=True, generator=g)
        return torch.randperm(len(self.split.images), generator=g)

    def _indices(self, state: dict) -> tuple[torch.Tensor, dict]:
        """The rows of the next batch and the state after it."""
        epoch, pos = state["epoch"], state["position"]
        taken: list[torch.Tensor] = []
        need = self.batch_size
        while need:
            order = self._order(epoch)
            chunk = order[pos:pos + need]
            taken.append(chunk)
            need -= len(chunk)
            pos += len(chunk)
            if pos >= len(order):
                epoch, pos = epoch + 1, 0
        after = {"seed": self.seed, "epoch": epoch, "position": pos, "batches": state["batches"] + 1}
        return torch.cat(taken), after

    def make_batch(self, state: dict) -> tuple[Batch, dict]:
        """Build the batch that follows ``state`` (no thread involved)."""
        idx, after = self._indices(state)
        g = torch.Generator().manual_seed(_seed(self.seed, 2, state["batches"]))
        images, masks, landmarks = (t[idx].to(self.device, non_blocking=True)
                                    for t in (self.split.images, self.split.masks, self.split.landmarks))
        deform = self.warp_from is None or state["batches"] < self.warp_from
        return self.augmenter(images, masks, landmarks, g, deform), after

    def stop_warp(self) -> None:
        """No random warp from the next batch handed out on; the prefetched ones are made again."""
        if self.warp_from is not None:
            return
        self.warp_from = self._state["batches"]
        self.close()  # the producer restarts from the state at the next batch, now without the warp

    def keep_warping(self) -> None:
        """Undo a stop (one restored from a checkpoint): the random warp from the next batch on."""
        if self.warp_from is None:
            return
        self.warp_from = None
        self.close()

    def plain_batch(self, indices: Sequence[int] | np.ndarray) -> Batch:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.augmenter.plain(*(t[idx].to(self.device) for t in
                                      (self.split.images, self.split.masks, self.split.landmarks)))

    # --- the thread -----------------------------------------------------------------------------------

    @staticmethod
    def _put(q: queue.Queue, item, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _produce(self, state: dict, q: queue.Queue, stop: threading.Event) -> None:
        # One intra-op thread here (the setting is per thread): the batch ops are small, and on a
        # busy CPU OpenMP workers fighting the training step's own made them ~6× slower (measured).
        torch.set_num_threads(self.threads)
        try:
            while not stop.is_set():
                batch, state = self.make_batch(state)
                self._put(q, (batch, state), stop)
        except BaseException as err:  # hand the failure to the consumer instead of dying silently
            self._put(q, (_Stop, err), stop)

    def _start(self) -> None:
        self._stop = threading.Event()
        self._queue = queue.Queue(maxsize=self.prefetch)
        self._thread = threading.Thread(target=self._produce, args=(dict(self._state), self._queue, self._stop),
                                        name="twoface-batches", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[Batch]:
        return self

    def __next__(self) -> Batch:
        if self._thread is None:
            self._start()
        assert self._queue is not None
        batch, state = self._queue.get()
        if batch is _Stop:
            self.close()
            raise state
        self._state = state
        return batch

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            while self._thread.is_alive():
                try:
                    self._queue.get(timeout=0.05)  # type: ignore[union-attr]  # set with the thread
                except queue.Empty:
                    pass
            self._thread.join()
        self._thread = None
        self._queue = None

    def __enter__(self) -> BatchStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # --- resume ---------------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return dict(self._state) if self.warp_from is None else {**self._state, "warp_from": self.warp_from}

    def load_state_dict(self, state: dict) -> None:
        if int(state.get("seed", self.seed)) != self.seed:
            raise ValueError(f"batch stream state was saved with seed {state.get('seed')}, this stream has {self.seed}")
        self.close()
        self._state = {"seed": self.seed, "epoch": int(state["epoch"]), "position": int(state["position"]),
                       "batches": int(state["batches"])}
        self.warp_from = None if state.get("warp_from") is None else int(state["warp_from"])
