"""The face grid: a face set's PNGs with cached thumbnails, sort keys, delete-with-undo and prune.

Why delete moves files aside: the promise of `twoface sort` holds here too, nothing a user
deletes in the grid is lost until they prune. A delete is a sort-journal entry (``by: "delete"``)
that moves the files into ``FACES/.twoface-deleted/``; a hidden folder, so training and prune no
longer see them, and both the grid's Undo and ``twoface sort FACES --undo`` put them back.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from ..store.journal import UndoReport

DELETED = ".twoface-deleted"
THUMB = 112
SORTS = ("name", "identity", "blur", "yaw", "pitch", "size")


@dataclass
class FaceRow:
    rel: str  # relative to the face folder
    frame: int
    blur: float | None
    yaw: float
    pitch: float
    size: float
    source: str
    identity: list | None


class FaceIndex:
    """Face metadata per file, re-read only when a file's mtime changes."""

    def __init__(self):
        self._cache: dict[Path, tuple[float, FaceRow | None]] = {}
        self._lock = threading.Lock()

    def rows(self, folder: Path) -> list[FaceRow]:
        from ..faces.measures import source_size
        from ..store.metadata import list_face_files, read_face_meta

        out = []
        for p in list_face_files(folder):
            rel = p.relative_to(folder)
            if any(part.startswith(".") for part in rel.parts[:-1]):
                continue
            mtime = p.stat().st_mtime
            with self._lock:
                hit = self._cache.get(p)
            if hit is None or hit[0] != mtime:
                try:
                    meta = read_face_meta(p)
                    row = FaceRow(rel.as_posix(), meta.frame, meta.blur, float(meta.pose[0]), float(meta.pose[1]),
                                  float(source_size(meta)), meta.source_path, meta.identity)
                except InputError:
                    row = None
                with self._lock:
                    self._cache[p] = (mtime, row)
                hit = (mtime, row)
            if hit[1] is not None:
                out.append(hit[1])
        return out


def sort_rows(rows: list[FaceRow], by: str) -> list[FaceRow]:
    """Order for the grid; identity puts the largest identity cluster first (as `sort --by identity`)."""
    if by not in SORTS:
        raise InputError(f"sort must be one of {', '.join(SORTS)}, got {by!r}")
    if by == "name":
        return sorted(rows, key=lambda r: r.rel)
    if by == "blur":  # blurriest first: those are the ones to delete
        return sorted(rows, key=lambda r: (r.blur if r.blur is not None else float("inf"), r.rel))
    if by in ("yaw", "pitch"):
        return sorted(rows, key=lambda r: (getattr(r, by), r.rel))
    if by == "size":
        return sorted(rows, key=lambda r: (r.size, r.rel))
    with_id = [r for r in rows if r.identity]
    without = [r for r in rows if not r.identity]
    if len(with_id) < 2:
        return sorted(rows, key=lambda r: r.rel)
    from ..curate.cluster import cluster_identities

    labels = cluster_identities(np.asarray([r.identity for r in with_id], np.float32))
    order = sorted(range(len(with_id)), key=lambda i: (int(labels[i]) if labels[i] >= 0 else 1 << 30, with_id[i].rel))
    return [with_id[i] for i in order] + sorted(without, key=lambda r: r.rel)


def thumbnail(cache_dir: Path, face: Path) -> Path:
    """A small JPEG of a face PNG, cached by path, size and mtime (so edits refresh it)."""
    st = face.stat()
    key = hashlib.sha1(f"{face}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    out = cache_dir / key[:2] / f"{key}.jpg"
    if out.exists():
        return out
    img = cv2.imread(str(face), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError("cannot decode the image", face)
    small = cv2.resize(img, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    from ..fsutil import atomic_write_bytes

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, buf.tobytes())
    return out


def delete_faces(folder: Path, rels: list[str]) -> int:
    """Move faces aside through the sort journal (undoable); returns how many moved."""
    from ..store.journal import Journal, JournalEntry, apply_entry

    moves = []
    for rel in rels:
        src = folder.joinpath(*rel.split("/"))
        if ".." in rel.split("/") or rel.startswith("/") or not src.resolve().is_relative_to(folder.resolve()):
            raise InputError(f"{rel!r} is not a face of this folder", folder)
        if not src.is_file():
            raise InputError(f"{rel!r}: no such face", folder)
        dst = f"{DELETED}/{rel}"
        if folder.joinpath(*dst.split("/")).exists():
            raise InputError(f"{dst} exists already; undo or prune first", folder)
        moves.append((rel, dst))
    if not moves:
        return 0
    journal = Journal.load(folder)
    apply_entry(journal, JournalEntry(by="delete", moves=moves, dirs=[DELETED], options={"via": "twoface ui"}))
    return len(moves)


def undo_last(folder: Path) -> UndoReport:
    """Undo the newest journal entry (a delete, or a sort made with the CLI)."""
    from ..store.journal import Journal
    from ..store.journal import undo_last as journal_undo

    return journal_undo(Journal.load(folder))


def journal_depth(folder: Path) -> tuple[int, str | None]:
    from ..store.journal import Journal

    try:
        j = Journal.load(folder)
    except InputError:
        return 0, None
    return len(j.entries), (j.entries[-1].by if j.entries else None)


def stores_for(rows: list[FaceRow]) -> list[Path]:
    """The alignments stores of the sources these faces came from (extract's default place)."""
    from ..store.alignments import default_store_path

    out = []
    for source in sorted({r.source for r in rows}):
        store = default_store_path(Path(source))
        if store.exists():
            out.append(store)
    return out
