"""``dataset.jsonl``: one line per output video, ready for a deepfake-detection training set.

Each synthetic line says what the file is (``label: synthetic``), where it came from (source
video, source and target identities), what made it (model folder, architecture, iteration,
every convert setting) and how to check it (frame count, sha256). ``kind: real`` jobs add
the real videos with ``label: real``. Lines of outputs finished in an earlier run come from
that run's record while the file is unchanged (same size and modification time); otherwise
the file is measured again, so a line always describes the bytes on disk.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import TypeGuard

from .. import __version__
from . import artefacts
from .manifest import Job, Manifest

GENERATOR = f"twoface/{__version__}"


def dataset_lines(m: Manifest, statuses: list[dict], state: Path) -> list[dict]:
    by_id = m.by_id()
    out = []
    for entry in statuses:
        job = by_id[entry["id"]]
        if job.kind == "convert" and entry["status"] in ("done", "skipped"):
            out.append(_synthetic(m, job, entry, state))
        elif job.kind == "real" and entry["status"] == "listed":
            line = _real(job, state)
            if line is not None:
                out.append(line)
    return out


def _fresh(result: dict | None, path: str) -> TypeGuard[dict]:
    """The recorded facts still describe the file (same size and modification time)."""
    if not result or "sha256" not in result:
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    return result.get("mtime_ns") == st.st_mtime_ns and (os.path.isdir(path) or result.get("bytes") == st.st_size)


def _synthetic(m: Manifest, job: Job, entry: dict, state: Path) -> dict:
    from ..convert.options import ConvertOptions

    result = entry.get("result") if entry["status"] == "done" else \
        (artefacts.load_record(state, job.id) or {}).get("result")
    out = job.paths["output"]
    if not _fresh(result, out):
        opts = ConvertOptions(**job.options)
        settings = {k: v for k, v in asdict(opts).items() if k not in ("device", "precision", "overwrite", "workers")}
        result = {**artefacts.video_facts(out), "iteration": artefacts.model_iteration(job.paths["model"]),
                  "arch": artefacts.model_arch(job.paths["model"]), "settings": settings}
    side_a, side_b = _identities(m, job.paths["model"])
    direction = job.options.get("direction", "a2b")
    source, target = (side_a, side_b) if direction == "a2b" else (side_b, side_a)
    return {"path": out, "label": "synthetic", "source_video": job.paths["input"],
            "source_identity": job.labels.get("source_identity", source),
            "target_identity": job.labels.get("target_identity", target),
            "model": job.paths["model"], "arch": result.get("arch"), "iteration": result.get("iteration"),
            "convert_settings": result.get("settings"), "frames": result.get("frames"), "sha256": result["sha256"],
            "job": job.id, "generator": GENERATOR}


def _identities(m: Manifest, model: str) -> tuple[str | None, str | None]:
    """Who sides A and B of ``model`` are: the train job's labels, else its extract jobs', else folder names."""
    trainer = next((j for j in m.jobs if j.kind == "train" and j.paths["model"] == model), None)
    if trainer is None:
        return None, None
    names = []
    for side in ("a", "b"):
        folder = trainer.paths[f"faces_{side}"]
        name = trainer.labels.get(f"identity_{side}")
        if name is None:
            name = next((j.labels["identity"] for j in m.jobs if j.kind == "extract"
                         and j.paths.get("faces") == folder and "identity" in j.labels), None)
        names.append(name if name is not None else Path(folder).name)
    return names[0], names[1]


def _real(job: Job, state: Path) -> dict | None:
    path = job.paths["input"]
    record = artefacts.load_record(state, job.id) or {}
    facts = record.get("result")
    if not _fresh(facts, path):
        try:
            facts = artefacts.video_facts(path)
        except Exception:  # noqa: BLE001  (an unreadable real video: listed without a frame count)
            from ..fsutil import sha256_file

            st = os.stat(path)
            facts = {"frames": None, "sha256": sha256_file(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
        artefacts.save_record(state, job.id, {"id": job.id, "status": "listed", "result": facts})
    return {"path": path, "label": "real", "identity": job.labels.get("identity", Path(path).stem),
            "frames": facts.get("frames"), "sha256": facts["sha256"], "job": job.id}
