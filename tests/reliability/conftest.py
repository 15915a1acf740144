"""Fixtures of the reliability tests: small real extractions and a tiny trained model, built once."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from reliab_helpers import tiny_train_kwargs

from twoface_testing import cached_extract

GRID = "multi_identity/grid"


@pytest.fixture(scope="session")
def small_faces(data_dir, shared_cache) -> dict[str, Path]:
    """Two GRID speakers, every 3rd frame at 64 px (25 faces each): folders and stores."""
    out = {}
    for side, clip in (("a", "bbaf2n.mpg"), ("b", "brbk7n.mpg")):
        root = cached_extract(shared_cache, data_dir / GRID / clip, every=3, size=64)
        out[side] = root / "faces"
        out[f"{side}_store"] = root / "stores" / f"{clip}.twoface.db"
        out[f"{side}_clip"] = data_dir / GRID / clip
    return out


@pytest.fixture(scope="session")
def tiny_model(small_faces, shared_cache) -> Path:
    """A tiny model trained 2 iterations on ``small_faces`` (read-only: copy it to change it)."""
    import fcntl

    from twoface.train import train

    out = shared_cache / "reliab-tiny-model"
    with open(shared_cache / "reliab-tiny-model.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "state.json").exists():
            shutil.rmtree(out, ignore_errors=True)
            train(small_faces["a"], small_faces["b"], out, iterations=2, **tiny_train_kwargs())
    return out


@pytest.fixture
def model_copy(tiny_model, tmp_path) -> Path:
    dest = tmp_path / "model"
    shutil.copytree(tiny_model, dest)
    return dest


@pytest.fixture
def face_png(small_faces) -> bytes:
    """The bytes of one real face PNG."""
    return sorted(small_faces["a"].glob("*.png"))[0].read_bytes()
