"""Resumable video writing: numbered, self-contained segments, then one lossless remux.

Why segments: an interrupted conversion of a long video should lose seconds,
not hours. Frames go into ``<out>.parts/`` as short MP4 files, each encoded
from a keyframe and renamed into place only once closed, so every file there
is complete. A rerun reopens the folder, drops any unfinished segment, and
reports ``next_index``: the first frame to convert again. ``finalize()`` copies
all segments' packets (no re-encode) plus the source's audio and the synthetic
label into the final file, atomically, and removes the parts folder.

Each segment stores its frames with pts rebased to 0 (MP4 muxers keep a zero
start exact) and records the offset in its metadata; ``finalize`` adds it back,
so the final video has exactly the source's timestamps.
"""
from __future__ import annotations

import json
import logging
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import OutputError, from_os_error
from ..fsutil import atomic_path, atomic_write_text, commit_file
from .label import SYNTHETIC_TAG
from .remux import AudioPassthrough, container_format
from .writer import DEFAULT_PRESET, DEFAULT_QUALITY, Writer, _EncodedVideo, as_rate, choose_h264_encoder, frame_pts

log = logging.getLogger(__name__)

SEGMENT_FORMAT = "mp4"
_CONFIG = "segments.json"


def _segment_name(first: int, last: int) -> str:
    return f"{first:09d}-{last:09d}.mp4"


