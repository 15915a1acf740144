"""Real face crops for the convert unit tests, decoded from the shared dev clips with PyAV."""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

# where the face sits in frame 30 of each clip (found by eye on the frames; generous boxes)
FACE_BOX = {
    "a": ("train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4", (360, 60, 220, 220)),
    "b": ("train/person_b_cremad_actor1001/1001_DFA_NEU_XX.flv", (140, 40, 150, 150)),
}


def decode_frame(path: Path, index: int) -> np.ndarray:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="bgr24")
    raise AssertionError(f"{path} has fewer than {index + 1} frames")


@pytest.fixture(scope="session")
def frames(data_dir) -> dict[str, np.ndarray]:
    """Frame 30 of person A's and person B's clip (uint8 BGR)."""
    return {k: decode_frame(data_dir / rel, 30) for k, (rel, _) in FACE_BOX.items()}


@pytest.fixture(scope="session")
def face_crops(frames) -> dict[str, np.ndarray]:
    """128x128 float32 BGR crops of the two real faces."""
    out = {}
    for k, (_, (x, y, w, h)) in FACE_BOX.items():
        crop = frames[k][y:y + h, x:x + w]
        out[k] = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return out


@pytest.fixture(scope="session")
def oval_mask() -> np.ndarray:
    """A face-shaped ellipse mask, 128x128 float32."""
    m = np.zeros((128, 128), np.float32)
    cv2.ellipse(m, (64, 68), (40, 52), 0, 0, 360, 1.0, -1)
    return m
