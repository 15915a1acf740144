"""Writers for converted frames: H.264 video, image folders, GIF. One interface, one registry.

Every writer labels its output synthetic (see ``label.py``), can embed the
invisible watermark in each frame (``watermark=True``), then signs C2PA
Content Credentials into the finished file (``provenance.py``; on whenever
the watermark is, with ``model`` = {"architecture", "iteration"} for the
claims), and writes atomically:
a video or GIF appears under its final name only when complete, each image
file likewise. ``open_writer`` picks the writer from ``kind`` (``WRITERS`` keys)
or from the output's suffix.

Video timing: frames carry the source's timestamps. Give ``time_base`` (the
source stream's) and each frame's ``time`` and the output pts equal the source
pts; without times, frame ``index`` / ``fps`` is used. The source's audio is
copied packet for packet (``audio_from``), never re-encoded.
"""
from __future__ import annotations

import contextlib
import logging
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import OutputError
from ..fsutil import atomic_path, atomic_write_bytes
from .label import SYNTHETIC_TAG, label_jpeg, label_png
from .reader import IMAGE_EXTS
from .remux import CONTAINER_FORMATS, AudioPassthrough, container_format, packet_time
from .x264 import DEFAULT_PRESET, DEFAULT_QUALITY

log = logging.getLogger(__name__)



