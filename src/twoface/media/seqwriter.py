"""Writing numbered image sequences: the input's names and numbers, the input's bit depth.

Why a writer of its own: a sequence handed on to compositing must line up
with its plate, frame for frame. So each output file keeps its input's name
(or, given an output pattern such as ``out/shot.%04d.png``, that pattern
filled with the input's frame number), gaps stay gaps, and frames are written
at the depth they came in: 16-bit PNG/TIFF stay 16-bit, EXR stays float.
Frames with a swapped face carry the watermark; frames the swap did not touch
(``untouched=True``) are written pixel for pixel as they were read, since they
hold nothing synthetic. Every file carries the synthetic label.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import OutputError
from ..fsutil import atomic_write_bytes
from .deep import encode, to_uint8
from .sequence import Pattern, parse_pattern
from .writer import Writer

FORMATS = ("png", "jpg", "tif", "exr")
_ALIASES = {"jpeg": "jpg", "tiff": "tif"}


def normalise_format(name: str) -> str:
    name = name.lower().lstrip(".")
    return _ALIASES.get(name, name)


class SequenceWriter(Writer):
    """``write(pixels, number, name=..., untouched=...)`` -> one labelled file per frame.

    ``out`` is a folder or a pattern (``%04d`` / ``####``). ``image_format``
    ('png' | 'jpg' | 'tif' | 'exr'); with a pattern, its suffix decides.
    ``pixels`` may be uint8, uint16 or float32 BGR.
    """

    def __init__(self, out: str | Path, *, image_format: str = "png", quality: int | None = None,
                 watermark: bool = True, **_ignored):
        self.out = Path(out)
        self.pattern: Pattern | None = parse_pattern(self.out)
        if self.pattern is not None and self.pattern.ext:
            image_format = self.pattern.ext
        self.format = normalise_format(image_format)
        if self.format not in FORMATS:
            raise OutputError(f"image sequence output must be one of {', '.join(FORMATS)}, not '{self.format}'",
                              self.out)
        self.folder = self.pattern.folder if self.pattern is not None else self.out
        self.quality = quality
        self.watermark = watermark
        self.frames = 0
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"cannot create the folder ({err.strerror})", self.folder) from err

    def path_for(self, index: int, name: str | None) -> Path:
        if self.pattern is not None:
            return self.pattern.path(index)
        if name:
            p = Path(name)
            keep = normalise_format(p.suffix) == self.format  # shot.0001.tiff stays .tiff
            return self.folder / (p.name if keep else f"{p.stem}.{self.format}")
        return self.folder / f"{index:06d}.{self.format}"

    def write(self, bgr: np.ndarray, index: int, time: float | None = None, name: str | None = None,
              untouched: bool = False) -> None:
        if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype not in (np.uint8, np.uint16, np.float32):
            raise ValueError(f"expected BGR (H, W, 3) uint8/uint16/float32, got {bgr.dtype} {bgr.shape}")
        if self.watermark and not untouched:
            bgr = embed_deep(bgr)
        path = self.path_for(index, name)
        atomic_write_bytes(path, encode(bgr, self.format, path, self.quality))
        self.frames += 1

    def close(self) -> None:
        pass


def embed_deep(img: np.ndarray) -> np.ndarray:
    """The watermark of ``watermark.embed`` on a 16-bit or float frame (the same pattern, scaled)."""
    from .watermark import embed

    if img.dtype == np.uint8:
        return embed(img)
    ref = to_uint8(img)  # the mark's 8-bit delta on the frame seen at 8 bits (its texture mask is in levels)
    delta = embed(ref).astype(np.float32) - ref.astype(np.float32)
    if img.dtype == np.uint16:
        return np.clip(img.astype(np.float32) + delta * 257.0, 0, 65535).astype(np.uint16)
    return (img.astype(np.float32) + delta / 255.0).astype(img.dtype)
