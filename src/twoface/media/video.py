"""Video decoding with PyAV: display orientation, damaged frames skipped, fast resume.

Frame index. A frame's index is the rank of its pts among the pts of all
presentable packets of the stream (edit-list discards excluded). For a clean
file that is simply the count of decoded frames; the point of ranking is that
it stays right when a damaged packet cannot be decoded (the index leaves a
gap instead of shifting every later frame) and that a resumed decode, which
starts at a keyframe in the middle, gives each frame the same index as a
decode from the start. Streams whose packets lack pts, or repeat them, fall
back to counting decoded frames, and resume by decoding from the start.

Resume. ``frames(start=N)`` first demuxes the file without decoding (cheap:
I/O only) to learn every packet's pts and the keyframes, seeks to the last
keyframe at or before frame N, decodes forward and drops frames before N.
If the container cannot seek (FLV without an index) or lands too late,
it decodes from the start instead: slower, never wrong.
"""
from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Generator, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import InputError
from .frames import Frame, MediaInfo, check_frame_args

log = logging.getLogger(__name__)

_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
_MAX_PROBE_PACKETS = 300  # packets to try before deciding a file has no decodable frame
_MAX_DEMUX_ERRORS = 8
# FFmpeg renders text files as "video" (ANSI art); for us they are a user mistake
_TEXT_FORMATS = frozenset({"tty", "bin", "xbin", "idf", "adf"})
_TEXT_CODECS = frozenset({"ansi", "bintext", "xbin", "idf"})


def _reason(err: Exception) -> str:
    """FFmpeg's message without the errno and the file name it repeats."""
    text = getattr(err, "strerror", None) or str(err)
    return " ".join(str(text).split()).rstrip(".").lower() or type(err).__name__


def _cw_rotation(frame: av.VideoFrame) -> int:
    """Clockwise degrees (0/90/180/270) to turn a coded frame upright.

    ``VideoFrame.rotation`` is FFmpeg's display-matrix angle, counter-clockwise;
    the ffmpeg tool rotates by its negative, and so do we.
    """
    try:
        ccw = float(frame.rotation or 0.0)
    except (AttributeError, ValueError):
        return 0
    cw = (-ccw) % 360.0
    snapped = int(round(cw / 90.0)) % 4 * 90
    if abs(((cw - snapped) + 180) % 360 - 180) > 1:
        log.warning("display rotation %.1f° is not a multiple of 90°; using %d°", cw, snapped)
    return snapped


class _Ranker:
    """Maps a decoded frame's pts to its index (see module docstring)."""

    def __init__(self, table: list[int] | None = None):
        self.table: list[int] = table if table is not None else []
        self.incremental = table is None
        self.ranked = True
        self.next_count = 0

    def add(self, packet: av.Packet) -> None:
        if not (self.incremental and self.ranked) or packet.is_discard or not packet.size:
            return
        if packet.pts is None:
            self.ranked = False
            return
        i = bisect.bisect_left(self.table, packet.pts)
        if i < len(self.table) and self.table[i] == packet.pts:
            self.ranked = False
            return
        self.table.insert(i, packet.pts)

    def index(self, frame: av.VideoFrame) -> int | None:
        """The frame's index; None when a prescanned table does not know its pts."""
        if self.ranked and frame.pts is not None:
            i = bisect.bisect_left(self.table, frame.pts)
            if i < len(self.table) and self.table[i] == frame.pts:
                self.next_count = i + 1
                return i
            if not self.incremental:
                return None
        self.ranked = False
        i = self.next_count
        self.next_count += 1
        return i


