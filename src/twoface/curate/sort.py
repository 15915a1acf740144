"""``twoface sort``: reorder a face folder so the faces to delete sit together.

How users curate (as in faceswap and DFL): sort, look, delete the bad files in
bulk, then ``twoface prune`` the store. So sort only ever *moves* or *renames*
files (a move keeps every byte, metadata included), writes a journal before the
first move, and ``--undo`` restores the layout.

Layouts:
- ``identity``: ``FACES/by_identity/000/`` (the largest cluster), ``001/``, ...;
  with ``rename``: ``c000_<name>`` beside the original.
- any other key: ``0000_<name>`` (sortable rank prefix) beside the original; with
  ``bins=N``: ``FACES/by_<key>/00/`` ... (N equal-count bins, first = worst).

Re-sorting a sorted folder: each sort is computed from the files' *original*
names and places (known from the journal), so a new sort replaces the previous
layout instead of nesting in it (no ``0003_0012_c001_x.png``), and the journal
gains one more entry: ``--undo`` steps back one sort at a time. Folders a sort
created are removed once emptied.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..errors import InputError
from ..options import option
from ..store.journal import Journal, JournalEntry, UndoReport, apply_entry, undo_last
from .cluster import DEFAULT_THRESHOLD, METHODS, NOISE, cluster_identities
from .embeddings import face_embeddings
from .items import FaceFolder, FaceItem, load_folder
from .keys import KEYS, KeyOptions

SORT_BY = ("identity", *KEYS)


@dataclass
class Group:
    """One cluster or bin: its folder/prefix name, size and value range."""

    name: str
    count: int
    low: float | None = None
    high: float | None = None


@dataclass
class SortResult:
    """What a sort did (or, with ``dry_run``, would do)."""

    folder: Path
    by: str
    order: str
    moves: list[tuple[str, str]] = field(default_factory=list)  # (from, to), relative to folder
    groups: list[Group] = field(default_factory=list)
    assignment: dict[str, str] = field(default_factory=dict)  # original relative path -> group name
    unchanged: int = 0  # faces already where this sort puts them
    others: list[Path] = field(default_factory=list)  # PNGs without twoface metadata, left alone
    damaged: list[tuple[Path, str]] = field(default_factory=list)  # unreadable PNGs, left alone
    dry_run: bool = False
    applied: bool = False
    undo: UndoReport | None = None


@dataclass
class SortOptions:
    """Every knob of ``twoface sort``; the CLI makes one flag of each (``twoface.options``)."""

    by: str = option("identity", choices=SORT_BY, help="what to sort by")
    bins: int | None = option(None, metavar="N", default_help="rename",
                              help="move faces into N equal-count folders instead of renaming (not for identity)")
    rename: bool = option(False, default_help="",
                          help="identity: prefix file names with the cluster (c000_...) instead of moving into folders")
    threshold: float | None = option(None, metavar="T", default_help=str(DEFAULT_THRESHOLD),
                                     help="identity: cosine distance at which faces stop being grouped; lower splits more")
    method: str = option("agglomerative", choices=tuple(METHODS), default_help="agglomerative, average linkage",
                         help="identity: clustering method")
    reference: str | Path | None = option(None, metavar="REF", default_help="the folder's average face",
                                          help="similarity: a face PNG or photo of the wanted person")
    dry_run: bool = option(False, default_help="", help="print the plan, move nothing")
    undo: bool = option(False, default_help="", help="undo the last sort of FACES (files deleted since are reported)")


def sort_faces(folder: str | Path, *, progress: bool = False, **options: Any) -> SortResult:
    """Sort the face PNGs under ``folder`` (the ``twoface sort`` verb). See the module docstring.

    ``options`` are the fields of :class:`SortOptions`. ``progress`` draws a progress bar on
    stderr while big folders are read and measured.
    """
    o = SortOptions(**options)
    by, bins, rename, dry_run, undo = o.by, o.bins, o.rename, o.dry_run, o.undo
    threshold, reference, method = o.threshold, o.reference, o.method
    root = Path(folder)
    if undo:
        return _undo(root, dry_run)
    _check_options(by, bins, rename, reference)
    faces = load_folder(root, progress)
    journal = Journal.load(root)
    if journal.entries and journal.entries[-1].status != "done":
        raise InputError(f"a previous sort was interrupted; run `twoface sort {root} --undo` first", root)
    originals = journal.originals([it.rel for it in faces.items])
    for it in faces.items:
        it.original = originals[it.rel]
    if by == "identity":
        result, targets = _plan_identity(faces, rename, threshold, method, progress)
    else:
        result, targets = _plan_key(faces, by, bins, rename, KeyOptions(reference=reference, progress=progress))
    result.others = faces.others
    result.damaged = faces.damaged
    result.dry_run = dry_run
    result.moves = _moves(root, faces.items, targets)
    result.unchanged = len(faces.items) - len(result.moves)
    if dry_run or not result.moves:
        return result
    options = {"bins": bins, "rename": rename, "threshold": threshold, "method": method,
               "reference": None if reference is None else str(reference)}
    entry = JournalEntry(by=by, moves=result.moves, dirs=_new_dirs(root, (d for _, d in result.moves)),
                         options=options)
    apply_entry(journal, entry)
    result.applied = True
    return result


def undo_sort(folder: str | Path, dry_run: bool = False) -> UndoReport:
    """Undo the newest sort of ``folder``; files deleted meanwhile are reported, not an error."""
    report = _undo(Path(folder), dry_run).undo
    assert report is not None
    return report


def _undo(root: Path, dry_run: bool) -> SortResult:
    if not root.exists():
        raise InputError("no such folder", root)
    if not root.is_dir():
        raise InputError("is not a folder of face images", root)
    journal = Journal.load(root)
    if not journal.entries:
        raise InputError("nothing to undo: this folder has no sort journal", root)
    result = SortResult(folder=root, by=journal.entries[-1].by, order="undo", dry_run=dry_run)
    result.undo = undo_last(journal, dry_run=dry_run)
    result.applied = not dry_run
    return result


def _check_options(by: str, bins: int | None, rename: bool, reference) -> None:
    if by not in SORT_BY:
        raise InputError(f"cannot sort by {by!r}; choose from {', '.join(SORT_BY)}")
    if bins is not None:
        if by == "identity":
            raise InputError("--bins does not apply to --by identity (it makes one folder per person)")
        if rename:
            raise InputError("--bins moves faces into folders; it cannot be combined with --rename")
        if bins < 1:
            raise InputError(f"--bins must be 1 or more, got {bins}")
    if reference is not None:
        if by != "similarity":
            raise InputError("--reference only applies to --by similarity")
        if not Path(reference).is_file():
            raise InputError("no such reference image", reference)


# ---- planning ----------------------------------------------------------------------
def _split(original: str) -> tuple[str, str]:
    p = PurePosixPath(original)
    parent = "" if str(p.parent) == "." else str(p.parent)
    return parent, p.name


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _plan_identity(faces: FaceFolder, rename: bool, threshold: float | None,
                   method: str, progress: bool) -> tuple[SortResult, list[str]]:
    labels = cluster_identities(face_embeddings(faces.items, progress), method=method, threshold=threshold)
    n_clusters = int(labels.max()) + 1 if (labels != NOISE).any() else 0
    width = max(3, len(str(max(n_clusters - 1, 0))))
    names = {k: f"{k:0{width}d}" for k in range(n_clusters)} | {NOISE: "noise"}
    result = SortResult(folder=faces.root, by="identity",
                        order=f"largest cluster first (cosine distance threshold "
                              f"{DEFAULT_THRESHOLD if threshold is None else threshold}, {method})")
    result.groups = [Group(names[k], int((labels == k).sum())) for k in [*range(n_clusters), NOISE]
                     if (labels == k).any()]
    targets = []
    for it, k in zip(faces.items, labels):
        parent, base = _split(it.original)
        name = names[int(k)]
        result.assignment[it.original] = name
        if rename:
            targets.append(_join(parent, f"{'c' if k != NOISE else ''}{name}_{base}"))
        else:
            targets.append(_join("by_identity", name, base))
    return result, targets


def _plan_key(faces: FaceFolder, by: str, bins: int | None, rename: bool,
              opts: KeyOptions) -> tuple[SortResult, list[str]]:
    key = KEYS[by]
    values = key.values(faces.items, opts)
    n = len(values)
    # stable: ties keep the original-name order, so re-running gives the same names
    order = sorted(range(n), key=lambda i: (values[i], faces.items[i].original))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    result = SortResult(folder=faces.root, by=by, order=f"{key.order} ({key.unit})")
    targets = []
    if bins is None:
        width = max(4, len(str(n - 1)))
        for i, it in enumerate(faces.items):
            parent, base = _split(it.original)
            targets.append(_join(parent, f"{rank[i]:0{width}d}_{base}"))
            result.assignment[it.original] = f"{rank[i]:0{width}d}"
        lo, hi = float(np.min(values)), float(np.max(values))
        result.groups = [Group("all", n, lo, hi)]
        return result, targets
    nbins = min(bins, n)
    width = max(2, len(str(nbins - 1)))
    bin_of = (rank * nbins) // n  # equal-count bins: bin 0 holds the first n/bins faces of the order
    for i, it in enumerate(faces.items):
        _, base = _split(it.original)
        name = f"{int(bin_of[i]):0{width}d}"
        targets.append(_join(f"by_{by}", name, base))
        result.assignment[it.original] = name
    for b in range(nbins):
        v = values[bin_of == b]
        result.groups.append(Group(f"{b:0{width}d}", int(len(v)), float(v.min()), float(v.max())))
    return result, targets


def _moves(root: Path, items: list[FaceItem], targets: list[str]) -> list[tuple[str, str]]:
    """(current, target) for each face that must move; a target already taken gets a ``~2`` suffix."""
    taken: set[str] = set()
    moves = []
    for it, target in zip(items, targets):
        if target == it.rel:
            taken.add(target)
            continue
        final = target
        stem, dot, ext = target.rpartition(".")
        k = 2
        while final in taken or (root / final).exists():
            final = f"{stem}~{k}{dot}{ext}"
            k += 1
        taken.add(final)
        moves.append((it.rel, final))
    return moves


def _new_dirs(root: Path, targets: Iterable[str]) -> list[str]:
    """The folders (and parents) the targets need that do not exist yet, shallowest first."""
    need: set[str] = set()
    for t in targets:
        parent = PurePosixPath(t).parent
        while str(parent) not in ("", "."):
            if (root / parent).is_dir():
                break
            need.add(str(parent))
            parent = parent.parent
    return sorted(need, key=lambda d: (d.count("/"), d))
