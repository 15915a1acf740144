"""Where convert gets each frame's faces: the alignments store, or found on the fly.

Why both: a store made by ``twoface extract`` (possibly curated by deleting
faces) says exactly which faces to swap and costs nothing to read; without
one, convert finds faces itself with the same analyzer extract uses (``faces.analyze``),
so a user can go from a model to a swapped video without writing face PNGs.
A store that skipped frames (``--every``) or stopped early is completed on the
fly for the frames it lacks. A store made from another file is refused.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import StoreError
from ..faces.analyze import AnalyzerPool, IdentityFilter
from ..fsutil import fingerprint
from ..store.alignments import AlignmentsStore, default_store_path
from .options import ConvertOptions


@dataclass
class FoundFace:
    """One face to swap, in frame pixels."""

    face: int
    landmarks: np.ndarray  # (478, 2) float32
    identity: np.ndarray | None = None  # SFace unit vector, for --filter


def source_fingerprint(path: Path) -> str:
    """The fingerprint extract records for a source (file or image folder)."""
    return fingerprint(Path(path))


def open_store(input: Path, store: str | Path | None) -> AlignmentsStore | None:
    """The input's store, checked to belong to it; None when there is none (find faces on the fly)."""
    explicit = store is not None
    path = Path(store) if store is not None else default_store_path(input)
    if not path.exists():
        if explicit:
            raise StoreError("no such alignments store (leave out --store to find faces on the fly)", path)
        return None
    db = AlignmentsStore.open(path, readonly=True)
    src = db.source
    if src is None:
        db.close()
        return None  # an empty store (extract never got going): same as none
    if src.fingerprint != source_fingerprint(input):
        db.close()
        raise StoreError(f"store is for another video ({src.path}), not {input}; "
                         f"pass --store with this input's store, or none to find faces on the fly", path)
    return db


class _StoreFaces:
    """Faces of a store, read in frame order as frames go by (memory stays flat)."""

    def __init__(self, db: AlignmentsStore):
        self.db = db
        self.processed = {int(row.frame) for row in db.frames()}
        self._iter: Iterator = iter(db.faces())
        self._next = next(self._iter, None)

    def faces(self, index: int) -> list:
        out = []
        while self._next is not None and self._next.frame < index:
            self._next = next(self._iter, None)
        while self._next is not None and self._next.frame == index:
            out.append(self._next)
            self._next = next(self._iter, None)
        return out


class FaceSource:
    """``faces(frame)`` for each frame in order; ``needs_analysis(index)`` says if it must look itself."""

    def __init__(self, input: Path, store: str | Path | None, opts: ConvertOptions):
        self.opts = opts
        self.db = open_store(Path(input), store)
        self._store = _StoreFaces(self.db) if self.db is not None else None
        self._identity: IdentityFilter | None = None
        self._pool: AnalyzerPool | None = None
        self._lock = threading.Lock()

    @property
    def from_store(self) -> bool:
        return self._store is not None

    def _filter(self) -> IdentityFilter:
        with self._lock:
            if self._identity is None:
                self._identity = IdentityFilter.load(self.opts)
            return self._identity

    def prepare(self) -> None:
        """Load the --filter references now, so a bad reference fails before any output exists."""
        self._filter()

    def needs_analysis(self, index: int) -> bool:
        return self._store is None or index not in self._store.processed

    def stored(self, index: int) -> list[FoundFace]:
        """Faces the store has for this frame (call in frame order), filtered by identity."""
        assert self._store is not None
        recs = self._store.faces(index)
        keep = self._filter().keep
        return [FoundFace(r.face, np.asarray(r.landmarks, np.float32), r.identity)
                for r in recs if keep(r.identity) and r.landmarks is not None and len(r.landmarks) >= 468]

    def analyze(self, image: np.ndarray, index: int) -> list[FoundFace]:
        """Find faces in a frame the store lacks; safe to call from several threads."""
        found = self._analyzers().get().analyze(image, index, None, encode=False)
        return [FoundFace(f.record.face, np.asarray(f.record.landmarks, np.float32), f.record.identity)
                for f in found]

    def _analyzers(self) -> AnalyzerPool:
        identity = self._filter()
        with self._lock:
            if self._pool is None:  # extract's default face size, so identities match a store's
                self._pool = AnalyzerPool(self.opts, identity)
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self.db is not None:
            self.db.close()
            self.db = None
