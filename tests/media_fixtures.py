"""Small REAL videos for tests, encoded with PyAV from real photos.

Any test may ``from media_fixtures import make_video`` (tests/ is on sys.path
under pytest's rootdir-relative imports; conftest lives there too). Videos are
H.264 in MP4 with an optional real AAC sine-tone track, so a convert test can
check that audio survives bit-exact and that frame counts and timestamps hold.
Frames are moving crops of a real photo, so every frame differs and face
detectors have real content to work on when the photo has faces.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TWOFACE_TEST_DATA", REPO.parent / "shared" / "data" / "dev"))
DEFAULT_PHOTO = "convert/two_people_obama_biden.jpg"


@dataclass
class MadeVideo:
    """What make_video wrote: enough for a test to know the truth without decoding."""

    path: Path
    frames: list[np.ndarray]  # the BGR frames that went into the encoder
    times: list[Fraction]  # presentation time of each frame, seconds
    fps: Fraction
    audio_packets: int  # AAC packets muxed (0 without audio)


def default_photo() -> np.ndarray:
    """The two-people photo from the dev data (raises if the dev data is missing)."""
    path = DATA / DEFAULT_PHOTO
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"dev photo not found: {path} (set TWOFACE_TEST_DATA)")
    return img


def moving_crops(photo: np.ndarray, frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    """``frames`` crops panning across ``photo``, each resized to ``size`` (w, h)."""
    w, h = size
    ph, pw = photo.shape[:2]
    cw, ch = min(pw, max(w, pw * 2 // 3)), min(ph, max(h, ph * 2 // 3))
    out = []
    for i in range(frames):
        t = i / max(frames - 1, 1)
        x = int(round(t * (pw - cw)))
        y = int(round((0.5 - 0.5 * np.cos(np.pi * t)) * (ph - ch)))
        out.append(cv2.resize(photo[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_AREA))
    return out


def make_video(path: str | Path, frames: int = 30, fps: float | Fraction = 25, size: tuple[int, int] = (160, 120),
               audio: bool = True, source_images: list[np.ndarray] | None = None, rotation: int = 0,
               crf: int = 20, gop: int = 12, time_base: Fraction | None = None) -> MadeVideo:
    """Encode a real H.264 video (yuv420p, B-frames, a keyframe every ``gop`` frames).

    ``source_images``: one photo to pan across, or exactly ``frames`` images to use
    as they are (resized to ``size``). ``rotation`` sets a display matrix
    (counter-clockwise degrees, as PyAV's ``set_display_rotation``).
    ``audio`` adds a 440 Hz mono AAC tone as long as the video.
    """
    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001 * 1000)
    tb = time_base or 1 / rate
    if source_images is not None and len(source_images) == frames:
        images = [cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in source_images]
    else:
        photo = source_images[0] if source_images else default_photo()
        images = moving_crops(photo, frames, size)
    times = [Fraction(i) / rate for i in range(frames)]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        vs.time_base = tb
        vs.codec_context.time_base = tb
        vs.options = {"crf": str(crf), "g": str(gop), "bf": "2", "preset": "veryfast"}
        if rotation:
            vs.set_display_rotation(rotation)
        tone = _AudioTone(out, float(frames / rate)) if audio else None
        for img, t in zip(images, times):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            frame.pts = round(t / tb)
            frame.time_base = tb
            out.mux(vs.encode(frame))
            if tone:
                tone.mux_until(out, t)
        out.mux(vs.encode(None))
        if tone:
            tone.mux_until(out, None)
    return MadeVideo(path, images, times, rate, tone.count if tone else 0)


class _AudioTone:
    """Encodes a sine tone lazily so its packets interleave with the video's."""

    def __init__(self, out, seconds: float, sample_rate: int = 44100):
        self.stream = out.add_stream("aac", rate=sample_rate)
        self.stream.layout = "mono"
        self.sample_rate = sample_rate
        self.total = int(seconds * sample_rate)
        self.done = 0
        self.count = 0
        self.flushed = False

    def mux_until(self, out, t: Fraction | None) -> None:
        """Encode and mux tone frames up to time ``t`` (all of them, and flush, when None)."""
        packets = []
        limit = self.total if t is None else min(self.total, int(t * self.sample_rate) + 1024)
        while self.done < limit:
            n = min(1024, self.total - self.done)
            k = np.arange(self.done, self.done + n)
            wave = (0.3 * np.sin(2 * np.pi * 440 * k / self.sample_rate)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
            frame.sample_rate = self.sample_rate
            frame.pts = self.done
            frame.time_base = Fraction(1, self.sample_rate)
            packets += self.stream.encode(frame)
            self.done += n
        if t is None and not self.flushed:
            packets += self.stream.encode(None)
            self.flushed = True
        out.mux(packets)
        self.count += len(packets)


def image_hash(img: np.ndarray) -> str:
    """A short content hash of an image, to compare decodes without keeping pixels."""
    import hashlib

    return hashlib.sha1(np.ascontiguousarray(img).tobytes()).hexdigest()


def truncated_copy(src: str | Path, dst: str | Path, fraction: float = 0.5) -> Path:
    """The first ``fraction`` of the bytes of ``src`` (a download cut short)."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)
