"""The face files of a folder, as sort and prune see them.

Each face PNG is read once (bytes); metadata is parsed at once, pixels only
when a sort key needs them. PNGs without twoface metadata are not faces: they
are listed apart and never moved, so a sort cannot scramble a user's other images.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..progress import tracked
from ..store.metadata import FaceMeta, list_face_files, read_face_meta


@dataclass(eq=False)
class FaceItem:
    """One face file: where it is now (relative to the folder), where it started, its metadata."""

    path: Path
    rel: str  # current path relative to the face folder, "/"-separated
    meta: FaceMeta
    original: str = ""  # relative path before any sort in the journal

    @functools.cached_property
    def image(self) -> np.ndarray:
        """The aligned face, BGR uint8 (decoded on first use)."""
        img = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
        if img is None:
            raise InputError("cannot decode the image (truncated or corrupt PNG)", self.path)
        return img

    def release(self) -> None:
        """Drop the decoded pixels (large folders are measured one face at a time)."""
        self.__dict__.pop("image", None)


@dataclass
class FaceFolder:
    """The faces found under a folder, plus the PNGs that are not twoface faces."""

    root: Path
    items: list[FaceItem]
    others: list[Path] = field(default_factory=list)


def rel_path(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def load_folder(folder: str | Path, progress: bool = False) -> FaceFolder:
    """Every face PNG under ``folder`` (recursive), sorted by path.

    Raises ``InputError`` for a missing folder, a file, or a folder with no face PNG.
    """
    root = Path(folder)
    files = list_face_files(root)
    items: list[FaceItem] = []
    others: list[Path] = []
    for p in tracked(files, "reading faces", progress):
        if any(part.startswith(".") for part in p.relative_to(root).parts[:-1]):
            continue  # hidden folders (ours or the user's) are not part of the face set
        try:
            meta = read_face_meta(p)
        except InputError:
            others.append(p)
            continue
        rel = rel_path(root, p)
        items.append(FaceItem(path=p, rel=rel, meta=meta, original=rel))
    if not items:
        what = f" ({len(others)} PNGs without twoface metadata)" if others else ""
        raise InputError(f"no face images here{what}; extract faces into it with `twoface extract`", root)
    return FaceFolder(root, items, others)
