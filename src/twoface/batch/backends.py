"""Where jobs run: a local process pool, or a Ray cluster. Both have the same three calls.

``submit(job) -> handle``, ``wait(handles) -> [(handle, result)]`` (at least one finished job)
and ``close()``. The scheduler (runner.py) knows nothing else about them, so the same manifest
runs the same way on one machine or many.

Ray is imported only by :class:`RayBackend`; a local run never imports it.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing as mp
import os
import socket
from concurrent.futures.process import BrokenProcessPool
from typing import Any, cast

from ..errors import MissingDependency, TwofaceError
from .manifest import Job

QUIET_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "2", "OPENCV_LOG_LEVEL": "ERROR"}


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _crashed(job: Job, why: str) -> dict:
    return {"id": job.id, "status": "failed", "error": why, "error_type": "WorkerLost"}


class LocalBackend:
    """N worker processes on this machine; each job gets cores // N threads."""

    def __init__(self, workers: int):
        if workers < 1:
            raise TwofaceError(f"--local must be 1 or more, got {workers}")
        self.workers = workers
        self.cpus = max(1, _cores() // workers)
        self.name = f"local:{workers}"
        self._pool = None

    def _executor(self):
        if self._pool is None:
            from .jobs import init_worker

            # spawn, not fork: the driver may hold threads (torch, rich) that a fork would copy mid-state
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                                initializer=init_worker, initargs=(self.cpus, QUIET_ENV))
        return self._pool

    def describe_nodes(self) -> dict:
        return {"local": {"host": socket.gethostname(), "cpus": _cores(), "workers": self.workers}}

    def submit(self, job: Job) -> cf.Future:
        from .jobs import execute

        future = self._executor().submit(execute, {"job": job.to_json(), "cpus": self.cpus})
        cast(Any, future).twoface_job = job  # read back by wait() when the worker died
        return future

    def wait(self, handles: list) -> list[tuple[object, dict]]:
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        out: list[tuple[object, dict]] = []
        for f in done:
            try:
                result = f.result()
                result["node"] = "local"
            except BrokenProcessPool:
                self._pool = None  # a worker died (killed, out of memory): the next submit makes a new pool
                result = _crashed(cast(Any, f).twoface_job, "its worker process died (killed or out of memory)")
            out.append((f, result))
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayBackend:
    """One Ray task per job, with the job's CPUs, GPUs and custom resources declared.

    Tasks run in Ray's worker processes, which live on between tasks (``max_calls=0``; Ray's
    default for GPU tasks is a fresh process per task, which would reload models every video),
    so the per-process model cache of jobs.py works on the cluster too. Every path in a job is
    absolute and must mean the same file on every node: shared storage (NFS, a cluster file
    system) mounted at the same place. Without it, a job runs on a node that cannot see its
    inputs and fails with "no such file", recorded like any other failure.
    """

    def __init__(self, address: str):
        try:
            import ray
        except ModuleNotFoundError:
            raise MissingDependency("--ray needs Ray: pip install 'twoface[cluster]'") from None
        self.ray = ray
        self.name = f"ray:{address}"
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False,
                     include_dashboard=False, configure_logging=True)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise TwofaceError(f"cannot reach the Ray cluster at {address} ({err}); start it with "
                               "`ray start --head` and pass the address it prints") from None
        from .jobs import execute

        self._remote = ray.remote(max_calls=0, max_retries=1)(_ray_execute)
        self._execute = execute
        self._nodes = [n for n in ray.nodes() if n.get("Alive")]

    def describe_nodes(self) -> dict:
        return {n["NodeID"]: {"address": n.get("NodeManagerAddress"), "host": n.get("NodeManagerHostname"),
                              "resources": n.get("Resources", {})} for n in self._nodes}

    def feasible(self, job: Job) -> str | None:
        """Why no node of the cluster can run ``job`` (Ray would wait for ever), or None."""
        want = {"CPU": job.num_cpus, "GPU": job.num_gpus, **job.resources}
        for node in self._nodes:
            have = node.get("Resources", {})
            if all(v <= 0 or have.get(k, 0) >= v for k, v in want.items()):
                return None
        asked = ", ".join(f"{k} {v:g}" for k, v in want.items() if v > 0)
        return f"no node of the cluster has {asked} (see `ray status`); lower num_cpus/num_gpus or add nodes"

    def submit(self, job: Job) -> Any:  # a Ray ObjectRef
        resources = {k: v for k, v in job.resources.items()}
        ref = self._remote.options(num_cpus=job.num_cpus, num_gpus=job.num_gpus, resources=resources or None,
                                   name=f"twoface-{job.kind}:{job.id}").remote(
            {"job": job.to_json(), "cpus": max(1, int(job.num_cpus))})
        self._jobs = getattr(self, "_jobs", {})
        self._jobs[ref] = job
        return ref

    def wait(self, handles: list) -> list[tuple[object, dict]]:
        ray = self.ray
        ready, _ = ray.wait(handles, num_returns=1)
        out = []
        for ref in ready:
            job = self._jobs.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as err:  # the worker or its node died; the task's own errors are in its result
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                result = _crashed(job, f"the Ray worker was lost: {type(err).__name__}: {first}")
            out.append((ref, result))
        return out

    def close(self) -> None:
        self.ray.shutdown()


def _ray_execute(payload: dict) -> dict:
    """The Ray task: run the job, and say which node ran it."""
    import ray

    for k, v in QUIET_ENV.items():
        os.environ.setdefault(k, v)
    from .jobs import execute

    result = execute(payload)
    result["node"] = ray.get_runtime_context().get_node_id()
    return result