class Writer:
    """``write(bgr, index, time=None, name=None)`` then ``close()``; a context manager.

    Leaving the ``with`` block by an exception discards the unfinished output
    (``abort()``) instead of publishing half of it.
    """

    watermark = False
    model: dict | None = None  # architecture/iteration named in the Content Credentials

    def write(self, bgr: np.ndarray, index: int, time: float | None = None, name: str | None = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        """Drop unfinished output (default: nothing to drop)."""

    def _sign(self, tmp: Path, final: Path) -> None:
        """Content Credentials into the finished temporary file ``tmp`` (outputs of convert only)."""
        if self.watermark:
            from .provenance import sign_file

            sign_file(tmp, final.name, final.suffix, self.model, self.watermark)

    def _prepare(self, bgr: np.ndarray) -> np.ndarray:
        if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
            raise ValueError(f"expected uint8 BGR (H, W, 3), got {bgr.dtype} {bgr.shape}")
        if self.watermark:
            from .watermark import embed

            bgr = embed(bgr)
        return bgr

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def as_rate(fps: float | Fraction) -> Fraction:
    """A frame rate as an exact fraction: 29.97002997 -> 30000/1001, 25.0 -> 25."""
    rate = Fraction(fps).limit_denominator(1001 * 100)
    if rate <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return rate


def frame_pts(index: int, time: float | None, rate: Fraction, time_base: Fraction) -> int:
    """pts in ``time_base`` units: from the source time when known, else from index / rate."""
    seconds = Fraction(time) if time is not None else index / rate
    return round(seconds / time_base)


def choose_h264_encoder() -> tuple[str, str | None]:
    """(encoder name, warning or None). Hardware encoders are listed even when absent, so skip them."""
    for name in ("libx264", "libopenh264"):
        if name in av.codecs_available:
            return name, None
    return "mpeg4", "this PyAV build has no software H.264 encoder (libx264); writing MPEG-4 Part 2 video instead"


def encoder_options(codec: str, quality: int, preset: str) -> dict[str, str]:
    if codec == "libx264":
        return {"crf": str(quality), "preset": preset}
    if codec == "mpeg4":
        return {"qscale": str(max(2, min(31, round(quality / 6))))}
    return {}


class _EncodedVideo:
    """An open container with one H.264 (yuv420p) stream; frames go in with explicit pts."""

    def __init__(self, path: Path, fmt: str, size: tuple[int, int], rate: Fraction, time_base: Fraction,
                 quality: int, preset: str, tags: dict[str, str], codec: str | None = None):
        self.size = size
        self.even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
        codec = codec or choose_h264_encoder()[0]
        options = {"movflags": "use_metadata_tags"} if fmt in ("mp4", "mov") and set(tags) - {"comment"} else {}
        try:
            self.container = av.open(str(path), "w", format=fmt, options=options)
        except (av.error.FFmpegError, OSError) as err:
            raise OutputError(f"cannot create the video ({err})", path) from err
        self.stream: av.VideoStream = self.container.add_stream(codec, rate=rate)  # type: ignore[assignment]
        self.stream.width, self.stream.height = self.even
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = time_base
        self.stream.codec_context.time_base = time_base
        self.stream.options = {**encoder_options(codec, quality, preset)}
        self.stream.codec_context.thread_type = "AUTO"
        self.container.metadata.update(tags)
        self.time_base = time_base
        self.last_pts: int | None = None

    def encode(self, bgr: np.ndarray, pts: int) -> list[av.Packet]:
        """Encode one frame; pts are forced strictly increasing (x264 requires it)."""
        if bgr.shape[1::-1] != self.size:
            raise ValueError(f"frame is {bgr.shape[1]}x{bgr.shape[0]}, the writer was opened for "
                             f"{self.size[0]}x{self.size[1]}")
        if self.even != self.size:  # yuv420p needs even sides: repeat the last column/row
            bgr = cv2.copyMakeBorder(bgr, 0, self.even[1] - self.size[1], 0, self.even[0] - self.size[0],
                                     cv2.BORDER_REPLICATE)
        if self.last_pts is not None and pts <= self.last_pts:
            pts = self.last_pts + 1
        self.last_pts = pts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")
        frame.pts = pts
        frame.time_base = self.time_base
        return self.stream.encode(frame)

    def flush(self) -> list[av.Packet]:
        return self.stream.encode(None)

    def close(self) -> None:
        self.container.close()


class VideoWriter(Writer):
    """H.264 video (libx264, yuv420p, CRF ``quality``) with the source's audio and a synthetic label.

    Odd frame sizes are padded by one repeated pixel column/row (yuv420p needs
    even sides), so the output may be 1 px wider/taller than the input.
    """

    def __init__(self, out: str | Path, fps: float | Fraction, size: tuple[int, int], *,
                 time_base: Fraction | None = None, quality: int | None = None, preset: str = DEFAULT_PRESET,
                 audio_from: str | Path | None = None, tags: dict[str, str] | None = None,
                 watermark: bool = False, model: dict | None = None):
        self.out = Path(out)
        fmt = container_format(self.out)
        self.model = model
        self.rate = as_rate(fps)
        self.time_base = Fraction(time_base) if time_base else 1 / self.rate
        self.watermark = watermark
        self.codec, warning = choose_h264_encoder()
        if warning:
            log.warning("%s", warning)
        self._stack = contextlib.ExitStack()
        tmp = self._tmp = self._stack.enter_context(atomic_path(self.out))
        try:
            self._video = _EncodedVideo(tmp, fmt, (int(size[0]), int(size[1])), self.rate, self.time_base,
                                        quality if quality is not None else DEFAULT_QUALITY, preset,
                                        {"comment": SYNTHETIC_TAG, **(tags or {})}, self.codec)
            self._audio = AudioPassthrough(audio_from, self._video.container, self.out) if audio_from else None
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        self.frames = 0
        self._closed = False

    @property
    def audio_packets(self) -> int:
        return self._audio.count if self._audio else 0

    def write(self, bgr: np.ndarray, index: int, time: float | None = None, name: str | None = None) -> None:
        bgr = self._prepare(bgr)
        self._mux(self._video.encode(bgr, frame_pts(index, time, self.rate, self.time_base)))
        self.frames += 1

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            if self._audio:
                self._audio.feed_until(packet_time(packet))
            self._video.container.mux(packet)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._mux(self._video.flush())
            if self._audio:
                self._audio.finish()
            self._video.close()
            self._sign(self._tmp, self.out)
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        self._stack.close()  # fsync + rename into place

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            if self._audio:
                self._audio.close()
            self._video.close()
        self._stack.__exit__(OutputError, OutputError("aborted"), None)


class ImageWriter(Writer):
    """Frames as PNG or JPEG files in a folder (or one file when ``out`` has an image suffix).

    Files are named by the source frame name (its stem) or the index (``000042.png``).
    PNGs carry tEXt labels, JPEGs a COM segment.
    """

    def __init__(self, out: str | Path, *, image_format: str = "png", quality: int | None = None,
                 watermark: bool = False, model: dict | None = None, **_ignored):
        self.out = Path(out)
        self.model = model
        self.single = self.out.suffix.lower() in IMAGE_EXTS
        fmt = (self.out.suffix.lower().lstrip(".") if self.single else image_format).replace("jpeg", "jpg")
        if fmt not in ("png", "jpg"):
            raise OutputError(f"image output must be png or jpg, not '{fmt}'", self.out)
        self.format = fmt
        self.quality = quality
        self.watermark = watermark
        self.frames = 0
        if not self.single:
            try:
                self.out.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise OutputError(f"cannot create the folder ({err.strerror})", self.out) from err

    def path_for(self, index: int, name: str | None) -> Path:
        if self.single:
            return self.out
        return self.out / f"{Path(name).stem if name else f'{index:06d}'}.{self.format}"

    def write(self, bgr: np.ndarray, index: int, time: float | None = None, name: str | None = None) -> None:
        bgr = self._prepare(bgr)
        if self.format == "png":
            ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
            data = label_png(buf.tobytes()) if ok else b""
        else:
            q = 95 if self.quality is None else int(self.quality)
            ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, q])
            data = label_jpeg(buf.tobytes()) if ok else b""
        if not ok:
            raise OutputError(f"could not encode frame {index} as {self.format}", self.out)
        path = self.path_for(index, name)
        if self.watermark:
            from .provenance import sign_bytes

            data = sign_bytes(data, path.suffix, path.name, self.model, self.watermark)
        atomic_write_bytes(path, data)
        self.frames += 1

    def close(self) -> None:
        pass


