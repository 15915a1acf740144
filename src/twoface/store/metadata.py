"""Face images that carry their own metadata (DESIGN §2).

Each aligned face is a PNG with one ``iTXt`` chunk, keyword ``twoface``,
holding JSON. Why inside the PNG: a folder of faces is a training set by
itself, users curate by deleting files, and a moved or renamed face still
knows where it came from. JSON, never pickle, so face sets are safe to share.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, from_os_error
from ..fsutil import atomic_write_bytes
from ..media.png import PNG_SIG, add_text_chunks, itxt_chunk

KEYWORD = b"twoface"
META_VERSION = 1


@dataclass
class FaceMeta:
    """Everything a face PNG knows about itself. Coordinates are in aligned-face pixels."""

    source_path: str
    source_fingerprint: str
    frame: int
    face: int
    size: int
    coverage: float
    matrix: list[list[float]]  # 2x3, frame -> aligned
    landmarks: list[list[float]]  # aligned space
    pose: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # yaw, pitch, roll
    identity: list[float] | None = None
    masks: dict = field(default_factory=dict)  # name -> list of polygons [[x, y], ...]
    blur: float | None = None
    blendshapes: list[float] | None = None
    version: int = META_VERSION

    def to_json(self) -> dict:
        # built by hand: dataclasses.asdict deep-copies the 478 landmark pairs, a hot spot in extract
        return {"version": self.version,
                "source": {"path": self.source_path, "fingerprint": self.source_fingerprint,
                           "frame": self.frame, "face": self.face},
                "size": self.size, "coverage": self.coverage, "matrix": self.matrix,
                "landmarks": self.landmarks, "pose": self.pose, "identity": self.identity,
                "masks": self.masks, "blur": self.blur, "blendshapes": self.blendshapes}

    @classmethod
    def from_json(cls, d: dict, path: str | Path | None = None) -> FaceMeta:
        """From parsed JSON, every field checked (``InputError`` naming ``path`` and the field)."""
        from ..contracts.face_meta import parse_face_meta

        return cls(**parse_face_meta(d, path))

    @property
    def key(self) -> tuple[str, int, int]:
        """What ties a face PNG to its row in the alignments store."""
        return (self.source_fingerprint, self.frame, self.face)

    def landmarks_array(self) -> np.ndarray:
        return np.asarray(self.landmarks, dtype=np.float32)

    def matrix_array(self) -> np.ndarray:
        return np.asarray(self.matrix, dtype=np.float64).reshape(2, 3)

    def identity_array(self) -> np.ndarray | None:
        return None if self.identity is None else np.asarray(self.identity, dtype=np.float32)


def encode_face_png(image: np.ndarray, meta: FaceMeta, compression: int = 1) -> bytes:
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ValueError("PNG encoding failed")
    text = json.dumps(meta.to_json(), separators=(",", ":"))
    return add_text_chunks(buf.tobytes(), [(b"iTXt", itxt_chunk(KEYWORD, text))])


def write_face_png(path: str | Path, image: np.ndarray, meta: FaceMeta) -> None:
    """Write an aligned face (BGR uint8) with its metadata, atomically."""
    atomic_write_bytes(path, encode_face_png(image, meta))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise from_os_error(err, path) from err


NO_METADATA = "PNG has no twoface metadata (was it written by `twoface extract`?)"


def _parse_meta(data: bytes, path: Path) -> FaceMeta:
    """The metadata contract: a sound PNG (complete, checksums right, pixels within limits), one
    ``twoface`` iTXt chunk that inflates within limits to JSON that passes ``parse_face_meta``."""
    from ..contracts.image import inflate, png_chunks, png_size
    from ..contracts.jsonsafe import load_json

    if not data.startswith(PNG_SIG):
        raise InputError("not a PNG face image", path)
    chunks = png_chunks(data, path)
    png_size(chunks, path)
    raw = None
    for kind, payload in chunks:
        if kind == b"iTXt" and payload.startswith(KEYWORD + b"\x00"):
            rest = payload[len(KEYWORD) + 1:]
            if len(rest) < 2:
                raise InputError("damaged twoface metadata (its iTXt chunk is cut short)", path)
            flag, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\x00")
            _tkey, _, text = rest.partition(b"\x00")
            raw = inflate(text, path, "the twoface metadata chunk") if flag else text
            break
    if raw is None:
        raise InputError(NO_METADATA, path)
    return FaceMeta.from_json(load_json(raw, path, "damaged twoface metadata"), path)


def read_face_meta(path: str | Path) -> FaceMeta:
    """The metadata of a face PNG; a clear error when it has none."""
    path = Path(path)
    return _parse_meta(_read_bytes(path), path)


def read_face(path: str | Path) -> tuple[np.ndarray, FaceMeta]:
    """Image (BGR uint8) and metadata of a face PNG, from one read of the file."""
    path = Path(path)
    data = _read_bytes(path)
    meta = _parse_meta(data, path)
    from ..contracts.image import decode_image

    image = decode_image(data, path)
    if image is None:
        raise InputError("cannot decode the image (truncated or corrupt PNG)", path)
    return image, meta


def list_face_files(folder: str | Path, recursive: bool = True) -> list[Path]:
    """Face PNGs under a folder, sorted by path (so runs are reproducible)."""
    folder = Path(folder)
    if not folder.exists():
        raise InputError("no such folder", folder)
    if not folder.is_dir():
        raise InputError("is not a folder of face images", folder)
    pattern = "**/*.png" if recursive else "*.png"
    return sorted(p for p in folder.glob(pattern) if not p.name.startswith("."))
