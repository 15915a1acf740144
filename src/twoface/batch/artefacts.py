"""What a job leaves on disk: is it complete, and the dataset line of a finished video.

Why judge completion by the artefacts and not by a log of what ran: the files are the truth.
A store whose progress reached the end, a model at its target iteration and a finalised
video are complete whoever made them (an earlier batch, a CLI run by hand); a half-written
one is not, whatever a log says. The stages resume from their own partial state, so an
incomplete job simply runs again.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .manifest import Job

RECORDS = "jobs"  # <state dir>/jobs/<id>.json: what the last run of each job returned


def is_complete(job: Job, record: dict | None) -> tuple[bool, str]:
    """(complete, why) for ``job``, from its artefacts (and the last record, for extract's edge case)."""
    check = {"extract": _extract_complete, "train": _train_complete, "convert": _convert_complete,
             "real": lambda j, r: (True, "a real video is only listed")}[job.kind]  # noqa: E731
    try:
        return check(job, record)
    except Exception as err:  # an unreadable artefact is not complete; the job itself will say why
        return False, f"cannot read its output ({type(err).__name__}: {err})"


def _extract_complete(job: Job, record: dict | None) -> tuple[bool, str]:
    from ..extract import ExtractOptions
    from ..fsutil import fingerprint
    from ..store.alignments import AlignmentsStore

    store = Path(job.paths["store"])
    faces = job.paths.get("faces")
    if not store.is_file() or (faces and not os.path.isdir(faces)):
        return False, "no store yet"
    opts = ExtractOptions(**job.options)
    with AlignmentsStore.open(store, readonly=True) as db:
        src = db.source
        if src is None or src.fingerprint != fingerprint(job.paths["input"]):
            return False, "the store is of another source"
        if db.get_meta("extract_options") != opts.shaping():
            return False, "the store was made with other options"
        last = db.last_frame()
    if last >= src.frame_count - opts.every:
        return True, f"store progress at the end (frame {last} of {src.frame_count})"
    # with --every N the container's frame count can be an estimate; a finished run recorded its end
    if record and record.get("status") == "done" and record.get("result", {}).get("last_frame") == last:
        return True, f"store progress at the end recorded by the last run (frame {last})"
    return False, f"store progress at frame {last} of {src.frame_count}"


def _train_complete(job: Job, record: dict | None) -> tuple[bool, str]:
    it = model_iteration(job.paths["model"])
    target = int(job.options["iterations"])
    if it is None:
        return False, "no model yet"
    if it >= target:
        return True, f"model at iteration {it} (target {target})"
    return False, f"model at iteration {it} of {target}"


def _convert_complete(job: Job, record: dict | None) -> tuple[bool, str]:
    from ..convert.output import PROGRESS_FILE

    out = Path(job.paths["output"])
    if not out.exists():
        return False, "no output yet"
    parts = out.with_name(out.name + ".parts")
    if out.is_dir():
        try:
            state = json.loads((out / PROGRESS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False, "the output folder has no completion record"
        return (True, "output finalised") if state.get("complete") else (False, "the output folder is unfinished")
    if parts.exists():
        return False, f"an unfinished conversion ({parts.name}) is waiting to resume"
    from ..media.label import read_label

    if read_label(out) is None:  # not twoface's: the convert job will refuse to replace it, and say so
        return False, "the output exists but carries no twoface synthetic label"
    return True, "output finalised"


def model_iteration(model_dir: str | Path) -> int | None:
    """The iteration of the newest complete (hash-verified) checkpoint, or None without one."""
    from ..models.folder import CONFIG, STATE, WEIGHTS, find_checkpoint

    if not Path(model_dir, STATE).exists() and not Path(model_dir, STATE + ".prev").exists():
        return None
    found = find_checkpoint(Path(model_dir), need=(CONFIG, WEIGHTS))
    return None if found is None else found.iteration


def model_arch(model_dir: str | Path) -> str | None:
    from ..models.folder import read_config

    cfg = read_config(Path(model_dir)) or {}
    return cfg.get("arch")


def video_facts(path: str | Path) -> dict:
    """Frame count and sha256 of a finished output (a video, an image, or an image folder)."""
    from ..fsutil import sha256_file
    from ..media import open_media

    path = Path(path)
    if path.is_dir():
        h = hashlib.sha256()
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        for p in files:
            h.update(f"{p.name}:{sha256_file(p)}\n".encode())
        return {"frames": len(files), "sha256": h.hexdigest(), "sha256_of": "sorted 'name:sha256' lines",
                "bytes": sum(p.stat().st_size for p in files), "mtime_ns": path.stat().st_mtime_ns}
    media = open_media(path)
    try:
        frames = int(media.info.frame_count)
    finally:
        close = getattr(media, "close", None)
        if close is not None:
            close()
    st = path.stat()
    return {"frames": frames, "sha256": sha256_file(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def load_record(state_dir: Path, job_id: str) -> dict | None:
    try:
        return json.loads((state_dir / RECORDS / f"{_safe(job_id)}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def save_record(state_dir: Path, job_id: str, record: dict) -> None:
    from ..fsutil import atomic_write_text

    (state_dir / RECORDS).mkdir(parents=True, exist_ok=True)
    atomic_write_text(state_dir / RECORDS / f"{_safe(job_id)}.json", json.dumps(record, indent=1, default=str) + "\n")


def _safe(job_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in job_id)
