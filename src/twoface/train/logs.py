"""What a training run tells the user: one console line every N iterations, and TensorBoard.

Why no interactive UI: training runs for hours, often over ssh or in a notebook, and its
output is read later in a log file. A plain line per N iterations (iteration, losses,
faces/s, ETA) reads well anywhere; TensorBoard (``tensorboard --logdir MODEL/logs``) shows the
curves, the previews and the identity signal. (Named ``logs`` so it never shadows the
standard ``logging`` module.)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


class Speed:
    """Faces per second of training steps only: saves, previews and evaluation do not count."""

    def __init__(self, faces_per_step: int):
        self.faces_per_step = faces_per_step
        self.steps = 0
        self.busy = 0.0
        self.total_steps = 0
        self.total_busy = 0.0

    def add(self, seconds: float) -> None:
        self.steps += 1
        self.busy += seconds
        self.total_steps += 1
        self.total_busy += seconds

    def window(self) -> float:
        """Faces/s since the last call (the console line's figure); resets the window."""
        rate = self.steps * self.faces_per_step / self.busy if self.busy > 0 else 0.0
        self.steps, self.busy = 0, 0.0
        return rate

    def overall(self) -> float:
        return self.total_steps * self.faces_per_step / self.total_busy if self.total_busy > 0 else 0.0

    def seconds_per_step(self) -> float:
        return self.total_busy / self.total_steps if self.total_steps else 0.0


class TrainLog:
    """Running loss means, the console line and the TensorBoard writer of one run (rank 0 only)."""

    def __init__(self, model_dir: Path | None, start_iteration: int, iterations: int | None,
                 deadline: float | None, faces_per_step: int, stream: TextIO | None = None,
                 tensorboard: bool = True):
        self.start_iteration = start_iteration
        self.iterations = iterations  # the target iteration count, or None
        self.deadline = deadline  # a time.monotonic() deadline, or None
        self.speed = Speed(faces_per_step)
        self.stream = stream if stream is not None else sys.stdout
        self.silent = False  # the other processes of a distributed job print nothing
        self.sums: dict[str, float] = {}
        self.count = 0
        self.history: dict[str, float] = {}
        self.writer = None
        if model_dir is not None and tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step hides events a crashed run logged after its last save
            self.writer = SummaryWriter(str(Path(model_dir) / "logs"), purge_step=start_iteration or None)

    # --- per step -------------------------------------------------------------------------
    def add_losses(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.count += 1

    def means(self) -> dict[str, float]:
        """Loss means since the last console line; resets them."""
        out = {k: v / self.count for k, v in self.sums.items()} if self.count else {}
        self.sums, self.count = {}, 0
        if out:
            self.history = out
        return out

    # --- outputs --------------------------------------------------------------------------
    def eta(self, iteration: int) -> float | None:
        remaining = []
        if self.iterations is not None:
            remaining.append((self.iterations - iteration) * self.speed.seconds_per_step())
        if self.deadline is not None:
            remaining.append(self.deadline - time.monotonic())
        return min(remaining) if remaining else None

    def print(self, text: str) -> None:
        if self.silent:
            return
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=self.stream, flush=True)

    def console(self, iteration: int, means: dict[str, float], faces_per_s: float, lr: float | None = None) -> None:
        """The one line per --log-every iterations: iteration, losses A/B, faces/s and ETA."""
        parts = [f"it {iteration:>7d}"]
        if "a" in means and "b" in means:
            parts.append(f"loss A {means['a']:.4f} B {means['b']:.4f}")
        extra = [f"{k} {v:.4f}" for k, v in means.items() if k not in ("a", "b") and not k.startswith(("a/", "b/"))]
        parts.extend(extra)
        parts.append(f"{faces_per_s:6.1f} faces/s")
        eta = self.eta(iteration)
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        self.print("  ".join(parts))
        scalars = {f"loss/{k}": v for k, v in means.items()}
        scalars["speed/faces_per_s"] = faces_per_s
        if lr is not None:
            scalars["lr"] = lr
        self.scalars(iteration, scalars)

    def scalars(self, iteration: int, values: dict[str, float]) -> None:
        if self.writer is not None:
            for k, v in values.items():
                if v is not None and np.isfinite(v):
                    self.writer.add_scalar(k, float(v), iteration)

    def image(self, tag: str, bgr: np.ndarray, iteration: int) -> None:
        if self.writer is not None:
            self.writer.add_image(tag, np.ascontiguousarray(bgr[:, :, ::-1]), iteration, dataformats="HWC")

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
