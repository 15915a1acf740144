"""Numbered image sequences: frame-number patterns, numbering with gaps, and their reader.

Why frame numbers: people who dump a video with ffmpeg, and VFX people who hand
shots around as ``shot.1001.exr ...``, identify a frame by the number in its
name, not by its rank in a listing. A sequence's frames therefore carry their
number as ``Frame.index``: the store records it, ``--frames`` selects by it,
a missing frame stays a gap (the next frame keeps its own number) and output
files keep the input's names.

A sequence is given either as a pattern (``shot.%04d.png``, ``shot.%d.png``
or ``shot.####.png``, one ``#`` per digit) or as a folder whose image files
all share one prefix and suffix around a number (``f0001.png, f0002.png``).
Any other folder is read in name order as before (``reader.ImageFolderSource``).
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .frames import IMAGE_EXTS, Frame, MediaInfo, check_frame_args

log = logging.getLogger(__name__)

SEQUENCE_EXTS = IMAGE_EXTS | {".exr"}
_PRINTF = re.compile(r"%(0?\d*)d")
_HASHES = re.compile(r"#+")
_NUMBERED = re.compile(r"(.*?)(\d+)(\D*)")  # prefix, the last run of digits, a digit-free suffix


@dataclass(frozen=True)
class Pattern:
    """``prefix`` + the frame number (zero-padded to ``width`` digits) + ``suffix``, in ``folder``."""

    folder: Path
    prefix: str
    suffix: str
    width: int = 1

    def name(self, number: int) -> str:
        return f"{self.prefix}{number:0{max(1, self.width)}d}{self.suffix}"

    def path(self, number: int) -> Path:
        return self.folder / self.name(number)

    @property
    def text(self) -> str:
        """The printf form, e.g. ``shot.%04d.png``."""
        return f"{self.prefix}%{'0' + str(self.width) if self.width > 1 else ''}d{self.suffix}"

    @property
    def ext(self) -> str:
        return "." + self.suffix.rsplit(".", 1)[1].lower() if "." in self.suffix else ""

    def number(self, name: str) -> int | None:
        """The frame number in a file name of this pattern, or None."""
        if not (name.startswith(self.prefix) and name.endswith(self.suffix)):
            return None
        digits = name[len(self.prefix):len(name) - len(self.suffix)]
        if not digits.isdigit() or not digits.isascii():
            return None
        if len(digits) < self.width or (len(digits) > max(1, self.width) and digits[0] == "0"):
            return None  # shot.01.png is not shot.%04d.png, nor is 0001 of an unpadded %d
        return int(digits)


def parse_pattern(path: str | Path) -> Pattern | None:
    """The pattern in ``path``'s file name (``%04d``, ``%d``, ``####``), or None if it has none."""
    path = Path(path)
    name = path.name
    found = [(m, "printf") for m in _PRINTF.finditer(name)] + [(m, "hash") for m in _HASHES.finditer(name)]
    if len(found) != 1:
        return None
    m, kind = found[0]
    if kind == "printf":
        spec = m.group(1)
        width = int(spec) if spec.strip("0") else 1
    else:
        width = len(m.group(0))
    return Pattern(path.parent, name[:m.start()], name[m.end():], width)


def is_pattern(path: str | Path) -> bool:
    """Whether ``path`` names a sequence by pattern (its file name holds ``%04d`` or ``####``)."""
    return parse_pattern(path) is not None


def infer(names: list[str]) -> Pattern | None:
    """The pattern every name follows (one prefix, one suffix, distinct numbers), or None."""
    parts = [m for n in names if (m := _NUMBERED.fullmatch(n)) is not None]
    if not names or len(parts) != len(names):
        return None
    prefixes = {m.group(1) for m in parts}
    suffixes = {m.group(3) for m in parts}
    if len(prefixes) != 1 or len(suffixes) != 1:
        return None
    digits = [m.group(2) for m in parts]
    if len({int(d) for d in digits}) != len(digits):
        return None  # f1.png and f01.png: two files, one number
    shortest = min(len(d) for d in digits)
    padded = all(len(d) == shortest for d in digits) or any(len(d) == shortest and d[0] == "0" for d in digits)
    width = shortest if padded else 1
    return Pattern(Path("."), prefixes.pop(), suffixes.pop(), width)


def scan(pattern: Pattern) -> list[tuple[int, Path]]:
    """(number, path) of every file of ``pattern`` in its folder, by number."""
    out = []
    try:
        entries = list(pattern.folder.iterdir())
    except OSError as err:
        raise InputError(f"cannot list the folder ({err.strerror})", pattern.folder) from err
    for p in entries:
        n = pattern.number(p.name)
        if n is not None and p.is_file():
            out.append((n, p))
    return sorted(out)


def gaps(numbers: list[int]) -> list[tuple[int, int]]:
    """Missing (first, last) runs between the first and last of sorted ``numbers``."""
    return [(a + 1, b - 1) for a, b in zip(numbers, numbers[1:]) if b - a > 1]


def ranges_text(ranges: list[tuple[int, int]], limit: int = 8) -> str:
    """``[(11, 14), (20, 20)]`` -> ``"11-14, 20"`` (the first ``limit`` runs, then how many more)."""
    parts = [f"{a}-{b}" if b > a else str(a) for a, b in ranges[:limit]]
    if len(ranges) > limit:
        parts.append(f"and {len(ranges) - limit} more runs")
    return ", ".join(parts)


def runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers as (first, last) runs of consecutive values."""
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def numbered_files(path: Path) -> tuple[Pattern, list[tuple[int, Path]]] | None:
    """A pattern path, or a folder of numbered images: its pattern and files; None for other folders."""
    pattern = parse_pattern(path)
    if pattern is not None:
        if pattern.ext and pattern.ext not in SEQUENCE_EXTS:
            raise InputError(f"not an image sequence pattern ({pattern.ext} is not an image type)", path)
        if not pattern.folder.is_dir():
            raise InputError(f"no such folder ({pattern.folder}) for this frame pattern", path)
        files = scan(pattern)
        if not files:
            raise InputError(f"no files match the pattern in {pattern.folder}", path)
        return pattern, files
    if not path.is_dir():
        return None
    try:
        names = sorted(p.name for p in path.iterdir()
                       if p.suffix.lower() in SEQUENCE_EXTS and not p.name.startswith(".") and p.is_file())
    except OSError:
        return None
    found = infer(names)
    if found is None:
        return None
    pattern = Pattern(path, found.prefix, found.suffix, found.width)
    numbered = [(pattern.number(n), path / n) for n in names]
    files = [(n, f) for n, f in numbered if n is not None]
    if len(files) != len(numbered):
        return None
    return pattern, sorted(files)


def source_fingerprint(path: str | Path) -> str:
    """The fingerprint a store records for a source: a pattern's files, else ``fsutil.fingerprint``."""
    from ..fsutil import fingerprint as file_fingerprint

    path = Path(path)
    if is_pattern(path) and not path.exists():
        return fingerprint(path)
    return file_fingerprint(path)


def fingerprint(path: str | Path) -> str:
    """A sequence's fingerprint for stores: its file names and sizes (as for image folders)."""
    found = numbered_files(Path(path))
    h = hashlib.sha256()
    for _, p in (found[1] if found else []):
        h.update(f"{p.name}:{p.stat().st_size};".encode())
    return f"seq:{h.hexdigest()[:32]}"


@dataclass
class SequenceFrame(Frame):
    """A frame of a sequence. ``index`` is the frame number; ``deep`` the pixels above 8 bits.

    ``image`` stays uint8 BGR for face finding; ``deep`` (uint16, or float32
    for EXR) is what a swap is pasted into and written back from, so 16-bit
    frames keep their precision. None for 8-bit frames.
    """

    deep: np.ndarray | None = None


class SequenceSource:
    """The frames of a numbered sequence, in number order; ``Frame.index`` is the frame number.

    ``frames(start)`` yields frames numbered ``start`` or more (resume), and
    ``every`` keeps numbers divisible by it. ``times`` (set by a reference
    video, see ``reference.py``) maps a number to its time in seconds.
    """

    def __init__(self, path: Path, pattern: Pattern, files: list[tuple[int, Path]]):
        from .deep import read_frame

        self.path = path
        self.pattern = pattern
        self.files = files
        self.numbers = [n for n, _ in files]
        self.skipped = 0
        self.times: dict[int, float] | None = None
        first = None
        for _, f in files:
            first = read_frame(f)
            if first is not None:
                break
        if first is None:
            raise InputError(f"none of the {len(files)} images of the sequence can be decoded", path)
        image, deep, self.depth = first
        self.dtype = (deep if deep is not None else image).dtype
        h, w = image.shape[:2]
        self.info = MediaInfo(path=path, is_video=False, frame_count=len(files), fps=0.0, width=w, height=h)

    @property
    def format(self) -> str:
        """The files' image type ('png', 'tif', 'jpg', 'exr', ...)."""
        return {"tiff": "tif", "jpeg": "jpg"}.get(self.pattern.ext.lstrip("."), self.pattern.ext.lstrip("."))

    def frames(self, start: int = 0, every: int = 1) -> Generator[Frame, None, None]:
        from .deep import read_frame

        check_frame_args(start, every)
        for number, f in self.files:
            if number < start or number % every:
                continue
            got = read_frame(f)
            if got is None:
                self.skipped += 1
                log.warning("%s: cannot decode this image; skipped", f)
                continue
            image, deep, _ = got
            t = self.times.get(number, 0.0) if self.times is not None else 0.0
            yield SequenceFrame(number, t, image, f.name, deep=deep)

    def summary(self) -> dict:
        """Count, numbering range, gaps, bit depth and size, for ``twoface inspect``."""
        holes = gaps(self.numbers)
        return {"pattern": self.pattern.text, "count": len(self.numbers), "first": self.numbers[0],
                "last": self.numbers[-1], "gaps": [list(g) for g in holes],
                "missing": sum(b - a + 1 for a, b in holes), "bit_depth": self.depth,
                "dtype": str(self.dtype), "format": self.format,
                "width": self.info.width, "height": self.info.height}


def open_sequence(path: str | Path) -> SequenceSource | None:
    """A ``SequenceSource`` for a pattern or a numbered folder; None for any other folder or file."""
    path = Path(path)
    found = numbered_files(path)
    if found is None:
        return None
    return SequenceSource(path, *found)
