"""The records every media reader yields: ``MediaInfo``, ``Frame`` and the ``MediaSource`` protocol.

Why a module of their own: the image readers (``reader``) and the video reader
(``video``) both produce them, and ``reader.open_media`` picks the video reader,
so keeping the records here lets both import them without importing each other.
"""
from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class MediaInfo:
    """What a source is. ``width``/``height`` are of frames as yielded (rotation applied).

    ``frame_count`` is exact for images and for containers that index every
    frame (MP4/MOV); otherwise (FLV, MPEG-PS, MKV...) it is duration × fps,
    an estimate, and ``frame_count_exact`` is False. Stages that need the real
    count (extract) record how many frames they decoded.
    """

    path: Path
    is_video: bool
    frame_count: int
    fps: float  # 0.0 for images (no timing)
    width: int
    height: int
    rotation: int = 0  # degrees clockwise applied to coded frames for display: 0, 90, 180, 270
    has_audio: bool = False
    duration: float = 0.0  # seconds
    frame_count_exact: bool = True
    rate: Fraction | None = None  # exact frame rate, when the container states one
    time_base: Fraction | None = None  # of the video stream: pts × time_base = seconds
    codec: str | None = None


@dataclass
class Frame:
    """One decoded frame. ``index`` counts frames from 0 in presentation order."""

    index: int
    time: float  # seconds (pts × time_base for video; 0.0 for images)
    image: np.ndarray  # uint8 BGR (H, W, 3), display orientation
    name: str | None = None  # the file name for image folders


class MediaSource(Protocol):
    info: MediaInfo
    skipped: int  # frames that could not be decoded and were left out

    def frames(self, start: int = 0, every: int = 1) -> Generator[Frame, None, None]:
        """Frames whose ``index >= start`` and ``index % every == 0``.

        ``every`` counts from frame 0, not from ``start``, so a resumed run
        picks the same frames as an uninterrupted one.
        """
        ...


def check_frame_args(start: int, every: int) -> None:
    """The arguments of ``MediaSource.frames``, checked the same way by every reader."""
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
