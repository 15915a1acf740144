"""Copying compressed packets between containers: the source's audio, and video segments.

Audio is never re-encoded: its packets are copied byte for byte with their
original timestamps, interleaved with the video by time, so a converted video
sounds exactly like its source and stays in sync with it.
"""
from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av

from ..errors import InputError, OutputError

log = logging.getLogger(__name__)

CONTAINER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


def container_format(path: Path) -> str:
    """FFmpeg muxer name for an output path (the temp file's own suffix is .tmp)."""
    fmt = CONTAINER_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(f"unsupported video output type '{path.suffix}' "
                          f"(use one of {', '.join(sorted(CONTAINER_FORMATS))})", path)
    return fmt


def packet_time(packet: av.Packet) -> Fraction | None:
    """Decode timestamp (else presentation) in seconds."""
    ts = packet.dts if packet.dts is not None else packet.pts
    if ts is None or packet.time_base is None:
        return None
    return ts * packet.time_base


class AudioPassthrough:
    """The first audio stream of ``source``, remuxed into ``out`` as it is.

    Call ``feed_until(t)`` before muxing a video packet at time ``t`` so the
    muxer receives packets in time order (no unbounded interleaving queue),
    and ``finish()`` after the last video packet.
    """

    def __init__(self, source: str | Path, out: av.container.OutputContainer, out_path: Path):
        self.source = Path(source)
        self.count = 0
        self.out = out
        self.stream = None
        self._pending: av.Packet | None = None
        self.input: av.container.InputContainer | None
        try:
            self.input = av.open(str(self.source), metadata_errors="ignore")
        except av.error.FFmpegError as err:
            raise InputError(f"cannot read its audio ({err.strerror or err})", self.source) from err
        if not self.input.streams.audio:
            self.input.close()
            self.input = None
            return
        src = self.input.streams.audio[0]
        if not _muxer_takes(out, src.codec_context.name):
            name = src.codec_context.name
            self.input.close()
            raise OutputError(f"the source audio ({name}) cannot be stored in a "
                              f"{out_path.suffix} file without re-encoding; write .mkv instead", out_path)
        self.stream = out.add_stream_from_template(src)
        self._packets = (p for p in self.input.demux(src) if p.size)
        self._pending = self._next()

    def _next(self) -> av.Packet | None:
        try:
            return next(self._packets)
        except StopIteration:
            return None
        except av.error.FFmpegError as err:
            log.warning("%s: audio ends early (%s)", self.source, err)
            return None

    def feed_until(self, t: Fraction | None) -> None:
        """Mux source audio packets whose time is at most ``t`` seconds (all, when None)."""
        while self._pending is not None:
            pt = packet_time(self._pending)
            if t is not None and pt is not None and pt > t:
                return
            self._pending.stream = self.stream
            self.out.mux(self._pending)
            self.count += 1
            self._pending = self._next()

    def finish(self) -> None:
        if self.stream is not None:
            self.feed_until(None)
        self.close()

    def close(self) -> None:
        if self.input is not None:
            self.input.close()
            self.input = None


def _muxer_takes(out: av.container.OutputContainer, codec_name: str) -> bool:
    """Whether the output format can hold this codec (FFmpeg's own list; unknown -> let the muxer say)."""
    try:
        supported = out.supported_codecs
    except AttributeError:
        return True
    return not supported or codec_name in supported
