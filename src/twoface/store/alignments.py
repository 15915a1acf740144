"""The alignments store: one SQLite file per source (DESIGN §2).

Why SQLite: a transaction is atomic, so a store killed mid-write is still a
valid store; WAL lets readers (sort, convert) look while extract writes; and
it is not pickle, so stores are safe to share.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import StoreError, from_os_error

APP_ID = "twoface.alignments"
SCHEMA_VERSION = 2


class FrameRow(NamedTuple):
    """One processed frame of the store (a tuple, so ``frame, time, name, faces = row`` works)."""

    frame: int
    time: float | None
    name: str | None
    faces: int

@dataclass
class SourceInfo:
    """What was extracted from: enough to recognise the same file again."""

    path: str
    fingerprint: str
    frame_count: int
    fps: float
    width: int
    height: int
    is_video: bool


@dataclass
class FaceRecord:
    """One detected face in one frame, in frame pixel coordinates."""

    frame: int
    face: int
    bbox: tuple[float, float, float, float]  # x, y, w, h
    score: float
    landmarks: np.ndarray  # (N, 2) float32, frame pixels
    scheme: str = "478"
    pose: tuple[float, float, float] = (0.0, 0.0, 0.0)  # yaw, pitch, roll in degrees
    blendshapes: np.ndarray | None = None  # (52,) float32
    rotation: int = 0  # image rotation (degrees) under which the detector found it
    identity: np.ndarray | None = None  # (128,) float32, L2-normalised
    blur: float | None = None
    extra: dict = field(default_factory=dict)  # small JSON-able extras


def _blob(a: np.ndarray | None) -> bytes | None:
    return None if a is None else np.ascontiguousarray(a, dtype=np.float32).tobytes()


def _unblob(b: bytes | None, cols: int | None = None) -> np.ndarray | None:
    if b is None:
        return None
    a = np.frombuffer(b, dtype=np.float32).copy()
    return a.reshape(-1, cols) if cols else a


# Each migration takes the store from version i to i+1. A new store runs them all,
# so the path an old file takes forward is the path every new file took.
def _v1(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE source (
            id INTEGER PRIMARY KEY CHECK (id = 1), path TEXT NOT NULL, fingerprint TEXT NOT NULL,
            frame_count INTEGER NOT NULL, fps REAL NOT NULL, width INTEGER NOT NULL,
            height INTEGER NOT NULL, is_video INTEGER NOT NULL);
        CREATE TABLE face (
            frame INTEGER NOT NULL, face INTEGER NOT NULL,
            x REAL, y REAL, w REAL, h REAL, score REAL,
            landmarks BLOB NOT NULL, scheme TEXT NOT NULL,
            yaw REAL, pitch REAL, roll REAL, blendshapes BLOB, rotation INTEGER NOT NULL DEFAULT 0,
            identity BLOB, extra TEXT,
            PRIMARY KEY (frame, face));
        CREATE TABLE progress (id INTEGER PRIMARY KEY CHECK (id = 1), last_frame INTEGER NOT NULL);
        """
    )


def _v2(db: sqlite3.Connection) -> None:
    # v2: a blur score per face, and a row per processed frame (with its time and, for
    # image folders, its file name) so that "frames with no face" is known, not guessed.
    db.executescript(
        """
        ALTER TABLE face ADD COLUMN blur REAL;
        CREATE TABLE frame (frame INTEGER PRIMARY KEY, time REAL, name TEXT, faces INTEGER NOT NULL);
        INSERT INTO frame (frame, time, name, faces)
            SELECT frame, NULL, NULL, COUNT(*) FROM face GROUP BY frame;
        """
    )


MIGRATIONS = [_v1, _v2]


