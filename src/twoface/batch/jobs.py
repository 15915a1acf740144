"""Run one batch job in a worker process (a local pool process or a Ray worker) and report back.

Why a plain function over plain data: the same ``execute(payload)`` serves both backends, the
payload and the result are JSON-able dicts (nothing pickled reaches a file), and a job's error
becomes part of its result instead of an exception that would stop the scheduler.

Models are loaded once per worker: convert jobs share a small per-process cache of loaded
swap models, keyed by the model folder and its weights file's size and modification time
(a retrained model is loaded afresh). Pool processes and Ray workers both live on between
jobs, so the second video converted with a model on a worker skips the load.
"""
from __future__ import annotations

import os
import resource
import socket
import time
import traceback
from collections import OrderedDict
from dataclasses import asdict
from pathlib import Path

from .manifest import Job

_SWAPPERS: OrderedDict[tuple, object] = OrderedDict()
_CACHE_SIZE = 2  # models kept per worker (a worker converts with one or two models at a time in practice)


def execute(payload: dict) -> dict:
    """Run the job in ``payload`` (``{"job": Job.to_json(), "cpus": n}``); never raises for job errors."""
    job = Job.from_json(payload["job"])
    cpus = max(1, int(payload.get("cpus") or job.num_cpus or 1))
    started = time.time()
    t0 = time.perf_counter()
    cpu0 = _cpu_seconds()
    out = {"id": job.id, "host": socket.gethostname(), "pid": os.getpid(), "started": started}
    try:
        _threads(cpus)
        out["result"] = _RUNNERS[job.kind](job, cpus)
        out["status"] = "done"
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # noqa: BLE001  (a job's failure is data; the batch goes on)
        from ..errors import TwofaceError

        out["status"] = "failed"
        out["error"] = str(err) if isinstance(err, TwofaceError) else f"{type(err).__name__}: {err}"
        out["error_type"] = type(err).__name__
        if not isinstance(err, TwofaceError):
            out["traceback"] = traceback.format_exc(limit=8)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    out["cpu_seconds"] = round(_cpu_seconds() - cpu0, 3)
    return out


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _threads(cpus: int) -> None:
    """Keep this job on the cores it was given (torch's and OpenCV's pools default to all cores)."""
    import cv2
    import torch

    torch.set_num_threads(cpus)
    cv2.setNumThreads(cpus)


def _extract(job: Job, cpus: int) -> dict:
    from ..extract import extract
    from ..store.alignments import AlignmentsStore

    options = dict(job.options)
    options.setdefault("workers", cpus)
    r = extract(job.paths["input"], job.paths.get("faces"), store=job.paths["store"], progress=False, **options)
    with AlignmentsStore.open(r.store, readonly=True) as db:
        last = db.last_frame()
    return {"frames": r.frames, "faces": r.faces, "total_faces": r.total_faces, "total_frames": r.total_frames,
            "resumed_from": r.resumed_from, "last_frame": last}


def _train(job: Job, cpus: int) -> dict:
    from ..train import train

    options = dict(job.options)
    options.setdefault("tensorboard", False)
    summary = train(job.paths["faces_a"], job.paths["faces_b"], job.paths["model"], **options)
    keep = ("iteration", "start_iteration", "iterations_run", "arch", "faces_per_s", "train_seconds")
    return {k: summary.get(k) for k in keep if k in summary}


def _convert(job: Job, cpus: int) -> dict:
    from ..convert import ConvertOptions, convert
    from .artefacts import model_iteration, video_facts

    options = dict(job.options)
    opts = ConvertOptions(**options)
    if getattr(opts, "engine", "torch") == "torch":
        swapper, cached = _swapper(job.paths["model"], opts.device, opts.precision)
    else:  # another engine (onnx): convert opens it itself
        swapper, cached = None, False
    iteration = model_iteration(job.paths["model"])
    r = convert(job.paths["input"], job.paths["model"], job.paths["output"], store=job.paths.get("store"),
                progress=False, swapper=swapper, **options)
    settings = {k: v for k, v in asdict(opts).items() if k not in ("device", "precision", "overwrite", "workers")}
    return {"frames_written": r.frames, "converted": r.converted, "faces": r.faces, "resumed_from": r.resumed_from,
            "fps": r.fps, "model_cached": cached, "iteration": iteration,
            "arch": swapper.model.arch if swapper is not None else None,
            "settings": settings, **video_facts(job.paths["output"])}


def _real(job: Job, cpus: int) -> dict:
    from .artefacts import video_facts

    return video_facts(job.paths["input"])


_RUNNERS = {"extract": _extract, "train": _train, "convert": _convert, "real": _real}


def _swapper(model_dir: str, device: str, precision: str):
    """(the loaded model, whether it came from this worker's cache)."""
    from ..device import choose
    from ..models.folder import WEIGHTS
    from ..models.swapper import Swapper

    weights = Path(model_dir) / WEIGHTS
    try:
        st = weights.stat()
        stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = None  # Swapper raises the clear error
    key = (os.path.realpath(model_dir), stamp, device, precision)
    if key in _SWAPPERS:
        _SWAPPERS.move_to_end(key)
        return _SWAPPERS[key], True
    swapper = Swapper(model_dir, choose(device, precision))
    _SWAPPERS[key] = swapper
    while len(_SWAPPERS) > _CACHE_SIZE:
        _SWAPPERS.popitem(last=False)
    return swapper, False


def init_worker(cpus: int, env: dict | None = None) -> None:
    """Process-pool initializer: quiet native logging, and the cores each job may use."""
    for k, v in (env or {}).items():
        os.environ.setdefault(k, v)
    os.environ["OMP_NUM_THREADS"] = str(cpus)
