"""Fixtures for the convert and evaluate tests, imported by name into each test module.

Why not a conftest.py here: a second module named ``conftest`` on sys.path
shadows the root one for test folders that ``from conftest import ...``.
Session fixtures (a tiny trained model, a two-face video with audio, stores)
are built once per test session under a lock that all xdist workers share.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
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



TINY = dict(arch="custom", options=dict(input_size=64, output_size=64, encoder_width=16, max_width=128, latent=128,
                                        decoder_width=64, learn_mask=True),
            iterations=30, batch_size=8, preview_every=1000, eval_every=1000, save_every=1000, tensorboard=False,
            quality=False, seed=7)


def _once(cache: Path, name: str, make) -> Path:
    """Build ``cache/name`` with ``make(path)`` once per session, under a lock all workers share."""
    out = cache / name
    with open(cache / f"{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not (cache / f"{name}.done").exists():
            make(out)
            (cache / f"{name}.done").write_text("ok")
    return out


@pytest.fixture(scope="session")
def tiny_model(shared_cache, faces_a, faces_b) -> Path:
    """A tiny swap model (custom arch, 64 px, learned mask) trained 30 iterations on the real A/B faces.

    Its swaps are blurry, which is fine: the convert tests check the pipeline, not the likeness.
    """
    from twoface.train import train

    key = hashlib.sha1(json.dumps(TINY, sort_keys=True).encode()).hexdigest()[:10]
    return _once(shared_cache, f"tiny-model-{key}",
                 lambda out: train(faces_a, faces_b, out, **TINY))


@pytest.fixture(scope="session")
def two_faces_with_audio(data_dir, shared_cache) -> Path:
    """two_faces_side_by_side.mp4 (A left, B right; 50 frames, 25 fps) re-encoded with an AAC tone track."""
    from media_fixtures import make_video

    src = data_dir / "convert/two_faces_side_by_side.mp4"

    def make(out: Path) -> None:
        with av.open(str(src)) as c:
            images = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
        make_video(out, frames=len(images), fps=25, size=(images[0].shape[1], images[0].shape[0]), audio=True,
                   source_images=images, crf=18)

    return _once(shared_cache, "two_faces_audio.mp4", make)


@pytest.fixture(scope="session")
def two_faces_store(two_faces_with_audio, shared_cache) -> Path:
    """The alignments store of ``two_faces_with_audio`` (extracted once), so converts skip face finding."""
    from twoface.extract import extract

    def make(out: Path) -> None:
        extract(two_faces_with_audio, None, store=out, progress=False)

    return _once(shared_cache, "two_faces_audio.twoface.db", make)


@pytest.fixture(scope="session")
def noface_store(data_dir, shared_cache) -> tuple[Path, Path]:
    """face_then_noface.mp4 and its alignments store (extracted once)."""
    from twoface.extract import extract

    clip = data_dir / "convert/face_then_noface.mp4"
    store = _once(shared_cache, "face_then_noface.twoface.db",
                  lambda out: extract(clip, None, store=out, progress=False))
    return clip, store
