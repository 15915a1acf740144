"""Both sides' batch streams as one: what the loop calls ``next()`` on, and what a save records.

Each side is a ``data.BatchStream`` with its own prefetch thread and its own seed (derived from
the run's seed and this rank), so the two sides never draw the same random numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..data import Augmenter, Batch
from ..data.balance import sampling_weights
from ..data.loader import BatchStream

if TYPE_CHECKING:
    from ..data import FaceSet
    from ..models.base import SwapModel
    from .options import TrainOptions


WARP_SCALE = 5 / 256  # faceswap's random warp: grid noise of this share of the crop, at --warp-strength 1


def make_augmenter(model: SwapModel, opts: TrainOptions, random: bool = True) -> Augmenter:
    """The augmentation the options ask for, at the model's input and output sizes."""
    return Augmenter(model.input_size, model.output_size, warp=opts.warp and random,
                     warp_to_landmarks=opts.warp_to_landmarks and random, flip=opts.flip and random,
                     color=opts.augment_color and random, eye_multiplier=opts.eye_multiplier,
                     mouth_multiplier=opts.mouth_multiplier, warp_scale=WARP_SCALE * opts.warp_strength)


def balance(faces: FaceSet, opts: TrainOptions) -> np.ndarray | None:
    """Drawing weights of the training split under --balance (None: uniform)."""
    return sampling_weights([faces.metas[i] for i in faces.train.indices.tolist()], opts.balance)


class PairStream:
    """(batch of A, batch of B) forever; ``state_dict()`` is where the next pair comes from."""

    def __init__(self, set_a, set_b, model, opts, seed: int, device="cpu", prefetch: int = 2):
        # torch.set_num_threads is process-wide, not per thread: a producer thread asking for fewer
        # threads would silently slow the training step too, so the producers keep the trainer's count
        threads = torch.get_num_threads()
        self.a = BatchStream(set_a.train, opts.batch_size, make_augmenter(model, opts), seed=2 * seed,
                             device=device, prefetch=prefetch, threads=threads, weights=balance(set_a, opts))
        self.b = BatchStream(set_b.train, opts.batch_size, make_augmenter(model, opts), seed=2 * seed + 1,
                             device=device, prefetch=prefetch, threads=threads, weights=balance(set_b, opts))

    def next(self) -> tuple[Batch, Batch]:
        return next(self.a), next(self.b)

    def stop_warp(self) -> None:
        """Both sides without the random warp from the next pair on (``--warp-stop``)."""
        self.a.stop_warp()
        self.b.stop_warp()

    def keep_warping(self) -> None:
        """Undo a stop restored from a checkpoint: this run does not ask for --warp-stop."""
        self.a.keep_warping()
        self.b.keep_warping()

    @property
    def warping(self) -> bool:
        return self.a.warp_from is None

    def state_dict(self) -> dict:
        return {"a": self.a.state_dict(), "b": self.b.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.a.load_state_dict(state["a"])
        self.b.load_state_dict(state["b"])

    def close(self) -> None:
        self.a.close()
        self.b.close()


def make_stream(set_a: FaceSet, set_b: FaceSet, model: SwapModel, opts: TrainOptions, seed: int,
                device: torch.device | str = "cpu") -> PairStream:
    return PairStream(set_a, set_b, model, opts, seed % (2 ** 40), device=device)