class VideoSource:
    """A video file decoded with PyAV.

    ``skipped`` counts frames lost in the latest ``frames()`` pass;
    ``decoded_from`` is the index of the first frame that pass decoded
    (0 unless it resumed by seeking), which shows whether a resume was cheap.
    """

    def __init__(self, path: Path):
        self.path = path
        self.skipped = 0
        self.decoded_from: int | None = None
        with self._open() as container:
            stream = self._video_stream(container)
            self._check_not_truncated(container)
            first = self._probe_first_frame(container, stream)
            self.rotation = _cw_rotation(first)
            self.info = self._describe(container, stream, first)

    # ----------------------------------------------------------------- opening
    def _open(self) -> av.container.InputContainer:
        try:
            return av.open(str(self.path), metadata_errors="ignore")
        except av.error.FFmpegError as err:
            raise InputError(f"cannot be read as a video: {_reason(err)} (not a video, or corrupt or truncated)",
                             self.path) from err
        except (UnicodeDecodeError, ValueError) as err:
            raise InputError(f"cannot be read as a video: {err}", self.path) from err

    def _video_stream(self, container) -> av.video.stream.VideoStream:
        if not container.streams.video:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "nothing"
            raise InputError(f"has no video stream (it holds {kinds})", self.path)
        stream = container.streams.video[0]
        if container.format.name in _TEXT_FORMATS or stream.codec_context.name in _TEXT_CODECS:
            raise InputError("is a text file, not a video or image", self.path)
        return stream

    def _check_not_truncated(self, container) -> None:
        """A container whose index points past the end of the file was cut short."""
        size = self.path.stat().st_size
        for stream in container.streams:
            try:
                entries = stream.index_entries
                n = len(entries)
            except (AttributeError, TypeError):
                continue
            if n == 0:
                continue
            tail = [entries[i] for i in range(max(0, n - 32), n)]
            end = max(e.pos + e.size for e in tail)
            if end > size:
                raise InputError(f"is truncated: it has {size} bytes but its index points to byte {end} "
                                 "(an interrupted download or copy?)", self.path)

    def _probe_first_frame(self, container, stream) -> av.VideoFrame:
        errors = 0
        try:
            for i, packet in enumerate(container.demux(stream)):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    errors += 1
                    frames = []
                if frames:
                    return frames[0]
                if i > _MAX_PROBE_PACKETS:
                    break
        except av.error.FFmpegError as err:
            raise InputError(f"is corrupt or truncated ({_reason(err)})", self.path) from err
        detail = f", {errors} packets failed to decode" if errors else ""
        raise InputError(f"has no decodable video frames{detail}", self.path)

    def _describe(self, container, stream, first: av.VideoFrame) -> MediaInfo:
        rate = _frame_rate(stream)
        tb = stream.time_base
        if stream.duration is not None and tb is not None:
            duration = float(stream.duration * tb)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        count, exact = _frame_count(stream, duration, rate)
        w, h = first.width, first.height
        if self.rotation in (90, 270):
            w, h = h, w
        return MediaInfo(path=self.path, is_video=True, frame_count=count, fps=float(rate) if rate else 0.0,
                         width=w, height=h, rotation=self.rotation, has_audio=bool(container.streams.audio),
                         duration=duration, frame_count_exact=exact, rate=rate, time_base=tb,
                         codec=stream.codec_context.name)

    # ----------------------------------------------------------------- frames
    def frames(self, start: int = 0, every: int = 1) -> Generator[Frame, None, None]:
        check_frame_args(start, every)
        self.skipped = 0
        if start == 0:
            yield from self._decode(self._open(), _Ranker(), start, every)  # type: ignore[misc]  # None only if strict
            return
        table, keyframes = self._prescan()
        if table is not None and start >= len(table):
            return
        if table is not None:
            tries = _keyframes_before(keyframes, table[start], table[0], tries=3)
            for seek_pts in tries:
                landed = yield from self._seeked(seek_pts, table, start, every)
                if landed:
                    return
                self.skipped = 0
            if tries:
                log.debug("%s: no usable seek to frame %d; decoding from the start", self.path, start)
        ranker = _Ranker(table) if table is not None else _Ranker()
        yield from self._decode(self._open(), ranker, start, every)  # type: ignore[misc]  # None only if strict

    def _seeked(self, seek_pts: int, table: list[int], start: int, every: int):
        """Frames from ``start`` after seeking to the keyframe at ``seek_pts``; returns False if unusable."""
        container = self._open()
        try:
            container.seek(seek_pts, stream=container.streams.video[0], backward=True)
        except av.error.FFmpegError as err:
            log.debug("%s: seek failed (%s)", self.path, _reason(err))
            container.close()
            return False
        return (yield from _unless_late(self._decode(container, _Ranker(table), start, every, strict=True)))

    def _prescan(self) -> tuple[list[int] | None, list[int]]:
        """Sorted pts of presentable packets and of keyframes, by demuxing only; (None, []) if unrankable."""
        pts: list[int] = []
        keys: list[int] = []
        with self._open() as container:
            stream = container.streams.video[0]
            try:
                for packet in container.demux(stream):
                    if not packet.size or packet.is_discard:
                        continue
                    if packet.pts is None:
                        return None, []
                    pts.append(packet.pts)
                    if packet.is_keyframe:
                        keys.append(packet.pts)
            except av.error.FFmpegError:
                return None, []
        pts.sort()
        if any(a == b for a, b in zip(pts, pts[1:])):
            return None, []
        return pts, sorted(keys)

    def _decode(self, container, ranker: _Ranker, start: int, every: int,
                strict: bool = False) -> Generator[Frame | None, None, None]:
        """Decode, index and convert frames; with ``strict``, first yields None if frames before ``start`` were missed."""
        with container:
            stream = container.streams.video[0]
            stream.codec_context.thread_type = "AUTO"
            tb = stream.time_base
            fps = self.info.fps or 25.0
            expected = start  # next index we hope to see, for counting lost frames
            first = True
            for packet in self._demux(container, stream):
                ranker.add(packet)
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError as err:
                    if not ranker.ranked:
                        self.skipped += 1
                    log.debug("%s: undecodable packet at pts %s skipped (%s)", self.path, packet.pts, _reason(err))
                    continue
                for vf in decoded:
                    index = ranker.index(vf)
                    if first:
                        self.decoded_from = index
                    if first and strict:
                        first = False
                        if index is None or index > start:
                            yield None  # landed late: the caller restarts from the beginning
                            return
                    first = False
                    if index is None or index < expected:
                        continue  # before start, or late out of order after damage (already counted)
                    if ranker.ranked and index > expected:
                        self.skipped += index - expected
                    expected = index + 1
                    if index % every:
                        continue
                    time = float(vf.pts * tb) if vf.pts is not None and tb is not None else index / fps
                    yield Frame(index, time, self._to_bgr(vf), None)
            if ranker.ranked and len(ranker.table) > expected:
                self.skipped += len(ranker.table) - expected
            self._warn_if_short(expected)
        if self.skipped:
            log.warning("%s: %d frame(s) could not be decoded and were skipped", self.path, self.skipped)

    def _warn_if_short(self, frames_seen: int) -> None:
        """A file that ends well before the duration its header states was probably cut short."""
        info = self.info
        if info.frame_count_exact or not info.rate or info.duration <= 0:
            return
        expected = info.duration * float(info.rate)
        if frames_seen < 0.9 * expected - 2:
            log.warning("%s: decoding ended after %d frames but the header promises about %d: "
                        "the file may be truncated", self.path, frames_seen, round(expected))

    def _demux(self, container, stream) -> Iterator[av.Packet]:
        """Packets of the video stream; survives a few demuxer errors, then names the file."""
        errors = 0
        while True:
            try:
                yield from container.demux(stream)
                return
            except av.error.EOFError:
                return
            except av.error.FFmpegError as err:
                errors += 1
                if errors > _MAX_DEMUX_ERRORS:
                    raise InputError(f"is corrupt: reading stopped with '{_reason(err)}'", self.path) from err
                log.debug("%s: demuxer error (%s); trying to continue", self.path, _reason(err))

    def _to_bgr(self, vf: av.VideoFrame) -> np.ndarray:
        img: np.ndarray = vf.to_ndarray(format="bgr24")
        if self.rotation:
            img = cv2.rotate(img, _ROTATE[self.rotation])
        return img


