"""Media in and out: frames from video/images, writers, synthetic labels, the watermark.

``open_media`` reads; ``open_writer`` / ``SegmentedVideoWriter`` write (with the
source's audio copied bit-exact and a ``synthetic:twoface/<version>`` label);
``label`` and ``watermark`` let ``twoface inspect`` recognise our outputs.
"""
from __future__ import annotations

from .reader import Frame, MediaInfo, MediaSource, open_media

__all__ = ["Frame", "MediaInfo", "MediaSource", "open_media"]
