"""``twoface prune``: make the alignments store agree with the faces the user kept.

Users curate by deleting face PNGs; convert reads the store. Prune removes from
the store every face whose PNG is gone, so that convert swaps only the kept
faces. A PNG is matched to its store row by the key in its metadata (source
fingerprint, frame, face index), never by file name, so sorted, renamed and
moved faces still count.

Safety: a face folder in which no face comes from the store's source is
refused (pruning against it would empty the store). In a folder that mixes
sources (one folder, many clips, one store per clip), faces of other sources
are ignored and counted. Removal is one transaction: all or nothing.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, StoreError
from ..store.alignments import AlignmentsStore
from .items import load_folder


@dataclass
class PruneReport:
    """What prune did (or, with ``dry_run``, would do)."""

    store: Path
    source: str
    kept: int = 0
    removed: int = 0
    removed_keys: list[tuple[int, int]] = field(default_factory=list)  # (frame, face)
    empty_frames: list[int] = field(default_factory=list)  # frames that had a face and now have none
    untracked: int = 0  # face PNGs of this source that have no store row (e.g. from an older extract)
    other_sources: int = 0  # face PNGs of other sources in mixed folders, ignored
    not_faces: int = 0  # PNGs without twoface metadata, ignored
    not_face_files: list[Path] = field(default_factory=list)
    damaged: list[Path] = field(default_factory=list)  # unreadable PNGs: skipped, their rows kept (by file name)
    dry_run: bool = False

    @property
    def empty_ranges(self) -> str:
        return compact_ranges(self.empty_frames)


def compact_ranges(numbers: Iterable[int]) -> str:
    """[1, 2, 3, 7, 9, 10] -> '1-3, 7, 9-10'."""
    nums = sorted(set(int(n) for n in numbers))
    parts = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    return ", ".join(parts)


def _kept_keys(folders: list[Path], fingerprint: str, source_path: str, report: PruneReport,
               progress: bool) -> set[tuple[int, int]]:
    kept: set[tuple[int, int]] = set()
    for folder in folders:
        faces = load_folder(folder, progress)
        report.not_faces += len(faces.others)
        report.not_face_files += faces.others
        report.damaged += [p for p, _ in faces.damaged]
        mine = [it for it in faces.items if it.meta.source_fingerprint == fingerprint]
        if not mine:
            theirs = Counter(it.meta.source_path for it in faces.items).most_common(1)[0][0]
            raise InputError(f"these faces come from another source ({theirs}), not from this store's "
                             f"source ({source_path}); nothing pruned", folder)
        report.other_sources += len(faces.items) - len(mine)
        kept.update((it.meta.frame, it.meta.face) for it in mine)
        for p, _ in faces.damaged:  # unreadable, but not deleted: keep its row (the name says which)
            m = re.search(r"_(\d{6,})_(\d+)\.png$", p.name)
            if m:
                kept.add((int(m.group(1)), int(m.group(2))))
    return kept


def prune(store: str | Path, faces_folders: str | Path | Iterable[str | Path], dry_run: bool = False,
          progress: bool = False) -> PruneReport:
    """Remove store faces whose PNG is in none of ``faces_folders`` (the ``twoface prune`` verb).

    ``progress`` draws a progress bar on stderr while big folders are read.
    """
    store_path = Path(store)
    folders = [Path(faces_folders)] if isinstance(faces_folders, (str, Path)) else [Path(f) for f in faces_folders]
    if not folders:
        raise InputError("give at least one face folder (--faces)")
    with AlignmentsStore.open(store_path, readonly=dry_run) as db:
        src = db.source
        if src is None:
            raise StoreError("this store has no source yet (its extract never got going); nothing to prune", store_path)
        report = PruneReport(store=store_path, source=src.path, dry_run=dry_run)
        present = _kept_keys(folders, src.fingerprint, src.path, report, progress)
        rows = [(f.frame, f.face) for f in db.faces()]
        row_set = set(rows)
        report.removed_keys = [k for k in rows if k not in present]
        report.removed = len(report.removed_keys)
        report.kept = len(rows) - report.removed
        report.untracked = len(present - row_set)
        per_frame = Counter(frame for frame, _ in rows)
        lost = Counter(frame for frame, _ in report.removed_keys)
        report.empty_frames = sorted(f for f, n in lost.items() if n == per_frame[f])
        if report.removed and not dry_run:
            db.delete_faces(report.removed_keys)
    return report
