"""The batch scheduler: skip what is complete, run what is ready, isolate what fails.

Order of a run: read and check the manifest (manifest.py, exit 2 on any problem); then, in
dependency order, a job is *skipped* when its artefacts say it is complete, *submitted* when
every job it depends on is complete, *skipped-due-to-failure* when one of them failed (or
*waiting* when one stopped short of its target, e.g. a training run capped by ``minutes``).
A failing job is recorded with its error; the others go on. At the end ``summary.json`` and
``dataset.jsonl`` are written (atomically) to the state folder, and the summary is printed.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..fsutil import atomic_write_text
from . import artefacts
from .dataset import dataset_lines
from .manifest import Job, Manifest, load_manifest

log = logging.getLogger(__name__)

DONE, SKIPPED, FAILED, BLOCKED, WAITING, INCOMPLETE, LISTED = (
    "done", "skipped", "failed", "skipped-due-to-failure", "waiting", "incomplete", "listed")
OK = (DONE, SKIPPED, LISTED)


@dataclass
class BatchSummary:
    manifest: str
    backend: str
    state_dir: str
    jobs: list[dict] = field(default_factory=list)
    nodes: dict = field(default_factory=dict)
    seconds: float = 0.0
    dataset: str | None = None
    dataset_lines: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self.jobs:
            out[j["status"]] = out.get(j["status"], 0) + 1
        return out

    @property
    def ok(self) -> bool:
        return all(j["status"] in OK for j in self.jobs)

    def to_json(self) -> dict:
        return {"format": "twoface-batch-summary", "twoface_version": __version__, "manifest": self.manifest,
                "backend": self.backend, "state_dir": self.state_dir, "seconds": round(self.seconds, 3),
                "counts": self.counts(), "ok": self.ok, "dataset": self.dataset, "dataset_lines": self.dataset_lines,
                "nodes": self.nodes, "jobs": self.jobs}


def default_state_dir(manifest: Path) -> Path:
    """``<manifest folder>/<manifest stem>.batch``: summary, dataset and per-job records."""
    return manifest.resolve().parent / f"{manifest.stem}.batch"


def run_batch(manifest: str | Path, *, ray: str | None = None, local: int | None = None,
              state_dir: str | Path | None = None, say: Callable[[str], object] = print) -> BatchSummary:
    """Run every job of ``manifest`` on a Ray cluster (``ray=ADDRESS``) or a local pool (``local=N``)."""
    m = load_manifest(manifest)  # every problem of the manifest surfaces here, before anything runs
    state = Path(state_dir) if state_dir is not None else default_state_dir(m.path)
    state.mkdir(parents=True, exist_ok=True)
    if ray is not None:
        from .backends import RayBackend

        backend: RayBackend | LocalBackend = RayBackend(ray)
    else:
        from .backends import LocalBackend

        backend = LocalBackend(local or 1)
    t0 = time.perf_counter()
    try:
        summary = _Scheduler(m, backend, state, say).run()
    finally:
        backend.close()
    summary.seconds = time.perf_counter() - t0
    lines = dataset_lines(m, summary.jobs, state)
    dataset = state / "dataset.jsonl"
    atomic_write_text(dataset, "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))
    summary.dataset, summary.dataset_lines = str(dataset), len(lines)
    atomic_write_text(state / "summary.json", json.dumps(summary.to_json(), indent=1, default=str) + "\n")
    return summary


class _Scheduler:
    def __init__(self, m: Manifest, backend, state: Path, say):
        self.m, self.backend, self.state, self.say = m, backend, state, say
        self.by_id = m.by_id()
        self.status: dict[str, dict] = {}
        self.total = len(m.jobs)

    def _finish(self, job: Job, entry: dict) -> None:
        entry = {"id": job.id, "kind": job.kind, "line": job.line, **entry}
        self.status[job.id] = entry
        n = len(self.status)
        where = f" on node {str(entry['node'])[:12]}" if entry.get("node") else ""
        secs = f" in {entry['seconds']:.1f} s" if entry.get("seconds") is not None else ""
        why = entry.get("error") or entry.get("reason") or ""
        self.say(f"[{n}/{self.total}] {job.kind} {job.id}: {entry['status']}{secs}{where}"
                 + (f" ({why})" if why else ""))

    def run(self) -> BatchSummary:
        pending = {j.id: j for j in self.m.jobs}
        running: dict[object, Job] = {}
        while pending or running:
            progressed = False
            for job in list(pending.values()):
                found = [self.status.get(d) for d in job.after]
                deps = [d for d in found if d is not None]
                if len(deps) != len(found):
                    continue  # a dependency has not finished yet
                del pending[job.id]
                progressed = True
                bad = next((d for d in deps if d["status"] not in OK), None)
                if bad is not None:
                    status = WAITING if bad["status"] in (INCOMPLETE, WAITING) else BLOCKED
                    self._finish(job, {"status": status, "reason": f"after {bad['status']} job {bad['id']!r}"})
                    continue
                if job.kind == "real":
                    self._finish(job, {"status": LISTED, "reason": "a real video, listed in the dataset"})
                    continue
                record = artefacts.load_record(self.state, job.id)
                complete, why = artefacts.is_complete(job, record)
                if complete:
                    self._finish(job, {"status": SKIPPED, "reason": f"complete: {why}"})
                    continue
                infeasible = getattr(self.backend, "feasible", lambda j: None)(job)
                if infeasible:
                    self._finish(job, {"status": FAILED, "error": infeasible})
                    continue
                running[self.backend.submit(job)] = job
            if progressed:
                continue  # what just finished may have made more jobs ready
            if running:
                for handle, result in self.backend.wait(list(running)):
                    self._record(running.pop(handle), result)
            elif pending:  # cannot happen: the manifest's graph is checked to be acyclic
                raise RuntimeError(f"batch scheduler stuck with {sorted(pending)}")
        jobs = [self.status[j.id] for j in self.m.jobs]
        return BatchSummary(manifest=str(self.m.path.resolve()), backend=self.backend.name,
                            state_dir=str(self.state), jobs=jobs, nodes=self.backend.describe_nodes())

    def _record(self, job: Job, result: dict) -> None:
        status = result.get("status", FAILED)
        if status == DONE and job.kind == "train":
            reached = (result.get("result") or {}).get("iteration", 0)
            if reached < int(job.options["iterations"]):
                status = INCOMPLETE
                result["reason"] = f"stopped at iteration {reached} of {job.options['iterations']} (rerun to continue)"
        result["status"] = status
        record = {**result, "job": job.to_json()}
        artefacts.save_record(self.state, job.id, record)
        keep = {k: v for k, v in result.items() if k != "id"}
        self._finish(job, keep)
