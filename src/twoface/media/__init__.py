"""Media in and out: frames from video/images, writers, synthetic labels, the watermark.

``open_media`` reads; ``open_writer`` / ``SegmentedVideoWriter`` write (with the
source's audio copied bit-exact and a ``synthetic:twoface/<version>`` label);
``label`` and ``watermark`` let ``twoface inspect`` recognise our outputs.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> submodule. Loaded on first use, so that light users of one submodule
# (``media.png`` for the store's PNG metadata) do not pay for PyAV and the writers.
_EXPORTS = {
    "SYNTHETIC_TAG": "label", "label_png": "label", "read_label": "label",
    "Frame": "frames", "MediaInfo": "frames", "MediaSource": "frames", "open_media": "reader",
    "SegmentedVideoWriter": "segmented",
    "WatermarkResult": "watermark", "detect": "watermark", "detect_video": "watermark", "embed": "watermark",
    "WRITERS": "writer", "Writer": "writer", "open_writer": "writer",
}

if TYPE_CHECKING:
    from .frames import Frame, MediaInfo, MediaSource
    from .label import SYNTHETIC_TAG, label_png, read_label
    from .reader import open_media
    from .segmented import SegmentedVideoWriter
    from .watermark import WatermarkResult, detect, detect_video, embed
    from .writer import WRITERS, Writer, open_writer


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Frame", "MediaInfo", "MediaSource", "open_media", "Writer", "WRITERS", "open_writer",
           "SegmentedVideoWriter", "SYNTHETIC_TAG", "label_png", "read_label", "WatermarkResult", "embed",
           "detect", "detect_video"]