class AlignmentsStore:
    """Read and write one alignments store. Use as a context manager."""

    def __init__(self, path: str | Path, db: sqlite3.Connection):
        self.path = Path(path)
        self._db = db
        self._last_commit = time.monotonic()

    # ---- opening -------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, create: bool = False, readonly: bool = False,
             upto_version: int = SCHEMA_VERSION) -> AlignmentsStore:
        """Open (or with ``create``, make) a store, migrating an older one forward.

        ``upto_version`` exists for tests that need to build an old-schema file.
        """
        path = Path(path)
        if path.is_dir():
            raise StoreError("is a folder, expected an alignments store (.twoface.db)", path)
        exists = path.exists()
        if not exists and not create:
            raise StoreError("no such alignments store", path)
        if exists and path.stat().st_size == 0 and not create:
            raise StoreError("file is empty, not an alignments store", path)
        if exists and path.stat().st_size > 0:
            with open(path, "rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    raise StoreError("not a twoface alignments store (not an SQLite file)", path)
        try:
            if readonly:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(path, check_same_thread=False)
        except OSError as err:
            raise from_os_error(err, path) from err
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the store ({err})", path) from err
        try:
            cls._prepare(db, path, readonly, upto_version)
        except sqlite3.OperationalError as err:
            db.close()
            raise _write_error(err, path) from err
        except sqlite3.DatabaseError as err:
            db.close()
            raise StoreError(f"damaged or not an alignments store ({err})", path) from err
        except BaseException:
            db.close()
            raise
        return cls(path, db)

    @staticmethod
    def _prepare(db: sqlite3.Connection, path: Path, readonly: bool, upto_version: int) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables or version:
            app = None
            if "meta" in tables:
                row = db.execute("SELECT value FROM meta WHERE key='app'").fetchone()
                app = row[0] if row else None
            if app != APP_ID:
                raise StoreError("not a twoface alignments store (a foreign SQLite file)", path)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"store schema version {version} is newer than this twoface understands "
                    f"({SCHEMA_VERSION}); upgrade twoface", path)
        if readonly:
            if version < SCHEMA_VERSION:
                raise StoreError(f"store schema version {version} is old; open it once for writing to migrate it", path)
            return
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        with db:  # migrations run in one transaction each: all or nothing
            for v in range(version, upto_version):
                MIGRATIONS[v](db)
                if v == 0:
                    db.execute("INSERT INTO meta (key, value) VALUES ('app', ?)", (APP_ID,))
                db.execute(f"PRAGMA user_version = {v + 1}")

    def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None  # type: ignore[assignment]  # a closed store is not used again
            try:
                db.commit()
            except sqlite3.Error as err:
                raise self._write_error(err) from err
            finally:
                db.close()

    def __enter__(self) -> AlignmentsStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    # ---- source and options ----------------------------------------------------------
    def set_source(self, info: SourceInfo) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO source (id, path, fingerprint, frame_count, fps, width, height, is_video)"
                " VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                (info.path, info.fingerprint, info.frame_count, info.fps, info.width, info.height, int(info.is_video)))

    @property
    def source(self) -> SourceInfo | None:
        row = self._db.execute(
            "SELECT path, fingerprint, frame_count, fps, width, height, is_video FROM source WHERE id=1").fetchone()
        if row is None:
            return None
        return SourceInfo(row[0], row[1], int(row[2]), float(row[3]), int(row[4]), int(row[5]), bool(row[6]))

    def get_meta(self, key: str, default=None):
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key: str, value) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # ---- writing (extract) -----------------------------------------------------------
    def add_frame(self, frame: int, faces: Iterable[FaceRecord], time_s: float | None = None,
                  name: str | None = None) -> None:
        """Record one processed frame and its faces. Not committed until ``commit``.

        Re-adding a frame replaces it, so a resumed extract never duplicates faces.
        """
        faces = list(faces)
        try:
            self._add_frame(frame, faces, time_s, name)
        except sqlite3.Error as err:
            raise self._write_error(err) from err

    def _write_error(self, err: sqlite3.Error) -> StoreError:
        return _write_error(err, self.path)

    def _add_frame(self, frame: int, faces: list[FaceRecord], time_s: float | None, name: str | None) -> None:
        db = self._db
        db.execute("DELETE FROM face WHERE frame=?", (frame,))
        db.executemany(
            "INSERT INTO face (frame, face, x, y, w, h, score, landmarks, scheme, yaw, pitch, roll,"
            " blendshapes, rotation, identity, extra, blur) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(frame, f.face, *map(float, f.bbox), float(f.score), _blob(f.landmarks), f.scheme,
              *map(float, f.pose), _blob(f.blendshapes), int(f.rotation), _blob(f.identity),
              json.dumps(f.extra) if f.extra else None, None if f.blur is None else float(f.blur))
             for f in faces])
        db.execute("INSERT OR REPLACE INTO frame (frame, time, name, faces) VALUES (?, ?, ?, ?)",
                   (frame, time_s, name, len(faces)))
        db.execute("INSERT INTO progress (id, last_frame) VALUES (1, ?) "
                   "ON CONFLICT(id) DO UPDATE SET last_frame=max(last_frame, excluded.last_frame)", (frame,))

    def commit(self) -> None:
        try:
            self._db.commit()
        except sqlite3.Error as err:
            raise self._write_error(err) from err
        self._last_commit = time.monotonic()

    def commit_if_due(self, every_s: float = 2.0) -> bool:
        """Commit when ``every_s`` seconds passed since the last commit; cheap to call per frame."""
        if time.monotonic() - self._last_commit >= every_s:
            self.commit()
            return True
        return False

    def last_frame(self) -> int:
        """The last committed frame index, or -1 when nothing is committed yet."""
        row = self._db.execute("SELECT last_frame FROM progress WHERE id=1").fetchone()
        return -1 if row is None else int(row[0])

    def set_identity(self, frame: int, face: int, identity: np.ndarray) -> None:
        self._db.execute("UPDATE face SET identity=? WHERE frame=? AND face=?", (_blob(identity), frame, face))

    def delete_faces(self, keys: Iterable[tuple[int, int]]) -> int:
        """Delete faces by (frame, face) in one transaction; returns how many went."""
        keys = list(keys)
        with self._db:
            before = self._db.total_changes
            self._db.executemany("DELETE FROM face WHERE frame=? AND face=?", keys)
            removed = self._db.total_changes - before
            self._db.execute(
                "UPDATE frame SET faces = (SELECT COUNT(*) FROM face WHERE face.frame = frame.frame)")
        return removed

    # ---- reading ---------------------------------------------------------------------
    _COLS = ("frame, face, x, y, w, h, score, landmarks, scheme, yaw, pitch, roll, blendshapes,"
             " rotation, identity, extra, blur")

    def faces(self, frame: int | None = None) -> Iterator[FaceRecord]:
        """All faces in (frame, face) order, or those of one frame."""
        sql = f"SELECT {self._COLS} FROM face"
        args: tuple = ()
        if frame is not None:
            sql += " WHERE frame=?"
            args = (frame,)
        for r in self._db.execute(sql + " ORDER BY frame, face", args):
            yield FaceRecord(
                frame=r[0], face=r[1], bbox=(r[2], r[3], r[4], r[5]), score=r[6],
                landmarks=np.frombuffer(r[7], dtype=np.float32).reshape(-1, 2).copy(), scheme=r[8], pose=(r[9], r[10], r[11]),
                blendshapes=_unblob(r[12]), rotation=r[13], identity=_unblob(r[14]),
                extra=json.loads(r[15]) if r[15] else {}, blur=r[16])

    def faces_by_frame(self) -> dict[int, list[FaceRecord]]:
        out: dict[int, list[FaceRecord]] = {}
        for f in self.faces():
            out.setdefault(f.frame, []).append(f)
        return out

    def frames(self) -> list[FrameRow]:
        """Every processed frame, in order: (frame, time, name, face count) as named rows."""
        return [FrameRow(*r) for r in self._db.execute("SELECT frame, time, name, faces FROM frame ORDER BY frame")]

    def clear(self) -> None:
        """Drop every face and frame and the resume point, keeping the file, its source and its meta."""
        with self._db:
            self._db.execute("DELETE FROM face")
            self._db.execute("DELETE FROM frame")
            self._db.execute("DELETE FROM progress")

    def face_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM face").fetchone()[0]

    def frame_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM frame").fetchone()[0]

    def integrity_check(self) -> str:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def summary(self) -> dict:
        src = self.source
        return {
            "kind": "alignments store",
            "path": str(self.path),
            "schema_version": self.version,
            "source": None if src is None else src.__dict__,
            "frames_processed": self.frame_count(),
            "faces": self.face_count(),
            "frames_with_faces": self._db.execute("SELECT COUNT(*) FROM frame WHERE faces > 0").fetchone()[0],
            "last_frame": self.last_frame(),
            "options": self.get_meta("extract_options"),
        }


def default_store_path(input_path: str | Path) -> Path:
    """``<input>.twoface.db`` beside the input (for a folder: beside the folder)."""
    p = Path(input_path)
    return p.with_name(p.name + ".twoface.db")


def _write_error(err: sqlite3.Error, path: Path) -> StoreError:
    """A failed write as one clear line: a full disk or a read-only store says so."""
    text = str(err)
    try:
        low = shutil.disk_usage(path.parent).free < (1 << 20)
    except OSError:
        low = False
    if "full" in text or low:
        text = "no space left on the device"
    elif "readonly" in text or "read-only" in text:
        text = "permission denied (read-only)"
    return StoreError(f"cannot write to the store: {text}", path)
