"""Media test fixtures: one decode of every dev clip per session, and small real videos.

Decoding the ~2000 frames of the dev clips is the slow part, so it happens
once: each clip's info, frame indices, times, a hash of every image and the
watermark score of every 1-second window of frames (pooled, as the detector
pools them) are kept (not the pixels).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from media_fixtures import image_hash, make_video
from twoface.media import open_media
from twoface.media.watermark import pool, score_pooled

MEDIA_SUFFIXES = {".mp4", ".flv", ".mpg", ".png", ".jpg"}


@dataclass
class Decoded:
    info: object
    indices: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    shapes: set = field(default_factory=set)
    scores: list[float] = field(default_factory=list)  # watermark z per 1-second window (an image: itself)
    skipped: int = 0


@pytest.fixture(scope="session")
def dev_files(data_dir):
    files = sorted(p for p in data_dir.rglob("*") if p.suffix.lower() in MEDIA_SUFFIXES)
    assert len(files) == 25, f"expected the 25 media files listed in MANIFEST.md, found {len(files)}"
    return files


@pytest.fixture(scope="session")
def dev_decoded(dev_files, data_dir) -> dict[str, Decoded]:
    """Relative path -> what a full decode of that dev file gave."""
    out = {}
    for path in dev_files:
        src = open_media(path)
        d = Decoded(src.info)
        window, per = [], max(1, round(src.info.fps or 1))
        for f in src.frames():
            d.indices.append(f.index)
            d.times.append(f.time)
            d.hashes.append(image_hash(f.image))
            d.shapes.add(f.image.shape)
            window.append(f.image)
            if len(window) == per:
                d.scores.append(score_pooled(*pool(window)).score)
                window = []
        if window:
            d.scores.append(score_pooled(*pool(window)).score)
        d.skipped = src.skipped
        out[path.relative_to(data_dir).as_posix()] = d
    return out


@pytest.fixture(scope="session")
def small_video(tmp_path_factory):
    """A real 40-frame H.264 + AAC clip, 160x120 at 25 fps (MadeVideo)."""
    return make_video(tmp_path_factory.mktemp("media") / "small.mp4", frames=40, fps=25, size=(160, 120))
