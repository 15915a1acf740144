"""The contract of a face PNG's ``twoface`` metadata (JSON in an iTXt chunk, DESIGN §2).

``parse_face_meta(obj, path)`` returns the keyword arguments of ``FaceMeta`` after checking
every field: types, shapes (matrix 2x3, landmarks Nx2, pose 3), finite values in sane ranges,
and a version this twoface understands.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from .check import Checker

META_VERSION = 1
MAX_SIZE = 8192
MAX_POINTS = 10_000
MAX_MASK_POINTS = 100_000
WHAT = "damaged twoface metadata"


def parse_face_meta(obj: Any, path: str | Path | None) -> dict:
    """Checked fields of a face's metadata, as ``FaceMeta`` keyword arguments."""
    c = Checker(path, WHAT, InputError)
    d = c.obj(obj, "metadata")
    version = c.integer(d.get("version", 1), "version", 1)
    if version > META_VERSION:
        raise InputError(f"face metadata version {version} is newer than this twoface understands "
                         f"({META_VERSION}); upgrade twoface", path)
    src = c.obj(c.has(d, "source"), "source")
    size = c.integer(c.has(d, "size"), "size", 1, MAX_SIZE)
    out = {
        "version": version,
        "source_path": c.string(c.has(src, "path", "source.path"), "source.path"),
        "source_fingerprint": c.string(c.has(src, "fingerprint", "source.fingerprint"), "source.fingerprint", 256),
        "frame": c.integer(c.has(src, "frame", "source.frame"), "source.frame", 0, 2**40),
        "face": c.integer(c.has(src, "face", "source.face"), "source.face", 0, 100_000),
        "size": size,
        "coverage": c.number(c.has(d, "coverage"), "coverage", 0.01, 100.0),
        "matrix": c.array(c.has(d, "matrix"), "matrix", (2, 3), limit=1e6).tolist(),
        "landmarks": c.array(c.has(d, "landmarks"), "landmarks", (None, 2), limit=1e5,
                             max_rows=MAX_POINTS).tolist(),
        "pose": c.array(d.get("pose", [0.0, 0.0, 0.0]), "pose", (3,), limit=360.0).tolist(),
        "identity": None, "blendshapes": None, "blur": None, "masks": {},
    }
    if d.get("identity") is not None:
        out["identity"] = c.array(d["identity"], "identity", (None,), limit=1e3, max_rows=4096).tolist()
    if d.get("blendshapes") is not None:
        out["blendshapes"] = c.array(d["blendshapes"], "blendshapes", (None,), limit=1e3, max_rows=1024).tolist()
    if d.get("blur") is not None:
        out["blur"] = c.number(d["blur"], "blur", 0.0)
    masks = d.get("masks") or {}
    c.obj(masks, "masks")
    total = 0
    for name, polygons in masks.items():
        field = f"masks.{name[:40]}"
        if not isinstance(polygons, list):
            raise c.fail(field, "must be a list of polygons")
        for poly in polygons:
            if isinstance(poly, list) and not poly:
                continue  # an empty polygon draws nothing
            pts = c.array(poly, field, (None, 2), limit=1e5, max_rows=MAX_MASK_POINTS)
            total += len(pts)
        if total > MAX_MASK_POINTS:
            raise c.fail("masks", f"hold more than {MAX_MASK_POINTS} points")
    out["masks"] = masks
    return out