class GifWriter(Writer):
    """An animated GIF (Pillow, adaptive palette per frame) with the label in a comment extension.

    GIF has no streaming encoder worth the name, so frames are kept as 8-bit
    palette images (1 byte a pixel) and written at ``close()``: meant for short clips.
    """

    def __init__(self, out: str | Path, fps: float | Fraction = 25, *, watermark: bool = False,
                 model: dict | None = None, **_ignored):
        try:
            from PIL import Image  # noqa: F401
        except ImportError as err:
            from ..errors import MissingDependency

            raise MissingDependency("GIF output needs Pillow: pip install pillow") from err
        from ..contracts.image import set_library_limits

        set_library_limits()  # Pillow gets twoface's pixel limit before the first frame, once
        self.out = Path(out)
        self.rate = as_rate(fps)
        self.watermark = watermark
        self.model = model
        self._frames: list = []
        self._times: list[float] = []
        self.frames = 0

    def write(self, bgr: np.ndarray, index: int, time: float | None = None, name: str | None = None) -> None:
        from PIL import Image

        bgr = self._prepare(bgr)
        rgb = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        self._frames.append(rgb.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
        self._times.append(time if time is not None else float(index / self.rate))
        self.frames += 1

    def _durations_ms(self) -> list[int]:
        step = 1000.0 / float(self.rate)
        t = self._times
        out = [max(10, round((t[i + 1] - t[i]) * 1000)) for i in range(len(t) - 1)]
        return out + [max(10, round(step))]

    def close(self) -> None:
        if not self._frames:
            raise OutputError("no frames were written, so there is no GIF to save", self.out)
        first, rest = self._frames[0], self._frames[1:]
        with atomic_path(self.out) as tmp:
            first.save(tmp, format="GIF", save_all=True, append_images=rest, duration=self._durations_ms(),
                       loop=0, comment=SYNTHETIC_TAG.encode(), optimize=False, disposal=1)
            self._sign(tmp, self.out)
        self._frames.clear()


WRITERS: dict[str, type[Writer]] = {"video": VideoWriter, "images": ImageWriter, "gif": GifWriter}


UNSUPPORTED_VIDEO = frozenset({".avi", ".webm", ".flv", ".mpg", ".mpeg", ".ts", ".wmv", ".3gp", ".ogv"})


def kind_for(out: str | Path) -> str:
    """The writer kind an output path implies: .gif -> gif, video containers -> video, else images."""
    suffix = Path(out).suffix.lower()
    if suffix == ".gif":
        return "gif"
    if suffix in CONTAINER_FORMATS:
        return "video"
    if suffix in UNSUPPORTED_VIDEO:  # otherwise "out.avi" would quietly become a folder of PNGs
        from ..errors import OutputError

        raise OutputError(f"{suffix} video output is not supported; use one of "
                          f"{', '.join(sorted(CONTAINER_FORMATS))}", out)
    return "images"


def open_writer(out: str | Path, kind: str | None = None, fps: float | Fraction = 25,
                size: tuple[int, int] | None = None, **options) -> Writer:
    """Open a writer by kind (``WRITERS`` key) or by the output's suffix.

    Options by kind: video: ``time_base``, ``quality`` (CRF, default 18), ``preset``,
    ``audio_from`` (path whose audio is copied), ``tags`` (extra container metadata);
    images: ``image_format`` ('png' | 'jpg'), ``quality`` (JPEG); all: ``watermark`` (also signs C2PA
    Content Credentials) and ``model`` (architecture/iteration for them).
    """
    kind = kind or kind_for(out)
    if kind not in WRITERS:
        raise OutputError(f"unknown output kind '{kind}' (choose from {', '.join(WRITERS)})", out)
    if kind == "video":
        if size is None:
            raise ValueError("a video writer needs the frame size (w, h)")
        return VideoWriter(out, fps, size, **options)
    if kind == "gif":
        return GifWriter(out, fps, **options)
    return ImageWriter(out, **options)
