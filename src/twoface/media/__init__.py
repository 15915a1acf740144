"""Media in and out: frames from video/images, writers, synthetic labels, the watermark.

``open_media`` reads; ``open_writer`` / ``SegmentedVideoWriter`` write (with the
source's audio copied bit-exact and a ``synthetic:twoface/<version>`` label);
``label`` and ``watermark`` let ``twoface inspect`` recognise our outputs.
"""
from __future__ import annotations

from .label import SYNTHETIC_TAG, label_png, read_label
from .reader import Frame, MediaInfo, MediaSource, open_media
from .segmented import SegmentedVideoWriter
from .watermark import WatermarkResult, detect, detect_video, embed
from .writer import WRITERS, Writer, open_writer

__all__ = ["Frame", "MediaInfo", "MediaSource", "open_media", "Writer", "WRITERS", "open_writer",
           "SegmentedVideoWriter", "SYNTHETIC_TAG", "label_png", "read_label", "WatermarkResult", "embed",
           "detect", "detect_video"]