def _unless_late(frames: Generator[Frame | None, None, None]) -> Generator[Frame, None, bool]:
    """Re-yield frames; return False (yielding nothing) if the first item says the seek landed late."""
    any_frame = False
    try:
        for item in frames:
            if item is None:
                return False
            any_frame = True
            yield item
    finally:
        frames.close()  # closes the container now, also when the consumer stops early
    return any_frame


def _keyframes_before(keyframes: list[int], target: int, first: int, tries: int) -> list[int]:
    """Up to ``tries`` keyframe pts at or before ``target``, latest first, excluding the stream start."""
    i = bisect.bisect_right(keyframes, target)
    return [k for k in keyframes[max(0, i - tries):i][::-1] if k > first]


def _frame_rate(stream) -> Fraction | None:
    """The stream's nominal rate: FFmpeg's guess unless the measured average disagrees by > 10 %."""
    avg, guess = stream.average_rate, stream.guessed_rate
    if guess and avg:
        return Fraction(guess) if abs(float(guess) / float(avg) - 1) < 0.1 else Fraction(avg)
    rate = guess or avg or stream.base_rate
    return Fraction(rate) if rate else None


def _frame_count(stream, duration: float, rate: Fraction | None) -> tuple[int, bool]:
    """(count, exact): exact from an index that lists every frame, else duration × fps."""
    n = stream.frames or 0
    if n > 0:
        try:
            entries = stream.index_entries
            if len(entries) == n:
                return sum(1 for e in entries if not e.is_discard), True
        except (AttributeError, TypeError):
            pass
        return n, True
    if rate and duration > 0:
        return int(math.floor(duration * float(rate) + 0.5)), False
    return 0, False
