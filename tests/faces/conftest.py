"""Fixtures for the faces tests: decoded frames of the real dev clips and the opened models.

Models are opened once per test session (per xdist worker) because opening is the
slow part; frames are decoded with PyAV directly, subsampled, so these tests do not
depend on twoface.media.
"""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest


def read_frames(path: Path, every: int = 1, limit: int | None = None) -> list[np.ndarray]:
    """BGR frames of a video (every ``every``-th, at most ``limit``), decoded with PyAV."""
    out: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % every:
                continue
            out.append(frame.to_ndarray(format="bgr24"))
            if limit is not None and len(out) >= limit:
                break
    return out


@pytest.fixture(name="read_frames", scope="session")
def read_frames_fixture():
    """The ``read_frames`` helper, for tests."""
    return read_frames


@pytest.fixture(scope="session")
def detector():
    from twoface.faces import get_detector

    return get_detector("yunet")


@pytest.fixture(scope="session")
def landmarker():
    from twoface.faces import Landmarker

    with Landmarker() as lm:
        yield lm


@pytest.fixture(scope="session")
def embedder():
    from twoface.faces import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def grid_frame(data_dir) -> np.ndarray:
    """One frontal GRID frame (speaker G1, 360x288)."""
    return read_frames(data_dir / "multi_identity/grid/bbaf2n.mpg", limit=1)[0]


@pytest.fixture(scope="session")
def grid_face(grid_frame, detector, landmarker):
    """(frame, detection, landmarks) of the frontal GRID face."""
    det = detector.detect(grid_frame)[0]
    lm = landmarker.landmarks(grid_frame, det)
    assert lm is not None
    return grid_frame, det, lm
