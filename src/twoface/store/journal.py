"""The sort journal: every move a sort makes, written before the first file moves.

Why a journal: sorting renames and moves a user's face files, and the promise is
that nothing is ever lost and ``--undo`` puts everything back. So each sort
first writes (atomically) the full list of moves to ``FACES/.twoface-sort-journal.json``
and marks the entry ``pending``; only then are files moved, and the entry is
marked ``done``. An interrupted sort is still undoable: undo moves back every
file found at its new place and leaves alone files that never moved.

The journal is a stack. A second sort of the same folder pushes a second entry,
and each ``--undo`` pops one, so sorts are undone in reverse order. Paths are
stored relative to the face folder with ``/`` separators, so moving or copying
the whole folder keeps the journal valid.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InputError, OutputError, from_os_error
from ..fsutil import atomic_write_text

JOURNAL_NAME = ".twoface-sort-journal.json"
JOURNAL_APP = "twoface.sort-journal"
JOURNAL_VERSION = 1


@dataclass
class JournalEntry:
    """One sort: its options, its moves (relative paths) and the folders it created."""

    by: str
    moves: list[tuple[str, str]]
    dirs: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    status: str = "pending"  # "pending" until every move is made, then "done"
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))

    @classmethod
    def from_json(cls, d: dict) -> JournalEntry:
        return cls(by=str(d["by"]), moves=[(str(a), str(b)) for a, b in d["moves"]],
                   dirs=[str(x) for x in d.get("dirs", [])], options=dict(d.get("options", {})),
                   status=str(d.get("status", "done")), created=str(d.get("created", "")))


@dataclass
class UndoReport:
    """What an undo did. ``missing`` files were deleted by the user after the sort: not an error."""

    by: str | None = None
    restored: int = 0
    unmoved: int = 0  # never moved (the sort was interrupted before reaching them)
    missing: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # original place is taken: left where they are
    removed_dirs: list[str] = field(default_factory=list)
    remaining: int = 0  # entries still in the journal after this undo


class Journal:
    """The stack of sorts applied to one face folder."""

    def __init__(self, root: Path, entries: list[JournalEntry]):
        self.root = Path(root)
        self.entries = entries

    @property
    def path(self) -> Path:
        return self.root / JOURNAL_NAME

    @classmethod
    def load(cls, root: str | Path) -> Journal:
        root = Path(root)
        path = root / JOURNAL_NAME
        if not path.exists():
            return cls(root, [])
        try:
            data = json.loads(path.read_text("utf-8"))
            if data.get("app") != JOURNAL_APP:
                raise ValueError("not a twoface sort journal")
            if int(data.get("version", 0)) > JOURNAL_VERSION:
                raise ValueError(f"journal version {data['version']} is newer than this twoface understands")
            return cls(root, [JournalEntry.from_json(e) for e in data["entries"]])
        except OSError as err:
            raise from_os_error(err, path) from err
        except (ValueError, KeyError, TypeError) as err:
            raise InputError(f"damaged sort journal ({err}); move it aside to sort afresh "
                             f"(undo is then impossible)", path) from err

    def save(self) -> None:
        """Write the stack atomically; an empty stack removes the file."""
        if not self.entries:
            self.path.unlink(missing_ok=True)
            return
        data = {"app": JOURNAL_APP, "version": JOURNAL_VERSION, "entries": [asdict(e) for e in self.entries]}
        atomic_write_text(self.path, json.dumps(data, indent=1))

    def originals(self, rels: list[str]) -> dict[str, str]:
        """Where each file (current relative path) was before every sort in the stack."""
        out = {r: r for r in rels}
        for entry in reversed(self.entries):
            back = {dst: src for src, dst in entry.moves}
            out = {r: back.get(o, o) for r, o in out.items()}
        return out

    def sort_dirs(self) -> set[str]:
        """Every folder some sort in the stack created."""
        return {d for e in self.entries for d in e.dirs}


def _abs(root: Path, rel: str) -> Path:
    return root.joinpath(*rel.split("/"))


def apply_entry(journal: Journal, entry: JournalEntry) -> None:
    """Record ``entry`` (pending), make its moves, then mark it done."""
    root = journal.root
    journal.entries.append(entry)
    journal.save()
    for d in entry.dirs:
        try:
            _abs(root, d).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise from_os_error(err, _abs(root, d)) from err
    for src, dst in entry.moves:
        s, t = _abs(root, src), _abs(root, dst)
        if t.exists():  # the plan checked this; something appeared meanwhile
            raise OutputError(f"will not overwrite {dst} (it appeared during the sort); "
                              f"run `twoface sort {root} --undo` to go back", root)
        try:
            t.parent.mkdir(parents=True, exist_ok=True)
            os.rename(s, t)
        except OSError as err:
            raise from_os_error(err, s) from err
    entry.status = "done"
    journal.save()
    remove_empty_dirs(root, journal.sort_dirs())


def undo_last(journal: Journal, dry_run: bool = False) -> UndoReport:
    """Pop the newest sort and move its files back; report, never fail on deleted files.

    With ``dry_run`` nothing moves and the journal is kept; the report says what would happen.
    """
    report = UndoReport()
    if not journal.entries:
        return report
    root = journal.root
    entry = journal.entries[-1]
    report.by = entry.by
    dirs = journal.sort_dirs()
    for src, dst in reversed(entry.moves):
        s, t = _abs(root, src), _abs(root, dst)
        if t.exists() and not s.exists():
            report.restored += 1
            if dry_run:
                continue
            try:
                s.parent.mkdir(parents=True, exist_ok=True)
                os.rename(t, s)
            except OSError as err:
                raise from_os_error(err, t) from err
        elif not t.exists() and s.exists():
            report.unmoved += 1
        elif not t.exists():
            report.missing.append(src)
        else:
            report.conflicts.append(dst)
    report.missing.sort()
    report.conflicts.sort()
    if dry_run:
        report.remaining = len(journal.entries) - 1
        return report
    journal.entries.pop()
    journal.save()
    report.removed_dirs = remove_empty_dirs(root, dirs)
    report.remaining = len(journal.entries)
    return report


def remove_empty_dirs(root: Path, rels: set[str]) -> list[str]:
    """Remove the listed sort folders that are now empty, deepest first; never anything else."""
    removed = []
    for rel in sorted(rels, key=lambda r: (-r.count("/"), r)):
        p = _abs(root, rel)
        try:
            if p.is_dir() and not any(p.iterdir()):
                p.rmdir()
                removed.append(rel)
        except OSError:
            continue  # a folder we cannot remove is harmless
    return removed
