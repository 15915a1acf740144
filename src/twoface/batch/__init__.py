"""``twoface batch``: many extract/train/convert jobs from one manifest, on a Ray cluster or a local pool.

    from twoface.batch import run_batch
    summary = run_batch("jobs.yaml", local=2)          # or ray="head-node:6379"

The orchestrator calls the stage functions; it adds no stage logic of its own. Modules:
``manifest`` (read and check, in one place), ``artefacts`` (is a job complete?), ``jobs``
(run one job in a worker), ``backends`` (local pool, Ray), ``runner`` (the scheduler) and
``dataset`` (``dataset.jsonl`` for detection researchers).
"""
from __future__ import annotations

__all__ = ["run_batch", "load_manifest", "BatchSummary"]


def __getattr__(name: str):
    if name in ("run_batch", "BatchSummary"):
        from . import runner

        return getattr(runner, name)
    if name == "load_manifest":
        from .manifest import load_manifest

        return load_manifest
    raise AttributeError(f"module 'twoface.batch' has no attribute {name!r}")
