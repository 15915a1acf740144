"""The convert pipeline: three stages on three threads, joined by bounded queues.

    producer thread   decode frame -> faces (store, or found by a small pool)
                      -> smoothed transforms -> crops + base masks
    main thread       batches of crops from several frames -> model (autocast)
    consumer thread   mask, colour, sharpen, paste -> watermark -> writer

Why this shape: decoding, OpenCV warps and the encoder release the GIL, and so
does torch, so on a 2-core CPU the three stages overlap instead of taking
turns; batching the model over frames keeps its cost per face low. Queues are
bounded, so memory stays flat however long the video is, and frames leave in
the order they came. Any stage's error stops the others and is re-raised on
the caller's thread, so a failure is one clear message, never a hang.
"""
from __future__ import annotations

import collections
import concurrent.futures as cf
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .frame import Finisher, FrameJob, face_matrices, prepare
from .options import ConvertOptions, FrameSelection
from .smooth import TransformSmoother

_END = object()
QUEUE_FRAMES = 8  # frames waiting between two stages


class _Stop(Exception):
    """Raised inside a stage when another stage failed."""


@dataclass
class PipelineStats:
    frames: int = 0  # frames written
    converted: int = 0  # frames with at least one swapped face
    faces: int = 0
    skipped: int = 0  # frames not written (--skip-unchanged)
    seconds: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class Pipeline:
    """Runs one conversion. ``write(job, image)`` is called on the consumer thread, in order."""

    def __init__(self, media, face_source, swapper, opts: ConvertOptions, selection: FrameSelection,
                 write: Callable[[FrameJob, np.ndarray], None], watermark: Callable[[np.ndarray], np.ndarray],
                 is_video: bool, keep_default: bool = True, progress: Callable[[int, int], None] | None = None):
        self.media, self.faces, self.swapper, self.opts = media, face_source, swapper, opts
        self.selection, self.write, self.watermark = selection, write, watermark
        self.progress = progress
        self.framing = swapper.framing
        self.side = opts.side
        smooth = is_video if opts.smooth is None else opts.smooth
        self.smoother = TransformSmoother(opts.smooth_cutoff, opts.smooth_beta) if smooth else None
        keep = keep_default if opts.keep_unchanged is None else opts.keep_unchanged
        self.keep_unchanged = keep
        self.finish = Finisher(opts, self.framing)
        self.stats = PipelineStats()
        self._error: BaseException | None = None
        self._stop = threading.Event()

    # ---- plumbing ------------------------------------------------------------------
    def _put(self, q: queue.Queue, item) -> None:
        while True:
            if self._stop.is_set():
                raise _Stop()
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _get(self, q: queue.Queue):
        while True:
            if self._stop.is_set():
                raise _Stop()
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue

    def _fail(self, err: BaseException) -> None:
        if self._error is None:
            self._error = err
        self._stop.set()

    def _thread(self, target, *args) -> threading.Thread:
        def body():
            try:
                target(*args)
            except _Stop:
                pass
            except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
                self._fail(err)

        t = threading.Thread(target=body, name=f"twoface-convert-{target.__name__}", daemon=True)
        t.start()
        return t

    # ---- stages --------------------------------------------------------------------
    def _produce(self, start: int, out: queue.Queue) -> None:
        workers = self.opts.workers or max(1, min(2, os.cpu_count() or 1))
        pending: collections.deque[tuple[Any, Any]] = collections.deque()
        with cf.ThreadPoolExecutor(workers, thread_name_prefix="twoface-convert-find") as pool:
            for frame in self.media.frames(start=start):
                if self._stop.is_set():
                    raise _Stop()
                if frame.index not in self.selection:
                    pending.append((frame, []))
                elif self.faces.needs_analysis(frame.index):
                    pending.append((frame, pool.submit(self.faces.analyze, frame.image, frame.index)))
                else:
                    pending.append((frame, self.faces.stored(frame.index)))
                while len(pending) > workers * 2:
                    self._emit(*pending.popleft(), out)
            while pending:
                self._emit(*pending.popleft(), out)
        self._put(out, _END)

    def _emit(self, frame, found, out: queue.Queue) -> None:
        faces = found.result() if isinstance(found, cf.Future) else found
        job = FrameJob(frame.index, frame.time, frame.name, frame.image)
        if faces:
            matrices = face_matrices(faces, self.framing)
            if self.smoother is not None:
                matrices = self.smoother(frame.time, matrices, self.framing.input_size)
            job.faces = prepare(frame.image, faces, matrices, self.framing, self.opts)
            job.convert = True
        self._put(out, job)

    def _infer(self, inq: queue.Queue, outq: queue.Queue) -> None:
        """Main-thread stage: gather up to batch_size faces over consecutive frames, run the model."""
        done = False
        while not done:
            jobs, n = [], 0
            item = self._get(inq)
            while True:
                if item is _END:
                    done = True
                    break
                jobs.append(item)
                n += len(item.faces)
                if n >= self.opts.batch_size:
                    break
                try:
                    item = inq.get_nowait()
                except queue.Empty:
                    if n == 0:  # nothing to batch: pass frames on without waiting
                        break
                    item = self._get(inq)  # the producer is behind: wait, the batch is worth it
            faces = [fj for j in jobs for fj in j.faces]
            for i in range(0, len(faces), self.opts.batch_size):
                chunk = faces[i:i + self.opts.batch_size]
                out, masks = self.swapper([fj.crop for fj in chunk], self.side)
                for k, fj in enumerate(chunk):
                    fj.face = out[k]
                    fj.learned_mask = None if masks is None else masks[k]
            for j in jobs:
                self._put(outq, j)
        self._put(outq, _END)

    def _consume(self, inq: queue.Queue) -> None:
        while True:
            job = self._get(inq)
            if job is _END:
                return
            if not job.convert and not self.keep_unchanged:
                self.stats.skipped += 1
            else:
                image = self.finish(job) if job.convert else job.image
                self.write(job, self.watermark(image))
                self.stats.frames += 1
                if job.convert:
                    self.stats.converted += 1
                    self.stats.faces += len(job.faces)
            if self.progress is not None:
                self.progress(job.index, self.stats.frames)

    def run(self, start: int = 0) -> PipelineStats:
        t0 = time.monotonic()
        q1: queue.Queue = queue.Queue(QUEUE_FRAMES)
        q2: queue.Queue = queue.Queue(QUEUE_FRAMES)
        producer = self._thread(self._produce, start, q1)
        consumer = self._thread(self._consume, q2)
        try:
            self._infer(q1, q2)
        except _Stop:
            pass
        except BaseException as err:
            self._fail(err)
        finally:
            if self._error is not None:
                self._stop.set()
            consumer.join()
            self._stop.set()  # the producer may be blocked on a full queue after an error
            producer.join()
        if self._error is not None:
            raise self._error
        self.stats.seconds = time.monotonic() - t0
        return self.stats