class SegmentedVideoWriter(Writer):
    """A ``Writer`` whose work survives interruption; see the module docstring.

    Use ``for frame in source.frames(start=writer.next_index): writer.write(...)``
    then ``finalize()`` (``close()`` is the same). Leaving a ``with`` block by an
    exception (Ctrl-C included) closes the open segment cleanly so none of it is
    lost; a hard kill loses only the segment being written.
    """

    def __init__(self, out: str | Path, fps: float | Fraction, size: tuple[int, int], *,
                 time_base: Fraction | None = None, quality: int | None = None, preset: str = DEFAULT_PRESET,
                 audio_from: str | Path | None = None, tags: dict[str, str] | None = None,
                 watermark: bool = False, segment_frames: int = 128):
        self.out = Path(out)
        self.format = container_format(self.out)
        self.parts = self.out.with_name(self.out.name + ".parts")
        self.rate = as_rate(fps)
        self.time_base = Fraction(time_base) if time_base else 1 / self.rate
        self.size = (int(size[0]), int(size[1]))
        self.quality = DEFAULT_QUALITY if quality is None else int(quality)
        self.preset = preset
        self.audio_from = Path(audio_from) if audio_from else None
        self.tags = {"comment": SYNTHETIC_TAG, **(tags or {})}
        self.watermark = watermark
        self.segment_frames = max(1, int(segment_frames))
        self.codec = choose_h264_encoder()[0]
        self._segment: _EncodedVideo | None = None
        self._segment_tmp: Path | None = None  # hidden name of the open segment until it is complete
        self._segment_first = 0
        self._segment_last = -1
        self._segment_offset = 0
        self._segment_count = 0
        self._last_pts: int | None = None
        self.next_index = self._recover()

    # ----------------------------------------------------------------- resume
    def _config(self) -> dict:
        return {"codec": self.codec, "size": list(self.size), "time_base": str(self.time_base),
                "rate": str(self.rate), "quality": self.quality, "preset": self.preset,
                "watermark": self.watermark, "version": 1}

    def _recover(self) -> int:
        """Keep complete segments made with the same settings; return the first frame still to write."""
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
            config_path = self.parts / _CONFIG
            if config_path.exists():
                try:
                    same = json.loads(config_path.read_text()) == self._config()
                except (ValueError, OSError):
                    same = False
                if not same:
                    log.warning("%s: earlier segments were made with other settings; starting over", self.parts)
                    shutil.rmtree(self.parts)
                    self.parts.mkdir(parents=True)
            atomic_write_text(config_path, json.dumps(self._config(), indent=1))
            for stale in self.parts.glob(".*"):
                stale.unlink(missing_ok=True)  # an unfinished segment of an interrupted run
        except OSError as err:
            raise from_os_error(err, self.parts) from err
        segments = self.segments()
        if not segments:
            return 0
        meta = _segment_meta(segments[-1])
        self._last_pts = meta["last_pts"]
        return meta["last"] + 1

    def segments(self) -> list[Path]:
        """Complete segment files, in frame order."""
        return sorted(p for p in self.parts.glob("*.mp4") if not p.name.startswith("."))

    # ----------------------------------------------------------------- writing
    def write(self, bgr: np.ndarray, index: int, time: float | None = None, name: str | None = None) -> None:
        if index < self.next_index:
            raise ValueError(f"frame {index} is already in a finished segment; resume from {self.next_index}")
        bgr = self._prepare(bgr)
        pts = frame_pts(index, time, self.rate, self.time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        if self._segment is None:
            self._open_segment(index, pts)
        segment = self._segment
        assert segment is not None  # opened just above
        segment.container.mux(segment.encode(bgr, pts - self._segment_offset))
        self._last_pts = pts
        self._segment_last = index
        self._segment_count += 1
        if self._segment_count >= self.segment_frames:
            self._close_segment()

    def _open_segment(self, first: int, pts: int) -> None:
        """Start a segment under a hidden name; its last frame is only known when it closes."""
        self._segment_tmp = self.parts / f".{first:09d}.partial.mp4"
        tags = {"twoface_offset": str(pts), "twoface_time_base": str(self.time_base)}
        self._segment = _EncodedVideo(self._segment_tmp, SEGMENT_FORMAT, self.size, self.rate, self.time_base,
                                      self.quality, self.preset, tags, self.codec)
        self._segment_first, self._segment_offset, self._segment_count = first, pts, 0

    def _close_segment(self) -> None:
        """Flush the encoder, then fsync and rename the file to ``<first>-<last>.mp4``."""
        seg, tmp = self._segment, self._segment_tmp
        assert seg is not None and tmp is not None  # only called with a segment open
        self._segment, self._segment_tmp = None, None
        final = self.parts / _segment_name(self._segment_first, self._segment_last)
        try:
            seg.container.mux(seg.flush())
            seg.close()
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise from_os_error(err, final) from err
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        commit_file(tmp, final)
        self.next_index = self._segment_last + 1

    def suspend(self) -> None:
        """Close the open segment (keeping it) without finalizing: a clean pause."""
        if self._segment is not None:
            self._close_segment()

    def abort(self) -> None:
        self.suspend()

    def close(self) -> None:
        self.finalize()

    # ----------------------------------------------------------------- finalize
    def finalize(self) -> Path:
        """Remux every segment, the source audio and the label into ``out``; remove the parts."""
        self.suspend()
        segments = self.segments()
        if not segments:
            raise OutputError("no frames were written, so there is no video to save", self.out)
        with atomic_path(self.out) as tmp:
            _remux_segments(segments, tmp, self.out, self.format, self.tags, self.audio_from)
        shutil.rmtree(self.parts, ignore_errors=True)
        return self.out


def _segment_meta(path: Path) -> dict:
    """First/last frame index (from the name), pts offset and time base, and the last pts (absolute)."""
    try:
        first, last = (int(x) for x in path.stem.split("-"))
        with av.open(str(path)) as c:
            m = c.metadata
            offset, tb = int(m["twoface_offset"]), Fraction(m["twoface_time_base"])
            stream = c.streams.video[0]
            top = max(p.pts for p in c.demux(stream) if p.size and p.pts is not None)
            if stream.time_base is None:
                raise ValueError("the video stream has no time base")
            last_pts = offset + round(top * stream.time_base / tb)
    except (av.error.FFmpegError, KeyError, ValueError) as err:
        raise OutputError(f"segment is damaged ({err}); delete the .parts folder to start over", path) from err
    return {"first": first, "last": last, "offset": offset, "time_base": tb, "last_pts": last_pts}


def _remux_segments(segments: list[Path], tmp: Path, out_path: Path, fmt: str, tags: dict[str, str],
                    audio_from: Path | None) -> None:
    options = {"movflags": "use_metadata_tags"} if fmt in ("mp4", "mov") and set(tags) - {"comment"} else {}
    with av.open(str(segments[0])) as first, av.open(str(tmp), "w", format=fmt, options=options) as out:
        template = first.streams.video[0]
        extradata = template.codec_context.extradata
        vstream = out.add_stream_from_template(template)
        out.metadata.update(tags)
        audio = AudioPassthrough(audio_from, out, out_path) if audio_from else None
        last_dts = None
        for path in segments:
            meta = _segment_meta(path)
            with av.open(str(path)) as seg:
                src = seg.streams.video[0]
                if src.codec_context.extradata != extradata:
                    raise OutputError("segments were encoded differently (another encoder version?); "
                                      "delete the .parts folder to start over", path)
                shift = meta["offset"] * meta["time_base"]  # seconds
                for packet in seg.demux(src):
                    if not packet.size:
                        continue
                    tb = packet.time_base
                    delta = round(shift / tb)
                    packet.pts += delta
                    packet.dts = packet.pts if packet.dts is None else packet.dts + delta
                    if last_dts is not None and packet.dts <= last_dts:
                        packet.dts = min(last_dts + 1, packet.pts)
                    last_dts = packet.dts
                    if audio:
                        audio.feed_until(packet.dts * tb)
                    packet.stream = vstream
                    out.mux(packet)
        if audio:
            audio.finish()
