"""``--reference-video``: the timing and audio of the video a frame sequence was dumped from.

Why: a folder of frames has no frame rate, no timestamps and no sound. Given
the video it came from, frame number N takes the time of the video's frame
N - base (``base`` is 1 when the numbering starts at 1 or later, as ffmpeg's
image2 muxer numbers, and 0 when there is a frame 0), the output video gets the
reference's rate and time base, and its audio is copied packet for packet.
Frames are matched by number, never by rank, so a missing frame leaves a gap
(the previous frame stays on screen for its duration) instead of shifting
every later frame; frames and reference frames without a partner are named.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import InputError
from .sequence import ranges_text, runs

log = logging.getLogger(__name__)


@dataclass
class Reference:
    """A reference video's timing; ``times[k]`` is its frame k's time in seconds."""

    path: Path
    rate: Fraction | None
    fps: float
    time_base: Fraction | None
    times: list[float]
    has_audio: bool
    duration: float
    base: int = 1

    def index_of(self, number: int) -> int:
        return number - self.base

    def number_of(self, index: int) -> int:
        return index + self.base


@dataclass
class Match:
    """Sequence numbers against reference frames: which have no partner."""

    missing: list[int]  # numbers the reference has a frame for but the sequence lacks
    extra: list[int]  # sequence numbers past the reference's ends

    def report(self, source: Path, ref: Reference) -> str | None:
        """One line naming what does not match, or None."""
        if not self.missing and not self.extra:
            return None
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} frame(s) missing ({ranges_text(runs(self.missing))}; the frame "
                         "before each gap is shown for its time)")
        if self.extra:
            parts.append(f"{len(self.extra)} extra frame(s) with no time in the reference "
                         f"({ranges_text(runs(self.extra))}; left out)")
        return (f"{source}: {len(ref.times)} frames in {ref.path.name} (numbers {ref.base}-"
                f"{ref.number_of(len(ref.times) - 1)}), but " + " and ".join(parts))


def open_reference(path: str | Path, numbers: list[int]) -> Reference:
    """Read a reference video's frame times (by demuxing: no decoding) for a sequence with ``numbers``."""
    from .video import VideoSource

    path = Path(path)
    if not path.exists():
        raise InputError("no such reference video", path)
    if path.is_dir():
        raise InputError("is a folder; --reference-video needs a video file", path)
    src = VideoSource(path)
    info = src.info
    table, _ = src._prescan()  # sorted pts of every presentable packet
    if table is not None and info.time_base is not None:
        times = [float(p * info.time_base) for p in table]
    else:  # no usable pts: count frames at the nominal rate
        count = sum(1 for _ in src.frames())
        times = [i / (info.fps or 25.0) for i in range(count)]
    if not times:
        raise InputError("has no video frames to take timing from", path)
    base = 0 if numbers and min(numbers) == 0 else 1
    return Reference(path, info.rate, info.fps, info.time_base, times, info.has_audio, info.duration, base)


def match(numbers: list[int], ref: Reference) -> Match:
    have = set(numbers)
    n = len(ref.times)
    missing = [ref.number_of(k) for k in range(n) if ref.number_of(k) not in have]
    extra = [x for x in numbers if not 0 <= ref.index_of(x) < n]
    return Match(missing, extra)


def attach(media: Any, reference: str | Path | None) -> Reference | None:
    """Give a sequence source its reference's timing (in place); warns about unmatched frames.

    After this, ``media.info`` has the reference's fps, rate, time base and
    audio flag, frames carry the reference's times, and frames past its ends
    are left out. Refuses a reference for a video input (it has its own timing). ``media`` is any
    MediaSource, typed Any because a sequence gains attributes here (``times``, ``reference``, ``match``).
    """
    if reference is None:
        return None
    numbers = getattr(media, "numbers", None)
    if numbers is None:
        what = "a video" if media.info.is_video else "a folder without frame numbers in its file names"
        raise InputError(f"is {what}; --reference-video needs a numbered image sequence "
                         "(e.g. frames/f%04d.png, or a folder of f0001.png, f0002.png ...)", media.info.path)
    ref = open_reference(reference, numbers)
    m = match(numbers, ref)
    line = m.report(media.info.path, ref)
    if line:
        log.warning("%s", line)
    if m.extra:
        extra = set(m.extra)
        media.files = [(n, f) for n, f in media.files if n not in extra]
        media.numbers = [n for n, _ in media.files]
        if not media.files:
            raise InputError(f"no frame of the sequence has a partner in {ref.path.name} ({line})", media.info.path)
    media.times = {n: ref.times[ref.index_of(n)] for n in media.numbers}
    media.info = dataclasses.replace(media.info, fps=ref.fps, rate=ref.rate, time_base=ref.time_base,
                                     has_audio=ref.has_audio, duration=ref.duration,
                                     frame_count=len(media.numbers))
    media.reference, media.match = ref, m
    return ref
