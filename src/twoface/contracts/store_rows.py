"""The contract of an alignments store's rows (SQLite, DESIGN §2): what a reader may trust.

SQLite keeps a store consistent, not correct: a hand-edited or foreign-tool-written row can
hold a landmark blob of 7 bytes, a text where a number belongs, or NaN. Each row is checked
here as it is read, and a bad one becomes a ``StoreError`` naming the store, the row and the
field, instead of a crash deep inside convert.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from .check import Checker, kind
from .jsonsafe import load_json

MAX_POINTS = 10_000
MAX_VECTOR = 4096
ROTATIONS = (0, 90, 180, 270)
# tables each schema version has (a store whose tables disagree with its user_version was edited)
TABLES = {1: {"meta", "source", "face", "progress"}, 2: {"meta", "source", "face", "progress", "frame"}}


def check_schema(version: Any, tables: set[str], path: Path) -> None:
    """Refuse a user_version that is not a version, or that the tables contradict."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise StoreError(f"damaged store: its schema version is {version!r} (edited by hand?); "
                         "extract it again into a new store", path)
    want = TABLES.get(version)
    if version == 0 and tables:
        raise StoreError("damaged store: its schema version is 0 but it holds twoface tables "
                         "(was user_version edited?); extract it again into a new store", path)
    if want is not None and not want <= tables:
        raise StoreError(f"damaged store: schema version {version} lacks the table(s) "
                         f"{', '.join(sorted(want - tables))}", path)
    newer = {t for v, ts in TABLES.items() if v > version for t in ts} - (want or set())
    if want is not None and newer & tables:
        raise StoreError(f"damaged store: it says schema version {version} but has the newer table(s) "
                         f"{', '.join(sorted(newer & tables))} (was user_version edited?)", path)


def last_frame(value: Any, path: Path) -> int:
    """progress.last_frame: -1 (nothing done) or a frame index."""
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= 2**40:
        raise StoreError(f"damaged store: progress.last_frame is {value!r}, not a frame index; "
                         "rerun extract with --restart to start over", path)
    return value


def _blob(c: Checker, value: Any, field: str, cols: int, max_rows: int, required: bool) -> np.ndarray | None:
    if value is None:
        if required:
            raise c.fail(field, "is missing")
        return None
    if not isinstance(value, bytes):
        raise c.fail(field, f"must be a blob of float32 values, got {kind(value)}")
    step = 4 * cols
    if not value or len(value) % step or len(value) > step * max_rows:
        raise c.fail(field, f"has {len(value)} bytes, not a whole number of {cols}-value float32 rows "
                            f"(1 to {max_rows})")
    arr = np.frombuffer(value, dtype=np.float32).copy()
    if not np.isfinite(arr).all():
        raise c.fail(field, "holds NaN or infinite values")
    return arr.reshape(-1, cols) if cols > 1 else arr


def _num(c: Checker, value: Any, field: str, default: float | None = None) -> float | None:
    if value is None:
        if default is None:
            raise c.fail(field, "is missing")
        return default
    return c.number(value, field)


def face_row(r: tuple, path: Path) -> dict:
    """One ``face`` row (the columns of ``AlignmentsStore._COLS``) as ``FaceRecord`` fields, checked."""
    c = Checker(path, "damaged store row", StoreError)
    frame = c.integer(r[0], "face.frame", 0, 2**40)
    face = c.integer(r[1], "face.face", 0, 100_000)
    c.what = f"damaged store row (frame {frame}, face {face})"
    bbox = tuple(_num(c, v, name) for v, name in zip(r[2:6], ("x", "y", "w", "h")))
    out = {
        "frame": frame, "face": face, "bbox": bbox, "score": _num(c, r[6], "score"),
        "landmarks": _blob(c, r[7], "landmarks", 2, MAX_POINTS, True),
        "scheme": c.string(r[8], "scheme", 32),
        "pose": tuple(_num(c, v, name, 0.0) for v, name in zip(r[9:12], ("yaw", "pitch", "roll"))),
        "blendshapes": _blob(c, r[12], "blendshapes", 1, MAX_VECTOR, False),
        "rotation": c.integer(r[13], "rotation"),
        "identity": _blob(c, r[14], "identity", 1, MAX_VECTOR, False),
        "extra": {},
        "blur": None if r[16] is None else c.number(r[16], "blur"),
    }
    if out["rotation"] not in ROTATIONS:
        raise c.fail("rotation", f"must be one of {ROTATIONS}, got {out['rotation']}")
    if r[15]:
        if not isinstance(r[15], str):
            raise c.fail("extra", f"must be JSON text, got {kind(r[15])}")
        extra = load_json(r[15], path, f"{c.what}: 'extra'", StoreError, max_bytes=1 << 20)
        out["extra"] = c.obj(extra, "extra")
    return out


def source_row(r: tuple, path: Path) -> tuple:
    """The ``source`` row: path, fingerprint, frame count, fps, width, height, is_video."""
    c = Checker(path, "damaged store source", StoreError)
    fps = c.number(r[3], "fps", 0.0, 1e4)
    return (c.string(r[0], "path"), c.string(r[1], "fingerprint", 256), c.integer(r[2], "frame_count", 0, 2**40),
            fps if math.isfinite(fps) else 0.0, c.integer(r[4], "width", 0, 1 << 20),
            c.integer(r[5], "height", 0, 1 << 20), bool(c.integer(r[6], "is_video", 0, 1)))


def meta_value(key: str, text: Any, path: Path) -> Any:
    """A value of the ``meta`` table (JSON text)."""
    if not isinstance(text, str):
        raise StoreError(f"damaged store: meta {key!r} is not JSON text", path)
    return load_json(text, path, f"damaged store: meta {key!r}", StoreError, max_bytes=1 << 20)
